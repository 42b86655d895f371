"""The supervisor: ``python -m grpotui.runner.supervise RUN_DIR``, started beside a detached runner when
the run sends notifications.

It waits for the runner's process to end, however it ends, and then sends the run's ``end``
notification with the status the store records. A runner that died without a word (``kill -9``, the
kernel's OOM killer) leaves its run active in the store: the supervisor records it ``lost`` and says
so, within a few seconds. Light and quiet: the standard library, psutil and the store; idle priority;
no torch.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from grpotui.store.db import ACTIVE_STATUSES, EXIT_USAGE, RunStore, StoreError
from grpotui.store.paths import CONFIG_FILE, STORE_FILE
from grpotui.store.runs import process_alive

INTERVAL = float(os.environ.get("GRPOTUI_SUPERVISE_INTERVAL") or 2.0)  # seconds between looks
LOST_REASON = "the runner died without a word (kill -9, or the kernel's OOM killer?)"


def supervise(run_dir: Path) -> int:
    """Wait for the run's runner (the pid its store records, checked with its start time) to end."""
    from grpotui import notify

    with contextlib.suppress(OSError):
        os.nice(19)
    try:
        store = RunStore.open(run_dir / STORE_FILE, readonly=False, migrate=False)
    except StoreError as e:
        print(f"grpotui supervise: {e}", file=sys.stderr)
        return 1
    with store:
        gone = 0
        while True:
            info = store.run_info()
            if info["status"] not in ACTIVE_STATUSES:
                break
            gone = gone + 1 if not process_alive(info["pid"], info["pid_create_time"]) else 0
            if gone >= 2:  # looked twice: not a runner between registering and writing its status
                if store.end_if_active("lost", LOST_REASON, None):
                    print(f"grpotui: {LOST_REASON}", flush=True)
                break
            time.sleep(INTERVAL)
        run_table = _run_notify(run_dir)
        notify.send_end(store, run_table, wait=60.0)  # nobody waits on this process: retries run in full
    return 0


def _run_notify(run_dir: Path) -> object:
    import json

    try:
        return json.loads((run_dir / CONFIG_FILE).read_text()).get("notify")
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m grpotui.runner.supervise RUN_DIR", file=sys.stderr)
        return EXIT_USAGE
    return supervise(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main())
