"""``marketing-gen eval reply-safety``: recall / false-alarm of the reply-safety detectors."""

from __future__ import annotations

import sys
from contextlib import nullcontext

import click

from marketing_gen.cli.groups import echo_json, eval_, input_file


@eval_.command("reply-safety")
@click.option(
    "--cases",
    "cases_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Labelled JSONL file (detector, lang, expect, kind, text); `-` reads standard input.  "
    "[default: tests/replies/data/reply_safety_cases.jsonl]",
)
@click.option("--no-real-data", is_flag=True, help="Skip the flag rates on the real Twitter / Amazon QA text.")
@click.option(
    "--examples",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="Flagged real texts listed per source and detector (JSON output), to audit.",
)
@click.option("--min-recall", type=click.FloatRange(0, 1), default=0.9, show_default=True, help="Exit 1 below this.")
@click.option(
    "--max-false-alarm", type=click.FloatRange(0, 1), default=0.05, show_default=True, help="Exit 1 above this."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def reply_safety_cmd(
    cases_path: str | None, no_real_data: bool, examples: int, min_recall: float, max_false_alarm: float, as_json: bool
) -> None:
    """Recall and false-alarm rate of the injection, escalation and reply-policy detectors (exit 1 below thresholds).

    Scores the labelled regression file, then measures how often each detector fires on real customer
    messages and real brand replies from ../shared/data (Twitter support, Amazon QA).
    """
    from marketing_gen.errors import InvalidRequest
    from marketing_gen.replies.safety_eval import below_thresholds, evaluate_reply_safety, format_table

    try:
        with input_file(cases_path) if cases_path else nullcontext(None) as cases:
            report = evaluate_reply_safety(cases_path=cases, real_data=not no_real_data, examples=examples)
    except InvalidRequest as exc:  # a bad labelled file is bad input: exit 2
        raise click.BadParameter(str(exc), param_hint="--cases") from exc
    failing = below_thresholds(report, min_recall=min_recall, max_false_alarm=max_false_alarm)
    report["below_thresholds"] = failing
    if as_json:
        echo_json(report)
    else:
        click.echo(format_table(report))
        for line in failing:
            click.echo(f"BELOW THRESHOLD {line}")
    if failing:
        sys.exit(1)
