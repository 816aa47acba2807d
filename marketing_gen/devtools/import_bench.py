"""Import benchmark: generate N interaction rows (plus the users and items they need) and time importing them.

Owns the synthetic files and the timing loop; ``cli/import_cmds`` prints the table.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from marketing_gen.importers.canonical import BATCH_SIZE, import_file

EVENTS_MIX = ("view", "view", "view", "cart", "purchase")


def write_bench_files(out_dir: Path, rows: int, *, seed: int = 0) -> dict[str, Path]:
    """Write users.csv, items.csv and interactions.csv (``rows`` lines, unique keys) under ``out_dir``."""
    rng = random.Random(seed)
    n_users = max(10, rows // 50)
    n_items = max(10, min(5000, rows // 20))
    paths = {name: out_dir / f"{name}.csv" for name in ("users", "items", "interactions")}
    with paths["users"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "email", "first_name", "locale", "country", "email_consent", "sms_consent"])
        for i in range(n_users):
            w.writerow([f"u{i}", f"user{i}@example.com", f"User{i}", "en", "United Kingdom", "yes", "no"])
    with paths["items"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "title", "category", "price", "currency", "in_stock"])
        for i in range(n_items):
            w.writerow([f"sku{i}", f"Item {i}", f"Category {i % 12}", f"£{rng.randint(100, 9999) / 100:.2f}", "GBP", 1])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with paths["interactions"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "item_id", "event", "timestamp", "quantity"])
        for i in range(rows):
            ts = (start + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            w.writerow([f"u{rng.randrange(n_users)}", f"sku{rng.randrange(n_items)}", rng.choice(EVENTS_MIX), ts, 1])
    return paths


def run_import_benchmark(
    rows: int = 100_000, *, database_url: str | None = None, batch_size: int = BATCH_SIZE, seed: int = 0
) -> list[dict[str, Any]]:
    """Time the imports into a fresh SQLite database (and a temporary PostgreSQL database when given a URL).

    Returns one dict per step: database, step, rows, rejected, seconds (wall), cpu_seconds (this process only: on a
    busy machine wall time includes waiting for a core; PostgreSQL's own work is not in it), rows_per_s (wall).
    """
    from marketing_gen.db import upgrade

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="marketing_gen_bench_") as tmp:
        paths = write_bench_files(Path(tmp), rows, seed=seed)
        targets = [("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
        pg_admin = None
        if database_url:
            pg_admin, pg_url = _temporary_postgres(database_url)
            targets.append(("postgresql", pg_url))
        try:
            for name, url in targets:
                upgrade(url)
                steps = [
                    ("users", "users"),
                    ("items", "items"),
                    ("interactions", "interactions"),
                    ("interactions", "interactions (re-import)"),
                ]
                for kind, label in steps:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    report = import_file(kind, paths[kind], url=url, batch_size=batch_size)
                    seconds = time.perf_counter() - started
                    cpu = time.process_time() - cpu_started
                    written = report.imported + report.updated
                    results.append(
                        {
                            "database": name,
                            "step": label,
                            "rows": written,
                            "rejected": report.rejected,
                            "seconds": round(seconds, 3),
                            "cpu_seconds": round(cpu, 3),
                            "rows_per_s": round(written / seconds) if seconds else None,
                        }
                    )
        finally:
            if pg_admin is not None:
                _drop_temporary_postgres(*pg_admin)
    return results


def _temporary_postgres(url: str) -> tuple[tuple[str, str], str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"marketing_gen_bench_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return (url, name), base.set(database=name).render_as_string(hide_password=False)


def _drop_temporary_postgres(url: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from marketing_gen.db import get_engine

    get_engine.cache_clear()
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
