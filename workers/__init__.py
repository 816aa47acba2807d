"""Celery workers: the app (``workers.app``), the per-process engine (``workers.runtime``), thin tasks.

Start one with ``marketing-gen worker`` (or ``celery -A workers.app worker``).
"""
