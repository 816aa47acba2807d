"""Fixtures for the worker tests (defined in ``worker_stack``)."""

from worker_stack import stack, worker_model_dir  # noqa: F401
