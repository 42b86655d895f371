"""The data the widgets draw, built by the session layer and held by the screens (no I/O, no textual): curve
series in bounded memory, one step's groups, and the small helpers that shape them for the eye."""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from typing import Any

from grpotui.store.db import Group

# The curves the dashboard draws, by TRL's metric names.
CURVE_KEYS = (
    "reward", "reward_std", "kl", "loss", "entropy", "completions/mean_length",
    "frac_reward_zero_std", "completions/clipped_ratio", "grad_norm",
)


@dataclass(frozen=True, eq=False)
class StepGroups:
    """One step's groups as read from a store: what the group-spread panel and the completions view show
    (compared by identity: a new read is new data)."""

    step: int | None
    groups: tuple[Group, ...] = ()


class Series:
    """Values of the curves over steps, in bounded memory.

    Each key keeps at most ``cap`` points: when full, neighbouring pairs merge into one point that
    alternately keeps the pair's larger and smaller value, so spikes and the envelope survive while a
    run of any length costs the same memory and the same time to draw.
    """

    def __init__(self, cap: int = 2048) -> None:
        self.cap = cap
        self.steps: dict[str, list[int]] = {}
        self.values: dict[str, list[float]] = {}
        self.version = 0
        """Counts the additions: a drawing made at one version is current until the next."""

    @staticmethod
    def wanted(key: str) -> bool:
        return key in CURVE_KEYS or (key.startswith("rewards/") and key.endswith("/mean"))

    def add(self, step: int, metrics: dict[str, Any]) -> None:
        for key, v in metrics.items():
            if not self.wanted(key) or not isinstance(v, (int, float)) or isinstance(v, bool):
                continue
            steps = self.steps.setdefault(key, [])
            vals = self.values.setdefault(key, [])
            if steps and step <= steps[-1]:  # a re-logged step (resumed run): drop what came after
                cut = bisect_left(steps, step)
                del steps[cut:]
                del vals[cut:]
            steps.append(step)
            vals.append(float(v))
            self.version += 1
            if len(steps) > self.cap:
                self._halve(key)

    def _halve(self, key: str) -> None:
        steps, vals = self.steps[key], self.values[key]
        keep_last = (steps[-1], vals[-1])
        ns, nv = [], []
        for i in range(0, len(steps) - 1, 2):
            a, b = vals[i], vals[i + 1]
            if not math.isfinite(a) or not math.isfinite(b):  # a NaN must stay visible
                j = i if not math.isfinite(a) else i + 1
            else:
                j = (i if a >= b else i + 1) if (i // 2) % 2 == 0 else (i if a <= b else i + 1)
            ns.append(steps[j])
            nv.append(vals[j])
        if ns[-1] != keep_last[0]:  # the newest value is what the title shows
            ns.append(keep_last[0])
            nv.append(keep_last[1])
        self.steps[key], self.values[key] = ns, nv

    def get(self, key: str, upto: int | None = None) -> tuple[list[int], list[float]]:
        steps, vals = self.steps.get(key, []), self.values.get(key, [])
        if upto is not None:
            cut = bisect_left(steps, upto + 1)
            steps, vals = steps[:cut], vals[:cut]
        return steps, vals

    def reward_keys(self) -> list[str]:
        return sorted(k for k in self.steps if k.startswith("rewards/"))


def downsample(xs: list[int], ys: list[float], n: int) -> tuple[list[int], list[float]]:
    """At most about ``n`` points, keeping each bucket's extremes so spikes stay visible."""
    if len(xs) <= n or n < 4:
        return xs, ys
    k = math.ceil(len(xs) / (n // 2))
    ox: list[int] = []
    oy: list[float] = []
    for i in range(0, len(xs), k):
        bx, by = xs[i : i + k], ys[i : i + k]
        finite = [(y, x) for x, y in zip(bx, by, strict=False) if math.isfinite(y)]
        if not finite:
            continue
        lo, hi = min(finite), max(finite)
        for y, x in sorted({lo, hi}, key=lambda p: p[1]):
            ox.append(x)
            oy.append(y)
    return ox, oy


def smooth(ys: list[float], window: int) -> list[float]:
    """Trailing rolling mean over ``window`` points (non-finite values are skipped), O(n)."""
    if window <= 1:
        return list(ys)
    out: list[float] = []
    total, count = 0.0, 0
    q: deque[float] = deque()
    for y in ys:
        v = y if math.isfinite(y) else None
        q.append(v if v is not None else math.nan)
        if v is not None:
            total += v
            count += 1
        if len(q) > window:
            old = q.popleft()
            if math.isfinite(old):
                total -= old
                count -= 1
        out.append(total / count if count else math.nan)
    return out


def smoothing_window(n: int) -> int:
    """About 1/40 of the points, at least 1: a readable trend for long runs."""
    return max(1, n // 40)


def kl_off(config: dict[str, Any] | None, series: Series, logged: bool) -> bool:
    """Whether the run logs no KL at all: its config says ``beta = 0`` (TRL's default), or, for a run
    without a training config (a watched script), steps were logged and none had ``kl``."""
    training = (config or {}).get("training")
    if isinstance(training, dict) and training:
        try:
            return float(training.get("beta", 0.0)) == 0.0
        except (TypeError, ValueError):
            pass
    return logged and not series.get("kl")[0]


def eta_seconds(info: dict[str, Any], step: int, now: float | None = None) -> float | None:
    """Remaining time at the average pace since training started."""
    started, max_steps = info.get("started_at"), info.get("max_steps")
    if not started or not max_steps or step <= 0 or step >= max_steps:
        return None
    elapsed = (now or time.time()) - started
    return elapsed / step * (max_steps - step)


def sparkline(values: list[float | None], width: int = 12) -> str:
    """A text trend of the last ``width`` values (for tables)."""
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)][-width:]
    if not vals:
        return ""
    bars = "▁▂▃▄▅▆▇█"
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-12:
        return bars[3] * len(vals)
    return "".join(bars[min(7, int((v - lo) / (hi - lo) * 7.999))] for v in vals)

