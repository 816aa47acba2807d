"""`import events`, `campaign simulate-events`, `campaign report` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from marketing_gen.cli import main


def test_simulate_report_and_import_through_cli(settings_env: None, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["campaign", "simulate-events", "--users", "3000", "--rates", "0.02,0.08", "--json"])
    assert res.exit_code == 0, res.output
    sim = json.loads(res.output)
    cid = sim["campaign_id"]
    assert sim["recorded"] >= 3000 and sim["duplicates"] == 0

    png = tmp_path / "ab.png"
    res = runner.invoke(main, ["campaign", "report", str(cid), "--json", "--png", str(png)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    (email,) = report["channels"]
    assert email["winner"] == 1
    assert [v["sends"] for v in email["variants"]] == [1500, 1500]
    assert png.stat().st_size > 20_000

    res = runner.invoke(main, ["campaign", "report", str(cid)])
    assert res.exit_code == 0 and "verdict  email: variant 1 beats control" in res.output

    events = tmp_path / "events.jsonl"
    rows = [
        {"campaign_id": cid, "user_id": 10**9, "channel": "email", "variant": 0, "event": "click", "timestamp": 1},
        {"draft_id": 1, "event": "teleport", "timestamp": 1},
    ]
    events.write_text("\n".join(json.dumps(r) for r in rows))
    res = runner.invoke(main, ["import", "events", str(events), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert (out["recorded"], out["unknown_drafts"], out["rejected"]) == (0, 1, 1)


def test_cli_errors_are_messages_not_tracebacks(settings_env: None, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["campaign", "report", "424242"])
    assert res.exit_code == 2 and "campaign 424242 does not exist" in res.output  # bad input: exit 2
    res = runner.invoke(main, ["campaign", "simulate-events", "--users", "10", "--rates", "a,b"])
    assert res.exit_code == 2 and "--rates" in res.output
    res = runner.invoke(main, ["import", "events", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "does not exist" in res.output
