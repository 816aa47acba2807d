"""Benchmark of the reply API: a real uvicorn server on 127.0.0.1 in a thread, real engine, httpx clients.

Owns the measurement only (figures, not a timed test): warm-up, serial latency (p50 / p95 of one request)
and throughput of N concurrent clients against the serial throughput, with the micro-batcher's batch sizes.
Request texts are real customer tweets from the training side of the fixed split (never the held-out ones).
"""

from __future__ import annotations

import secrets
import socket
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from marketing_gen.errors import ServerError
from marketing_gen.replies.suggest import DEFAULT_MAX_NEW_TOKENS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


def bench_texts(n: int) -> list[str]:
    """``n`` real customer messages that get suggestions (not escalated / spam), from outside the held-out set."""
    from marketing_gen.replies.evaluate import heldout_split, load_twitter_pairs
    from marketing_gen.replies.triage import triage

    _held, rest = heldout_split(load_twitter_pairs(), 300)
    texts = [p.text for p in rest if len(p.text) > 20 and triage(p.text).wants_suggestions]
    return [texts[i % len(texts)] for i in range(n)]


def run_bench(
    *,
    n_requests: int = 40,
    concurrency: int = 8,
    k: int = 3,
    m: int = 4,
    max_wait_ms: float = 5.0,
    busy_wait_ms: float = 50.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Serial latency and concurrent throughput of POST /v1/replies/suggest on a live HTTP server."""
    import httpx
    import uvicorn

    from marketing_gen.api import create_app
    from marketing_gen.config import get_settings

    say = progress or (lambda _msg: None)
    token = secrets.token_urlsafe(16)
    settings = get_settings().model_copy(update={"api_token": token})
    app = create_app(settings)
    app.state.reply_max_wait_ms = max_wait_ms
    app.state.reply_busy_wait_ms = busy_wait_ms
    app.state.reply_m = m
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="bench-uvicorn", daemon=True)
    started = time.perf_counter()
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise ServerError("the API server did not start")
        time.sleep(0.05)
    load_s = time.perf_counter() - started
    if app.state.reply_batcher is None:
        server.should_exit = True
        thread.join()
        raise ServerError(app.state.reply_error or "reply model not loaded")
    say(f"server up on 127.0.0.1:{port} in {load_s:.1f} s (model {app.state.reply_engine.version})")
    from marketing_gen.replies.retrieval import default_index

    index = default_index()  # waits for the API's background load: every timed request ranks retrieved replies too
    say(f"nearest-thread index: {f'{index.kind}, {len(index.threads)} threads' if index else 'off'}")
    url = f"http://127.0.0.1:{port}/v1/replies/suggest"
    headers = {"Authorization": f"Bearer {token}"}
    texts = bench_texts(max(n_requests + 2, concurrency))

    def call(client: httpx.Client, text: str) -> float:
        t0 = time.perf_counter()
        r = client.post(url, json={"text": text, "k": k}, headers=headers, timeout=600)
        r.raise_for_status()
        return time.perf_counter() - t0

    try:
        with httpx.Client() as client:
            for text in texts[:2]:  # warm-up: first-call allocations, similarity model load
                call(client, text)
            say("warm; serial phase")
            serial_started = time.perf_counter()
            serial = [call(client, text) for text in texts[2:]]
            serial_s = time.perf_counter() - serial_started
        say(f"serial: {n_requests} requests in {serial_s:.1f} s; concurrent phase ({concurrency} clients)")
        clients = [httpx.Client() for _ in range(concurrency)]
        try:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                # warm-up round, not timed: every client connected and in flight, as in steady state
                list(pool.map(call, clients, texts[: len(clients)]))
                batches_before = len(app.state.reply_batcher.stats.batch_sizes)
                conc_started = time.perf_counter()
                futures = [pool.submit(call, clients[i % concurrency], t) for i, t in enumerate(texts[2:])]
                concurrent = [f.result() for f in futures]
                conc_s = time.perf_counter() - conc_started
        finally:
            for c in clients:
                c.close()
        sizes = app.state.reply_batcher.stats.batch_sizes[batches_before:]
        seconds = app.state.reply_batcher.stats.batch_seconds[batches_before:]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    serial_rps, conc_rps = n_requests / serial_s, n_requests / conc_s
    return {
        "model_version": app.state.reply_engine.version,
        "requests": n_requests,
        "concurrency": concurrency,
        "k": k,
        "m": m,
        "max_new_tokens": DEFAULT_MAX_NEW_TOKENS,
        "int8_decode_layers": app.state.reply_engine.int8_decode_layers,
        "max_wait_ms": max_wait_ms,
        "busy_wait_ms": busy_wait_ms,
        "server_start_s": round(load_s, 2),
        "serial_p50_s": round(statistics.median(serial), 3),
        "serial_p95_s": round(_percentile(serial, 0.95), 3),
        "serial_rps": round(serial_rps, 3),
        "concurrent_p50_s": round(statistics.median(concurrent), 3),
        "concurrent_p95_s": round(_percentile(concurrent, 0.95), 3),
        "concurrent_rps": round(conc_rps, 3),
        "speedup": round(conc_rps / serial_rps, 2),
        "mean_requests_per_batch": round(sum(sizes) / len(sizes), 2) if sizes else None,
        "requests_per_batch": " ".join(map(str, sizes)),
        "model_seconds_per_batch": " ".join(f"{t:.2f}" for t in seconds),
    }


def format_bench(figures: dict[str, Any]) -> str:
    """The figures as a small table."""
    return "\n".join(f"{key:<26}{value}" for key, value in figures.items())
