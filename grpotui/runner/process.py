"""The runner process: ``python -m grpotui.runner RUN_DIR``.

It registers itself in the store, starts the control thread (commands, system samples, heartbeat)
before the slow imports, builds the trainer, trains, and records how the run ended. Exit codes:
0 finished, 1 failed, 2 bad input, 3 stopped by a health rule, 4 stopped by the user, 5 killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import psutil

from grpotui.runner.control import Controller
from grpotui.runner.system import SystemSampler
from grpotui.store.db import EXIT_FAILED, EXIT_FINISHED, EXIT_USAGE, RunStore
from grpotui.store.paths import CONFIG_FILE, STORE_FILE, TRACEBACK_FILE


def _one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg}"[:500] if msg else type(e).__name__


def run(run_dir: Path) -> int:
    store = RunStore.open(run_dir / STORE_FILE, readonly=False)
    cfg: dict[str, Any] = json.loads((run_dir / CONFIG_FILE).read_text())
    me = psutil.Process()
    store.set_process(pid=me.pid, create_time=me.create_time(), host=socket.gethostname())
    controller = Controller(store, sampler=SystemSampler().sample)
    controller.start()

    def on_signal(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if controller.stopping:
            controller.kill_soon(f"killed by a second {name}")
            return
        controller.request_stop_soon(f"stopped by {name}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal must not end the run

    code = EXIT_FAILED
    try:
        code = _train(run_dir, cfg, store, controller)
    except Exception as e:
        from grpotui.runner.train import BackendError

        tb = traceback.format_exc()
        (run_dir / TRACEBACK_FILE).write_text(tb)
        os.chmod(run_dir / TRACEBACK_FILE, 0o600)
        print(tb, file=sys.stderr, flush=True)
        code = EXIT_USAGE if isinstance(e, BackendError) else EXIT_FAILED
        reason = " ".join(str(e).split())[:500] if isinstance(e, BackendError) else _one_line(e)
        try:
            store.set_status("failed", reason, step=controller.step, exit_code=code)
        except Exception as e2:  # e.g. the disk is full: the exit code still tells
            print(f"grpotui: could not record the failure: {_one_line(e2)}", file=sys.stderr, flush=True)
    finally:
        controller.close()
        store.close()
    return code


def _train(run_dir: Path, cfg: dict[str, Any], store: RunStore, controller: Controller) -> int:
    from grpotui.report import progress_line
    from grpotui.runner.recorder import Recorder
    from grpotui.runner.train import build_trainer, last_checkpoint, pick_backend

    backend = pick_backend(cfg["model"]["backend"])
    store.update_run(backend=backend, model=cfg["model"]["name_or_path"])
    print(f"grpotui: backend {backend}, model {cfg['model']['name_or_path']}", flush=True)

    def progress(step: int, max_steps: int | None, metrics: dict[str, Any]) -> None:
        print(progress_line(step, max_steps, metrics), flush=True)

    from grpotui.health import HealthMonitor

    health = HealthMonitor(cfg.get("health"))
    recorder = Recorder(store, controller, answer_field="answer", progress=progress, health=health)
    controller.on_tick = recorder.check_stall
    trainer = build_trainer(cfg, run_dir, [recorder], backend=backend)
    recorder.attach(trainer)
    t0 = time.time()
    trainer.train()
    step = int(trainer.state.global_step)
    done = trainer.state.max_steps and step >= trainer.state.max_steps
    if controller.stop_requested.is_set() and not done:
        ck = last_checkpoint(run_dir)
        where = f"; checkpoint {ck.name}" if ck else ""
        store.set_status(
            "stopped", f"{controller.stop_reason} at step {step}{where}", step=step,
            exit_code=controller.stop_exit_code,
        )
        return controller.stop_exit_code
    final = run_dir / "final"
    trainer.save_model(str(final))
    store.set_status(
        "finished", f"{step} steps in {time.time() - t0:.0f}s; model saved to final/", step=step,
        exit_code=EXIT_FINISHED,
    )
    return EXIT_FINISHED


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m grpotui.runner RUN_DIR", file=sys.stderr)
        return EXIT_USAGE
    os.umask(0o077)
    return run(Path(argv[0]))
