"""The store writer: one thread that does the runner's SQLite writes, in order, off the training thread.

The training thread hands over what it has (a generation's rows, a step's metrics, an alert) with
:meth:`StoreWriter.submit`, which only puts it on a queue; JSON and SQLite happen here. Whatever ends
training (the last step, a stop, Ctrl-C, SIGTERM, a reward function that raises) calls :meth:`flush`
first, so what was handed over is written; ``kill -9`` loses at most what was still queued (the
generation in flight). A write that fails (a full disk) is raised again on the training thread at the
next hand-over or flush, so the run fails as it did when it wrote itself.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()


class StoreWriter:
    def __init__(self, name: str = "grpotui-writer") -> None:
        self._q: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)``; raises a previous write's error instead."""
        self._raise()
        self._q.put((fn, args, kwargs))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything handed over so far is written (True), or ``timeout`` passed (False)."""
        done = threading.Event()
        self._q.put((done.set, (), {}))
        ok = done.wait(timeout)
        self._raise()
        return ok

    def close(self, timeout: float | None = None) -> None:
        self.flush(timeout)
        self._q.put(_STOP)
        self._thread.join(timeout)

    def _raise(self) -> None:
        if self.error is not None:
            err, self.error = self.error, None
            raise err

    def _loop(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            fn, args, kwargs = item
            try:
                fn(*args, **kwargs)
            except BaseException as e:  # noqa: BLE001 - handed back to the training thread
                if self.error is None:
                    self.error = e
