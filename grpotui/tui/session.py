"""The session layer under the screens (no textual here: its methods run in worker threads).

A :class:`RunSession` owns one run's store and answers everything the dashboard asks: what is new since
the last poll, the nearest / next / previous recorded step (inside an alert's window too), a step's groups
and the system sample of then, the alerts so far, the run's prompts a page at a time and one prompt's
history, the config, the traceback or the end of the log; it sends control commands through
:func:`grpotui.control.send` and asks for verdicts on demand. A :class:`CompareSession` holds one run
session per compared run and lines them up; :class:`RunsSession` lists every run and writes notes and tags.
Screens never open a store, never signal a process, and only ever call one session method per worker.

Each poll reads only what is new since the last one (metrics after the last step seen, system samples and
alerts after the last id, events after the last one); reads are short and the store is opened read-only.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpotui import control
from grpotui.compare import Headline, align_groups, common_step, headline, placeholder, with_learned
from grpotui.store.db import ACTIVE_STATUSES, Group, RunStore, StoreError
from grpotui.store.paths import LOG_FILE, STORE_FILE, TRACEBACK_FILE
from grpotui.store.runs import delete_run, effective_status, find_run, set_note, set_tags, summarize_all
from grpotui.tui.data import (
    TREND_POINTS,
    Appearance,
    PromptHistory,
    PromptQuery,
    PromptsPage,
    Series,
    StepGroups,
    solve_rate,
    sparkline,
)

JUDGE_WAIT = 0.6  # seconds a poll waits for the verdicts of the live step it shows
HEADLINE_EVERY = 4.0  # seconds: a live run's headline figures are re-read at most this often
RUNS_TREND = 16  # rewards in each run's trend on the runs screen
SQLITE_MAX = 2**62  # a step number beyond SQLite's integers goes no further than this


class SessionClosed(RuntimeError):
    """The screen that held the session has gone; a read still under way ends here."""


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
    first: bool = False  # the session's first read: its alerts and events are history, not news
    groups: StepGroups | None = None  # the groups of the step on show, when they changed since last read
    evals: list[dict[str, Any]] | None = None  # every held-out evaluation's figures, when they changed


@dataclass
class StepSnapshot:
    """A run as it was at one step: its groups (None when not asked for) and the system sample of then."""

    step: int | None  # the step asked for (None: the newest)
    groups: StepGroups | None
    system: dict[str, Any] | None


class RunSession:
    """One run's store, read a little at a time from worker threads; created without I/O, opened on first use.

    The store is closed by :meth:`close` once no read is under way, so a screen may close its session while a
    poll is still running in a thread.
    """

    def __init__(self, path: Path | None = None, *, name: str | None = None, system_history: int = 600) -> None:
        if path is None and name is None:
            raise ValueError("a run session needs the run's name or the path of its store")
        self.name = name or (path.parent.name if path is not None else "")
        self._path = path
        self._store: RunStore | None = None
        self._lock = threading.Lock()
        self._users = 0
        self._closed = False
        self._last_step = -1
        self._last_system = 0
        self._last_alert = 0
        self._n_events = 0
        self._polls = 0
        self._system_history = system_history
        self._handed: tuple[int, int, int] | None = None  # (step, groups, pending verdicts) last handed out
        self._evals_seen: tuple[Any, ...] | None = None  # what the evaluations were when last read
        self._evals_pending = False
        self._judge: Any = None  # this dashboard's on-demand judge process
        self._asked: int | None = None
        self._finishing = False
        self.info: dict[str, Any] = {}
        """The run's row as last read."""
        self.alerts: list[dict[str, Any]] = []
        """Every alert read so far, oldest first."""
        self.latest_system: dict[str, Any] | None = None
        """The newest system sample read."""

    @classmethod
    def for_run(cls, name: str) -> RunSession:
        return cls(name=name)

    # ---------------------------------------------------------------- the store
    @property
    def path(self) -> Path:
        """The run's store (found by name on first use)."""
        if self._path is None:
            self._path = find_run(self.name) / STORE_FILE
        return self._path

    @contextlib.contextmanager
    def _reading(self) -> Iterator[RunStore]:
        with self._lock:
            if self._closed:
                raise SessionClosed(f"the session of {self.name!r} is closed")
            self._users += 1
        try:
            with self._lock:
                if self._store is None:
                    self._store = RunStore.open(self.path)
                store = self._store
            yield store
        finally:
            with self._lock:
                self._users -= 1
                last = self._closed and self._users == 0
            if last:
                self._close_store()

    def close(self) -> None:
        """Stop this session's judge; close the store now, or when the read under way ends."""
        self.stop_judge()
        with self._lock:
            self._closed = True
            idle = self._users == 0
        if idle:
            self._close_store()

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    # ---------------------------------------------------------------- polling
    def poll(self, step: int | None = None, *, groups: bool = True, wait: float = JUDGE_WAIT) -> RunUpdate:
        """What is new since the last poll; with ``groups``, the groups of ``step`` (the newest step when
        None) if they are not the ones last handed out, have grown, or had verdicts pending."""
        with self._reading() as s:
            info = s.run_info()
            up = RunUpdate(info=info, status=effective_status(info), first=self._polls == 0)
            self.info = info
            self._finish_verdicts(s, info)
            # only new steps, in pages, only the keys the curves draw: memory stays flat as the run grows
            if self._last_step < 0:  # the first read of a long run: its curve summary, then the steps after it
                summary = s.curve_summary()
                if summary is not None:
                    points, self._last_step = summary
                    up.metrics.extend((st, {k: v for k, v in m.items() if Series.wanted(k)}) for st, m in points)
            while True:
                page = s.metrics(self._last_step, limit=5000)
                if not page:
                    break
                self._last_step = page[-1][0]
                up.metrics.extend((st, {k: v for k, v in m.items() if Series.wanted(k)}) for st, m in page)
            # only the newest samples matter for the panel: never read hours of them at once
            up.system = s.system(self._last_system, limit=self._system_history)
            if up.system:
                self._last_system = up.system[-1][0]
                self.latest_system = up.system[-1][3]
            up.alerts = s.alerts(self._last_alert)
            if up.alerts:
                self._last_alert = up.alerts[-1]["id"]
                self.alerts.extend(up.alerts)
            up.events = s.events(skip=self._n_events)  # only the new ones
            self._n_events += len(up.events)
            self._read_evals(s, up)
            up.last_group_step = s.last_group_step()
            target = step if step is not None else up.last_group_step
            if groups and target is not None and self._groups_changed(s, target):
                up.groups = StepGroups(target, tuple(self._groups(s, target, wait)))
            self._polls += 1
        return up

    def _read_evals(self, s: RunStore, up: RunUpdate) -> None:
        """The evaluations' figures when they changed (a new one, more samples, verdicts that were pending),
        and their accuracy and pass@k as points of the curves."""
        seen = s.evals_version()
        if seen is None or (seen == self._evals_seen and not (up.evals or self._evals_pending)):
            return
        up.evals = s.evals()
        self._evals_seen = seen
        self._evals_pending = any(e["eval/pending"] for e in up.evals)
        up.metrics.extend((e["step"], {k: e[k] for k in ("eval/accuracy", "eval/pass@k") if e[k] is not None})
                          for e in up.evals)

    def evals(self) -> list[dict[str, Any]]:
        """Every held-out evaluation's figures, oldest first."""
        with self._reading() as s:
            return s.evals()

    def eval_groups(self, step: int) -> StepGroups:
        """The problems of the evaluation at ``step``, each with its samples."""
        with self._reading() as s:
            return StepGroups(step, tuple(s.eval_groups(step)))

    def _groups_changed(self, s: RunStore, step: int) -> bool:
        """A new step, more groups of this one (several generations in one step), or verdicts pending."""
        handed = self._handed
        return handed is None or handed[0] != step or handed[2] > 0 or s.count_groups(step) != handed[1]

    def _groups(self, s: RunStore, step: int, wait: float) -> list[Group]:
        """A step's groups; where verdicts are pending, this session's judge is asked for them and they are
        waited for up to ``wait`` seconds (a worker thread waits, not the screen), so a live step is shown
        judged rather than "judging" whenever the judge is quick enough."""
        groups = s.groups_at(step)
        if _pending(groups):
            self._want_verdicts(step)
            end = time.monotonic() + wait
            while time.monotonic() < end:
                time.sleep(0.1)
                if s.count_pending_at(step) == 0:
                    break
            if wait:
                groups = s.groups_at(step)
        self._handed = (step, len(groups), _pending(groups))
        return groups

    # ---------------------------------------------------------------- steps
    def step_from(self, current: int, delta: int) -> int | None:
        """The recorded step ``delta`` steps away from ``current`` (an indexed query: no list of steps is
        kept); past either end, the first or the last step."""
        with self._reading() as s:
            target = s.neighbor_step(current, delta)
            if target is None:
                target = s.first_step() if delta < 0 else s.last_group_step()
        return target

    def nearest_step(self, wanted: int) -> int | None:
        """The recorded step nearest to ``wanted`` (the earlier one on a tie)."""
        wanted = max(-SQLITE_MAX, min(SQLITE_MAX, wanted))
        with self._reading() as s:
            if s.count_groups(wanted):
                return wanted
            cands = [st for st in (s.neighbor_step(wanted, -1), s.neighbor_step(wanted, 1)) if st is not None]
        return min(cands, key=lambda st: (abs(st - wanted), st)) if cands else None

    def snapshot(self, step: int | None, *, groups: bool = True) -> StepSnapshot:
        """The run as it was at ``step`` (None: as it is now): its groups when asked for (verdicts asked for,
        not waited for: stepping stays quick) and the system sample of then."""
        with self._reading() as s:
            target = step if step is not None else s.last_group_step()
            shown = StepGroups(target, tuple(self._groups(s, target, 0.0))) if groups and target is not None else None
            system = self.latest_system if step is None else s.system_at(step)
        return StepSnapshot(step, shown, system)

    def step_within(self, current: int, delta: int, first: int, last: int) -> int:
        """The recorded step ``delta`` steps from ``current`` inside ``first`` .. ``last`` (an alert's window);
        past either end of it, the last (or first) recorded step inside it, else ``current``."""
        with self._reading() as s:
            target = s.neighbor_step(current, delta)
            if target is None or not first <= target <= last:
                target = s.neighbor_step(last + 1, -1) if delta > 0 else s.neighbor_step(first - 1, 1)
        return target if target is not None and first <= target <= last else current

    def alerts_upto(self, step: int | None) -> list[dict[str, Any]]:
        """The alerts raised up to ``step`` (all of them when None), from what has been read."""
        return [a for a in self.alerts if step is None or (a.get("step") or 0) <= step]

    @property
    def config(self) -> dict[str, Any]:
        return self.info.get("config") or {}

    def failure_text(self) -> tuple[str, str]:
        """``(title, text)``: the run's traceback, else the end of its log, else why neither can be read."""
        d = self.path.parent
        try:
            return f"{self.name}: traceback", (d / TRACEBACK_FILE).read_text(errors="replace")
        except OSError:
            pass
        try:
            lines = (d / LOG_FILE).read_text(errors="replace").splitlines()[-200:]
            return f"{self.name}: the end of its log", "\n".join(lines)
        except OSError as e:
            return "nothing to show", str(e)

    def headline(self) -> Headline:
        with self._reading() as s:
            return headline(s, self.name)

    # ---------------------------------------------------------------- prompts
    def prompts_page(self, query: PromptQuery) -> PromptsPage:
        """One page of the run's prompts (filtered, sorted), each row with its solve rate at its last
        appearances, how many pass the filter and the summary of them all: short indexed reads, one page."""
        text = query.text.strip() or None
        with self._reading() as s:
            summary = s.prompt_summary()
            total = s.count_prompts(statuses=query.statuses, text=text)
            offset = max(0, min(query.offset, (total - 1) // query.limit * query.limit if total else 0))
            rows = s.prompts(statuses=query.statuses, text=text, sort=query.sort, descending=query.descending,
                             limit=query.limit, offset=offset)
            trends = tuple(tuple(solve_rate(n, right, pending) for _, _, n, right, pending in
                                 s.prompt_history(r["key"], limit=TREND_POINTS)) for r in rows)
            last = s.last_group_step()
        return PromptsPage(query, offset, tuple(rows), trends, total, summary, last)

    def prompt_history(self, key: str, at: tuple[int, int] | None = None) -> PromptHistory:
        """Every appearance of one prompt and the group of the one at ``at`` (``(step, group)``; None or gone:
        the newest), with its completions; verdicts still pending are asked of this session's judge."""
        with self._reading() as s:
            appearances = tuple(Appearance(*row) for row in s.prompt_history(key))
            if not appearances:
                return PromptHistory(key, (), -1, StepGroups(None))
            index = next((i for i, a in enumerate(appearances) if (a.step, a.grp) == at), len(appearances) - 1)
            shown = appearances[index]
            group = tuple(g for g in s.groups_at(shown.step) if g.grp == shown.grp)
            if _pending(list(group)):
                self._want_verdicts(shown.step)
        return PromptHistory(key, appearances, index, StepGroups(shown.step, group))

    # ---------------------------------------------------------------- control
    def send(self, command: str) -> control.Sent:
        """Pause, resume, stop or kill the run (:func:`grpotui.control.send`: a kill waits for the runner
        and SIGKILLs it if it does not answer); raises what that raises."""
        return control.send(self.path, command, name=self.name)

    # ---------------------------------------------------------------- verdicts on demand
    def _want_verdicts(self, step: int) -> None:
        """The step on show has completions still to judge: ask this session's own judge for them.

        Verdicts are judged off the training thread at idle priority (``runner/judge.py``), so where
        training takes every core they could wait until it ends; a person looking at a step is worth a
        little CPU, so a judge at normal priority, started for this session, judges that step now.
        """
        if self._judge is None or self._judge.poll() is not None:
            from grpotui.runner import judge

            limit = float((self.config.get("run") or {}).get("judge_timeout") or judge.DEFAULT_TIMEOUT)
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

    def _finish_verdicts(self, s: RunStore, info: dict[str, Any]) -> None:
        """A run that ended with verdicts pending (its judge was killed with it): judge the rest now, in
        the background at idle priority, once per session."""
        if self._finishing or effective_status(info) in ACTIVE_STATUSES:  # a lost run counts as ended
            return
        self._finishing = True
        if s.count_pending():
            from grpotui.runner import judge

            with contextlib.suppress(OSError):
                judge.start(self.path.parent)

    def stop_judge(self) -> None:
        if self._judge is not None and self._judge.stdin is not None:
            with contextlib.suppress(OSError):
                self._judge.stdin.close()  # its input closes: the on-demand judge ends
        self._judge = None


def _pending(groups: list[Group]) -> int:
    return sum(c.verdict == "pending" for g in groups for c in g.completions)


# -------------------------------------------------------------------- comparing runs
@dataclass
class CompareUpdate:
    """What changed in the compared runs since the previous poll."""

    updates: list[RunUpdate | None]  # None: that run cannot be read
    heads: list[Headline]  # every run's headline figures (re-read when due)
    step: int | None  # the step whose groups are on show: the one asked for, else the newest all runs have
    groups: list[list[Group]] | None  # every run's groups at that step, lined up, when they changed
    shared: int = 0  # how many prompts lead every column in the same order
    errors: list[str] = field(default_factory=list)

    @property
    def statuses(self) -> list[str]:
        return [u.status if u else "unreadable" for u in self.updates]


@dataclass
class CompareStep:
    """Every compared run's groups at one step, shared prompts lined up first."""

    step: int
    groups: list[list[Group]]
    shared: int


class CompareSession:
    """Two or more runs read side by side: a run that cannot be read is marked, the others go on."""

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)
        self.runs = [RunSession(name=n) for n in self.names]
        self._heads: list[Headline | None] = [None] * len(self.names)
        self._head_at = [0.0] * len(self.names)
        self._handed: tuple[int, list[int]] | None = None  # (step, groups per run) last handed out
        self._readable: list[bool] = [False] * len(self.names)

    def poll(self, step: int | None = None) -> CompareUpdate:
        ups: list[RunUpdate | None] = []
        errors: list[str] = []
        for run in self.runs:
            try:
                ups.append(run.poll(groups=False))
            except (StoreError, LookupError, ValueError) as e:
                ups.append(None)
                errors.append(str(e))
        self._readable = [u is not None for u in ups]
        now = time.monotonic()
        changed = False
        for i, (run, u) in enumerate(zip(self.runs, ups, strict=True)):
            status = u.status if u else "unreadable"
            head = self._heads[i]
            if head is not None and head.status == status and not (u and u.metrics and now - self._head_at[i]
                                                                    > HEADLINE_EVERY):
                continue
            changed = True
            try:
                self._heads[i] = run.headline() if u else placeholder(self.names[i], status)
                self._head_at[i] = now
            except StoreError as e:
                self._heads[i] = placeholder(self.names[i], "unreadable")
                errors.append(str(e))
        heads = [h if h is not None else placeholder(n, "unreadable") for h, n in zip(self._heads, self.names,
                                                                                        strict=True)]
        if changed:  # the prompts each learned and no other did: across the runs, so again when one changed
            heads = with_learned(heads)
            self._heads = list(heads)
        with contextlib.ExitStack() as stack:
            readable = [(i, stack.enter_context(run._reading())) for i, run in enumerate(self.runs)
                        if self._readable[i]]
            if step is None:
                lasts = [ups[i].last_group_step for i, _ in readable]
                step = common_step([s for _, s in readable], [st for st in lasts if st is not None])
            groups = None
            shared = 0
            if step is not None and self._groups_changed(step, dict(readable)):
                groups, shared = self._groups(step, dict(readable))
        return CompareUpdate(ups, heads, step, groups, shared, errors)

    def _groups_changed(self, step: int, stores: dict[int, RunStore]) -> bool:
        if self._handed is None or self._handed[0] != step:
            return True
        return any(s.count_groups(step) != self._handed[1][i] for i, s in stores.items())

    def _groups(self, step: int, stores: dict[int, RunStore]) -> tuple[list[list[Group]], int]:
        raw = [stores[i].groups_at(step) if i in stores else [] for i in range(len(self.runs))]
        self._handed = (step, [len(g) for g in raw])
        return align_groups(raw)

    def step_from(self, current: int, delta: int) -> CompareStep | None:
        """The step ``delta`` recorded steps away in any of the runs (past either end: the first or the
        last step any run has), and every run's groups there."""
        with contextlib.ExitStack() as stack:
            stores = {i: stack.enter_context(run._reading()) for i, run in enumerate(self.runs)
                      if self._readable[i]}
            found = [st for st in (s.neighbor_step(current, delta) for s in stores.values()) if st is not None]
            if found:
                target = max(found) if delta < 0 else min(found)
            else:
                ends = [e for e in (s.first_step() if delta < 0 else s.last_group_step() for s in stores.values())
                        if e is not None]
                if not ends:
                    return None
                target = min(ends) if delta < 0 else max(ends)
            groups, shared = self._groups(target, stores)
        return CompareStep(target, groups, shared)

    def close(self) -> None:
        for run in self.runs:
            run.close()


# -------------------------------------------------------------------- the list of runs
class RunsSession:
    """Every run in GRPOTUI_HOME (one short read of each store a poll), and writing their notes and tags."""

    def poll(self) -> list[dict[str, Any]]:
        """Every run's summary with a text trend of its last rewards, newest first."""
        runs = summarize_all(trend=RUNS_TREND)
        for r in runs:
            r["trend"] = sparkline(r.get("reward_tail") or [], RUNS_TREND)
        return sorted(runs, key=lambda r: r.get("created_at") or 0, reverse=True)

    def set_note(self, name: str, text: str) -> str:
        return set_note(name, text)

    def set_tags(self, name: str, text: str) -> list[str]:
        return set_tags(name, text.split(), replace=True)

    def delete(self, name: str, *, force: bool = False) -> None:
        delete_run(name, force=force)


class LaunchRefused(Exception):
    """A new run could not start: its config, its name, or the process (the message says which)."""


def launch_run(source: str, overrides: list[str], name: str | None) -> str:
    """Check the config (a file, or "demo"), create the run and start its runner; returns the run's name."""
    from grpotui.config import ConfigError
    from grpotui.runner.launch import RunExists, launch, prepare
    from grpotui.store.paths import BadRunName

    try:
        cfg, name, kind = prepare(source, overrides, name=name)
        launch(cfg, name, kind)
    except (ConfigError, RunExists, BadRunName, OSError, RuntimeError) as e:
        raise LaunchRefused(str(e)) from e
    return name
