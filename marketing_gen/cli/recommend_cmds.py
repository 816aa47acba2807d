"""`marketing-gen recommend`, `marketing-gen eval recs`, `marketing-gen bench recs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from marketing_gen.cli.groups import bench, echo_json, eval_, main
from marketing_gen.csv_safe import SafeDictWriter

DEFAULT_RETAIL = Path("..") / "shared" / "data" / "uci_online_retail_first_week_sample.csv"


def _params(
    weighting: str | None, neighbours: int | None, popularity_weight: float | None, history_idf: float | None
) -> Any:
    from marketing_gen.recommend.cf import CFParams

    changes: dict[str, Any] = {}
    if weighting:
        changes["weighting"] = weighting
    if neighbours is not None:
        changes["neighbours"] = neighbours
    if popularity_weight is not None:
        changes["popularity_weight"] = popularity_weight
    if history_idf is not None:
        changes["history_idf"] = history_idf
    return CFParams(**changes)


_weighting = click.option(
    "--weighting",
    type=click.Choice(["tfidf", "bm25", "cosine", "conditional", "none"]),
    default=None,
    help="Matrix weighting before the item-item products (default: tfidf).",
)
_neighbours = click.option(
    "--neighbours", type=click.IntRange(1, 100_000), default=None, help="Neighbours kept per item (default: 50)."
)
_history_idf = click.option(
    "--history-idf",
    type=click.FloatRange(min=0),
    default=None,
    help="Power of the idf weight of history items (default: 1.0; 0 = off).",
)
_pop_weight = click.option(
    "--popularity-weight",
    type=click.FloatRange(min=0),
    default=None,
    help="Blend weight of item popularity (default: 1.0; 0 = pure CF).",
)


@main.command()
@click.option("--k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Items per user.")
@click.option("--users", default=None, help="Comma-separated external user ids (default: every user).")
@click.option(
    "--include-purchased", is_flag=True, help="Allow items the user already bought (repeat purchases are favoured)."
)
@click.option(
    "--max-per-category",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="At most this many items per category (0 = no cap).",
)
@_weighting
@_neighbours
@_pop_weight
@_history_idf
@click.option("--json", "as_json", is_flag=True, help="Print counts and every row (user_id,item_id,rank,score).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write user_id,item_id,rank,score as CSV.")
def recommend(
    k: int,
    users: str | None,
    include_purchased: bool,
    max_per_category: int,
    weighting: str | None,
    neighbours: int | None,
    popularity_weight: float | None,
    history_idf: float | None,
    as_json: bool,
    out: Path | None,
) -> None:
    """Compute built-in recommendations (item-item CF + popular-in-category fallback) and store them.

    Each processed user's previous `builtin` rows are replaced in one transaction; imported `upstream`
    rows are left alone (contexts prefer them when present).
    """
    from marketing_gen.config import get_settings
    from marketing_gen.recommend.store import run_recommend

    wanted = [u.strip() for u in users.split(",") if u.strip()] if users else None
    result = run_recommend(
        get_settings().database_url,
        k=k,
        users=wanted,
        exclude_purchased=not include_purchased,
        max_per_category=max_per_category or None,
        params=_params(weighting, neighbours, popularity_weight, history_idf),
        export=as_json or out is not None,
    )
    if out is not None:
        with out.open("w", newline="", encoding="utf-8") as fh:
            writer = SafeDictWriter(fh, fieldnames=["user_id", "item_id", "rank", "score"])
            writer.writeheader()
            writer.writerows(result.export)
    if as_json:
        echo_json({"counts": result.counts, "data": result.report, "recommendations": result.export})
        return
    c = result.counts
    click.echo(
        f"users {c['users']}: with CF {c['with_cf']} (of which filled from popularity {c['filled']}), "
        f"cold-start fallback {c['cold_start']}, skipped {c['skipped']}, unknown ids {c['unknown_users']}; "
        f"{c['rows_written']} rows written (source builtin)"
    )
    click.echo("data: " + ", ".join(f"{key} {value}" for key, value in result.report.items()))
    if out is not None:
        click.echo(f"wrote {len(result.export)} rows to {out}")


@eval_.command(name="recs")
@click.option(
    "--data",
    "data_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_RETAIL,
    show_default=True,
    help="The UCI Online Retail CSV.",
)
@click.option("--k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="Cut-off for the metrics.")
@_weighting
@_neighbours
@_pop_weight
@_history_idf
@click.option(
    "--sweep", is_flag=True, help="Measure the weighting × neighbours × popularity-weight × history-idf grid."
)
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def eval_recs(
    data_path: Path,
    k: int,
    weighting: str | None,
    neighbours: int | None,
    popularity_weight: float | None,
    history_idf: float | None,
    sweep: bool,
    as_json: bool,
) -> None:
    """Offline evaluation on Online Retail: CF vs popularity, leave-last-basket-out and temporal splits.

    recall@k = hits / min(k, held-out items). Two settings: "new items only" (purchased items excluded, the
    default of `recommend`; held-out items bought before are dropped from the target) and "repeats allowed"
    (`recommend --include-purchased`; a popularity + repeats baseline shows what re-offering alone gives).
    """
    from dataclasses import asdict

    from marketing_gen.recommend import evaluate

    data = evaluate.load_online_retail(data_path)
    if sweep:
        results = evaluate.sweep(data.purchases, k=k)
        if as_json:
            echo_json([{"params": asdict(p), "rows": [asdict(r) for r in rows]} for p, rows in results])
            return
        first = results[0][1]
        labels = [f"{r.split.split(' ')[0]}/{r.setting.split(' ')[0]}" for r in first if r.method == "item-item CF"]
        click.echo(
            f"recall@{k} of the item-item CF (gain over popularity); popularity: "
            + ", ".join(
                f"{lab} {r.recall:.4f}"
                for lab, r in zip(labels, [r for r in first if r.method == "popularity"], strict=True)
            )
        )
        click.echo(
            f"{'weighting':<12} {'neighbours':>10} {'pop weight':>10} {'hist idf':>8}  "
            + "  ".join(f"{lab:>26}" for lab in labels)
        )
        for params, rows in results:
            cells = [f"{r.recall:.4f} ({r.gain:+.0%})" for r in rows if r.method == "item-item CF"]
            click.echo(
                f"{params.weighting:<12} {params.neighbours:>10} {params.popularity_weight:>10} "
                f"{params.history_idf:>8}  " + "  ".join(f"{c:>26}" for c in cells)
            )
        return
    params = _params(weighting, neighbours, popularity_weight, history_idf)
    rows = evaluate.evaluate_purchases(data.purchases, params=params, k=k)
    if as_json:
        echo_json({"k": k, "params": asdict(params), "data": data.report, "rows": [asdict(r) for r in rows]})
        return
    click.echo(f"{data_path}: {data.report}")
    click.echo(f"params: {params}")
    header = f"{'split':<32} {'setting':<36} {'method':<13} {'users':>5} {'recall@' + str(k):>9} "
    header += f"{'NDCG@' + str(k):>8} {'coverage':>8}  recall gain vs popularity [95% CI]"
    click.echo(header)
    for r in rows:
        gain = ""
        if r.gain is not None and r.gain_ci is not None:
            gain = f"{r.gain:+.1%} [{r.gain_ci[0]:+.0%}, {r.gain_ci[1]:+.0%}]"
        click.echo(
            f"{r.split:<32} {r.setting:<36} {r.method:<13} {r.users:>5} {r.recall:>9.4f} {r.ndcg:>8.4f} "
            f"{r.coverage:>8.4f}  {gain}"
        )


@bench.command(name="recs")
@click.option("--users", "n_users", type=int, default=100_000, show_default=True, help="Generated users.")
@click.option("--items", "n_items", type=int, default=50_000, show_default=True, help="Generated items.")
@click.option("--per-user", type=int, default=20, show_default=True, help="Mean interactions per user.")
@click.option("--k", "k", type=int, default=10, show_default=True, help="Items per user.")
@click.option(
    "--db-users",
    type=int,
    default=2_000,
    show_default=True,
    help="Also time the full DB path (load, fit, recommend, write) on a temporary SQLite store of this many users "
    "(0 = skip).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Generator seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench_recs(n_users: int, n_items: int, per_user: int, k: int, db_users: int, seed: int, as_json: bool) -> None:
    """Time fit + top-k for every user on generated power-law interactions; report seconds and peak RSS."""
    from marketing_gen.recommend.bench import run_bench

    figures = run_bench(n_users=n_users, n_items=n_items, per_user=per_user, k=k, db_users=db_users, seed=seed)
    if as_json:
        echo_json(figures)
        return
    for key, value in figures.items():
        click.echo(f"{key:<28} {value}")
