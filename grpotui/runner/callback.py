"""``GRPOTUICallback``: record any script's ``GRPOTrainer`` into a grpotui run store.

    from grpotui import GRPOTUICallback
    trainer = GRPOTrainer(..., callbacks=[GRPOTUICallback()])

Callbacks are not handed the trainer, so the callback finds it: ``bind(trainer)`` when the caller has
it, the trainer it was added to by ``grpotui watch`` (``for_trainer``), else on ``on_train_begin`` from
the call stack (the frame of ``trainer.train()`` holds it as ``self``). Importing this module imports
neither transformers nor trl (see :mod:`grpotui.runner.events`). It then records like the runner does:
metrics under TRL's names, every completion with its group, alerts from the health rules, and it
honours pause / stop / kill at step boundaries.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import os
import socket
import sys
from pathlib import Path
from typing import Any

import psutil

from grpotui.runner.events import LightCallback
from grpotui.store.db import ACTIVE_STATUSES, EXIT_FAILED, EXIT_FINISHED, RunStore
from grpotui.store.paths import STORE_FILE, check_run_name, make_private_dir, runs_dir


def is_grpo_trainer(obj: Any) -> bool:
    """A GRPO trainer by what the recorder needs of it, not by class: TRL's ``GRPOTrainer``, a subclass,
    or a class rebuilt from TRL's source like Unsloth's ``UnslothGRPOTrainer`` (not a subclass of TRL's)."""
    return callable(getattr(type(obj), "_generate_and_score_completions", None)) and hasattr(obj, "add_callback")


def find_trainer(max_depth: int = 40) -> Any:
    """The GRPO trainer whose ``train()`` is on the call stack, or None."""
    frame = inspect.currentframe()
    depth = 0
    while frame is not None and depth < max_depth:
        obj = frame.f_locals.get("self")
        if obj is not None and is_grpo_trainer(obj):
            return obj
        frame = frame.f_back
        depth += 1
    return None


class GRPOTUICallback(LightCallback):
    """Record this training into ``$GRPOTUI_HOME/runs/<name>`` and obey grpotui's controls."""

    def __init__(self, name: str | None = None, *, run_dir: str | os.PathLike | None = None,
                 answer_field: str | None = None, health: dict[str, Any] | None = None,
                 sample_system: bool | None = None) -> None:
        self.name = check_run_name(name) if name else None
        self.run_dir = Path(run_dir) if run_dir else None
        self.answer_field = answer_field
        self.health_config = health
        # a watched run's supervisor samples the system itself
        self.sample_system = (run_dir is None) if sample_system is None else sample_system
        self.trainer: Any = None
        self.store: RunStore | None = None
        self.controller: Any = None
        self.recorder: Any = None
        self._owns_run = run_dir is None
        self._pending: Any = None  # the trainer this was added to, bound when its train() begins

    def for_trainer(self, trainer: Any) -> GRPOTUICallback:
        """Bind to ``trainer`` when its training begins (the watch hook adds the callback while the
        trainer's constructor is still running: by ``train()`` it has returned)."""
        self._pending = trainer
        return self

    # ------------------------------------------------------------------ binding
    def bind(self, trainer: Any) -> GRPOTUICallback:
        """Attach to ``trainer`` now (before ``train()``), so no generation goes unrecorded."""
        if self.trainer is trainer:
            return self
        self.trainer = trainer
        trainer._grpotui_callback = self
        if trainer.accelerator.is_main_process:
            self._open_store()
        from grpotui.health import HealthMonitor
        from grpotui.runner.control import Controller
        from grpotui.runner.recorder import Recorder

        if self.store is not None:
            sampler = None
            if self.sample_system:
                from grpotui.runner.system import SystemSampler

                sampler = SystemSampler().sample
            self.controller = Controller(self.store, sampler=sampler)
            self.controller.start()
        from grpotui import notify

        self.recorder = Recorder(self.store, self.controller, answer_field=self.answer_field,
                                 health=HealthMonitor(self.health_config), progress=_progress,
                                 judge_timeout=float(os.environ.get("GRPOTUI_JUDGE_TIMEOUT") or 1.0),
                                 notifier=notify.for_run(self.store) if self.store is not None else None)
        self.recorder.attach(trainer)
        if self.controller is not None:
            self.controller.on_tick = self.recorder.check_stall
            self.controller.before_exit = lambda: self.recorder.flush(timeout=2.0)
        atexit.register(self._at_exit)
        return self

    def _open_store(self) -> None:
        if self.run_dir is not None:  # `grpotui watch` made the run
            self.store = RunStore.open(self.run_dir / STORE_FILE, readonly=False)
            self.store.set_meta("recorder_pid", str(os.getpid()))
            model = getattr(getattr(self.trainer.model, "config", None), "_name_or_path", None)
            self.store.update_run(model=model, backend="unsloth" if "Unsloth" in type(self.trainer).__name__
                                  else "transformers")
            return
        from grpotui.runner.launch import auto_name

        root = make_private_dir(runs_dir())
        name = self.name or auto_name(Path(sys.argv[0]).stem or "script")
        self.run_dir = root / name
        try:
            self.run_dir.mkdir(mode=0o700)
        except FileExistsError:
            raise FileExistsError(f"grpotui: a run named {name!r} exists already in {root}") from None
        args = self.trainer.args
        cfg = {
            "kind": "callback", "command": [sys.executable, *sys.argv], "cwd": os.getcwd(),
            "model": {"name_or_path": getattr(self.trainer.model.config, "_name_or_path", None)},
            "training": {k: v for k, v in args.to_dict().items() if isinstance(v, (int, float, str, bool))},
        }
        self.store = RunStore.create(self.run_dir / STORE_FILE, name=name, kind="callback", config=cfg,
                                     max_steps=args.max_steps if args.max_steps and args.max_steps > 0 else None,
                                     model=cfg["model"]["name_or_path"], backend="transformers")
        me = psutil.Process()
        self.store.set_process(pid=me.pid, create_time=me.create_time(), host=socket.gethostname())
        print(f"grpotui: recording into {self.run_dir} (grpotui attach {name})", file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ events
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.trainer is None:
            trainer = self._pending if self._pending is not None else find_trainer()
            if trainer is None:
                print("grpotui: GRPOTUICallback found no GRPOTrainer; nothing is recorded", file=sys.stderr)
                return
            self.bind(trainer)
        if self.recorder is not None and self.store is not None:
            self.recorder.on_train_begin(args, state, control, **kwargs)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.recorder is not None:
            self.recorder.on_step_end(args, state, control, **kwargs)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
        if self.recorder is not None:
            self.recorder.on_log(args, state, control, logs=logs, **kw)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.store is None or self.controller is None:
            return
        step = int(state.global_step)
        ctl = self.controller
        if self.recorder is not None:
            self.recorder.flush()
        done = state.max_steps and step >= state.max_steps
        if ctl.stop_requested.is_set() and not done:
            self.store.set_status("stopped", f"{ctl.stop_reason} at step {step}", step=step,
                                  exit_code=ctl.stop_exit_code)
        elif self._owns_run:
            self.store.set_status("finished", f"{step} steps", step=step, exit_code=EXIT_FINISHED)
        else:  # a watched script may go on after train(): its exit code decides
            self.store.set_status("running", f"training ended at step {step}; the script goes on", step=step)
        ctl.close()
        if self._owns_run:  # under `grpotui watch` the supervisor sends the end, when the script ends
            from grpotui import notify

            notify.send_end(self.store)

    def _at_exit(self) -> None:
        """A script that dies in training leaves no active run behind."""
        if self.recorder is not None:
            with contextlib.suppress(Exception):
                self.recorder.close(timeout=10)
        if self.store is None or not self._owns_run:
            return
        try:
            if self.store.run_info()["status"] in ACTIVE_STATUSES:
                err = getattr(sys, "last_value", None)
                reason = f"{type(err).__name__}: {err}" if err else "the script ended before training finished"
                self.store.set_status("failed", reason[:500], exit_code=EXIT_FAILED)
                from grpotui import notify

                notify.send_end(self.store)
        except Exception:
            pass


def _progress(step: int, max_steps: int | None, metrics: dict[str, Any]) -> None:
    """Watched scripts keep their own output; one short line a step goes to stderr only when asked."""
    if os.environ.get("GRPOTUI_PROGRESS"):
        from grpotui.report import progress_line

        print(progress_line(step, max_steps, metrics), file=sys.stderr, flush=True)


