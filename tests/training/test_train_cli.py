"""`train bootstrap`, `train sft`, `eval copy` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import shared_data

from marketing_gen.cli import main
from marketing_gen.config import get_settings
from marketing_gen.training.datasets import load_rows, save_rows
from marketing_gen.versions.registry import get_version


def test_bootstrap_writes_a_dataset_with_its_hash(settings_env: None) -> None:
    data_dir = shared_data("amazon_products_2020_sample_1000.csv").parent
    for name in (
        "uci_online_retail_first_week_sample.csv",
        "twcs_customer_support_twitter_sample_5000.csv",
        "bitext_customer_support_training.csv",
    ):
        shared_data(name)
    result = CliRunner().invoke(main, ["train", "bootstrap", "--rows", "20", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    rows = load_rows(Path(out["path"]))
    assert len(rows) == out["rows"] == 20
    assert Path(out["path"]).name == out["hash"][:12] + ".jsonl"
    assert Path(out["path"]).parent == Path(get_settings().models_dir) / "datasets"


def test_sft_from_a_dataset_file_registers_an_inactive_version(
    short_rows: list, tiny_base: str, tmp_path: Path
) -> None:
    rows = [{**r, "channel": "email", "source": "test", "weight": 1.0} for r in short_rows]
    path = save_rows(rows, tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "train",
            "sft",
            "--dataset",
            str(path),
            "--max-steps",
            "2",
            "--batch-size",
            "2",
            "--name",
            "cli-sft",
            "--max-length",
            "128",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "registered cli-sft (base tiny-base)" in result.output
    info = get_version("cli-sft", url=get_settings().database_url)
    assert info.kind == "sft" and not info.is_active and info.metrics["train"]["steps"] == 2


def test_eval_copy_refuses_more_contexts_than_held_out(settings_env: None, tiny_base: str) -> None:
    data_dir = shared_data("amazon_products_2020_sample_1000.csv").parent
    shared_data("uci_online_retail_first_week_sample.csv")
    result = CliRunner().invoke(
        main, ["eval", "copy", "--model", tiny_base, "--n", "100000", "--data-dir", str(data_dir)]
    )
    assert result.exit_code != 0 and "held-out contexts exist" in result.output


def test_cli_builds_as_many_rows_as_the_demo_recipe() -> None:
    from marketing_gen.cli.train_cmds import ROWS
    from marketing_gen.training.pipeline import DEMO_ROWS

    assert ROWS == DEMO_ROWS
