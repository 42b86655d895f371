"""Where runs live on disk, and which run names are allowed."""

from __future__ import annotations

import os
import re
from pathlib import Path

STORE_FILE = "run.sqlite"
CONFIG_FILE = "config.json"
LOG_FILE = "runner.log"
TRACEBACK_FILE = "traceback.txt"
CHECKPOINT_DIR = "checkpoints"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


class BadRunName(ValueError):
    """A run name that cannot be used as a directory name under ``runs/``."""


def grpotui_home() -> Path:
    """``$GRPOTUI_HOME``, else ``$XDG_DATA_HOME/grpotui``, else ``~/.local/share/grpotui``."""
    env = os.environ.get("GRPOTUI_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "grpotui"


def runs_dir(home: Path | None = None) -> Path:
    return (home or grpotui_home()) / "runs"


def cache_dir(home: Path | None = None) -> Path:
    return (home or grpotui_home()) / "cache"


def check_run_name(name: str) -> str:
    """Return ``name`` if it is a safe run name, else raise :class:`BadRunName`."""
    if not _NAME_RE.match(name) or ".." in name:
        raise BadRunName(
            f"bad run name {name!r}: use letters, digits, '.', '_', '+' or '-' "
            "(no '/', no '..', at most 128 characters, starting with a letter or digit)"
        )
    return name


def run_dir(name: str, home: Path | None = None) -> Path:
    return runs_dir(home) / check_run_name(name)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the owner alone (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
