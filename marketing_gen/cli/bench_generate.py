"""`marketing-gen bench generate`: (a) naive one-at-a-time loop, (b) the batched engine, (c) llama.cpp, (d) HF
``model.generate`` on static left-padded batches — same prompts and seed.

Owns the benchmark and its fixed, fictional users × items, turned into prompts by the real channel templates
(``prompts.build_prompt``: a system message with the brand voice and tagged output lines, a user data block).
Every path generates exactly ``--max-new-tokens`` tokens per copy (EOS suppressed), so copies/s compare
equal work; rows (a) and (d) use the engine's model object, dtype and sampling settings, so the ratios
measure batching and scheduling, not precision. Row (d) is the baseline a user writes in ten lines.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from marketing_gen.cli.groups import bench, echo_json

USERS = [
    ("Maya", "en-GB", "PT", ("trail running", "hiking"), "merino running socks"),
    ("Jonas", "en-GB", "DE", ("cycling", "commuting"), "a rain shell jacket"),
    ("Aiko", "en-GB", "GB", ("camping", "photography"), "a two-person tent"),
    ("Diego", "en-GB", "ES", ("climbing", "bouldering"), "chalk and a brush set"),
    ("Priya", "en-GB", "GB", ("yoga", "city walks"), "a packable down vest"),
    ("Tomás", "en-GB", "PT", ("surfing", "swimming"), "a quick-dry towel"),
    ("Elin", "en-GB", "SE", ("cross-country skiing",), "wool base layers"),
    ("Noah", "en-US", "US", ("fishing", "kayaking"), "a dry bag"),
]
ITEMS = [
    ("Trailblazer 2 trail running shoes", "89.00", "Shoes", ("grippy outsole", "280 g")),
    ("Ridge 20L daypack", "54.90", "Bags", ("padded straps", "rain cover included")),
    ("Summit insulated bottle 750 ml", "24.50", "Accessories", ("keeps drinks cold for 24 hours",)),
    ("Breeze softshell jacket", "119.00", "Jackets", ("windproof", "stretch fabric")),
    ("Nimbus ultralight sleeping bag", "149.00", "Camping", ("comfort rating 5 °C", "900 g")),
    ("Trek carbon poles (pair)", "79.95", "Accessories", ("adjustable 105-135 cm",)),
    ("Lumen 400 headlamp", "34.00", "Accessories", ("rechargeable", "400 lumens")),
    ("Harbor merino beanie", "19.90", "Accessories", ("soft, itch-free wool",)),
]


def build_prompts(n: int, channel: str = "email") -> list[list[dict[str, str]]]:
    """``n`` personalized prompts through the real prompt templates: fictional users × pairs of recommended items."""
    from decimal import Decimal

    from marketing_gen.contexts import BrandFacts, ItemFacts, UserContext
    from marketing_gen.prompts import build_prompt

    brand = BrandFacts(name="Northwind Outfitters", voice="warm, concise, practical", postal_address="1 Quay St")
    prompts = []
    for i in range(n):
        name, locale, country, interests, last = USERS[i % len(USERS)]
        a = (i // len(USERS) + i) % len(ITEMS)
        b = (i // len(USERS) + 2 * i + 3) % len(ITEMS)
        if b == a:
            b = (a + 1) % len(ITEMS)
        items = tuple(
            ItemFacts(
                item_id=k,
                external_id=f"SKU-{k}",
                title=ITEMS[k][0],
                price=Decimal(ITEMS[k][1]),
                currency="EUR",
                category=ITEMS[k][2],
                features=ITEMS[k][3],
                rank=rank,
            )  # fmt: skip
            for rank, k in enumerate((a, b))
        )
        context = UserContext(
            user_id=i, external_id=f"U{i}", first_name=name, locale=locale, country=country, brand=brand,
            items=items, interests=interests, last_purchase=last, consent=frozenset({"email"}),
        )  # fmt: skip
        prompts.append(build_prompt(context, channel, variant=i))
    return prompts


LLAMA_PATH = "(c) llama.cpp, one at a time"


@dataclass
class Row:
    """One measured path."""

    path: str
    copies: int = 0
    tokens: int = 0
    seconds: float = 0.0
    tokens_per_s: float = 0.0
    copies_per_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    peak_rss_mb: float = 0.0
    note: str = ""


def _finish(row: Row, latencies: list[float], rss_mb: float) -> Row:
    row.tokens_per_s = row.tokens / row.seconds if row.seconds else 0.0
    row.copies_per_s = row.copies / row.seconds if row.seconds else 0.0
    lat = sorted(latencies)
    if lat:
        row.p50_ms = 1000 * statistics.median(lat)
        row.p95_ms = 1000 * lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    row.peak_rss_mb = rss_mb
    return row


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux ``clear_refs`` 5); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    """Peak RSS since the last reset (VmHWM), else since the process started (ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(label: str, fn: Callable[[], tuple[int, int, list[float]]]) -> Row:
    _reset_peak_rss()
    started = time.perf_counter()
    copies, tokens, latencies = fn()
    row = Row(path=label, copies=copies, tokens=tokens, seconds=time.perf_counter() - started)
    return _finish(row, latencies, _peak_rss_mb())


def run_naive(engine: Any, prompts: list[Any], params: Any) -> tuple[int, int, list[float]]:
    """(a) One prompt at a time through ``model.generate`` with the engine's model, dtype and sampling."""
    import torch

    tok, model = engine.tokenizer, engine.model
    latencies, tokens = [], 0
    for i, prompt in enumerate(prompts):
        t0 = time.perf_counter()
        enc = tok(engine.render(prompt), add_special_tokens=False, return_tensors="pt").to(model.device)
        torch.manual_seed(params.seed + i)
        with torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=params.max_new_tokens,
                min_new_tokens=params.max_new_tokens,
                do_sample=params.temperature > 0,
                temperature=params.temperature or None,
                top_p=params.top_p,
                top_k=params.top_k or None,
                pad_token_id=engine.pad_id,
            )
        tokens += out.shape[1] - enc["input_ids"].shape[1]
        tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        latencies.append(time.perf_counter() - t0)
    return len(prompts), tokens, latencies


def run_static_batches(engine: Any, prompts: list[Any], params: Any, batch: int) -> tuple[int, int, list[float]]:
    """(d) ``model.generate`` on static left-padded batches of ``batch`` prompts in input order (no length
    bucketing, no shared prefix), one seed for the run; a copy's latency is when its batch finished."""
    import torch

    tok, model = engine.tokenizer, engine.model
    texts = [engine.render(p) for p in prompts]
    latencies, tokens, started = [], 0, time.perf_counter()
    torch.manual_seed(params.seed)
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        enc = tok(chunk, add_special_tokens=False, padding=True, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=params.max_new_tokens,
                min_new_tokens=params.max_new_tokens,
                do_sample=params.temperature > 0,
                temperature=params.temperature or None,
                top_p=params.top_p,
                top_k=params.top_k or None,
                pad_token_id=engine.pad_id,
            )
        new = out[:, enc["input_ids"].shape[1] :]
        tokens += new.numel()
        tok.batch_decode(new, skip_special_tokens=True)
        latencies += [time.perf_counter() - started] * len(chunk)
    return len(texts), tokens, latencies


def run_engine(engine: Any, prompts: list[Any], params: Any, token_budget: int | None) -> tuple[int, int, list[float]]:
    """(b) The engine's batched path; a copy's latency is when its micro-batch finished."""
    completions = engine.generate(prompts, params, token_budget=token_budget, ignore_eos=True)
    stats = engine.last_stats
    latencies, elapsed = [], 0.0
    for rows, seconds in zip(stats.batch_rows, stats.batch_seconds, strict=True):
        elapsed += seconds
        latencies += [elapsed] * rows
    return len(completions), sum(sum(c.tokens) for c in completions), latencies


def run_llama_cpp(gguf: Path, texts: list[str], params: Any, threads: int) -> tuple[int, int, list[float]]:
    """(c) llama.cpp (llama-cpp-python) on the same GGUF, one prompt at a time, EOS suppressed."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=1024, n_threads=threads, seed=params.seed, verbose=False)
    eos = llm.token_eos()

    def no_eos(_ids: Any, scores: Any) -> Any:
        scores[eos] = -float("inf")
        return scores

    latencies, tokens = [], 0
    for text in texts:
        t0 = time.perf_counter()
        out = llm.create_completion(
            text,
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            seed=params.seed,
            logits_processor=llama_cpp.LogitsProcessorList([no_eos]),
        )
        tokens += out["usage"]["completion_tokens"]
        latencies.append(time.perf_counter() - t0)
    return len(texts), tokens, latencies


def _llama_child(conn: Any, gguf: str, texts: list[str], params_json: str, threads: int) -> None:
    from marketing_gen.llm.sampling import SamplingParams

    params = SamplingParams.model_validate_json(params_json)
    row = _measure(LLAMA_PATH, lambda: run_llama_cpp(Path(gguf), texts, params, threads))
    conn.send(asdict(row))
    conn.close()


def measure_llama_cpp(gguf: Path, texts: list[str], params: Any, threads: int) -> Row:
    """Row (c), measured in a child process: its peak RSS is llama.cpp's alone, and a llama.cpp build that
    crashes (e.g. SIGILL from CPU instructions the machine does not allow) skips the row, not the benchmark."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_llama_child, args=(child, str(gguf), texts, params.model_dump_json(), threads))
    proc.start()
    child.close()
    try:
        result = parent.recv()  # EOFError when the child ended without sending
    except EOFError:
        result = None
    proc.join()
    if result is None or proc.exitcode != 0:
        how = f"signal {-proc.exitcode}" if proc.exitcode and proc.exitcode < 0 else f"exit code {proc.exitcode}"
        hint = (
            " (illegal instruction: reinstall llama-cpp-python with CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX2=ON')"
            if proc.exitcode == -4
            else ""
        )
        return Row(path=LLAMA_PATH, note=f"llama.cpp process failed: {how}{hint}")
    return Row(**result)


def _table(rows: list[Row]) -> str:
    head = (
        f"{'path':<34} {'copies':>6} {'tokens':>7} {'s':>7} {'tok/s':>7} {'copies/s':>8}"
        f" {'p50 ms':>8} {'p95 ms':>8} {'RSS MB':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        if r.note and not r.copies:
            lines.append(f"{r.path:<34} skipped: {r.note}")
            continue
        lines.append(
            f"{r.path:<34} {r.copies:>6} {r.tokens:>7} {r.seconds:>7.1f} {r.tokens_per_s:>7.1f} {r.copies_per_s:>8.2f}"
            f" {r.p50_ms:>8.0f} {r.p95_ms:>8.0f} {r.peak_rss_mb:>7.0f}"
        )
        if r.note:
            lines.append(f"    {r.note}")
    return "\n".join(lines)


STATIC_PATH = "(d) HF generate, static batches"


def _load_engine(model_path: Path | None, device: str | None, dtype: str | None, random_init: bool) -> Any:
    from marketing_gen.config import get_settings
    from marketing_gen.llm.engine import Engine

    settings = get_settings()
    if model_path is None:
        from marketing_gen.versions.registry import active_version

        active = active_version(url=settings.database_url)
        if active is None:
            raise click.UsageError("No model: run `marketing-gen model import-base` or pass --model DIR")
        model_path = Path(active.path)
    return Engine.from_path(model_path, settings=settings, device=device, dtype=dtype, random_init=random_init)


def _profile(engine: Any, prompts: list[Any], params: Any, rows: int) -> list[dict[str, Any]]:
    """Top operators by self time over one engine call of ``rows`` prompts (torch.profiler, CPU and CUDA)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if engine.device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        engine.generate(prompts[:rows], params, ignore_eos=True)
        if engine.device.type == "cuda":
            torch.cuda.synchronize()
    key = "self_cuda_time_total" if engine.device.type == "cuda" else "self_cpu_time_total"
    averages = sorted(prof.key_averages(), key=lambda e: getattr(e, key), reverse=True)
    total = sum(getattr(e, key) for e in averages) or 1
    return [
        {
            "op": e.key,
            "calls": e.count,
            "self_ms": round(getattr(e, key) / 1000, 1),
            "share": round(getattr(e, key) / total, 3),
        }  # fmt: skip
        for e in averages[:15]
    ]


@bench.command(name="generate")
@click.option("--n", "n", default=64, show_default=True, type=click.IntRange(1), help="Prompts (copies) to generate.")
@click.option("--max-new-tokens", default=64, show_default=True, type=click.IntRange(1, 1024), help="Tokens per copy.")
@click.option("--temperature", default=0.8, show_default=True, type=float, help="Sampling temperature (0 = greedy).")
@click.option("--top-p", default=0.95, show_default=True, type=float, help="Nucleus sampling mass.")
@click.option("--seed", default=7, show_default=True, type=int, help="Sampling seed (same for every path).")
@click.option(
    "--token-budget", type=int, help="Engine micro-batch token budget (default: the engine's, see docs/engine.md)."
)
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="HF model dir (default: the active registered version).")  # fmt: skip
@click.option("--device", help="cpu, cuda, cuda:N (default: settings.device, auto).")
@click.option("--dtype", type=click.Choice(["auto", "bf16", "fp16", "fp32"]), help="Weights (default: settings.dtype).")
@click.option(
    "--random-init", is_flag=True, help="Random weights of the model's shape (for machines the weights cannot reach)."
)
@click.option("--static-batch", default=32, show_default=True, type=click.IntRange(1),
              help="Prompts per batch of row (d), HF generate on static left-padded batches.")  # fmt: skip
@click.option("--naive-n", type=click.IntRange(1), help="Run the slow naive loop on only the first K prompts.")
@click.option("--skip-naive", is_flag=True, help="Skip row (a), the naive loop.")
@click.option("--skip-static", is_flag=True, help="Skip row (d), HF static batches.")
@click.option("--skip-llama", is_flag=True, help="Skip row (c), llama.cpp.")
@click.option("--profile", "profile_rows", default=0, type=click.IntRange(0),
              help="Also profile an engine call on K prompts (torch.profiler); report the top operators.")  # fmt: skip
@click.option("--show", default=0, show_default=True, type=click.IntRange(0), help="Print K engine outputs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of the table.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON here.")
def generate_cmd(
    n: int,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    token_budget: int | None,
    model_path: Path | None,
    device: str | None,
    dtype: str | None,
    random_init: bool,
    static_batch: int,
    naive_n: int | None,
    skip_naive: bool,
    skip_static: bool,
    skip_llama: bool,
    profile_rows: int,
    show: int,
    as_json: bool,
    out_path: Path | None,
) -> None:
    """Copies/s, tokens/s, latency and peak RSS: naive loop, batched engine, llama.cpp and HF static batches on
    the same prompts and seed (ratios of the engine to each)."""
    import json
    import os

    import torch

    from marketing_gen.config import get_settings
    from marketing_gen.llm.sampling import SamplingParams
    from marketing_gen.versions.base_model import GGUF_NAME, cache_dir

    settings = get_settings()

    def say(msg: str) -> None:
        click.echo(msg, err=True)

    engine = _load_engine(model_path, device, dtype, random_init)
    params = SamplingParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed)
    prompts = build_prompts(n)
    say(f"model {engine.version} on {engine.device} as {engine.dtype}, {torch.get_num_threads()} threads; "
        f"{n} prompts × {max_new_tokens} new tokens")  # fmt: skip
    engine.generate(prompts[:2], params.model_copy(update={"max_new_tokens": 4}))  # warm-up, not timed

    rows: list[Row] = []
    naive_prompts = prompts[: naive_n or n]
    if skip_naive:
        rows.append(Row(path="(a) naive loop, model.generate", note="--skip-naive"))
    else:
        say(f"(a) naive loop over {len(naive_prompts)} prompts…")
        rows.append(_measure("(a) naive loop, model.generate", lambda: run_naive(engine, naive_prompts, params)))
    say("(b) engine, batched…")
    budget = token_budget or engine.token_budget
    row_b = _measure("(b) engine, bucketed micro-batches", lambda: run_engine(engine, prompts, params, budget))
    stats = engine.last_stats
    row_b.note = (
        f"micro-batches {stats.batch_rows}, token budget {budget}; prefill {stats.prefill_seconds:.1f} s "
        f"({stats.prefill_tokens} tokens), decode {stats.decode_seconds:.1f} s"
    )
    rows.append(row_b)
    samples = engine.generate(prompts[:show], params) if show else []

    gguf = cache_dir(settings.models_dir) / GGUF_NAME
    if skip_llama:
        rows.append(Row(path=LLAMA_PATH, note="--skip-llama"))
    elif random_init:
        rows.append(Row(path=LLAMA_PATH, note="--random-init: llama.cpp would run the real weights"))
    else:
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            rows.append(Row(path=LLAMA_PATH, note="llama-cpp-python not installed (pip install '.[bench]')"))
        else:
            if gguf.is_file():
                say("(c) llama.cpp, one at a time (in a child process)…")
                rendered = [engine.render(p) for p in prompts]
                rows.append(measure_llama_cpp(gguf, rendered, params, torch.get_num_threads()))
            else:
                rows.append(Row(path=LLAMA_PATH, note=f"no GGUF at {gguf}: run `model import-base`"))
    if skip_static:
        rows.append(Row(path=STATIC_PATH, note="--skip-static"))
    else:
        say(f"(d) HF generate, static left-padded batches of {static_batch}…")
        row_d = _measure(STATIC_PATH, lambda: run_static_batches(engine, prompts, params, static_batch))
        row_d.note = f"batches of {static_batch}"
        rows.append(row_d)
    top_ops = []
    if profile_rows:
        say(f"profiling one engine call on {profile_rows} prompts…")
        top_ops = _profile(engine, prompts, params, profile_rows)

    by = {r.path[:3]: r for r in rows}
    ratios = {
        f"b/{k}": round(by["(b)"].copies_per_s / by[f"({k})"].copies_per_s, 2)
        for k in ("a", "c", "d")
        if by.get(f"({k})") and by[f"({k})"].copies_per_s
    }
    report = {
        "model": engine.version,
        "device": str(engine.device),
        "dtype": str(engine.dtype).removeprefix("torch."),
        "threads": torch.get_num_threads(),
        "n": n,
        "max_new_tokens": max_new_tokens,
        "token_budget": budget,
        "params": params.model_dump(mode="json"),
        "rows": [asdict(r) for r in rows],
        "ratios": ratios,
        "top_ops": top_ops,
        "process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "samples": [c.texts[0] for c in samples],
    }
    if out_path:
        out_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        say(f"wrote {out_path}")
    if as_json:
        echo_json(report)
        return
    click.echo(_table(rows))
    click.echo("ratios (copies/s): " + (", ".join(f"{k} = {v}×" for k, v in ratios.items()) or "n/a"))
    click.echo(f"process peak RSS: {report['process_peak_rss_mb']:.0f} MB; "
               f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    for op in top_ops:
        click.echo(f"  {op['op']:<48} {op['calls']:>7} calls {op['self_ms']:>10.1f} ms {100 * op['share']:>5.1f} %")
    for c in samples:
        click.echo(f"\n--- sample {c.index} ({c.tokens[0]} tokens, {c.finish_reasons[0]}) ---\n{c.texts[0]}")
