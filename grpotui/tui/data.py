"""The data the widgets draw, built by the session layer and held by the screens (no I/O, no textual): curve
series in bounded memory, one step's groups, and the small helpers that shape them for the eye."""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grpotui.store.db import Group

# The curves the dashboard draws, by TRL's metric names.
CURVE_KEYS = (
    "reward", "reward_std", "kl", "loss", "entropy", "completions/mean_length",
    "frac_reward_zero_std", "completions/clipped_ratio", "grad_norm",
)

# The held-out evaluations' figures drawn as curves (a point per evaluation).
EVAL_KEYS = ("eval/accuracy", "eval/pass@k")


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
        return key in CURVE_KEYS or key in EVAL_KEYS or (key.startswith("rewards/") and key.endswith("/mean"))

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


def sparkline(values: Sequence[float | None], width: int = 12, *, lo: float | None = None,
              hi: float | None = None) -> str:
    """A text trend of the last ``width`` values (for tables), scaled to their own range, or to ``lo`` ..
    ``hi`` when given (a solve rate is drawn on 0..1, so 0.5 -> 0.6 does not look like a climb)."""
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)][-width:]
    if not vals:
        return ""
    bars = "▁▂▃▄▅▆▇█"
    lo = min(vals) if lo is None else lo
    hi = max(vals) if hi is None else hi
    if hi - lo < 1e-12:
        return bars[3] * len(vals)
    return "".join(bars[max(0, min(7, int((v - lo) / (hi - lo) * 7.999)))] for v in vals)


# -------------------------------------------------------------------- the prompts view
PAGE_ROWS = 100  # prompts a page of the prompts table holds: never every prompt of the run
TREND_POINTS = 40  # appearances in each row's solve-rate trend
STATUS_FILTERS: tuple[tuple[str, ...], ...] = (
    (), ("never",), ("always",), ("never", "always"), ("learned",), ("forgotten",), ("mixed",), ("once",),
)
"""The status filters the prompts table cycles through; ``("never", "always")``: the prompts with no signal."""


def status_label(statuses: Sequence[str]) -> str:
    if not statuses:
        return "all"
    return "no signal" if set(statuses) == {"never", "always"} else " + ".join(statuses)


def solve_rate(n: int | None, right: int | None, pending: int | None) -> float | None:
    """The share of a group's judged completions that are right (None: none judged yet)."""
    judged = (n or 0) - (pending or 0)
    return (right or 0) / judged if judged > 0 else None


@dataclass(frozen=True)
class PromptQuery:
    """Which page of the run's prompts the prompts table shows: filter, order and offset."""

    statuses: tuple[str, ...] = ()
    text: str = ""
    sort: str = "first_step"
    descending: bool = False
    offset: int = 0
    limit: int = PAGE_ROWS


@dataclass(frozen=True, eq=False)
class PromptsPage:
    """One page of prompts as read (compared by identity: a new read is new data)."""

    asked: PromptQuery  # the query as asked (the offset read may differ: see ``offset``)
    offset: int  # where the page starts (a filter that shrank the list moves it back)
    rows: tuple[dict[str, Any], ...]  # ``RunStore.prompts`` rows
    trends: tuple[tuple[float | None, ...], ...]  # each row's solve rate at its last appearances
    total: int  # prompts that pass the filter
    summary: dict[str, Any]  # ``RunStore.prompt_summary``: every prompt, whatever the filter
    last_step: int | None = None  # the newest step with groups when read

    @property
    def pending(self) -> bool:
        """Some completion of the page still waits for its verdict: worth reading again."""
        return any(r.get("pending") for r in self.rows)


@dataclass(frozen=True)
class Appearance:
    """One group of a prompt: where, how many completions, right and pending."""

    step: int
    grp: int
    n: int
    right: int
    pending: int

    @property
    def rate(self) -> float | None:
        return solve_rate(self.n, self.right, self.pending)


@dataclass(frozen=True, eq=False)
class PromptHistory:
    """Every appearance of one prompt, and the group of the one on show."""

    key: str
    appearances: tuple[Appearance, ...]
    index: int  # the appearance on show (-1: none recorded)
    groups: StepGroups  # its group, with its completions

    @property
    def current(self) -> Appearance | None:
        return self.appearances[self.index] if 0 <= self.index < len(self.appearances) else None


# -------------------------------------------------------------------- an alert's evidence
@dataclass(frozen=True, eq=False)
class Evidence:
    """What an alert names as its evidence: the steps of its window and the groups behind it.

    ``steps``: the distinct steps of its groups, in order (empty when it names no groups); ``window``:
    ``(first, last)`` of its steps (None: none recorded, an older store); ``marks``: the groups per step.
    """

    alert: dict[str, Any]
    steps: tuple[int, ...] = ()
    window: tuple[int, int] | None = None
    marks: dict[int, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, alert: dict[str, Any]) -> Evidence:
        ev = alert.get("evidence") or {}
        marks: dict[int, set[int]] = {}
        for g in ev.get("groups") or []:
            try:
                marks.setdefault(int(g["step"]), set()).add(int(g["group"]))
            except (KeyError, TypeError, ValueError):
                continue
        window = None
        steps = ev.get("steps")
        if isinstance(steps, (list, tuple)) and len(steps) == 2 and all(isinstance(x, int) for x in steps):
            window = (min(steps), max(steps))
        return cls(alert, tuple(sorted(marks)), window, {k: frozenset(v) for k, v in marks.items()})

    @property
    def start(self) -> int | None:
        """The step to go to first: the alert's own step (among the evidence steps when it has groups: the
        last at or before it, else the first), kept inside its window."""
        step = self.alert.get("step")
        if self.steps:
            if step is None:
                return self.steps[-1]
            before = [s for s in self.steps if s <= step]
            return before[-1] if before else self.steps[0]
        if self.window is not None:
            lo, hi = self.window
            return hi if step is None else max(lo, min(hi, step))
        return step

    def marked(self, step: int | None) -> frozenset[int]:
        """The evidence groups of ``step``."""
        return self.marks.get(step, frozenset()) if step is not None else frozenset()

    def step_from(self, current: int | None, delta: int) -> int | None:
        """The evidence step ``delta`` evidence steps from ``current`` (clamped to the first and the last);
        None when the alert names no groups (the window's recorded steps are the store's to find)."""
        if not self.steps:
            return None
        if current is None:
            return self.steps[-1 if delta < 0 else 0]
        # from the last evidence step at or before ``current`` forwards, from the first at or after it back
        i = (bisect_right(self.steps, current) - 1 if delta > 0 else bisect_left(self.steps, current)) + delta
        return self.steps[max(0, min(len(self.steps) - 1, i))]

    def position(self, step: int | None) -> int | None:
        """1-based position of ``step`` among the evidence steps (None: not one of them)."""
        return self.steps.index(step) + 1 if step in self.steps else None

