"""Export what a run recorded as JSON Lines, CSV (standard library) or Parquet (pyarrow, imported only
for Parquet: ``ls`` and the dashboard never load it)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from grpotui.store.db import PENDING, RunStore
from grpotui.store.evals import KEYS as EVAL_KEYS

WHATS = ("metrics", "groups", "eval", "prompts", "system", "alerts", "events")
FORMATS = ("jsonl", "csv", "parquet")
BINARY_FORMATS = ("parquet",)


def _clean(v: Any) -> Any:
    """NaN and infinities become null: every line stays valid JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def _judge_timeout(store: RunStore) -> float:
    return float(((store.run_info().get("config") or {}).get("run") or {}).get("judge_timeout") or 1.0)


def _judged(rows: Iterable[dict[str, Any]], limit: float) -> Iterator[dict[str, Any]]:
    """Every row with its verdict: those still pending in the store (judged off the training thread,
    maybe not yet) are judged here, the same way and with the same time limit as the judge process."""
    ready = False
    for row in rows:
        if row["verdict"] == PENDING:
            from grpotui.runner.judge import judge_limited

            if not ready:
                from grpotui.rewards import use_own_time_limit

                use_own_time_limit()
                ready = True
            row["answer"], row["verdict"], row["verdict_reason"] = judge_limited(
                row["completion"], row["expected"] or "", limit)
        yield row


def rows(store: RunStore, what: str) -> Iterator[dict[str, Any]]:
    if what == "metrics":  # each held-out evaluation's figures with the step it followed (0: before the first)
        evals = {e["step"]: {k: e[k] for k in EVAL_KEYS} for e in store.evals()}
        for step, data in store.metrics():
            for at in sorted(s for s in evals if s < step):
                yield {"step": at, **evals.pop(at)}
            yield {"step": step, **data, **evals.pop(step, {})}
        for at in sorted(evals):
            yield {"step": at, **evals[at]}
    elif what == "groups":
        yield from _judged(store.iter_completions(), _judge_timeout(store))
    elif what == "eval":  # every held-out evaluation sample
        yield from _judged(store.iter_eval_rows(), _judge_timeout(store))
    elif what == "prompts":  # per-prompt statistics, the fields of `grpotui prompts --json`, in order seen
        from grpotui.store.prompts import FIELDS

        page, offset = 1000, 0
        while True:
            batch = store.prompts(sort="first_step", descending=False, limit=page, offset=offset)
            for r in batch:
                yield {k: r[k] for k in FIELDS}
            if len(batch) < page:
                break
            offset += page
    elif what == "system":
        for _id, t, step, sample in store.system():
            yield {"t": t, "step": step, **sample}
    elif what == "alerts":
        for a in store.alerts():
            a.pop("id", None)
            yield a
    elif what == "events":
        yield from store.events()
    else:
        raise ValueError(f"--what {what}: one of {', '.join(WHATS)}")


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                out[f"{k}/{k2}"] = v2
        elif isinstance(v, list):
            out[k] = json.dumps(v)
        else:
            out[k] = v
    return out


# Tables small enough to scan whole for CSV columns; the others take them from their first rows.
SMALL = ("metrics", "alerts", "events")


def write(items: Iterable[dict[str, Any]], fmt: str, out: IO[str], *, scan: int | None = 1000) -> int:
    """Write rows; returns how many. CSV columns come from the first ``scan`` rows (None: all)."""
    n = 0
    if fmt == "jsonl":
        for r in items:
            out.write(json.dumps(_clean(r), ensure_ascii=False, allow_nan=False) + "\n")
            n += 1
        return n
    if fmt != "csv":
        raise ValueError(f"--format {fmt}: one of {', '.join(f for f in FORMATS if f not in BINARY_FORMATS)}")
    # CSV needs its columns up front: take them from the first rows (a run's reward functions and
    # system fields do not change), then stream the rest without holding them in memory.
    it = iter(items)
    head = [_flat(r) for r in it] if scan is None else [_flat(r) for _, r in zip(range(scan), it, strict=False)]
    cols: dict[str, None] = {}
    for r in head:
        cols.update(dict.fromkeys(r))
    w = csv.DictWriter(out, fieldnames=list(cols), extrasaction="ignore")
    w.writeheader()
    for r in head:
        w.writerow(r)
        n += 1
    for r in it:
        w.writerow(_flat(r))
        n += 1
    return n


# Whole numbers by nature; every other number is a float64 column.
INT_COLUMNS = ("step", "group", "index", "length", "exit_code", "cpu_count")


def _column_types(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Each column's Arrow type, from every row (a reward that is null in the first thousand rows and a
    number later is still a number)."""
    kinds: dict[str, set[str]] = {}
    for r in rows:
        for k, v in r.items():
            seen = kinds.setdefault(k, set())
            if v is None:
                continue
            seen.add("bool" if isinstance(v, bool) else "int" if isinstance(v, int)
                     else "float" if isinstance(v, float) else "str")
    out = {}
    for k, seen in kinds.items():
        if seen == {"bool"}:
            out[k] = "bool_"
        elif seen and seen <= {"int", "float"}:
            out[k] = "int64" if seen == {"int"} and k in INT_COLUMNS else "float64"
        elif not seen and (k in ("reward", "advantage") or k.startswith("rewards/")):
            out[k] = "float64"  # never a value yet, but a number by nature
        else:
            out[k] = "string"  # text, a column that mixes kinds, or one with no value at all
    return out


def _cell(v: Any, kind: str) -> Any:
    if v is None:
        return None
    if kind == "float64":
        return float(v) if isinstance(v, (int, float)) else None
    if kind == "int64":
        return int(v) if isinstance(v, (int, float)) and float(v).is_integer() else None
    if kind == "bool_":
        return v if isinstance(v, bool) else None
    return v if isinstance(v, str) else json.dumps(v, default=str)


def write_parquet(make_rows: Callable[[], Iterable[dict[str, Any]]], path: Any, *, batch: int = 20_000) -> int:
    """Write rows to a Parquet file (flat columns as in CSV, NaN kept as NaN), in batches; returns how
    many. ``make_rows`` is called twice: once for the columns and their types, once for the rows, so
    nothing is held in memory but one batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = _column_types(_flat(r) for r in make_rows())
    schema = pa.schema([(k, getattr(pa, t)()) for k, t in types.items()])
    n = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as w:
        def flush(rows: list[dict[str, Any]]) -> None:
            cols = {k: [_cell(r.get(k), t) for r in rows] for k, t in types.items()}
            w.write_table(pa.table(cols, schema=schema))

        pending: list[dict[str, Any]] = []
        for r in make_rows():
            pending.append(_flat(r))
            if len(pending) >= batch:
                flush(pending)
                n += len(pending)
                pending = []
        if pending or n == 0:
            flush(pending)
            n += len(pending)
    return n
