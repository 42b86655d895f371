"""Export what a run recorded as JSON Lines or CSV (light: standard library only)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from typing import IO, Any

from grpotui.store.db import RunStore

WHATS = ("metrics", "groups", "system", "alerts", "events")
FORMATS = ("jsonl", "csv")


def _clean(v: Any) -> Any:
    """NaN and infinities become null: every line stays valid JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def rows(store: RunStore, what: str) -> Iterator[dict[str, Any]]:
    if what == "metrics":
        for step, data in store.metrics():
            yield {"step": step, **data}
    elif what == "groups":
        yield from store.iter_completions()
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
        raise ValueError(f"--format {fmt}: one of {', '.join(FORMATS)}")
    # CSV needs its columns up front: take them from the first rows (a run's reward functions and
    # system fields do not change), then stream the rest without holding them in memory.
    it = iter(items)
    head = [_flat(r) for r in it] if scan is None else [_flat(r) for _, r in zip(range(scan), it)]
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
