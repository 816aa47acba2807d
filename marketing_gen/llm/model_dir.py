"""What a model directory says about itself: the version file written next to a trained model's weights.

Owns the file format only (``marketing_gen_version.json``: the registry row's fields, so another database can
register the directory, and ``zero_shot_channels``). Knows no database: the registry rows live in
``versions/registry.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

VERSION_FILE = "marketing_gen_version.json"
"""Written into every trained model dir: what the registry row holds, so another database can register it, and
``zero_shot_channels``: the channels it was trained on with prompts without the example turn (served the same way);
``slot_channels``: those it learnt with slots (``marketing_gen.slots``); ``prompt_format``: ``PROMPT_FORMAT``."""

PROMPT_FORMAT = 2
"""The prompt layout a model is trained with, recorded in its version file. 2: a slot model's system message has no
rule or slot lines (its rows teach them; ~90 tokens less a prompt). Models of format 1 (none recorded) learnt slots
with those lines, and are served without them now: retrain them."""


def write_version_file(out_dir: Path, **info: Any) -> Path:
    """Save the registry metadata of a trained model next to its weights."""
    path = out_dir / VERSION_FILE
    info.setdefault("prompt_format", PROMPT_FORMAT)
    path.write_text(json.dumps(info, indent=2, default=str))
    return path


def read_version_file(out_dir: Path) -> dict[str, Any] | None:
    """The metadata saved by ``write_version_file`` (None when the dir has none or is incomplete)."""
    path = out_dir / VERSION_FILE
    if not path.is_file() or not (out_dir / "config.json").is_file():
        return None
    return dict(json.loads(path.read_text()))


def slot_channels(rows: Iterable[dict[str, Any]], base_path: str | Path | None = None) -> list[str]:
    """What a trained model's version file records: channels of its rows written with slots (``row["slots"]``),
    plus those its base model already had."""
    channels = {r["channel"] for r in rows if r.get("slots") and r.get("channel")}
    base = read_version_file(Path(base_path)) if base_path else None
    channels.update((base or {}).get("slot_channels") or [])
    return sorted(channels)


def zero_shot_channels(rows: Iterable[dict[str, Any]], base_path: str | Path | None = None) -> list[str]:
    """What a trained model's version file records: channels of its zero-shot rows (chat prompts without the
    example turn), plus those its base model already had."""
    channels = {r["channel"] for r in rows if len(r.get("prompt") or []) <= 2 and r.get("channel")}
    base = read_version_file(Path(base_path)) if base_path else None
    channels.update((base or {}).get("zero_shot_channels") or [])
    return sorted(channels)
