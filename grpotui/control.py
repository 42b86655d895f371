"""Controlling a run from outside it: the one place that decides how pause / resume / stop / kill reach a
runner. The CLI and the dashboard both call :func:`send`.

Pause, resume and stop are rows in the run's store that the runner reads at its next step boundary
(:mod:`grpotui.runner.control`). A kill is asked for the same way, and if the runner has not ended
within a grace period its process group (and those of the commands it supervises) gets SIGKILL; a
runner on another host (a shared home) can only be asked. The store layer writes and reads rows; only
this module signals processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from grpotui.store.db import ACTIVE_STATUSES, RunStore
from grpotui.store.paths import STORE_FILE
from grpotui.store.runs import FOLLOWS_KEY, effective_status, process_alive

COMMANDS = ("pause", "resume", "stop", "kill")
WHAT_FOLLOWS = {
    "pause": "pauses at the next step boundary",
    "resume": "resumes",
    "stop": "saves a checkpoint at the next step boundary, then stops",
}


class ControlRefused(ValueError):
    """The command makes no sense for the run as it is (it has ended, or is not paused)."""


@dataclass(frozen=True)
class Sent:
    command: str
    status: str  # the run's status afterwards (for a kill: "killed", or how it ended before the kill)
    text: str  # one line for a person


def send(path: Path, command: str, *, name: str | None = None, grace: float = 10.0) -> Sent:
    """Send ``command`` to the run at ``path`` (its directory or its store); raises
    :class:`ControlRefused`, :class:`~grpotui.store.db.StoreError` or ``OSError``."""
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r} (one of {', '.join(COMMANDS)})")
    store_path = path / STORE_FILE if path.is_dir() else path
    label = name or store_path.parent.name
    with RunStore.open(store_path, readonly=False, migrate=False) as store:
        info = store.run_info()
        status = effective_status(info)
        if info["kind"] == "follower":
            follows = json.loads(store.get_meta(FOLLOWS_KEY) or "{}")
            where = f"run {follows['run']!r} on {follows['host']}" if follows.get("run") else "the run on its rank 0"
            raise ControlRefused(f"{label!r} is this machine's share of {where}: {command} it there (every "
                                 "machine follows rank 0 at the same step boundary)")
        if status not in ACTIVE_STATUSES:
            raise ControlRefused(f"run {label!r} is {status}: there is nothing to {command}")
        if command == "resume" and status not in ("paused", "pausing"):
            raise ControlRefused(f"run {label!r} is {status}, not paused")
        if command != "kill":
            store.issue_command(command)
            return Sent(command, status, f"{command} sent; the run {WHAT_FOLLOWS[command]}")
        final = _kill(store, grace)
    text = "killed" if final == "killed" else f"{final} (it ended before the kill)"
    return Sent(command, final, text)


def _kill(store: RunStore, grace: float) -> str:
    """Ask the runner to end now; if it does not within ``grace`` seconds, SIGKILL its process group.
    Returns the run's status afterwards (a run that ended meanwhile keeps its own)."""
    import psutil

    store.issue_command("kill")
    info = store.run_info()
    local = not info.get("host") or info["host"] == socket.gethostname()
    deadline = time.time() + grace
    while time.time() < deadline:
        info = store.run_info()
        if info["status"] not in ACTIVE_STATUSES:
            return info["status"]
        if local and not process_alive(info["pid"], info["pid_create_time"]):
            break
        time.sleep(0.2)
    if not local:
        return info["status"]
    if process_alive(info["pid"], info["pid_create_time"]):
        try:  # the runner, and any command it supervises (which has a process group of its own)
            procs = psutil.Process(info["pid"]).children(recursive=True)
        except psutil.Error:
            procs = []
        for p in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(p.pid), signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(info["pid"]), signal.SIGKILL)
    store.end_if_active("killed", "killed by user (SIGKILL: the runner did not answer)", 5)
    return store.run_info()["status"]
