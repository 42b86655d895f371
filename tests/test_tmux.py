"""grpotui in a real terminal (tmux, 160x45): the demo's dashboard, pause / resume / kill, leave and attach."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import wait_for

from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Tmux:
    def __init__(self, name: str, home: Path) -> None:
        self.name, self.home = name, home

    def start(self, *args: str) -> None:
        # COLUMNS/LINES inherited by a tmux server started from here would pin the app at 80x24
        cmd = " ".join(["env -u COLUMNS -u LINES", f"GRPOTUI_HOME={self.home}", sys.executable, "-m", "grpotui", *args])
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "45", cmd], check=True)

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True).stdout

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0

    def wait_for(self, text: str, timeout: float = 90) -> str:
        end = time.time() + timeout
        screen = ""
        while time.time() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{text!r} never showed; the screen:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)




def test_demo_dashboard_pause_resume_kill_then_leave_and_attach(home: Path) -> None:
    t = Tmux(f"grpotui-test-{time.time_ns()}", home)
    t.start("demo", "--steps", "100000", "--name", "t1")
    try:
        t.wait_for("RUNNING")
        t.wait_for("reward  ")
        screen = t.wait_for("KL  ")
        assert "RAM" in screen and "CPU" in screen and "No GPU figures" in screen, screen
        store = RunStore.open(home / "runs" / "t1" / STORE_FILE)
        wait_for(lambda: store.last_step() > 5, what="steps")

        t.send("p")
        t.wait_for("PAUSED")
        assert store.run_info()["status"] == "paused"
        step = store.last_step()
        time.sleep(1.5)
        assert store.last_step() == step, "the runner must not step while paused"

        t.send("p")
        t.wait_for("RUNNING")
        wait_for(lambda: store.last_step() > step + 3, what="steps after resume")

        t.send("k")
        t.wait_for("Kill t1 now?")
        t.send("y")
        wait_for(lambda: store.run_info()["status"] == "killed", what="killed")
        t.wait_for("KILLED")
        t.send("q")
        wait_for(lambda: not t.alive(), timeout=10, what="the app to quit")
        store.close()

        # a second run: leave the app, the run goes on, attach shows it again
        t.start("demo", "--steps", "100000", "--name", "t2")
        t.wait_for("RUNNING")
        t.send("q")
        wait_for(lambda: not t.alive(), timeout=10, what="the app to quit")
        store = RunStore.open(home / "runs" / "t2" / STORE_FILE)
        step = store.last_step()
        wait_for(lambda: store.last_step() > step + 5, what="the run to go on without the app")
        assert store.run_info()["status"] == "running"

        t.start("attach", "t2")
        t.wait_for("RUNNING")
        screen = t.wait_for("reward  ")
        assert "t2" in screen
        t.send("q")
        wait_for(lambda: not t.alive(), timeout=10, what="the app to quit")
        store.close()
    finally:
        t.kill()
        subprocess.run([sys.executable, "-m", "grpotui", "kill", "t2"],
                       env={"GRPOTUI_HOME": str(home), "PATH": "/usr/bin:/bin"},
                       capture_output=True)
