"""CPU threads: runs on one machine share its cores instead of oversubscribing them (real runners)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import status_of, wait_for

from grpotui.runner import threads

pytestmark = pytest.mark.slow


def _threads(home: Path, name: str) -> dict:
    return status_of(home, name).get("cpu_threads") or {}


def _training(home: Path, name: str) -> bool:
    st = status_of(home, name)
    return st["status"] == "running" and st["step"] >= 1


def test_a_second_run_takes_its_share_and_the_first_rebalances(home: Path, cli) -> None:
    cores = threads.cores()
    cli("demo", "--steps", "100000", "--name", "first", check=True)
    wait_for(lambda: _training(home, "first"), what="the first run training")
    first = _threads(home, "first")
    assert first["source"] == "auto" and first["threads"] == cores and first["live_runs"] == 1
    cli("demo", "--steps", "100000", "--name", "second", check=True)
    wait_for(lambda: _training(home, "second"), what="the second run training")
    second = _threads(home, "second")
    assert second["source"] == "auto" and second["live_runs"] == 2 and second["threads"] == max(1, cores // 2)
    # the first one takes the new share at a step boundary
    wait_for(lambda: _threads(home, "first")["live_runs"] == 2, timeout=60, what="the first run rebalanced")
    assert _threads(home, "first")["threads"] == max(1, cores // 2)
    assert "cpu       " in cli("status", "second", check=True).stdout
    # one ends: the other takes the whole machine again
    cli("kill", "second", check=True)
    wait_for(lambda: _threads(home, "first")["live_runs"] == 1, timeout=60, what="the first run alone again")
    assert _threads(home, "first")["threads"] == cores
    cli("kill", "first", check=True)


def test_the_users_own_setting_is_left_alone(home: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the CLI runs in a subprocess with the user's environment
    proc = cli("demo", "--headless", "--steps", "3", "--name", "mine")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    t = _threads(home, "mine")
    assert t["source"] == "environment" and t["threads"] == 1


def test_config_cpu_threads_overrides(home: Path, cli) -> None:
    proc = cli("demo", "--headless", "--steps", "3", "--name", "cfg", "--set", "launch.cpu_threads=1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    t = _threads(home, "cfg")
    assert t["source"] == "config" and t["threads"] == 1
    assert cli("demo", "--set", "launch.cpu_threads=0").returncode == 2


def test_watch_hints_the_share_unless_the_user_chose(home: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    show = "import os; print('OMP=' + str(os.environ.get('OMP_NUM_THREADS')))"
    assert cli("watch", "--headless", "--name", "hint", "--", sys.executable, "-c", show).returncode == 0
    log = cli("logs", "hint", check=True).stdout
    assert f"OMP={threads.cores()}" in log and "OMP_NUM_THREADS=" in log
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cli("watch", "--headless", "--name", "own", "--", sys.executable, "-c", show).returncode == 0
    assert "OMP=3" in cli("logs", "own", check=True).stdout
    assert _threads(home, "own")["source"] == "environment"
