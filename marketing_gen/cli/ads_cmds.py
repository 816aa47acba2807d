"""``marketing-gen campaign ads``: themed ad groups for a campaign's ads channels (Google Ads Editor, Meta)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click

from marketing_gen.cli.groups import campaign, echo_json


@campaign.command("ads")
@click.argument("campaign_id", type=int)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for google_ads_editor.csv, meta_ads_bulk.csv and meta_audience_*.csv.")  # fmt: skip
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="NAME=SEGMENT: an ad group per segment expression instead of one per top category (repeat; a user "
    "joins the first group they match), e.g. --group 'Kitchen=interests has Kitchen'.",
)
@click.option(
    "--template-copy", is_flag=True, help="Write the deterministic template copy (checked) without the model."
)
@click.option("--daily-budget", type=Decimal, default=Decimal("10"), show_default=True,
              help="Daily budget of each Google Ads campaign (imported paused).")  # fmt: skip
@click.option("--min-group-size", type=click.IntRange(1), default=3, show_default=True,
              help="Themes with fewer users are pooled per language into one 'More picks' group.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def ads_cmd(
    campaign_id: int,
    out_dir: Path,
    groups: tuple[str, ...],
    template_copy: bool,
    daily_budget: Decimal,
    min_group_size: int,
    as_json: bool,
) -> None:
    """Write the campaign's search and social ads by theme, not by person: one ad group per theme with its
    keywords and one responsive search ad (Google Ads Editor CSV), one Meta ad per theme with its hashed Custom
    Audience file and an Ads Manager bulk-import CSV. Copy goes through the copywriter and its checks."""
    from marketing_gen.ads.build import build_ads, parse_groups
    from marketing_gen.config import get_settings

    settings = get_settings()
    engine = None
    if not template_copy:
        from marketing_gen.versions.active import load_active_engine

        engine = load_active_engine(settings)
    result = build_ads(
        campaign_id, out_dir, engine=engine, groups=parse_groups(list(groups)), daily_budget=daily_budget,
        min_group_size=min_group_size, settings=settings,
    )  # fmt: skip
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(
        f"campaign {campaign_id}: {result.audience} users eligible for ads, {len(result.groups)} ad groups, "
        f"{result.ungrouped} in no group, {result.negatives} negative keywords"
    )
    click.echo(f"{'ad group':<28} {'lang':<4} {'users':>5} {'keywords':>8}  copy")
    for g in result.groups:
        copy = ", ".join(
            f"{ch}: {'skipped' if ch in g.skipped else 'template' if fb else 'model'}" for ch, fb in g.fallback.items()
        )
        click.echo(f"{g.name[:28]:<28} {g.language:<4} {g.members:>5} {g.keywords:>8}  {copy}")
    for path in result.files:
        click.echo(f"  wrote {path}")
