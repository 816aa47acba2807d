"""``marketing-gen demo``: the README's main job, end to end, on a fresh SQLite database and a real worker.

Steps: store (write + import the demo store, or your canonical CSVs) → model (import the base model, cached in
the models dir) → recommend → campaign create (email + Google Ads RSA + SMS + push) → a real
``marketing-gen worker`` subprocess on the SQLite broker → campaign run with a progress bar → stop the worker
→ sample copy, a stats table, exports (JSONL, Google Ads Editor CSV, .eml).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from marketing_gen.cli.groups import main

if TYPE_CHECKING:
    from marketing_gen.config import Settings

DEMO_CHANNELS = ("email", "google_ads_rsa", "meta_ad", "sms", "push")
DEMO_KEY_FILE = "secret_key"
"""The demo's signing key, beside its database (kept across runs; ``--fresh`` makes a new one)."""
CANONICAL = (
    ("brand", "brand.json"),
    ("users", "users.csv"),
    ("items", "items.csv"),
    ("interactions", "interactions.csv"),
    ("recommendations", "recommendations.csv"),
)


def ensure_demo_model(settings: Settings, echo: Callable[[str], None]) -> str:
    """The model the demo's campaign uses; returns its version name (it is the active version afterwards).

    Imports the base model (SmolLM2-135M-Instruct, cached in ``settings.models_dir``). The fine-tune step runs
    after `recommend` (it trains on the store's own users and items), see ``demo``.
    """
    from marketing_gen.versions.base_model import import_base
    from marketing_gen.versions.registry import set_active

    result = import_base(models_dir=settings.models_dir, database_url=settings.database_url, progress=echo)
    set_active(result.name, url=settings.database_url)
    return result.name


def demo_secret_key(work: Path) -> str:
    """The demo's own signing key: random, made on the first run, kept in ``work/secret_key`` (0600)."""
    import secrets

    from marketing_gen.config import MIN_SECRET_KEY_BYTES
    from marketing_gen.private_files import write_private_text

    path = work / DEMO_KEY_FILE
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if len(key.encode("utf-8")) >= MIN_SECRET_KEY_BYTES:
            return key
    key = secrets.token_urlsafe(MIN_SECRET_KEY_BYTES)
    write_private_text(path, key + "\n")
    return key


def demo_settings(work: Path) -> Settings:
    """Settings for the demo's own database, SQLite broker and signing key under ``work`` (everything else from
    the process); ``embedded_demo`` lets its links point at localhost."""
    from marketing_gen.config import get_settings

    base = get_settings()
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{(work / 'marketing_gen.db').resolve()}",
            "broker_url": f"sqla+sqlite:///{(work / 'broker.db').resolve()}",
            "broker_namespace": "",
            "models_dir": base.models_dir.resolve(),
            "secret_key": demo_secret_key(work),
            "secret_keys": [],
            "embedded_demo": True,
        }
    )


def worker_env(settings: Settings) -> dict[str, str]:
    """Environment for a worker subprocess that uses ``settings``' database, broker and models."""
    import os

    env = dict(os.environ)
    env.update(
        {
            "MARKETING_GEN_DATABASE_URL": settings.database_url,
            "MARKETING_GEN_BROKER_URL": settings.effective_broker_url,
            "MARKETING_GEN_BROKER_NAMESPACE": settings.broker_namespace,
            "MARKETING_GEN_MODELS_DIR": str(settings.models_dir),
            "MARKETING_GEN_SECRET_KEY": settings.secret_key or "",
            "MARKETING_GEN_SECRET_KEYS": ",".join(settings.secret_keys),
            "MARKETING_GEN_EMBEDDED_DEMO": "true" if settings.embedded_demo else "false",
        }
    )
    return env


def start_worker(settings: Settings, log_path: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``marketing-gen worker ARGS`` as a subprocess logging to ``log_path``."""
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "marketing_gen", "worker", "-l", "INFO", *args],
        env=worker_env(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM (warm shutdown) if this process dies first, so it is never orphaned."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_worker(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """Warm shutdown (SIGTERM: finish the current task), then SIGKILL after ``timeout``; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):  # a second Ctrl-C: do not wait any longer
            proc.kill()
            proc.wait(timeout=10)
    return int(proc.returncode)


def _step(name: str) -> float:
    click.secho(f"\n== {name}", bold=True)
    return time.perf_counter()


def _import_store(settings: Settings, data: Path, echo: Callable[[str], None]) -> None:
    from marketing_gen.errors import InvalidRequest
    from marketing_gen.importers import import_file

    found = [(kind, data / name) for kind, name in CANONICAL if (data / name).exists()]
    if not any(kind == "users" for kind, _ in found) or not any(kind == "items" for kind, _ in found):
        raise InvalidRequest(f"--data {data}: needs at least users.csv and items.csv (see docs/data.md)")
    for kind, path in found:
        report = import_file(kind, path, url=settings.database_url)
        echo(f"  {kind:<16} {_report_line(report)}")


def _report_line(report: Any) -> str:
    return (
        f"imported {report.imported}, updated {report.updated}, rejected {report.rejected}, "
        f"duplicates {report.duplicates}"
    )


def _samples(campaign_id: int, url: str) -> dict[str, dict[str, Any]]:
    from sqlalchemy import select

    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Draft, User

    out: dict[str, dict[str, Any]] = {}
    with session_scope(url) as s:
        for channel in DEMO_CHANNELS:
            row = s.execute(
                select(Draft.fields, Draft.fallback, User.first_name, User.external_id)
                .join(User, User.id == Draft.user_id)
                .where(Draft.campaign_id == campaign_id, Draft.channel == channel, Draft.status == "queued")
                .order_by(Draft.fallback, Draft.id)
                .limit(1)
            ).first()
            if row:
                out[channel] = {"fields": row[0] or {}, "fallback": row[1], "user": row[3]}
    return out


def _print_samples(samples: dict[str, dict[str, Any]]) -> None:
    for channel, sample in samples.items():
        origin = "template fallback" if sample["fallback"] else "model"
        click.secho(f"-- {channel} (user {sample['user']}, {origin})", fg="cyan")
        for key, value in sample["fields"].items():
            if isinstance(value, list):
                value = " | ".join(str(v) for v in value)
            text = str(value).replace("\n", " ")
            click.echo(f"   {key:<12} {text[:160]}{'…' if len(text) > 160 else ''}")


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _stats_table(status: dict[str, Any], wall_s: float) -> list[str]:
    names = ("pending", "generated", "ready", "queued", "failed", "skipped")
    rates = (
        ("pass 1st", "first_try_pass_rate"),
        ("send 1st", "first_try_sendable_rate"),
        ("sendable", "sendable_rate"),
        ("fallback", "fallback_rate"),
        ("dup head", "duplicate_headline_rate"),
    )
    lines = [f"{'channel':<15}" + "".join(f"{n:>10}" for n in names) + "".join(f"{r:>10}" for r, _ in rates)]
    for channel, counts in status["by_channel"].items():
        verdicts = status["verdicts_by_channel"].get(channel, {})
        lines.append(
            f"{channel:<15}"
            + "".join(f"{counts.get(n, 0):>10}" for n in names)
            + "".join(f"{_pct(verdicts.get(key)):>10}" for _, key in rates)
        )
    lines.append(
        f"{'total':<15}"
        + "".join(f"{status['counts'][n]:>10}" for n in names)
        + "".join(f"{_pct(status[key]):>10}" for _, key in rates)
    )
    written = status["counts"]["queued"] + status["counts"]["ready"] + status["counts"]["generated"]
    lines += [
        "pass: the first try passed every hard check; sendable: … and the quality gate (docs/quality.md);",
        "dup head: drafts whose subject/headline/title another user got for other items or another offer",
        f"first-try pass rate  {_pct(status['first_try_pass_rate'])}",
        f"first-try sendable   {_pct(status['first_try_sendable_rate'])}",
        f"fallback rate        {_pct(status['fallback_rate'])}",
        f"copies written       {written} in {wall_s:.1f} s = {written / wall_s if wall_s else 0:.2f} copies/s "
        "(end to end, incl. model load)",
        f"outbox rows          {status['outbox']}",
        f"model                {', '.join(status['model_versions']) or '-'}",
    ]
    return lines


@main.command()
@click.option("--users", type=int, default=60, show_default=True, help="Demo store size (ignored with --data).")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Your store instead: a directory with canonical users.csv, items.csv [interactions.csv, "
    "recommendations.csv, brand.json].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo_out"),
    show_default=True,
    help="Work dir (database, broker, logs) and exports.",
)
@click.option("--fresh", is_flag=True, help="Delete --out first (exports and logs too; the model cache stays).")
@click.option("--batch-size", type=int, default=32, show_default=True, help="Drafts per generate task.")
@click.option(
    "--max-regenerations",
    type=int,
    default=1,
    show_default=True,
    help="Extra model attempts per failing copy before the template fallback.",
)
@click.option(
    "--max-new-tokens",
    type=int,
    default=None,
    help="Cap generated tokens per copy (default: each channel's; lower it on a slow CPU).",
)
@click.option("--timeout", type=float, default=3600, show_default=True, help="Give up waiting after this long.")
@click.option(
    "--finetune/--no-finetune",
    default=True,
    show_default=True,
    help="Fine-tune the base model on the first run (TRL SFT, cached afterwards) before the campaign.",
)
def demo(
    users: int,
    data_dir: Path | None,
    out_dir: Path,
    fresh: bool,
    batch_size: int,
    max_regenerations: int,
    max_new_tokens: int | None,
    timeout: float,
    finetune: bool,
) -> None:
    """The main job end to end on a fresh SQLite database with a real Celery worker (see README)."""
    from marketing_gen.campaigns.export import export_campaign
    from marketing_gen.campaigns.state import create_campaign
    from marketing_gen.cli.campaign_cmds import start_campaign, wait_for
    from marketing_gen.db import upgrade
    from marketing_gen.devtools.demo_store import write_demo_store
    from marketing_gen.private_files import make_private_dir, touch_private
    from marketing_gen.recommend.store import run_recommend

    if fresh and out_dir.exists():
        shutil.rmtree(out_dir)
    work = make_private_dir(out_dir / "work")
    for name in ("marketing_gen.db", "marketing_gen.db-wal", "marketing_gen.db-shm", "broker.db"):
        (work / name).unlink(missing_ok=True)  # the database is always fresh; the model cache is not
    for name in ("marketing_gen.db", "broker.db"):
        touch_private(work / name)  # 0600 before SQLite creates it 0644 (its -wal / -shm files copy the mode)
    settings = demo_settings(work)
    url = settings.database_url
    started = time.perf_counter()

    t = _step(f"store: fresh SQLite database at {work / 'marketing_gen.db'}")
    upgrade(url)
    data = data_dir or work / "store"
    if data_dir is None:
        write_demo_store(data, users=users, seed=0)
        click.echo(f"  wrote the demo store ({users} users) to {data}")
    _import_store(settings, data, click.echo)
    click.echo(f"  {time.perf_counter() - t:.1f} s")

    t = _step("model")
    version = ensure_demo_model(settings, lambda m: click.echo(f"  {m}"))
    click.echo(f"  active model: {version} ({time.perf_counter() - t:.1f} s)")

    t = _step("recommend")
    rec = run_recommend(url, k=5)
    click.echo(f"  {rec.counts} ({time.perf_counter() - t:.1f} s)")

    if finetune:
        from marketing_gen.training.pipeline import ensure_finetuned_model

        t = _step("fine-tune (first run only; cached in the models dir afterwards)")
        version = ensure_finetuned_model(settings, progress=False, echo=lambda m: click.echo(f"  {m}"))
        click.echo(f"  active model: {version} ({time.perf_counter() - t:.1f} s)")

    _step("campaign")
    options: dict[str, Any] = {"batch_size": batch_size, "max_regenerations": max_regenerations}
    if max_new_tokens:
        options["sampling"] = {"max_new_tokens": max_new_tokens}
    cid = create_campaign(
        name="Northwind spring picks",
        channels=list(DEMO_CHANNELS),
        segment="",
        offer_text="Spring picks: 10% off with code SPRING10",
        discount_pct=10,
        offer_code="SPRING10",
        url=url,
        options=options,
        approval="none",
    )
    click.echo(f"  campaign {cid}: channels {', '.join(DEMO_CHANNELS)}, everyone with consent")
    click.echo("  approval: none (the demo skips the reviewer step; `campaign create` defaults to --approval required)")

    _step("worker: `marketing-gen worker` subprocess on the SQLite broker")
    log_path = work / "worker.log"
    proc = start_worker(settings, log_path)
    click.echo(f"  pid {proc.pid}, log {log_path}")
    try:
        t = _step("run")
        start_campaign(cid, settings=settings)
        status = wait_for(cid, settings=settings, timeout=timeout, stall_timeout=900)
        wall = time.perf_counter() - t
    finally:
        code = stop_worker(proc)
        click.echo(f"  worker stopped (exit {code})")
    if status["total"] < 1:
        click.echo("  the campaign planned no drafts: check consent flags in your users.csv")

    _step("sample copy")
    _print_samples(_samples(cid, url))

    _step("stats")
    for line in _stats_table(status, wall):
        click.echo("  " + line)

    t = _step("ads by theme: ad groups, keywords, one RSA and one Meta ad per theme (the model, in this process)")
    from marketing_gen.ads.build import build_ads
    from marketing_gen.versions.active import load_active_engine

    ads = build_ads(cid, out_dir / "ads", engine=load_active_engine(settings), settings=settings)
    click.echo(
        f"  {len(ads.groups)} ad groups for {ads.audience} users, {ads.negatives} negative keywords "
        f"({time.perf_counter() - t:.1f} s); files in {out_dir / 'ads'}"
    )
    for channel in ("google_ads_rsa", "meta_ad"):
        written = [g for g in ads.groups if channel in g.first_try]
        if written:
            first = sum(g.first_try[channel] for g in written)
            fell = sum(g.fallback.get(channel, False) for g in written)
            click.echo(
                f"  {channel:<15} sendable 1st {first}/{len(written)} ({first / len(written):.0%}), "
                f"fallback {fell}/{len(written)}"
            )

    _step(f"exports in {out_dir}")
    for fmt in ("jsonl", "eml"):
        paths = export_campaign(cid, fmt, out_dir, url=url)
        shown = paths[0] if len(paths) == 1 else f"{len(paths)} files in {paths[0].parent}" if paths else "nothing"
        click.echo(f"  {fmt:<15} {shown}")
    click.echo(
        f"\ndemo finished in {time.perf_counter() - started:.0f} s; campaign {cid} {status['state']}. "
        f"Inspect it: MARKETING_GEN_DATABASE_URL={url} marketing-gen campaign status {cid}"
    )
