"""CPU threads: each run's torch takes a fair share of this machine's cores, unless the user chose.

torch starts as many intra-op threads as there are cores. Two runs on one machine then put twice as
many spinning threads as cores, and both crawl (on 2 cores, two demos at once took 50 times longer
each than one alone). So, when the user has set neither ``OMP_NUM_THREADS`` nor ``MKL_NUM_THREADS`` nor
``[launch] cpu_threads``, a runner takes ``cores // live runs on this host`` threads (at least one),
split between its processes, set in the environment before torch starts, and re-balanced at step
boundaries as other runs start and end (``torch.set_num_threads`` holds for later operations).

Light: psutil and the run stores only; torch is imported only to re-balance, in a process that has it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

USER_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Set by the launcher: whether the user's environment chose the threads (accelerate's launcher sets
# OMP_NUM_THREADS=1 in its children itself, so a rank cannot tell from its own environment).
USER_CHOSE_ENV = "GRPOTUI_USER_CHOSE_THREADS"
REBALANCE_EVERY = 5.0  # seconds between counts of the live runs


@dataclass
class ThreadPlan:
    """How many CPU threads each process of a run uses, and why."""

    threads: int | None  # per process; None: the user's environment decides and grpotui does not know
    source: str  # "auto", "config" or "environment"
    cores: int
    live_runs: int = 1
    processes: int = 1

    def describe(self) -> str:
        n = "as torch decides" if self.threads is None else str(self.threads)
        per = " per process" if self.processes > 1 else ""
        if self.source == "auto":
            runs = "run" if self.live_runs == 1 else "runs"
            return (f"{n}{per} (a fair share: {self.cores} cores, {self.live_runs} live {runs} on this host; "
                    "set launch.cpu_threads or OMP_NUM_THREADS to choose)")
        if self.source == "config":
            return f"{n}{per} (launch.cpu_threads)"
        return f"{n}{per} (OMP_NUM_THREADS / MKL_NUM_THREADS from the environment)"


def cores() -> int:
    """The cores this process may run on (affinity and taskset respected)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def user_chose(env: dict[str, str] | os._Environ[str] | None = None) -> bool:
    env = os.environ if env is None else env
    if USER_CHOSE_ENV in env:
        return env[USER_CHOSE_ENV] == "1"
    return any(env.get(v) for v in USER_VARS)


RUNNER_MODULES = ("grpotui.runner", "grpotui.runner.watch")


def _runner_dirs() -> set[Path]:
    """The run directories of every grpotui runner process on this host, of any user and any home."""
    import psutil

    dirs = set()
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info.get("cmdline") or []
        for i in range(len(cmd) - 2):
            if cmd[i] == "-m" and cmd[i + 1] in RUNNER_MODULES:
                dirs.add(Path(cmd[i + 2]).resolve())
                break
    return dirs


def live_runs_here(home: Path | None = None) -> int:
    """Runs on this host that train or are about to: every grpotui runner process (any home, any
    user), and the runs of ``home`` recorded by a script's callback. A paused run uses no CPU and is
    left out where its store can be read."""
    from grpotui.store.db import ACTIVE_STATUSES, RunStore, StoreError
    from grpotui.store.paths import STORE_FILE, runs_dir
    from grpotui.store.runs import effective_status, list_run_names

    host, n = socket.gethostname(), 0
    by_process = _runner_dirs()
    root = runs_dir(home)
    for d in by_process | {(root / name).resolve() for name in list_run_names(home)}:
        try:
            with RunStore.open(d / STORE_FILE) as store:
                info = store.run_info()
        except (StoreError, OSError):
            n += d in by_process  # another user's run: its process is there, its store is not ours to read
            continue
        if info["status"] in ACTIVE_STATUSES and info["status"] != "paused" \
                and (info.get("host") or host) == host and effective_status(info) in ACTIVE_STATUSES:
            n += 1
    return n


def plan(launch: dict[str, Any] | None, *, processes: int = 1, home: Path | None = None,
         env: dict[str, str] | None = None) -> ThreadPlan:
    """The threads for one process of a run, counting the live runs on this host (this one included)."""
    launch = launch or {}
    c = cores()
    if launch.get("cpu_threads"):
        return ThreadPlan(int(launch["cpu_threads"]), "config", c, processes=processes)
    if user_chose(env):
        env = os.environ if env is None else env
        raw = env.get("OMP_NUM_THREADS") or env.get("MKL_NUM_THREADS")
        return ThreadPlan(int(raw) if raw and raw.isdigit() else None, "environment", c, processes=processes)
    live = max(1, live_runs_here(home))
    return ThreadPlan(max(1, c // live // max(1, processes)), "auto", c, live_runs=live, processes=processes)


def export(p: ThreadPlan, env: dict[str, str] | os._Environ[str]) -> None:
    """Put the plan into an environment before torch starts there (nothing when the user chose)."""
    if p.threads is not None and p.source != "environment":
        for var in (*USER_VARS, "RAYON_NUM_THREADS"):  # RAYON: the tokenizers' thread pool
            env[var] = str(p.threads)


def record(store: Any, p: ThreadPlan) -> None:
    from grpotui.store.runs import CPU_THREADS_KEY

    store.set_meta(CPU_THREADS_KEY, json.dumps({**asdict(p), "description": p.describe()}))


class Rebalancer:
    """Keeps an ``auto`` plan fair as runs start and end: the control thread counts the live runs
    (``tick``), the training thread applies the new share at a step boundary (``apply``)."""

    def __init__(self, current: ThreadPlan, store: Any, home: Path | None = None) -> None:
        self.current = current
        self.store = store
        self.home = home
        self._wanted: ThreadPlan | None = None
        self._next = time.monotonic() + REBALANCE_EVERY

    def tick(self) -> None:
        if self.current.source != "auto" or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + REBALANCE_EVERY
        new = plan({}, processes=self.current.processes, home=self.home, env={USER_CHOSE_ENV: "0"})
        if new.threads != self.current.threads or new.live_runs != self.current.live_runs:
            self._wanted = new

    def apply(self) -> None:
        wanted, self._wanted = self._wanted, None
        if wanted is None:
            return
        if wanted.threads != self.current.threads:
            import torch

            torch.set_num_threads(int(wanted.threads or 1))
            print(f"grpotui: cpu threads {wanted.describe()}", flush=True)
        self.current = wanted
        with contextlib.suppress(Exception):
            record(self.store, wanted)
