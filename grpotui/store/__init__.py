"""The run store: one SQLite file per run, shared by the runner and every reader (the standard library
and psutil, to tell a live runner from a lost one; no torch)."""

from grpotui.store.db import (
    ACTIVE_STATUSES,
    COMMANDS,
    ENDED_STATUSES,
    EXIT_FAILED,
    EXIT_FINISHED,
    EXIT_HEALTH,
    EXIT_KILLED,
    EXIT_STOPPED,
    EXIT_USAGE,
    SCHEMA_VERSION,
    Completion,
    Group,
    RunStore,
    StoreError,
)
from grpotui.store.paths import (
    BadRunName,
    cache_dir,
    check_run_name,
    grpotui_home,
    run_dir,
    runs_dir,
)

__all__ = [
    "ACTIVE_STATUSES", "COMMANDS", "ENDED_STATUSES", "EXIT_FAILED", "EXIT_FINISHED", "EXIT_HEALTH",
    "EXIT_KILLED", "EXIT_STOPPED", "EXIT_USAGE", "SCHEMA_VERSION", "BadRunName", "Completion", "Group",
    "RunStore", "StoreError", "cache_dir", "check_run_name", "grpotui_home", "run_dir", "runs_dir",
]
