"""Incremental reads of one run's store for the dashboard (no textual here: called from worker threads).

Each poll reads only what is new since the last one: metrics after the last step seen, system samples
after the last id, alerts after the last id, group steps after the last one. Reads are short; the
store is opened read-only.
"""

from __future__ import annotations

import contextlib
import math
import time
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpotui.store.db import ACTIVE_STATUSES, Group, RunStore
from grpotui.store.paths import STORE_FILE
from grpotui.store.runs import effective_status, find_run

# The curves the dashboard draws, by TRL's metric names.
CURVE_KEYS = (
    "reward", "reward_std", "kl", "loss", "entropy", "completions/mean_length",
    "frac_reward_zero_std", "completions/clipped_ratio", "grad_norm",
)


@dataclass
class RunUpdate:
    """What changed in a run since the previous poll."""

    info: dict[str, Any]
    status: str
    metrics: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    system: list[tuple[int, float, int | None, dict[str, Any]]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    last_group_step: int | None = None  # the newest step with groups


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


class RunWatcher:
    """Follows one run's store; each :meth:`poll` returns only what is new."""

    def __init__(self, path: Path, *, system_history: int = 600) -> None:
        self.path = path
        self.store = RunStore.open(path)
        self._last_step = -1
        self._last_system = 0
        self._last_alert = 0
        self._n_events = 0
        self._system_history = system_history
        self.system_tail: deque[dict[str, Any]] = deque(maxlen=system_history)
        self._judge: Any = None  # this dashboard's on-demand judge process
        self._asked: int | None = None
        self._finishing = False
        self._info_config: dict[str, Any] | None = None

    @classmethod
    def for_run(cls, name: str) -> RunWatcher:
        return cls(find_run(name) / STORE_FILE)

    def poll(self) -> RunUpdate:
        s = self.store
        info = s.run_info()
        up = RunUpdate(info=info, status=effective_status(info))
        self.finish_verdicts(info)
        # only new steps, in pages, only the keys the curves draw: memory stays flat as the run grows
        up.metrics = []
        if self._last_step < 0:  # the first read of a long run: its curve summary, then the steps after it
            summary = s.curve_summary()
            if summary is not None:
                points, self._last_step = summary
                up.metrics.extend((step, {k: v for k, v in m.items() if Series.wanted(k)}) for step, m in points)
        while True:
            page = s.metrics(self._last_step, limit=5000)
            if not page:
                break
            self._last_step = page[-1][0]
            up.metrics.extend((step, {k: v for k, v in m.items() if Series.wanted(k)}) for step, m in page)
        # only the newest samples matter for the panel: never read hours of them at once
        up.system = s.system(self._last_system, limit=self._system_history)
        if up.system:
            self._last_system = up.system[-1][0]
            self.system_tail.extend(x[3] for x in up.system)
        up.alerts = s.alerts(self._last_alert)
        if up.alerts:
            self._last_alert = up.alerts[-1]["id"]
        up.events = s.events(skip=self._n_events)  # only the new ones
        self._n_events += len(up.events)
        up.last_group_step = s.last_group_step()
        return up

    def groups_at(self, step: int) -> list[Group]:
        return self.store.groups_at(step)

    def groups_with_verdicts(self, step: int, wait: float = 0.6) -> list[Group]:
        """A step's groups; where verdicts are pending, this dashboard's judge is asked for them and
        they are waited for a little (a worker thread waits, not the screen), so a live step is shown
        judged rather than "judging" whenever the judge is quick enough."""
        groups = self.store.groups_at(step)
        if not any(c.verdict == "pending" for g in groups for c in g.completions):
            return groups
        self.want_verdicts(step, groups)
        end = time.monotonic() + wait
        while time.monotonic() < end:
            time.sleep(0.1)
            if self.store.count_pending_at(step) == 0:
                return self.store.groups_at(step)
        return self.store.groups_at(step)

    # ---------------------------------------------------------------- verdicts on demand
    def want_verdicts(self, step: int, groups: list[Group]) -> None:
        """The step on show has completions still to judge: ask this dashboard's own judge for them.

        Verdicts are judged off the training thread at idle priority (``runner/judge.py``), so where
        training takes every core they could wait until it ends; a person looking at a step is worth a
        little CPU, so a judge at normal priority, started for this dashboard, judges that step now.
        """
        if not any(c.verdict == "pending" for g in groups for c in g.completions):
            return
        if self._judge is None or self._judge.poll() is not None:
            from grpotui.runner import judge

            limit = float(((self._info_config or {}).get("run") or {}).get("judge_timeout") or judge.DEFAULT_TIMEOUT)
            try:
                self._judge = judge.start(self.path.parent, limit=limit, on_demand_input=True)
            except OSError:
                return
            self._asked = None
        if self._asked != step and self._judge.stdin is not None:
            try:
                self._judge.stdin.write(f"{step}\n".encode())
                self._judge.stdin.flush()
                self._asked = step
            except OSError:
                self._judge = None

    def finish_verdicts(self, info: dict[str, Any]) -> None:
        """A run that ended with verdicts pending (its judge was killed with it): judge the rest now, in
        the background at idle priority, once per dashboard."""
        self._info_config = info.get("config")
        if self._finishing or effective_status(info) in ACTIVE_STATUSES:  # a lost run counts as ended
            return
        self._finishing = True
        if self.store.count_pending():
            from grpotui.runner import judge

            with contextlib.suppress(OSError):
                judge.start(self.path.parent)

    def stop_judge(self) -> None:
        if self._judge is not None and self._judge.stdin is not None:
            with contextlib.suppress(OSError):
                self._judge.stdin.close()  # its input closes: the on-demand judge ends
        self._judge = None

    def close(self) -> None:
        self.stop_judge()
        self.store.close()


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
