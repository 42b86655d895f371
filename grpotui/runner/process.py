"""The runner process: ``python -m grpotui.runner RUN_DIR``.

It registers itself in the store, starts the control thread (commands, system samples, heartbeat)
before the slow imports, builds the trainer, trains, and records how the run ended. Exit codes:
0 finished, 1 failed, 2 bad input, 3 stopped by a health rule, 4 stopped by the user, 5 killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from grpotui.runner import threads
from grpotui.runner.control import Controller
from grpotui.runner.system import SystemSampler
from grpotui.store.db import EXIT_FAILED, EXIT_FINISHED, EXIT_STOPPED, EXIT_USAGE, RunStore
from grpotui.store.paths import CONFIG_FILE, STORE_FILE, TRACEBACK_FILE


def _one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg}"[:500] if msg else type(e).__name__


RESERVE = ".disk-reserve"


def _reserve(run_dir: Path, size: int = 4 << 20) -> Path:
    """A few MiB held back, freed when the disk fills so that the failure can still be recorded."""
    path = run_dir / RESERVE
    try:
        with open(path, "wb") as f:
            f.write(b"\0" * size)
    except OSError:
        path.unlink(missing_ok=True)
    return path


def _disk_full(e: BaseException, where: Path) -> bool:
    """ENOSPC somewhere in the chain, SQLite's 'full', or simply no room left (torch's save says neither)."""
    import errno
    import shutil
    import sqlite3

    try:
        if shutil.disk_usage(where).free < (1 << 20):
            return True
    except OSError:
        pass

    while e is not None:
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(e, sqlite3.OperationalError) and "full" in str(e):
            return True
        e = e.__cause__ or e.__context__
    return False


def run(run_dir: Path) -> int:
    cfg: dict[str, Any] = json.loads((run_dir / CONFIG_FILE).read_text())
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    # before anything starts torch: this process's share of the cores (see runner/threads.py)
    share = threads.plan(cfg.get("launch"), processes=int(os.environ.get("LOCAL_WORLD_SIZE", world)))
    threads.export(share, os.environ)
    if rank != 0:
        return _follow_main(run_dir, cfg)
    reserve = _reserve(run_dir)
    store = RunStore.open(run_dir / STORE_FILE, readonly=False)
    threads.record(store, share)
    print(f"grpotui: cpu threads {share.describe()}", flush=True)
    me = psutil.Process()
    if world == 1:
        store.set_process(pid=me.pid, create_time=me.create_time(), host=socket.gethostname())
        root = me.pid
    else:  # under accelerate launch: the launcher, recorded at spawn, stays the run's process
        root = me.parent().pid if me.parent() else me.pid
    controller = Controller(store, sampler=SystemSampler(root).sample)
    controller.threads = threads.Rebalancer(share, store)
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

        full = _disk_full(e, run_dir)
        if full:
            reserve.unlink(missing_ok=True)  # room to record why
        tb = traceback.format_exc()
        try:
            (run_dir / TRACEBACK_FILE).write_text(tb)
            os.chmod(run_dir / TRACEBACK_FILE, 0o600)
        except OSError:
            pass
        print(tb, file=sys.stderr, flush=True)
        code = EXIT_USAGE if isinstance(e, BackendError) else EXIT_FAILED
        reason = " ".join(str(e).split())[:500] if isinstance(e, BackendError) else _one_line(e)
        if full:
            reason = f"the disk is full ({reason})"
        try:
            store.set_status("failed", reason, step=controller.step, exit_code=code)
        except Exception as e2:  # e.g. the disk is full: the exit code still tells
            print(f"grpotui: could not record the failure: {_one_line(e2)}", file=sys.stderr, flush=True)
    finally:
        controller.close()
        store.close()
        reserve.unlink(missing_ok=True)
    return code


def _train(run_dir: Path, cfg: dict[str, Any], store: RunStore, controller: Controller) -> int:
    # The backend first, with nothing heavy imported: unsloth must come before transformers, trl and peft.
    from grpotui.runner.train import build_trainer, import_backend, last_checkpoint, pick_backend

    backend = pick_backend(cfg["model"]["backend"])
    import_backend(backend)
    store.update_run(backend=backend, model=cfg["model"]["name_or_path"])
    print(f"grpotui: backend {backend}, model {cfg['model']['name_or_path']}", flush=True)
    from grpotui.report import progress_line
    from grpotui.runner.recorder import Recorder

    def progress(step: int, max_steps: int | None, metrics: dict[str, Any]) -> None:
        print(progress_line(step, max_steps, metrics), flush=True)

    from grpotui.health import HealthMonitor

    health = HealthMonitor(cfg.get("health"))
    from grpotui import notify

    recorder = Recorder(store, controller, answer_field="answer", progress=progress, health=health,
                        evaluate_last=bool(cfg.get("eval")),
                        judge_timeout=float(cfg.get("run", {}).get("judge_timeout") or 1.0),
                        notifier=notify.for_run(store, cfg.get("notify")))
    controller.on_tick = recorder.check_stall
    controller.before_exit = lambda: recorder.flush(timeout=2.0)
    trainer = build_trainer(cfg, run_dir, [recorder], backend=backend)
    recorder.attach(trainer)
    t0 = time.time()
    resume_from = os.environ.get("GRPOTUI_RESUME_FROM") or None
    if resume_from:
        print(f"grpotui: resuming from {resume_from}", flush=True)
    # whatever ended training, what it handed over is written before the run's end is
    try:
        trainer.train(resume_from_checkpoint=resume_from)
    except BaseException:
        with contextlib.suppress(Exception):  # the training's own error is the one to report
            recorder.close()
        raise
    recorder.close()
    if recorder.exchange_summary():
        print(f"grpotui: {recorder.exchange_summary()}", flush=True)
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


def _follow_main(run_dir: Path, cfg: dict[str, Any]) -> int:
    """A rank other than the main one: trains in step with it and records nothing of the run itself.

    Pause and stop reach it at step boundaries through the main process (see the recorder); kill
    reaches it through accelerate's launcher, which ends every rank when one ends, and, on another
    machine, through the process group (a collective that fails, or waits no longer than
    ``launch.timeout``). The first process of another machine keeps that machine's listing (its
    follower store: the run it follows, its step, how it ended).
    """
    from grpotui.config import machine_of
    from grpotui.runner.train import build_trainer, import_backend, pick_backend

    backend = pick_backend(cfg["model"]["backend"])
    import_backend(backend)
    from grpotui.runner.recorder import Recorder

    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main rank decides; it tells the others
    follower = None
    if machine_of(cfg)[0] > 0 and int(os.environ.get("LOCAL_RANK", "0")) == 0 and (run_dir / STORE_FILE).exists():
        follower = RunStore.open(run_dir / STORE_FILE, readonly=False)
    # every rank evaluates together: what the main one asks of older transformers, these ask too
    recorder = Recorder(None, None, answer_field="answer", follower=follower, evaluate_last=bool(cfg.get("eval")))
    trainer = build_trainer(cfg, run_dir, [recorder], backend=backend)
    recorder.attach(trainer)
    if follower is not None and trainer.args.save_on_each_node:
        _save_on_this_machine(trainer.model)
    trainer.train(resume_from_checkpoint=os.environ.get("GRPOTUI_RESUME_FROM") or None)
    step = int(trainer.state.global_step)
    done = bool(trainer.state.max_steps and step >= trainer.state.max_steps)
    if done:
        trainer.save_model(str(run_dir / "final"))  # a collective under FSDP / DeepSpeed
    if follower is not None:  # exit 0 either way: a launcher reads any other code as this machine failing
        recorder.follower_step(step, force=True)
        if recorder.stopped and not done:
            from grpotui.runner.train import last_checkpoint

            ck = last_checkpoint(run_dir)
            where = f"; this machine's checkpoint {ck.name}" if ck else ""
            follower.set_status("stopped", f"stopped with the run at step {step}{where}", step=step,
                                exit_code=EXIT_STOPPED)
        else:
            follower.set_status("finished", f"{step} steps with the run", step=step, exit_code=EXIT_FINISHED)
        follower.close()
    return EXIT_FINISHED


def _save_on_this_machine(model: Any) -> None:
    """Let this machine's first process write the model into its own checkpoints, as ``save_on_each_node``
    asks: transformers 5's ``save_pretrained`` writes on global rank 0 only whatever its ``is_main_process``
    (measured with 5.24: a follower's checkpoint had the optimizer and the trainer state, no weights, and
    ``--resume`` there failed with "Can't find a valid checkpoint")."""
    if callable(getattr(model, "should_save_on_this_rank", None)):
        model.should_save_on_this_rank = lambda is_main_process: is_main_process


def run_dir_main(module: str, body: Callable[[Path], int], argv: list[str] | None = None) -> int:
    """``python -m MODULE RUN_DIR``: files private to the user, the run's exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(f"usage: python -m {module} RUN_DIR", file=sys.stderr)
        return EXIT_USAGE
    os.umask(0o077)
    return body(Path(argv[0]))


def main(argv: list[str] | None = None) -> int:
    return run_dir_main("grpotui.runner", run, argv)
