"""Create a run and start its runner detached (light: no torch here).

The runner gets its own session (``start_new_session``), so closing the terminal or logging out of
SSH does not end it; its stdout and stderr go to ``runner.log`` in the run directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from grpotui.store.db import RunStore
from grpotui.store.paths import CONFIG_FILE, LOG_FILE, STORE_FILE, check_run_name, make_private_dir, runs_dir


class RunExists(FileExistsError):
    """A run of that name exists already."""


def auto_name(prefix: str, home: Path | None = None) -> str:
    """``prefix-YYYYmmdd-HHMMSS``, with a suffix if that is taken."""
    base = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
    name, i = base, 1
    while (runs_dir(home) / name).exists():
        i += 1
        name = f"{base}-{i}"
    return check_run_name(name)


def create_run(
    cfg: dict[str, Any], name: str, *, kind: str = "run", home: Path | None = None, max_steps: int | None = None
) -> Path:
    """Make ``runs/NAME/`` (0700) with the resolved config and a fresh store; refuse an existing name."""
    check_run_name(name)
    root = make_private_dir(runs_dir(home))
    d = root / name
    try:
        d.mkdir(mode=0o700)
    except FileExistsError:
        raise RunExists(f"a run named {name!r} exists already ({d}); pick another --name") from None
    old = os.umask(0o077)
    try:
        (d / CONFIG_FILE).write_text(json.dumps(cfg, indent=2, sort_keys=True))
        RunStore.create(
            d / STORE_FILE, name=name, kind=kind, config=cfg, max_steps=max_steps,
            model=cfg.get("model", {}).get("name_or_path"),
        ).close()
    finally:
        os.umask(old)
    return d


def spawn_runner(run_dir: Path, *, module: str = "grpotui.runner", extra_env: dict[str, str] | None = None) -> int:
    """Start ``python -m grpotui.runner RUN_DIR`` in its own session; returns its pid."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    old = os.umask(0o077)
    try:
        log = open(run_dir / LOG_FILE, "ab")
    finally:
        os.umask(old)
    with log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(run_dir),
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    # Record the pid at once, so a runner that dies before it registers reads `lost`, not `starting`.
    try:
        ct = psutil.Process(proc.pid).create_time()
    except psutil.Error:
        ct = None
    with RunStore.open(run_dir / STORE_FILE, readonly=False) as store:
        info = store.run_info()
        if info["pid"] is None:
            import socket

            store.set_process(pid=proc.pid, create_time=ct, host=socket.gethostname())
    return proc.pid


def prepare(source: str | None, overrides: list[str], *, steps: int | None = None,
            name: str | None = None, scenario: str = "healthy") -> tuple[dict[str, Any], str, str]:
    """Resolve a config (a TOML path, or None / "demo" for the demo) into ``(config, name, kind)``."""
    from grpotui import config

    if source in (None, "", "demo"):
        from grpotui.demo_config import demo_config

        cfg = config.load(None, overrides, base_config=demo_config(steps=steps or 800, scenario=scenario))
        kind, prefix = "demo", "demo" if scenario == "healthy" else f"demo-{scenario}"
    else:
        path = Path(source).expanduser()
        cfg = config.load(path, overrides)
        kind, prefix = "run", path.stem
    return cfg, name or cfg["run"].get("name") or auto_name(prefix), kind


def launch(cfg: dict[str, Any], name: str, kind: str) -> tuple[Path, int]:
    """Create the run and start its runner detached: ``(run_dir, pid)``."""
    from grpotui.config import max_steps_of

    run_dir = create_run(cfg, name, kind=kind, max_steps=max_steps_of(cfg))
    return run_dir, spawn_runner(run_dir)
