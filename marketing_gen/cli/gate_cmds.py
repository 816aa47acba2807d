"""`marketing-gen eval gate`: the quality gate's fluency calibration on human copy and its labelled-set figures."""

from __future__ import annotations

from pathlib import Path

import click

from marketing_gen.cli.groups import echo_json, eval_, input_file
from marketing_gen.cli.train_cmds import data_dir_option


@eval_.command(name="gate")
@click.option(
    "--labelled",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Labelled pieces (JSONL, `-` reads standard input; default: tests/fixtures/gate_labelled.jsonl of the "
    "checkout, when present).",
)
@click.option(
    "--per-source",
    type=click.IntRange(0, 100_000),
    default=600,
    show_default=True,
    help="Human texts per source (seller copy, brand replies) to calibrate on; 0 skips the calibration.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@data_dir_option
def eval_gate_cmd(labelled: Path | None, per_source: int, as_json: bool, data_dir: Path | None) -> None:
    """How well the quality gate separates good copy from bad: share of real human copy passing the fluency
    threshold, and precision / recall on a labelled set of real model output and human copy."""
    from dataclasses import asdict

    from marketing_gen.config import REPO_ROOT, get_settings
    from marketing_gen.copywriter import fluency_scorer
    from marketing_gen.errors import InvalidRequest
    from marketing_gen.guardrails.fluency import THRESHOLD
    from marketing_gen.training import gate_eval
    from marketing_gen.training.catalog_contexts import default_data_dir

    settings = get_settings()
    scorer = fluency_scorer(settings)
    if scorer is None:
        raise InvalidRequest("no reference model: run `marketing-gen model import-base` (or set fluency_model)")
    calibration = None
    if per_source:
        texts = gate_eval.human_copy(data_dir or default_data_dir(), limit_per_source=per_source)
        calibration = gate_eval.calibrate(scorer, texts, THRESHOLD)
    path = labelled or REPO_ROOT / "tests" / "fixtures" / "gate_labelled.jsonl"
    pieces: list[gate_eval.LabelledPiece] = []
    if labelled or path.is_file():
        with input_file(path) as readable:
            pieces = gate_eval.load_labelled(readable)
    detections = gate_eval.evaluate_labelled(pieces, scorer, THRESHOLD) if pieces else []
    if as_json:
        echo_json(
            {
                "calibration": asdict(calibration) if calibration else None,
                "labelled": str(path) if pieces else None,
                "pieces": len(pieces),
                "detections": [asdict(d) for d in detections],
            }
        )
        return
    click.echo(gate_eval.report(calibration, detections, len(pieces)))
