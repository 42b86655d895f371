"""Recording a ``GRPOTrainer`` into the run store: metrics per step, every completion with its group.

The training thread only hands rows over: a generation's rows are assembled from what TRL already
computed (texts, rewards, advantages) and queued for the store's writer thread (JSON and SQLite happen
there, see :mod:`grpotui.runner.writer`). A verdict is taken as it is where this process has already
judged that completion (grpotui's own ``correctness`` reward did), else it is recorded ``pending`` and the
judge process fills it in (:mod:`grpotui.runner.judge`): extraction and math-verify never run here.

A trainer callback (duck-typed: see :mod:`grpotui.runner.events`) records TRL's logged metrics and acts
on control at step boundaries. Callbacks are not handed the trainer, so :meth:`Recorder.attach` wraps the
trainer instance's ``_generate_and_score_completions``: after each generation the last ``generation batch`` rows of
``trainer._logs`` are that generation's prompts, completions, per-function rewards and advantages, in
generation order, so a row's group is ``index // num_generations`` (grouped by position, never by prompt).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from grpotui.health import Alert, HealthMonitor
from grpotui.notify import Notifier
from grpotui.rewards import GOLD_COLUMNS, completion_text, gold_answer, judged_any, known_judgement
from grpotui.runner import compat
from grpotui.runner import judge as judge_process
from grpotui.runner.control import Controller
from grpotui.runner.events import LightCallback
from grpotui.runner.writer import StoreWriter
from grpotui.store.db import EXIT_HEALTH, PENDING, RunStore, as_float
from grpotui.store.runs import FOLLOWS_KEY, MACHINES_KEY, follows_text


def prompt_text(prompt: Any) -> str:
    """A prompt as text: plain prompts as they are, chat prompts as their messages' contents."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        parts = []
        for m in prompt:
            if isinstance(m, dict):
                c = m.get("content", "")
                if isinstance(c, list):
                    c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
                parts.append(f"[{m.get('role', '?')}] {c}" if m.get("role") == "system" else str(c))
        return "\n".join(parts)
    return str(prompt)


class Recorder(LightCallback):
    """Writes a GRPO run into a :class:`RunStore` and honours pause / stop at step boundaries."""

    def __init__(
        self,
        store: RunStore | None,
        controller: Controller | None = None,
        *,
        answer_field: str | None = None,
        progress: Callable[[int, int | None, dict[str, Any]], None] | None = None,
        health: HealthMonitor | None = None,
        judge_timeout: float = judge_process.DEFAULT_TIMEOUT,
        notifier: Notifier | None = None,
        evaluate_last: bool = False,
        follower: RunStore | None = None,
    ) -> None:
        self.store = store
        self.follower = follower
        """On a machine other than rank 0's (its first process): the small store that lists this machine's
        part of the run there; nothing of the run is recorded in it."""
        self.evaluate_last = evaluate_last
        """Evaluate at the last step when it is not a multiple of eval_steps (transformers 5 does so itself;
        the runner asks it of older ones too; a user's script is left as it is)."""
        self.notifier = notifier  # alerts go out from a thread of its own
        self.writer = StoreWriter() if store is not None else None
        self.judge_timeout = judge_timeout
        self._judge: Any = None
        self._judge_started_at = -1e9
        self.health = health
        self._last_step_at: float | None = None
        self._step_seconds: deque[float] = deque(maxlen=50)
        self.controller = controller
        self.answer_field = answer_field
        self.progress = progress
        self.trainer: Any = None
        self._groups_in_step: dict[int, int] = {}
        self._eval_groups: dict[int, int] = {}  # groups recorded so far of the evaluation at a step
        self._batch: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self._batch_lock = threading.Lock()
        self._pause_in_log = False
        self._warned = False
        self.is_main = True
        self.machine, self.machines, self.machine_first = 0, 1, True  # set by attach (torchrun's environment)
        self._sampler: Any = None
        self._sampled_at = -1e9
        self._exchange_seconds: list[float] = []
        self._exchange_bytes = 0
        self._follower_step_at = -1e9
        self.stopped = False  # the run was stopped (the main process's decision, known on every process)
        self._follows: dict[str, Any] = {}  # a follower's listing (see follower)

    # ------------------------------------------------------------ attaching
    def attach(self, trainer: Any) -> Recorder:
        """Wrap ``trainer._generate_and_score_completions`` so each generation is recorded."""
        if getattr(trainer, "_grpotui_recorder", None) is self:
            return self
        compat.tell_once()  # a TRL outside the tested range: said once, and recorded as well as it can be
        self.trainer = trainer
        self.is_main = bool(trainer.accelerator.is_main_process)
        env = os.environ
        local_world = int(env.get("LOCAL_WORLD_SIZE") or 0)
        if local_world and int(env.get("WORLD_SIZE") or 1) > local_world:  # torchrun over several machines
            self.machines = int(env["WORLD_SIZE"]) // local_world
            self.machine = int(env.get("GROUP_RANK") or 0)
            self.machine_first = int(env.get("LOCAL_RANK") or 0) == 0
        original = trainer._generate_and_score_completions

        def generate_and_score(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            out = original(inputs, *args, **kwargs)
            self._record_generation(inputs, out)
            return out

        trainer._generate_and_score_completions = generate_and_score
        trainer._grpotui_recorder = self
        return self

    def _answers(self, inputs: list[dict[str, Any]]) -> list[Any]:
        field = self.answer_field
        if field is None and inputs:
            field = next((f for f in GOLD_COLUMNS if f in inputs[0]), None)
            self.answer_field = field
        return [row.get(field) if field else None for row in inputs]

    def _record_generation(self, inputs: list[dict[str, Any]], out: dict[str, Any]) -> None:
        tr = self.trainer
        evaluating = not tr.model.training  # a held-out evaluation: recorded apart, never training groups
        world = tr.accelerator.num_processes
        answers = self._answers(inputs)
        questions = [row.get("grpotui_question") for row in inputs]  # where grpotui built the prompts
        rows_ = [row.get("grpotui_row") for row in inputs]
        try:
            lengths = [int(x) for x in out["completion_mask"].sum(dim=1).tolist()]
        except Exception:
            lengths = [None] * len(inputs)
        if world > 1:  # every rank takes part in the gathers; only the main one writes
            from accelerate.utils import gather_object

            answers, lengths = gather_object(answers), gather_object(lengths)
            questions, rows_ = gather_object(questions), gather_object(rows_)
        if not self.is_main:
            return
        n = len(answers)
        logs = tr._logs
        prompts = list(logs["prompt"])[-n:]
        completions = list(logs["completion"])[-n:]
        advantages = list(logs["advantages"])[-n:]
        per_func = {name: list(vals)[-n:] for name, vals in logs["rewards"].items()}
        names = list(getattr(tr, "reward_func_names", per_func))
        try:
            weights = [float(w) for w in tr.reward_weights.tolist()]
        except Exception:
            weights = [1.0] * len(names)
        if len(prompts) != n or len(completions) != n:
            self._warn(f"generation of {n} rows but trainer._logs holds {len(prompts)}; not recorded")
            return
        g = int((getattr(tr, "num_generations_eval", None) if evaluating else None) or tr.num_generations)
        step = int(tr.state.global_step) + (0 if evaluating else 1)  # an evaluation follows the step it is at
        rows = []
        golds: dict[int, str] = {}
        reuse = judged_any()
        for i in range(n):
            text = completion_text(completions[i])
            rewards = {name: as_float(per_func[name][i]) if i < len(per_func.get(name, ())) else None for name in names}
            # as TRL sums them: weighted, functions that gave no reward (None / NaN) left out
            vals = [(rewards[nm], w) for nm, w in zip(names, weights, strict=False)
                    if rewards.get(nm) is not None and math.isfinite(rewards[nm])]
            total = sum(v * w for v, w in vals) if vals else None
            raw = answers[i]
            answer = verdict = None
            if raw is not None:
                verdict = PENDING
                if reuse:  # e.g. grpotui's correctness reward judged it already: take its verdict
                    expected = golds.get(id(raw))
                    if expected is None:
                        expected = golds[id(raw)] = gold_answer(raw)
                    known = known_judgement(text, expected)
                    if known is not None:
                        answer, verdict = known.answer, known.verdict
            rows.append(
                dict(
                    prompt=prompts[i], expected=raw, completion=text, answer=answer,
                    verdict=verdict, reward=total, rewards=rewards,
                    advantage=as_float(advantages[i]) if i < len(advantages) else None, length=lengths[i],
                )
            )
        groups = []
        for start in range(0, n, g):
            chunk = rows[start : start + g]
            groups.append({"prompt": chunk[0]["prompt"], "expected": chunk[0]["expected"], "completions": chunk,
                           "question": questions[start] if start < len(questions) else None,
                           "row": rows_[start] if start < len(rows_) else None})
        if evaluating:
            first = self._eval_groups.get(step, 0)
            self._eval_groups = {step: first + len(groups)}
            self._hand_over(self._write_generation, step, groups, first, evaluation=True)
            return
        first = self._groups_in_step.get(step, 0)
        self._hand_over(self._write_generation, step, groups, first)
        self._groups_in_step = {step: first + len(groups)}
        if self.health is not None:
            max_len = getattr(getattr(tr, "args", None), "max_completion_length", None)
            self.health.observe_groups(step, groups, first_group=first,
                                       max_length=max_len if isinstance(max_len, int) else None)

    def _write_generation(self, step: int, groups: list[dict[str, Any]], first: int, *,
                          evaluation: bool = False) -> None:
        """On the writer thread: the prompts as text, the rows into the store (an evaluation's into its own
        table), and a judge for what is pending."""
        for grp in groups:
            grp["prompt"] = prompt_text(grp["prompt"])
            if grp["expected"] is not None:  # the gold answer as judged (GSM8K's "#### 18" -> "18")
                grp["expected"] = gold_answer(grp["expected"])
        record = self.store.record_eval if evaluation else self.store.record_groups
        record(step, groups, first_group=first)
        if any(c["verdict"] == PENDING for grp in groups for c in grp["completions"]):
            self._ensure_judge()

    def _ensure_judge(self) -> None:
        """A background judge for this run while there is something to judge (restarted at most every
        30 s if it ended; another judge holding the run's lock makes it end at once)."""
        if self._judge is not None and self._judge.poll() is None:
            return
        now = time.monotonic()
        if now - self._judge_started_at < 30:
            return
        self._judge_started_at = now
        try:
            self._judge = judge_process.start(self.store.path.parent, limit=self.judge_timeout,
                                              while_alive=os.getpid(), defer_while_training=not _has_gpu())
        except OSError as e:
            self._warn(f"cannot start the judge process ({e}); verdicts stay pending")

    def _hand_over(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Keep a write for this step's one hand-over to the writer (:meth:`_send`)."""
        with self._batch_lock:
            self._batch.append((fn, args, kwargs))

    def _send(self) -> None:
        """Hand the step's writes to the writer thread at once: one queue item and one wake-up a step,
        not one per generation, metrics row and alert (with tiny completions those were a visible share
        of a step)."""
        with self._batch_lock:
            batch, self._batch = self._batch, []
        if batch and self.writer is not None:
            self.writer.submit(_run_all, batch)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every row handed over is in the store."""
        if self.writer is not None:
            self._send()
            self.writer.flush(timeout)

    def close(self, timeout: float | None = 30) -> None:
        if self.writer is not None:
            self._send()
            self.writer.close(timeout)
        if self.notifier is not None:
            self.notifier.close()  # a few seconds at most

    def _warn(self, msg: str) -> None:
        if not self._warned:
            self._warned = True
            print(f"grpotui: warning: {msg}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------ callback events
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.machines > 1:
            self._greet()
        if not self.is_main:
            return
        self.store.update_run(max_steps=int(state.max_steps) if state.max_steps else None, started_at=time.time())
        ctl = self.controller
        if ctl is not None and (ctl.stop_requested.is_set() or ctl.pause_requested.is_set()):
            return  # a stop or pause sent while the model loaded: its status stands
        self.store.set_status("running", f"training from step {state.global_step}", step=int(state.global_step))

    @property
    def world(self) -> int:
        return int(self.trainer.accelerator.num_processes) if self.trainer is not None else 1

    def _exchange(self, value: Any, mine: Any = None) -> tuple[Any, list[Any]]:
        """The step boundary's one collective (every rank calls it at the same point): the main process's
        ``value`` reaches every process, and each process's ``mine`` (``None`` mostly) reaches all of them;
        returns ``(value, the others' non-None mine)``. Over several machines each machine's first process
        adds its newest system sample, so the main one shows every machine's GPUs."""
        from accelerate.utils import gather_object

        if mine is None:
            mine = self._machine_sample()
        t0 = time.perf_counter()
        items = gather_object([(value, mine)])
        others = [m for _, m in items[1:] if m is not None]
        if self.machines > 1 and self.is_main:
            self._exchange_seconds.append(time.perf_counter() - t0)
            if others:  # the largest message is one carrying a sample (at most once a second): sized then only
                import pickle

                self._exchange_bytes = max(self._exchange_bytes, *(len(pickle.dumps((value, m))) for m in others))
        ctl = self.controller
        if self.is_main and ctl is not None:
            for m in others:
                if isinstance(m, dict) and m.get("kind") == "system":
                    ctl.machines[int(m["machine"])] = m
        return items[0][0], others

    def _machine_sample(self) -> dict[str, Any] | None:
        """On the first process of a machine other than the main one's: its system, at most once a second."""
        if self.machines <= 1 or self.is_main or not self.machine_first:
            return None
        now = time.monotonic()
        if now - self._sampled_at < 1.0:
            return None
        self._sampled_at = now
        import socket

        from grpotui.runner.system import SystemSampler

        if self._sampler is None:  # this machine's launcher and every rank under it
            self._sampler = SystemSampler(os.getppid())
        return {"kind": "system", "machine": self.machine, "host": socket.gethostname(), "t": time.time(),
                **self._sampler.sample()}

    def _greet(self) -> None:
        """Over several machines, before the first step: the main process says which run this is (each
        other machine's follower store shows it) and learns each machine's host."""
        import socket

        hello = None
        if self.is_main:
            info = self.store.run_info() if self.store is not None else {}
            hello = {"run": info.get("name"), "host": socket.gethostname(), "machines": self.machines}
        me = None
        if self.machine_first and not self.is_main:
            me = {"kind": "machine", "machine": self.machine, "host": socket.gethostname(),
                  "processes": int(os.environ.get("LOCAL_WORLD_SIZE") or 1)}
        hello, others = self._exchange(hello, me)
        if self.is_main and self.store is not None:
            machines = [{"machine": self.machine, "host": hello["host"],
                         "processes": int(os.environ.get("LOCAL_WORLD_SIZE") or 1)}]
            machines += sorted((m for m in others if m.get("kind") == "machine"), key=lambda m: m["machine"])
            self.store.set_meta(MACHINES_KEY, json.dumps([{k: v for k, v in m.items() if k != "kind"}
                                                          for m in machines]))
            print(f"grpotui: {len(machines)} machines: " + ", ".join(
                f"{m['machine']} {m['host']} ({m['processes']} process{'es' if m['processes'] != 1 else ''})"
                for m in machines), flush=True)
        if self.follower is not None and isinstance(hello, dict):
            self._follows = {**hello, "machine": self.machine, "step": 0}
            self.follower.set_meta(FOLLOWS_KEY, json.dumps(self._follows))
            self.follower.set_status("running", follows_text(self._follows))

    def follower_step(self, step: int, *, force: bool = False) -> None:
        """This machine's step in its follower store (at most once a second: what `ls` there shows)."""
        now = time.monotonic()
        if self.follower is None or (not force and now - self._follower_step_at < 1.0):
            return
        self._follower_step_at = now
        try:
            self._follows["step"] = step
            self.follower.set_meta(FOLLOWS_KEY, json.dumps(self._follows))
        except Exception as e:  # noqa: BLE001 - a listing; training goes on
            self._warn(f"could not update this machine's listing: {e}")

    def exchange_summary(self) -> str | None:
        """What the step boundary's exchange cost over several machines (the main process's view)."""
        xs = sorted(self._exchange_seconds)
        if self.machines <= 1 or not xs:
            return None
        return (f"step-boundary exchange over {self.machines} machines: {len(xs)} exchanges, median "
                f"{xs[len(xs) // 2] * 1000:.1f} ms, largest {self._exchange_bytes} bytes from one process")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        now = time.monotonic()
        if self._last_step_at is not None:
            self._step_seconds.append(now - self._last_step_at)
        self._last_step_at = now
        ctl = self.controller
        step = int(state.global_step)
        if ctl is not None:
            ctl.step = step
            if ctl.threads is not None:
                ctl.threads.apply()
        if not control.should_log:  # a step that logs hands its rows over with its metrics (on_log)
            self._send()
        stop = ctl is not None and ctl.stop_requested.is_set()
        pause = ctl is not None and ctl.pause_requested.is_set()
        if self.world > 1:  # every rank acts on the main one's decision, at the same step
            (stop, pause), _ = self._exchange((stop, pause))
        self.follower_step(step)
        if stop:
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True
            control.should_evaluate = False  # a stop does not wait for an evaluation
            return
        if self.evaluate_last and state.max_steps and step >= state.max_steps \
                and getattr(args, "eval_strategy", "no") in ("steps", "epoch"):
            control.should_evaluate = True
        if pause:
            if control.should_log:
                self._pause_in_log = True  # record this step's metrics first
            else:
                self._pause_here(step, control)

    def _pause_here(self, step: int, control: Any) -> None:
        self.flush()  # what came before the pause is in the store while it holds
        ctl = self.controller
        held = first = False
        while True:
            # with several processes: every 5 s the main one tells the others where things stand (the first
            # time at once, so that every machine's listing says it holds)
            wait = 5.0 if self.world > 1 and first else 0.2
            first = True
            state = ctl.pause_slice(step, wait) if ctl is not None else "go"
            if self.world > 1:
                state, _ = self._exchange(state)
            if state != "paused":
                break
            if not held and self.follower is not None:  # this machine's listing says it holds too
                held = True
                self.follower_step(step, force=True)
                self.follower.set_status("paused", f"paused with the run at step {step}", step=step)
        if held and state == "go":
            self.follower.set_status("running", follows_text(self._follows), step=step)
        if state == "stop":
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True

    # ------------------------------------------------------------ health
    def _act(self, alert: Alert, control: Any | None) -> None:
        """Record an alert and do what its rule's action says: from a step (``control``: TRL's, the
        alert goes with the step's rows and a pause or stop takes effect at this boundary) or from the
        control thread (``None``, a stall: written at once, acted on at the next boundary)."""
        kw = dict(step=alert.step, rule=alert.rule, severity=alert.severity, message=alert.message,
                  action=alert.action, values=alert.values, evidence=alert.evidence)
        if control is None:
            self.store.record_alert(**kw)
        else:
            self._hand_over(self.store.record_alert, **kw)
        print(f"grpotui: ALERT step {alert.step} {alert.rule} ({alert.action}): {alert.message}", flush=True)
        if self.notifier is not None:
            from grpotui import notify

            status = {"warn": "running", "pause": "pausing", "stop": "stopping", "kill": "killed"}.get(alert.action)
            self.notifier.send(notify.event(self.store.run_info()["name"], "alert", status=status or "running",
                                            message=alert.message, rule=alert.rule, severity=alert.severity,
                                            step=alert.step))
            if alert.action == "kill":
                self.notifier.close()  # the kill ends this process at once: the alert goes out first
        ctl = self.controller
        if ctl is None or alert.action == "warn":
            return
        reason = f"health rule {alert.rule}: {alert.message}"
        here = control is not None and self.world == 1  # with several ranks, the next boundary carries it to all
        if alert.action == "pause":
            ctl.request_pause(f"paused by {reason}")
            if control is not None:
                self._pause_in_log = here
        elif alert.action == "stop":
            ctl.request_stop(f"stopped by {reason}", exit_code=EXIT_HEALTH)
            if here:
                control.should_save = True
                control.should_training_stop = True
        elif alert.action == "kill":
            ctl.kill(f"killed by {reason}")

    def check_stall(self) -> None:
        """From the control thread: no step for too long while training (not while paused)."""
        ctl = self.controller
        if self.health is None or ctl is None or self._last_step_at is None:
            return
        if ctl.pause_requested.is_set() or ctl.stop_requested.is_set():
            self._last_step_at = time.monotonic()  # a pause is not a stall
            return
        typical = statistics.median(self._step_seconds) if self._step_seconds else None
        alert = self.health.check_stall(ctl.step, time.monotonic() - self._last_step_at, typical)
        if alert is not None:
            self._act(alert, None)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """An evaluation ended: a pause or stop asked for during it takes effect now."""
        self._send()
        ctl = self.controller
        stop = ctl is not None and ctl.stop_requested.is_set()
        pause = ctl is not None and ctl.pause_requested.is_set()
        if self.world > 1:
            (stop, pause), _ = self._exchange((stop, pause))
        if stop:
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True
        elif pause:
            self._pause_here(int(state.global_step), control)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
        step = int(state.global_step)
        if self.is_main and logs and any(k.startswith("eval_") for k in logs):
            # TRL's logs of an evaluation: kept with it, out of the training curves and the health rules
            self._hand_over(self.store.record_eval_logs, step,
                            {k: v for k, v in logs.items() if isinstance(v, (int, float)) or v is None})
            self._send()
            return
        if self.is_main and logs:
            if "train_runtime" in logs:
                self._hand_over(self.store.update_run, summary={k: as_float(v) for k, v in logs.items()})
            else:
                metrics = compat.normalize({k: v for k, v in logs.items() if isinstance(v, (int, float)) or v is None})
                self._hand_over(self.store.record_metrics, step, metrics)
                if self.progress:
                    self.progress(step, state.max_steps, metrics)
                if self.health is not None:
                    for alert in self.health.observe_metrics(step, metrics):
                        self._act(alert, control)
                    while self.health.notes:
                        print(f"grpotui: {self.health.notes.pop(0)}", flush=True)
            self._send()
        if self._pause_in_log:
            self._pause_in_log = False
            self._pause_here(step, control)


def _run_all(batch: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]) -> None:
    """On the writer thread: a step's writes, in the order they were handed over (one failing does not
    keep the others out; the first error goes back to the training thread)."""
    error: BaseException | None = None
    for fn, args, kwargs in batch:
        try:
            fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - raised once the rest is written
            error = error or e
    if error is not None:
        raise error


def _has_gpu() -> bool:
    """Whether training runs on a GPU (then the CPU has room for verdicts while it trains)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False

