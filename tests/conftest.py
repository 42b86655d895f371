"""Shared fixtures: an isolated GRPOTUI_HOME, the real CLI in a subprocess, and the real GSM8K data."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    env = os.environ.get("GRPOTUI_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache (demo model, TRL schema) for the whole session: built once, reused by every home."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def home(tmp_path: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh GRPOTUI_HOME whose cache/ is the session's shared cache; its runners end with the test."""
    h = tmp_path / "home"
    h.mkdir()
    (h / "cache").symlink_to(shared_cache)
    monkeypatch.setenv("GRPOTUI_HOME", str(h))
    yield h
    _end_runners(h)


def _end_runners(home: Path) -> None:
    """Kill every runner process still working on a run under ``home`` (a failed test leaves some)."""
    import psutil

    runs = str(home / "runs")
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if any(arg.startswith(runs) for arg in cmd) and "grpotui.runner" in cmd:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def run_cli(*args: str, home: Path, timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
    """``grpotui ARGS`` as a user runs it: a real process with its own exit code."""
    env = {**os.environ, "GRPOTUI_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "grpotui", *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"grpotui {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def cli(home: Path):
    def _run(*args: str, **kw):
        return run_cli(*args, home=home, **kw)

    return _run


def wait_for(pred, timeout: float = 120, what: str = "condition") -> None:
    """Poll ``pred`` until it is true, or fail saying what never happened."""
    import time

    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def status_of(home: Path, name: str) -> dict:
    """``grpotui status NAME --json`` as a user gets it."""
    import json

    return json.loads(run_cli("status", name, "--json", home=home, check=True).stdout)


async def settle(pilot, rounds: int = 3) -> None:
    """Let an app's polls run: worker threads, then the messages they post back."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)


async def compare_loaded(pilot) -> None:
    """Until the comparison screen has read its runs and drawn them."""
    from grpotui.tui.screens.compare import CompareScreen

    for _ in range(200):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        screen = pilot.app.screen
        if isinstance(screen, CompareScreen) and screen.loaded:
            break
    await pilot.pause(0.2)
    from textual.widgets import Tabs

    for _ in range(60):  # compact: the keys go to the view on show once it is laid out (slow on a busy machine)
        if not isinstance(pilot.app.focused, Tabs):
            break
        await pilot.pause(0.05)
