"""Campaigns: segments, audience planning, the state machine, the pipeline functions the workers call, export.

Owns everything about a campaign's drafts and outbox rows. Does not own Celery (``workers/``), generation
(``copywriter``), recommendations (``recommend``) or rendering templates (``render``).
"""
