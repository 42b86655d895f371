"""Faults lose nothing, dead runs never read `running`, bad input gets one clear line, runs stay private."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli, status_of, wait_for
from recorded import write_recorded_run

from grpotui.runner.session import kills_user_processes
from grpotui.store import RunStore
from grpotui.store.fs import NetworkFilesystem, check_local
from grpotui.store.paths import STORE_FILE


def _check_complete(store: RunStore) -> int:
    """Everything committed is whole: metrics contiguous, each recorded step's groups complete."""
    steps = [s for s, _ in store.metrics()]
    assert steps == list(range(1, len(steps) + 1))
    gsteps = store.group_steps()
    assert gsteps == list(range(1, len(gsteps) + 1))
    assert len(gsteps) in (len(steps), len(steps) + 1)  # a step's generation is written before its metrics
    for s in gsteps[-3:]:
        groups = store.groups_at(s)
        assert len(groups) == 2 and all(len(g.completions) == 8 for g in groups)
    return len(steps)


@pytest.mark.slow
def test_fault_injection_kill9_at_random_points(home: Path, cli) -> None:
    rng = random.Random(1234)
    for i in range(3):
        name = f"fi{i}"
        cli("demo", "--steps", "100000", "--name", name, check=True)
        path = home / "runs" / name / STORE_FILE
        wait_for(lambda: path.exists() and RunStore.open(path).last_step() >= 1, what="training")  # noqa: B023
        time.sleep(rng.uniform(0.0, 2.5))
        pid = status_of(home, name)["pid"]
        with RunStore.open(path) as store:  # what is committed just before the kill, wherever it lands
            metrics_before, groups_before = len(store.metrics()), len(store.group_steps())
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: status_of(home, name)["status"] == "lost", timeout=20, what="lost")  # noqa: B023
        with RunStore.open(path) as store:
            assert _check_complete(store) >= metrics_before  # nothing committed is lost, all of it whole
            assert len(store.group_steps()) >= groups_before >= 1
            assert store.run_info()["status"] == "running"  # recorded as it was; read as `lost`
        assert "lost" in cli("ls", check=True).stdout


@pytest.mark.slow
def test_resume_a_lost_run_from_its_checkpoint_replaces_later_steps(home: Path, cli) -> None:
    cli("demo", "--steps", "100000", "--name", "res", "--set", "training.save_strategy='steps'",
        "--set", "training.save_steps=40", check=True)
    path = home / "runs" / "res" / STORE_FILE
    wait_for(lambda: path.exists() and RunStore.open(path).last_step() >= 90, what="90 steps")
    os.kill(status_of(home, "res")["pid"], signal.SIGKILL)
    wait_for(lambda: status_of(home, "res")["status"] == "lost", timeout=20, what="lost")
    before = RunStore.open(path).last_step()
    assert cli("run", "--resume", "nope").returncode == 2
    proc = cli("run", "--resume", "res", "--headless", "--set", "training.max_steps=150", timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    st = status_of(home, "res")
    assert st["status"] == "finished" and st["step"] == 150 and before > 80
    with RunStore.open(path) as store:
        assert _check_complete(store) == 150
        events = [e["status"] for e in store.events()]
        assert events.count("starting") == 2 and events[-1] == "finished"
    assert cli("run", "--resume", "res").returncode == 2  # finished: nothing to resume


@pytest.mark.slow
def test_disk_full_ends_failed_and_the_store_stays_readable(home: Path, tmp_path: Path, shared_cache: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(small)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        (small / "cache").symlink_to(shared_cache)
        proc = run_cli("demo", "--headless", "--steps", "1000000", "--name", "full", "--set",
                       "training.save_strategy='steps'", "--set", "training.save_steps=50", home=small, timeout=600)
        assert proc.returncode == 1, proc.stdout[-1500:] + proc.stderr[-1500:]
        st = json.loads(run_cli("status", "full", "--json", home=small, check=True).stdout)
        assert st["status"] == "failed" and "disk is full" in st["reason"], st["reason"]
        with RunStore.open(small / "runs" / "full" / STORE_FILE) as store:
            assert _check_complete(store) > 10
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True)


def test_network_filesystem_is_refused_with_advice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No NFS server can exist here: the filesystem type is the one boundary faked.
    monkeypatch.setattr("grpotui.store.fs.filesystem_type", lambda p: "nfs4")
    with pytest.raises(NetworkFilesystem, match=r"is on nfs4.*set GRPOTUI_HOME to a local disk"):
        check_local(tmp_path)
    monkeypatch.setenv("GRPOTUI_ALLOW_NETWORK_FS", "1")
    check_local(tmp_path)


def test_real_filesystem_type_is_read(tmp_path: Path) -> None:
    from grpotui.store.fs import filesystem_type

    assert filesystem_type(tmp_path)  # whatever it is here, it is known


def test_logind_kill_user_processes_is_detected(tmp_path: Path) -> None:
    conf = tmp_path / "logind.conf"
    dropins = tmp_path / "logind.conf.d"
    dropins.mkdir()
    linger = tmp_path / "linger"
    linger.mkdir()
    conf.write_text("[Login]\n#KillUserProcesses=no\n")
    assert not kills_user_processes([conf, dropins], linger, user="alice")
    (dropins / "50-kill.conf").write_text("[Login]\nKillUserProcesses=yes\n")
    assert kills_user_processes([conf, dropins], linger, user="alice")
    (linger / "alice").touch()  # `loginctl enable-linger alice`
    assert not kills_user_processes([conf, dropins], linger, user="alice")
    assert not kills_user_processes([conf, dropins], linger, user="root")  # KillExcludeUsers=root


def test_damaged_and_newer_stores_are_reported_and_the_rest_still_listed(home: Path, cli) -> None:
    write_recorded_run(home, "good", steps=5)
    write_recorded_run(home, "newer", steps=5)
    write_recorded_run(home, "broken", steps=5)
    con = sqlite3.connect(home / "runs" / "newer" / STORE_FILE)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    broken = home / "runs" / "broken" / STORE_FILE
    broken.write_bytes(b"\0" * 100 + broken.read_bytes()[100:])
    runs = {r["name"]: r for r in json.loads(cli("ls", "--json", check=True).stdout)}
    assert runs["good"]["status"] == "finished"
    assert runs["newer"]["status"] == "unreadable" and "newer grpotui" in runs["newer"]["error"]
    assert runs["broken"]["status"] == "unreadable" and "broken" in runs["broken"]["error"]
    proc = cli("status", "newer")
    assert proc.returncode == 2 and "upgrade grpotui" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_run_files_are_private(home: Path, cli, tmp_path: Path) -> None:
    write_recorded_run(home, "priv", steps=3)
    from grpotui.runner.launch import create_run

    d = create_run({"model": {}}, "made", home=home)
    assert oct(d.stat().st_mode & 0o777) == "0o700"
    assert oct((home / "runs").stat().st_mode & 0o777) == "0o700"
    for f in d.iterdir():
        assert oct(f.stat().st_mode & 0o777) == "0o600", f
    out = tmp_path / "export.jsonl"
    cli("export", "priv", "-o", str(out), check=True)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert cli("run", str(tmp_path / "none.toml"), "--name", "made").returncode == 2


@pytest.mark.slow
def test_commands_from_another_user_are_refused(home: Path, cli) -> None:
    cli("demo", "--steps", "100000", "--name", "own", check=True)
    path = home / "runs" / "own" / STORE_FILE
    wait_for(lambda: path.exists() and RunStore.open(path).last_step() >= 3, what="training")
    con = sqlite3.connect(path, timeout=10)
    con.execute("INSERT INTO commands (t, command, uid) VALUES (?, 'kill', ?)", (time.time(), os.getuid() + 1))
    con.commit()
    con.close()
    wait_for(lambda: RunStore.open(path).commands()[-1]["result"] is not None, timeout=10, what="taken")
    assert RunStore.open(path).commands()[-1]["result"].startswith("refused")
    step = RunStore.open(path).last_step()
    wait_for(lambda: RunStore.open(path).last_step() > step + 5, what="the run goes on")
    assert cli("kill", "own", check=True).returncode == 0


@pytest.mark.slow
def test_killing_one_ui_leaves_the_run_and_the_other_ui(home: Path, cli) -> None:
    import shutil

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    cli("demo", "--steps", "100000", "--name", "two", check=True)
    sessions = [f"ui-{time.time_ns()}-{i}" for i in range(2)]
    cmd = f"env -u COLUMNS -u LINES GRPOTUI_HOME={home} {sys.executable} -m grpotui attach two"
    try:
        for s in sessions:
            subprocess.run(["tmux", "new-session", "-d", "-s", s, "-x", "120", "-y", "40", cmd], check=True)

        def screen(s: str) -> str:
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", s], capture_output=True, text=True).stdout

        wait_for(lambda: all("RUNNING" in screen(s) for s in sessions), timeout=60, what="both UIs")
        ui_pid = int(subprocess.run(["tmux", "display", "-p", "-t", sessions[0], "#{pane_pid}"],
                                    capture_output=True, text=True).stdout)
        os.kill(ui_pid, signal.SIGKILL)
        path = home / "runs" / "two" / STORE_FILE
        step = RunStore.open(path).last_step()
        wait_for(lambda: RunStore.open(path).last_step() > step + 20, what="the run goes on")

        def shown_step() -> int:
            import re

            m = re.search(r"step (\d+)/100000", screen(sessions[1]))
            return int(m.group(1)) if m else -1

        first = shown_step()
        wait_for(lambda: shown_step() > first, timeout=20, what="the other UI to move on")
        assert status_of(home, "two")["status"] == "running"
    finally:
        for s in sessions:
            subprocess.run(["tmux", "kill-session", "-t", s], capture_output=True)
        cli("kill", "two")
