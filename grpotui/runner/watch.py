"""The supervisor of a watched command: ``python -m grpotui.runner.watch RUN_DIR``.

It runs the user's command unchanged (no shell), its output going to the run's log, with grpotui's
``sitecustomize`` first on its ``PYTHONPATH`` so every GRPO trainer it builds is recorded by the
command itself. The supervisor samples the system for the whole process tree, beats, and records how
the command ended. Control commands go to the recorder inside the command once one is attached (pause
and stop at step boundaries); before that, or for a command that never trains, the supervisor acts on
the process group (SIGSTOP / SIGCONT, SIGTERM, SIGKILL).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from grpotui.runner import threads
from grpotui.runner.system import SystemSampler
from grpotui.store.db import (
    ACTIVE_STATUSES,
    EXIT_FAILED,
    EXIT_FINISHED,
    EXIT_KILLED,
    EXIT_STOPPED,
    EXIT_USAGE,
    RunStore,
)
from grpotui.store.paths import CONFIG_FILE, LOG_FILE, STORE_FILE
from grpotui.store.runs import process_alive

HOOK_DIR = Path(__file__).resolve().parent / "hook"


def _tail(path: Path, n: int = 3) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 4000))
            lines = [x for x in f.read().decode("utf-8", "replace").splitlines() if x.strip()]
    except OSError:
        return ""
    return " | ".join(x.strip() for x in lines[-n:])[:400]


def child_env(run_dir: Path, answer_field: str | None, share: threads.ThreadPlan | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if share is not None:
        threads.export(share, env)  # only a hint: the user's own setting wins, the script may set its own
    env["PYTHONPATH"] = os.pathsep.join([str(HOOK_DIR), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    env["GRPOTUI_RUN_DIR"] = str(run_dir)
    env["PYTHONUNBUFFERED"] = "1"
    if answer_field:
        env["GRPOTUI_ANSWER_FIELD"] = answer_field
    return env


def supervise(run_dir: Path) -> int:
    cfg: dict[str, Any] = json.loads((run_dir / CONFIG_FILE).read_text())
    store = RunStore.open(run_dir / STORE_FILE, readonly=False)
    me = psutil.Process()
    store.set_process(pid=me.pid, create_time=me.create_time(), host=socket.gethostname())
    command = cfg["command"]
    share = threads.plan(None)
    threads.record(store, share)
    with open(run_dir / LOG_FILE, "ab") as log:
        hint = "" if share.source == "environment" else f"; OMP_NUM_THREADS={share.threads} given to the command"
        log.write(f"grpotui: cpu threads {share.describe()}{hint}\n".encode())
        log.flush()
        try:
            child = subprocess.Popen(command, cwd=cfg.get("cwd") or None, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT,
                                     env=child_env(run_dir, cfg.get("answer_field"), share),
                                     start_new_session=True)
        except OSError as e:
            store.set_status("failed", f"cannot start {command[0]!r}: {e.strerror or e}", exit_code=EXIT_USAGE)
            return EXIT_USAGE
    store.set_status("running", f"started {' '.join(command)[:200]} (pid {child.pid})")
    with contextlib.suppress(OSError):  # the supervisor only samples and waits: below the training in priority
        os.nice(10)
    sampler = SystemSampler(child.pid)
    stopping = killing = False

    def on_signal(signum: int, _frame: Any) -> None:  # SIGTERM to the supervisor: stop the command
        os.killpg(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    next_sample = 0.0
    while child.poll() is None:
        now = time.monotonic()
        if now >= next_sample:
            next_sample = now + 1.0
            store.record_system(sampler.sample())
        recorder = store.get_meta("recorder_pid")
        if not (recorder and process_alive(int(recorder), None)):
            for cid, cmd, uid in store.take_commands():
                if uid is not None and uid != os.getuid():
                    store.set_command_result(cid, f"refused: uid {uid} does not own this run")
                    continue
                store.set_command_result(cid, "accepted (no trainer yet: signals the process group)")
                if cmd == "pause":
                    os.killpg(child.pid, signal.SIGSTOP)
                    store.set_status("paused", "paused (SIGSTOP: no GRPOTrainer to pause at a step)")
                elif cmd == "resume":
                    os.killpg(child.pid, signal.SIGCONT)
                    store.set_status("running", "resumed")
                elif cmd == "stop":
                    stopping = True
                    os.killpg(child.pid, signal.SIGCONT)
                    os.killpg(child.pid, signal.SIGTERM)
                    store.set_status("stopping", "stop requested (SIGTERM)")
                elif cmd == "kill":
                    killing = True
                    os.killpg(child.pid, signal.SIGKILL)
        time.sleep(0.25)
    code = child.returncode
    info = store.run_info()
    # a recorder inside the command registers itself when it binds to a GRPO trainer
    none = "" if store.get_meta("recorder_pid") else "; no GRPO trainer was recorded"
    if info["status"] in ACTIVE_STATUSES:  # the recorder inside did not end it already
        if killing or code == -signal.SIGKILL:
            store.set_status("killed", f"killed by user{none}", exit_code=EXIT_KILLED)
        elif stopping:
            store.set_status("stopped", f"stopped by user (exit code {code}){none}", exit_code=EXIT_STOPPED)
        elif code == 0:
            store.set_status("finished", f"the command exited 0{none}", exit_code=EXIT_FINISHED)
        else:
            why = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            tail = _tail(run_dir / LOG_FILE)
            store.set_status("failed", f"the command ended with {why}{none}: {tail}" if tail
                             else f"ended with {why}{none}", exit_code=EXIT_FAILED)
    final = store.run_info()["exit_code"]
    from grpotui import notify

    notify.send_end(store)  # the run's end, from the process that saw it (a few seconds at most)
    store.close()
    return int(final) if final is not None else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    from grpotui.runner.process import run_dir_main

    return run_dir_main("grpotui.runner.watch", supervise, argv)


if __name__ == "__main__":
    raise SystemExit(main())
