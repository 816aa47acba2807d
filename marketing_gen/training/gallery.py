"""The eval gallery: one HTML page of held-out users × channels, before and after fine-tuning, with findings.

``marketing-gen eval copy --model M --gallery out.html`` writes it: for each channel, the first ``GALLERY_USERS``
held-out users, each model's first try as it would be served (slots filled, SMS finalized), whether it is
sendable, and every finding with its message. It is for reading: the figures are in ``eval copy``'s table.

Owns the page only (``templates/eval/gallery.html.j2``, autoescaped). Does not evaluate (``training.evaluate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from marketing_gen.config import Settings
from marketing_gen.training.evaluate import ModelEval

GALLERY_USERS = 10
"""Held-out users per channel on the page."""


def gallery_rows(evals: Sequence[ModelEval]) -> list[dict[str, Any]]:
    """One row per channel × user: the user and, per model (in ``evals`` order), its piece and verdict."""
    rows: list[dict[str, Any]] = []
    channels = list(dict.fromkeys(c for e in evals for c in e.channels))
    for channel in channels:
        per_model = [e.channels[channel].examples[:GALLERY_USERS] if channel in e.channels else [] for e in evals]
        for k in range(max((len(p) for p in per_model), default=0)):
            pieces = [p[k] if k < len(p) else None for p in per_model]
            user = next(p["user"] for p in pieces if p)
            rows.append({"channel": channel, "user": user, "pieces": [_piece(p) for p in pieces]})
    return rows


def _piece(example: dict[str, Any] | None) -> dict[str, Any] | None:
    if example is None:
        return None
    fields = {k: " | ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in example["fields"].items()}
    verdict = "sendable" if example["sendable"] else "passes hard checks only" if example["passed"] else "fails"
    return {"fields": fields, "verdict": verdict, "sendable": example["sendable"], "findings": example["findings"]}


def write_gallery(evals: Sequence[ModelEval], path: Path, *, settings: Settings | None = None) -> Path:
    """Render the page for ``evals`` (e.g. [base, fine-tuned]) to ``path``."""
    from marketing_gen.prompts import template_environment

    env = template_environment(settings, autoescape=True)
    rows = gallery_rows(evals)
    summary = [
        {"model": e.model, "channels": {c: (ce.sendable_rate, ce.pass_rate, ce.n) for c, ce in e.channels.items()}}
        for e in evals
    ]
    html = env.get_template("eval/gallery.html.j2").render(models=[e.model for e in evals], rows=rows, summary=summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


__all__ = ["GALLERY_USERS", "gallery_rows", "write_gallery"]
