"""The runner's control loop: a thread that takes commands from the store, samples the system and beats.

Training itself only looks at flags here at step boundaries, so it pays nothing for control.
``kill`` acts from this thread at once, even in the middle of a step.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from grpotui.store.db import EXIT_KILLED, EXIT_STOPPED, RunStore


class Controller:
    """Owns pause/stop/kill state for one runner process."""

    def __init__(
        self,
        store: RunStore,
        *,
        sampler: Callable[[], dict] | None = None,
        poll_interval: float = 0.5,
        sample_interval: float = 1.0,
        owner_uid: int | None = None,
    ) -> None:
        self.store = store
        self.sampler = sampler
        self.poll_interval = poll_interval
        self.sample_interval = sample_interval
        self.owner_uid = os.getuid() if owner_uid is None else owner_uid
        self.step = 0
        self.pause_requested = threading.Event()
        self.resume_event = threading.Event()
        self.stop_requested = threading.Event()
        self.stop_reason = "stopped by user"
        self.stop_exit_code = EXIT_STOPPED
        self._pending_stop: str | None = None
        self._pending_kill: str | None = None
        self._blocked = False  # the training thread waits in pause_slice
        self.on_tick: Callable[[], None] | None = None  # e.g. the stall check
        self.threads: Any = None  # a threads.Rebalancer: counted here, applied at step boundaries
        self.before_exit: Callable[[], None] | None = None  # e.g. write what the recorder handed over
        self.machines: dict[int, dict[str, Any]] = {}
        """Over several machines: each other machine's newest system sample, by machine rank (the recorder
        puts them here at step boundaries; each system row carries them)."""
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="grpotui-control", daemon=True)
        self.error: BaseException | None = None

    # ------------------------------------------------------------ thread
    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._quit.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        next_sample = 0.0
        while not self._quit.is_set():
            try:
                if self._pending_kill:
                    self.kill(self._pending_kill)
                if self._pending_stop:
                    reason, self._pending_stop = self._pending_stop, None
                    self.request_stop(reason)
                self.poll_commands()
                if self.on_tick is not None:
                    self.on_tick()
                if self.threads is not None:
                    self.threads.tick()
                now = time.monotonic()
                if self.sampler is not None and now >= next_sample:
                    next_sample = now + self.sample_interval
                    sample = self.sampler()
                    if self.machines:
                        sample["machines"] = [{**m, "age": max(0.0, time.time() - m.get("t", time.time()))}
                                              for _, m in sorted(self.machines.items())]
                    self.store.record_system(sample, step=self.step)
            except Exception as e:  # keep beating; the main thread sees store errors itself
                self.error = e
                print(f"grpotui: control loop: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            self._quit.wait(self.poll_interval)

    def poll_commands(self) -> None:
        for cid, command, uid in self.store.take_commands(self.step):
            if uid is not None and uid != self.owner_uid:
                self.store.set_command_result(cid, f"refused: uid {uid} does not own this run")
                continue
            self.store.set_command_result(cid, "accepted")
            self.handle(command)

    def handle(self, command: str) -> None:
        if command == "pause":
            self.request_pause("pause requested")
        elif command == "resume":
            if self.pause_requested.is_set():
                self.pause_requested.clear()
                self.resume_event.set()
                if not self._blocked:  # resumed before it reached a step boundary
                    self.store.set_status("running", "resumed", step=self.step)
        elif command == "stop":
            self.request_stop("stopped by user")
        elif command == "kill":
            self.kill("killed by user")

    def request_pause(self, reason: str) -> None:
        if self.pause_requested.is_set() or self.stop_requested.is_set():
            return
        self.resume_event.clear()
        self.pause_requested.set()
        self.store.set_status("pausing", reason, step=self.step)

    def request_stop(self, reason: str, exit_code: int = 4) -> None:
        if self.stop_requested.is_set():
            return
        self.stop_reason, self.stop_exit_code = reason, exit_code
        self.stop_requested.set()
        self.resume_event.set()  # a paused run stops from where it is
        self.store.set_status("stopping", reason, step=self.step)

    @property
    def stopping(self) -> bool:
        return self.stop_requested.is_set() or self._pending_stop is not None

    def request_stop_soon(self, reason: str) -> None:
        """Safe from a signal handler: flags the stop now, records it from the control thread."""
        self._pending_stop = reason

    def kill_soon(self, reason: str) -> None:
        """Safe from a signal handler: the control thread records the kill and ends the process."""
        self._pending_kill = reason

    def kill(self, reason: str) -> None:
        """End the process now; what was committed stays (and what was handed over, within 2 s)."""
        try:
            if self.before_exit is not None:
                self.before_exit()
        except BaseException:  # noqa: BLE001 - a kill ends the process whatever happens
            pass
        try:
            self.store.set_status("killed", reason, step=self.step, exit_code=EXIT_KILLED)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_KILLED)

    # ------------------------------------------------------------ step boundary (main thread)
    def pause_slice(self, step: int, seconds: float) -> str:
        """Wait up to ``seconds`` of a pause: ``paused`` (still), ``go`` or ``stop``.

        In slices so that, with several processes, the main one can tell the others where things
        stand every few seconds instead of holding a collective open for the whole pause.
        """
        if not self._blocked:
            if not self.pause_requested.is_set() or self.stop_requested.is_set():
                return "stop" if self.stop_requested.is_set() else "go"
            self._blocked = True
            self.store.set_status("paused", f"paused at step {step}", step=step)
            print(f"grpotui: paused at step {step}", flush=True)
        if not self.resume_event.wait(seconds):
            return "paused"
        self._blocked = False
        if self.stop_requested.is_set():
            return "stop"
        if not self.pause_requested.is_set():
            # also covers a resume that came while `paused` was being written
            self.store.set_status("running", "resumed", step=step)
            print(f"grpotui: resumed at step {step}", flush=True)
        return "go"
