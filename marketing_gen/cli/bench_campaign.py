"""``marketing-gen bench campaign``: copies/s through the broker and a real worker vs the engine alone.

End to end: a campaign on a demo store, planned, generated, rendered and queued by a real ``marketing-gen
worker`` subprocess (SQLite broker by default), after a warm-up campaign so the model load is not counted.
Engine alone: ``write_copies`` in this process on the same users, batches and sampling. Pipeline overhead
= 1 − model time / wall time, where model time is the time spent inside ``engine.generate`` in the worker.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from marketing_gen.cli.groups import bench, echo_json


class _RssSampler(threading.Thread):
    """Samples a process's resident memory (with children) until stopped; keeps the peak."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            proc = psutil.Process(self.pid)
            while not self._stop_event.is_set():
                procs = [proc, *proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
                self._stop_event.wait(self.every)
        except psutil.Error:
            return

    def stop(self) -> int:
        """Stop sampling; returns the peak RSS in bytes."""
        self._stop_event.set()
        self.join(timeout=5)
        return self.peak


def _batches(url: str, campaign_id: int) -> tuple[list[dict[str, Any]], float, int]:
    """Per-batch timings the worker stored, model seconds summed over batches, and copies written."""
    from sqlalchemy import select

    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Draft

    seen: dict[str, dict[str, Any]] = {}
    written = 0
    with session_scope(url) as s:
        for status, timings in s.execute(select(Draft.status, Draft.timings).where(Draft.campaign_id == campaign_id)):
            if status in ("generated", "ready", "queued"):
                written += 1
            if timings and timings.get("batch"):
                seen.setdefault(timings["batch"], timings)
    batches = list(seen.values())
    return batches, sum(float(b.get("batch_model_s", 0.0)) for b in batches), written


def _engine_alone(settings: Any, campaign_id: int, batch_size: int) -> dict[str, Any]:
    """``write_copies`` in-process on the same drafts' users, batches and sampling as the worker had."""
    from sqlalchemy import select

    from marketing_gen.campaigns.pipeline import TimedEngine, offer_from, sampling_params_for
    from marketing_gen.copywriter import write_copies
    from marketing_gen.db import session_scope
    from marketing_gen.db.models import Campaign, Draft
    from marketing_gen.recommend import build_contexts
    from marketing_gen.versions.active import load_active_engine

    url = settings.database_url
    with session_scope(url) as s:
        campaign = s.get(Campaign, campaign_id)
        assert campaign is not None
        s.expunge(campaign)
        rows = s.execute(
            select(Draft.user_id, Draft.channel, Draft.variant)
            .where(Draft.campaign_id == campaign_id, Draft.status.in_(("generated", "ready", "queued")))
            .order_by(Draft.channel, Draft.variant, Draft.id)
        ).all()
    load_started = time.perf_counter()
    engine = TimedEngine(load_active_engine(settings))
    load_s = time.perf_counter() - load_started
    opts = campaign.options or {}
    wall = 0.0
    copies = 0
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        groups: dict[tuple[str, int], list[int]] = {}
        for user_id, channel, variant in chunk:
            groups.setdefault((channel, variant), []).append(user_id)
        for (channel, variant), user_ids in groups.items():
            k = int(opts.get("items", 3))
            contexts = build_contexts(user_ids, channel, url=url, offer=offer_from(campaign), k=k)
            started = time.perf_counter()
            results = write_copies(
                contexts,
                channel,
                engine,
                variant=variant,
                seed=int(opts.get("seed", campaign_id)),
                max_regenerations=int(opts.get("max_regenerations", settings.max_regenerations)),
                params=sampling_params_for(campaign),
                settings=settings,
            )
            wall += time.perf_counter() - started
            copies += sum(1 for r in results if not r.skipped)
    return {"copies": copies, "wall_s": wall, "model_s": engine.seconds, "load_s": load_s}


@bench.command("campaign")
@click.option("--users", type=int, default=160, show_default=True, help="Demo store users.")
@click.option("--channel", default="push", show_default=True, help="Channel of the benchmark campaign.")
@click.option("--batch-size", type=int, default=64, show_default=True, help="Drafts per generate task.")
@click.option("--max-regenerations", type=int, default=0, show_default=True, help="Extra attempts per failing copy.")
@click.option("--max-new-tokens", type=int, default=None, help="Cap generated tokens (default: the channel's).")
@click.option("--broker-url", default=None, help="Broker to measure (default: a fresh SQLite broker).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_campaign(
    users: int,
    channel: str,
    batch_size: int,
    max_regenerations: int,
    max_new_tokens: int | None,
    broker_url: str | None,
    as_json: bool,
) -> None:
    """End-to-end copies/s through broker + worker vs the engine alone; pipeline overhead; peak worker RSS."""
    from marketing_gen.campaigns.state import create_campaign
    from marketing_gen.cli.campaign_cmds import start_campaign, wait_for
    from marketing_gen.cli.demo_cmds import _import_store, demo_settings, ensure_demo_model, start_worker, stop_worker
    from marketing_gen.db import upgrade
    from marketing_gen.devtools.demo_store import write_demo_store
    from marketing_gen.recommend.store import run_recommend

    say = (lambda m: None) if as_json else (lambda m: click.echo(m, err=True))
    with tempfile.TemporaryDirectory(prefix="mg-bench-") as tmp:
        work = Path(tmp)
        settings = demo_settings(work)
        if broker_url:
            settings = settings.model_copy(update={"broker_url": broker_url, "broker_namespace": f"bench-{work.name}-"})
        url = settings.database_url
        upgrade(url)
        write_demo_store(work / "store", users=users, seed=0)
        _import_store(settings, work / "store", lambda m: None)
        model = ensure_demo_model(settings, say)
        run_recommend(url, k=5)
        options: dict[str, Any] = {"batch_size": batch_size, "max_regenerations": max_regenerations}
        if max_new_tokens:
            options["sampling"] = {"max_new_tokens": max_new_tokens}
        warm = create_campaign(
            name="warm-up",
            channels=[channel],
            segment="external_id in (C00001, C00002, C00003)",
            url=url,
            options=options,
        )
        timed = create_campaign(name="bench", channels=[channel], url=url, options=options)
        proc = start_worker(settings, work / "worker.log")
        sampler = _RssSampler(proc.pid)
        sampler.start()
        try:
            say("warm-up (model load) …")
            start_campaign(warm, settings=settings)
            wait_for(warm, settings=settings, timeout=1800, progress=False)
            say("end to end …")
            started = time.perf_counter()
            start_campaign(timed, settings=settings)
            status = wait_for(timed, settings=settings, timeout=3600, progress=not as_json)
            e2e_wall = time.perf_counter() - started
        finally:
            peak_rss = sampler.stop()
            stop_worker(proc)
        batches, model_s, written = _batches(url, timed)
        say("engine alone …")
        alone = _engine_alone(settings, timed, batch_size)
    batch_wall = sum(float(b.get("batch_wall_s", 0.0)) for b in batches)
    result = {
        "model": model,
        "channel": channel,
        "max_new_tokens": max_new_tokens or "channel default",
        "users": users,
        "batch_size": batch_size,
        "broker": "sqlite" if not broker_url else broker_url.split(":", 1)[0],
        "drafts": status["total"],
        "copies": written,
        "batches": len(batches),
        "e2e_wall_s": round(e2e_wall, 2),
        "e2e_copies_per_s": round(written / e2e_wall, 3) if e2e_wall else None,
        "worker_model_s": round(model_s, 2),
        "worker_generate_task_s": round(batch_wall, 2),
        "pipeline_overhead": round(1 - model_s / e2e_wall, 4) if e2e_wall else None,
        "overhead_in_generate_task": round(1 - model_s / batch_wall, 4) if batch_wall else None,
        "engine_alone_copies": alone["copies"],
        "engine_alone_wall_s": round(alone["wall_s"], 2),
        "engine_alone_copies_per_s": round(alone["copies"] / alone["wall_s"], 3) if alone["wall_s"] else None,
        "engine_alone_model_s": round(alone["model_s"], 2),
        "peak_worker_rss_mib": round(peak_rss / 2**20, 1),
        "fallback_rate": status["fallback_rate"],
    }
    if as_json:
        echo_json(result)
        return
    labels = {
        "e2e_copies_per_s": "copies/s end to end (broker + worker)",
        "engine_alone_copies_per_s": "copies/s engine alone (write_copies in-process)",
        "pipeline_overhead": "pipeline overhead (1 − model time / wall)",
        "overhead_in_generate_task": "overhead inside generate tasks",
        "peak_worker_rss_mib": "peak worker RSS (MiB)",
    }
    for key, value in result.items():
        click.echo(f"{labels.get(key, key):<50} {value}")
