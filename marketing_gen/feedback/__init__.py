"""Feedback loop: outcome events per draft → A/B reports → preference data for the next fine-tune.

Owns event ingestion (``events``), the A/B statistics and chart (``report``), the event simulator used by
tests and demos (``simulate``) and outcome → DPO/KTO rows (``preferences``). It does not own the HTTP
routes (``api.tracking``, ``api.events``), token signing (``tokens``) or training (``training``).
"""

from marketing_gen.feedback.events import EVENTS, IngestReport, ingest_events, load_event_rows

__all__ = ["EVENTS", "IngestReport", "ingest_events", "load_event_rows"]
