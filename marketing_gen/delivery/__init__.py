"""Delivery: outbox rows → a provider, exactly once. Adapters (``smtp``, ``webhook``, ``file``), the send step,
quiet hours, and bounce / complaint suppression.

Owns the outbox states after ``queued`` (``sending → sent | failed | skipped | uncertain``, ``bounced``).
Does not own drafts (``campaigns.pipeline`` queues them), rendering (``render``), nor Celery (``workers``).
"""
