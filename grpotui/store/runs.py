"""Finding runs, telling a live run from a lost one, and summarising runs for ``ls`` and ``status``."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import psutil

from grpotui.store.db import ACTIVE_STATUSES, RunStore, StoreError
from grpotui.store.paths import STORE_FILE, check_run_name, runs_dir

# A runner on another host (a shared home) is judged by its heartbeat alone.
HEARTBEAT_LOST_AFTER = 60.0


class RunNotFound(LookupError):
    """No run of that name under ``GRPOTUI_HOME``."""


def process_alive(pid: int | None, create_time: float | None) -> bool:
    """True when ``pid`` runs and is the same process (its start time matches: no pid reuse)."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if create_time is not None and abs(proc.create_time() - create_time) > 1.0:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def effective_status(info: dict[str, Any], now: float | None = None) -> str:
    """The recorded status, or ``lost`` for an active run whose runner is gone."""
    status = info["status"]
    if status not in ACTIVE_STATUSES:
        return status
    now = now or time.time()
    if info.get("host") and info["host"] != socket.gethostname():
        hb = info.get("heartbeat_at") or info.get("created_at") or 0
        return "lost" if now - hb > HEARTBEAT_LOST_AFTER else status
    if info.get("pid") is None:
        # Created but the runner has not registered yet: give it a grace period.
        return "lost" if now - (info.get("created_at") or now) > HEARTBEAT_LOST_AFTER else status
    return status if process_alive(info["pid"], info.get("pid_create_time")) else "lost"


def find_run(name: str, home: Path | None = None) -> Path:
    """The directory of run ``name``, or :class:`RunNotFound`."""
    d = runs_dir(home) / check_run_name(name)
    if not (d / STORE_FILE).exists():
        known = list_run_names(home)
        hint = ""
        if known:
            import difflib

            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (runs: {', '.join(known[-5:])})"
        raise RunNotFound(f"no run named {name!r} in {runs_dir(home)}{hint}")
    return d


def list_run_names(home: Path | None = None) -> list[str]:
    root = runs_dir(home)
    if not root.is_dir():
        return []
    # a name never starts with "." (check_run_name): ".deleted-*" folders are runs being deleted
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / STORE_FILE).exists())


def open_run(name: str, home: Path | None = None, *, readonly: bool = True) -> RunStore:
    """A run's store by name; opened to write, it is not migrated (notes and tags fit every schema)."""
    return RunStore.open(find_run(name, home) / STORE_FILE, readonly=readonly, migrate=False)


# ----------------------------------------------------------------------------- notes, tags, deleting
NOTE_KEY, TAGS_KEY = "note", "tags"
CPU_THREADS_KEY = "cpu_threads"  # written by the runner (runner/threads.py): the threads it uses, and why
# Runs over several machines (written by the recorder): on rank 0's run, each machine and its host; on
# another machine, its follower's listing: the run it follows there, rank 0's host, its machine rank, its step.
MACHINES_KEY, FOLLOWS_KEY = "machines", "follows"


def follows_text(follows: dict[str, Any]) -> str:
    """A follower's one line: which run, where, and which machine this is."""
    return (f"follower of run {follows.get('run')!r} on {follows.get('host')} "
            f"(machine {follows.get('machine')} of {follows.get('machines')})")


def where_to_open(name: str, follows: dict[str, Any] | None) -> str:
    """What opening a follower says instead of an empty dashboard: the run is on rank 0's machine."""
    if not follows or not follows.get("host"):
        return f"{name!r} is this machine's share of a run whose store is on its rank 0's machine: open it there"
    return (f"{name!r} is this machine's share of run {follows.get('run')!r}, recorded on {follows['host']}: "
            f"open it there (ssh -t {follows['host']} grpotui attach {follows.get('run')})")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+:=-]{0,39}$")
NOTE_MAX = 2000


class RunActive(Exception):
    """The run is still going: it cannot be deleted."""


def run_note(store: RunStore, info: dict[str, Any] | None = None) -> str:
    """The run's note: the one written later (``grpotui note``, the runs screen), else the config's
    ``run.note``."""
    note = store.get_meta(NOTE_KEY)
    if note is not None:
        return note
    info = info or store.run_info()
    return str(((info["config"] or {}).get("run") or {}).get("note") or "")


def run_tags(store: RunStore) -> list[str]:
    raw = store.get_meta(TAGS_KEY)
    try:
        tags = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [t for t in tags if isinstance(t, str)]


def _json_meta(store: RunStore, key: str) -> Any:
    raw = store.get_meta(key)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def check_tag(tag: str) -> str:
    if not _TAG_RE.match(tag):
        raise ValueError(f"bad tag {tag!r}: letters, digits and . _ + : = - (at most 40, no spaces)")
    return tag


def set_note(name: str, note: str, home: Path | None = None) -> str:
    """Attach (or with ``""`` clear) a note to run ``name``; safe while the run writes its store."""
    note = " ".join(note.split()) if "\n" not in note else note.strip()
    if len(note) > NOTE_MAX:
        raise ValueError(f"the note is {len(note)} characters long; at most {NOTE_MAX}")
    with open_run(name, home, readonly=False) as store:
        store.set_meta(NOTE_KEY, note)
    return note


def set_tags(name: str, add: list[str] = (), remove: list[str] = (), home: Path | None = None,
             *, replace: bool = False) -> list[str]:
    """Add and remove tags of run ``name`` (``replace``: the run's tags become ``add``); the tags after."""
    for t in (*add, *remove):
        check_tag(t)
    with open_run(name, home, readonly=False) as store:
        tags = [] if replace else run_tags(store)
        tags = [t for t in tags if t not in remove]
        tags += [t for t in dict.fromkeys(add) if t not in tags]
        store.set_meta(TAGS_KEY, json.dumps(tags))
    return tags


def delete_run(name: str, home: Path | None = None, *, force: bool = False) -> Path:
    """Delete an ended run and every file of it; returns the folder it had.

    The folder is first renamed to a hidden name in the same place, one atomic step: from then on no
    list shows the run, and an interrupted delete leaves no half run behind, only a hidden folder that
    the next delete sweeps away. A run whose store cannot be read is deleted only with ``force``.
    """
    d = find_run(name, home)
    try:
        with RunStore.open(d / STORE_FILE) as store:
            status = effective_status(store.run_info())
    except StoreError as e:
        if not force:
            raise RunActive(f"{e}; cannot tell whether run {name!r} is still going: "
                            "delete it with --force if it is not") from None
        status = "unreadable"
    if status in ACTIVE_STATUSES:
        raise RunActive(f"run {name!r} is {status}: stop or kill it before deleting it")
    trash = d.with_name(f".deleted-{name}-{os.getpid()}-{time.time_ns()}")
    os.rename(d, trash)
    sweep_deleted(home)
    return d


def sweep_deleted(home: Path | None = None) -> None:
    """Finish deletes that were interrupted (their folders are already hidden from every list)."""
    root = runs_dir(home)
    for p in root.glob(".deleted-*"):
        shutil.rmtree(p, ignore_errors=True)


def summarize(store: RunStore, *, with_metrics: bool = True, trend: int = 0) -> dict[str, Any]:
    """What ``ls --json`` and ``status --json`` print for one run (``trend``: the last N rewards too)."""
    info = store.run_info()
    latest = store.latest_metrics() if with_metrics else None
    step = store.last_step()
    alerts = store.alerts()
    out: dict[str, Any] = {
        "name": info["name"],
        "status": effective_status(info),
        "recorded_status": info["status"],
        "reason": info["status_reason"],
        "kind": info["kind"],
        "step": step,
        "max_steps": info["max_steps"],
        "backend": info["backend"],
        "model": info["model"],
        "host": info["host"],
        "pid": info["pid"],
        "created_at": info["created_at"],
        "started_at": info["started_at"],
        "ended_at": info["ended_at"],
        "heartbeat_at": info["heartbeat_at"],
        "exit_code": info["exit_code"],
        "alerts": [
            {"step": a["step"], "rule": a["rule"], "severity": a["severity"], "message": a["message"],
             "action": a["action"], "evidence": a["evidence"]}
            for a in alerts
        ],
    }
    out["note"] = run_note(store, info)
    out["tags"] = run_tags(store)
    out["cpu_threads"] = _json_meta(store, CPU_THREADS_KEY)
    out["machines"] = _json_meta(store, MACHINES_KEY)
    follows = _json_meta(store, FOLLOWS_KEY)
    if info["kind"] == "follower":
        out["follows"] = follows
        if follows:
            out["step"] = follows.get("step") or 0
            out["note"] = follows_text(follows)  # what it is comes first here (its config's note is rank 0's)
    out["verdicts_pending"] = store.count_pending()
    latest_eval = store.latest_eval_accuracy()
    out["eval_step"], out["eval_accuracy"] = latest_eval if latest_eval else (None, None)
    if trend:
        out["reward_tail"] = store.metric_tail("reward", trend)
    if latest:
        out["metrics_step"], out["metrics"] = latest
        out["reward"] = latest[1].get("reward")
    else:
        out["metrics_step"], out["metrics"], out["reward"] = None, {}, None
    return out


def summarize_all(home: Path | None = None, *, trend: int = 0) -> list[dict[str, Any]]:
    """Every run, oldest first; a store that cannot be read is listed with its error."""
    out = []
    for name in list_run_names(home):
        path = runs_dir(home) / name / STORE_FILE
        try:
            with RunStore.open(path) as store:
                summary = summarize(store, trend=trend)
            summary["name"] = name  # the directory is the run's identity (a copied store keeps its old name)
            out.append(summary)
        except StoreError as e:
            out.append({"name": name, "status": "unreadable", "error": str(e), "step": None, "max_steps": None})
    out.sort(key=lambda r: r.get("created_at") or 0)
    return out
