"""The judge: ``python -m grpotui.runner.judge RUN_DIR [--timeout S] [--while-alive PID] [--on-demand]``.

Answer extraction and math-verify are the costly part of recording a math run (about 13 ms for a wrong
LaTeX answer, up to seconds for some), so the training side records a completion's verdict as
``pending`` and this process fills it in. It is a fresh interpreter (never a fork: a watched script
may lack a ``__main__`` guard, and fork after CUDA is unsafe), single-threaded, and it judges in its
main thread, so each check has a real time limit (a timer signal; math-verify's own ``signal.alarm``
is turned off): a check that runs past it is recorded as ``unparseable`` with the reason.

Two ways to run:

- **in the background** (started by the recorder when it first records a pending verdict, and by the
  dashboard for a run that ended with verdicts pending): at idle CPU priority (``SCHED_IDLE``, else
  nice 19), newest steps first. On a machine without a GPU, where training takes every core, the
  recorder starts it with ``--defer-while-training``: it waits while the run trains (idle priority
  still shares caches and memory bandwidth with the training) and judges while the run is paused and
  once training has ended. It ends when nothing is pending and the process it serves
  (``--while-alive``) is gone. One at a time per run (a lock file).
- **on demand** (``--on-demand``, started by a dashboard): at normal priority, it reads step numbers
  on its standard input, one a line, and judges those steps at once (the step on show), so a person
  looking at a live step sees its verdicts within a second or two; it ends when its input closes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from grpotui.store.db import EXIT_USAGE, RunStore, StoreError
from grpotui.store.paths import LOG_FILE, STORE_FILE

DEFAULT_TIMEOUT = 1.0
LOCK_FILE = ".judge.lock"
BATCH = 64


class _Timeout(BaseException):
    """Raised by the timer inside a check (a BaseException: math-verify's ``except Exception`` must not
    swallow it)."""


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise _Timeout


def judge_limited(text: str, gold: str, limit: float) -> tuple[str | None, str, str | None]:
    """``(answer, verdict, reason)`` for one completion, in at most ``limit`` seconds (main thread)."""
    from grpotui.rewards import extract_answer, judge

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        j = judge(text, gold)
        return j.answer, j.verdict, None
    except _Timeout:
        answer = extract_answer(text)[0]
        return answer, "unparseable", f"the check ran past the {limit:g} s limit"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def judge_rows(rows: list[tuple], limit: float) -> list[tuple]:
    """Pending rows ``(step, grp, idx, completion, expected)`` → ``(step, grp, idx, answer, verdict, reason)``."""
    out = []
    for step, grp, idx, text, expected in rows:
        answer, verdict, reason = judge_limited(text, expected or "", limit)
        out.append((step, grp, idx, answer, verdict, reason))
    return out


def _lower_priority() -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(19)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _take_lock(run_dir: Path) -> Any:
    import fcntl

    f = open(run_dir / LOCK_FILE, "a")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    return f


def _training(store: RunStore, while_alive: int | None) -> bool:
    """The run is training now (not paused, not ended) in the process this judge serves."""
    try:
        status = store.run_info()["status"]
    except StoreError:
        return False
    return status in ("starting", "running", "pausing", "stopping") and _alive(while_alive)


def background(run_dir: Path, limit: float, while_alive: int | None, defer: bool = False) -> int:
    lock = _take_lock(run_dir)
    if lock is None:
        return 0  # another judge serves this run
    _lower_priority()
    store = RunStore.open(run_dir / STORE_FILE, readonly=False, migrate=False)
    try:
        while True:
            if defer and _training(store, while_alive):
                time.sleep(1.0)
                continue
            rows = store.pending_verdicts(limit=BATCH)
            if rows:
                store.set_verdicts(judge_rows(rows, limit))
                continue
            rows = store.pending_eval_verdicts(limit=BATCH)  # held-out evaluations: after training's
            if rows:
                store.set_eval_verdicts(judge_rows(rows, limit))
                continue
            if not _alive(while_alive):
                return 0
            time.sleep(0.5)
    finally:
        store.close()


def on_demand(run_dir: Path, limit: float) -> int:
    store = RunStore.open(run_dir / STORE_FILE, readonly=False, migrate=False)
    wanted: list[int] = []
    try:
        while True:
            ready, _, _ = select.select([sys.stdin], [], [], 0.25)
            if ready:
                line = sys.stdin.readline()
                if not line:
                    return 0  # the dashboard is gone
                if line.strip().lstrip("-").isdigit():
                    wanted = [int(line)]
            if wanted:
                rows = store.pending_verdicts(limit=BATCH, steps=wanted)
                rows = [r for r in rows if r[0] in wanted]
                if rows:
                    store.set_verdicts(judge_rows(rows, limit))
                else:
                    wanted = []
    finally:
        store.close()


def start(run_dir: Path, *, limit: float = DEFAULT_TIMEOUT, while_alive: int | None = None,
          on_demand_input: bool = False, defer_while_training: bool = False) -> subprocess.Popen:
    """Start a judge for ``run_dir`` (a fresh interpreter, its own session, output to the run's log)."""
    cmd = [sys.executable, "-m", "grpotui.runner.judge", str(run_dir), "--timeout", str(limit)]
    if while_alive:
        cmd += ["--while-alive", str(while_alive)]
    if defer_while_training:
        cmd.append("--defer-while-training")
    if on_demand_input:
        cmd.append("--on-demand")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("GRPOTUI_RUN_DIR", None)  # not a watched command: the watch hook stays idle
    with open(run_dir / LOG_FILE, "ab") as log:
        return subprocess.Popen(cmd, stdin=subprocess.PIPE if on_demand_input else subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env, start_new_session=True, close_fds=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grpotui.runner.judge")
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    ap.add_argument("--while-alive", type=int, default=None)
    ap.add_argument("--on-demand", action="store_true")
    ap.add_argument("--defer-while-training", action="store_true")
    a = ap.parse_args(argv)
    from grpotui.rewards import use_own_time_limit

    use_own_time_limit()
    try:
        if a.on_demand:
            return on_demand(a.run_dir, a.timeout)
        return background(a.run_dir, a.timeout, a.while_alive, a.defer_while_training)
    except StoreError as e:
        print(f"grpotui judge: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
