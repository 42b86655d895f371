"""The detached runner for real: the embedded demo trains, and pause / resume / stop / kill / faults work.

Every test here starts real runner processes that train the tiny demo model on the CPU.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import status_of, wait_for

from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE, TRACEBACK_FILE

pytestmark = pytest.mark.slow


def _store(home: Path, name: str) -> RunStore:
    return RunStore.open(home / "runs" / name / STORE_FILE)






def _demo_config(home: Path, tmp_path: Path, extra: str = "", steps: int = 5000) -> Path:
    """A user config that trains the demo model through `grpotui run`."""
    env = {**os.environ, "GRPOTUI_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", "from grpotui.demo_config import demo_config; import json; "
         "print(json.dumps(demo_config()))"], capture_output=True, text=True, env=env, check=True,
    ).stdout
    demo = json.loads(out)
    training = {**demo["training"], "max_steps": steps}
    lines = [f'rewards = {json.dumps(demo["rewards"])}' if "rewards" not in extra else "",
             "[model]", f'name_or_path = "{demo["model"]["name_or_path"]}"', 'backend = "transformers"',
             "[data]", f'source = "{demo["data"]["source"]}"', "chat_template = false", "[training]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in training.items()]
    p = tmp_path / "run.toml"
    p.write_text(extra + "\n" + "\n".join(lines) + "\n")
    return p


def test_demo_learns_and_records_every_group(home: Path, cli) -> None:
    """The issue's bar: 600 steps, finished, reward up by 0.2, groups for >= 500 steps, export shapes."""
    proc = cli("demo", "--headless", "--steps", "600", "--name", "learn", timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "step 600/600" in proc.stdout

    st = status_of(home, "learn")
    assert st["status"] == "finished" and st["exit_code"] == 0 and st["step"] == 600
    for key in ("name", "status", "step", "max_steps", "pid", "started_at", "ended_at", "exit_code", "alerts"):
        assert key in st
    assert st["alerts"] == [] and "reward" in st["metrics"] and "kl" in st["metrics"]

    rows = [json.loads(line) for line in cli("export", "learn", "--what", "metrics", check=True).stdout.splitlines()]
    # the held-out evaluation's figures ride along: a baseline row at step 0, then with the steps evaluated
    assert [m["step"] for m in rows if "eval/accuracy" in m] == list(range(0, 601, 100))
    metrics = [m for m in rows if "reward" in m]
    assert [m["step"] for m in metrics] == list(range(1, 601)) and len(rows) == 601
    rewards = [m["reward"] for m in metrics]
    first, last = sum(rewards[:100]) / 100, sum(rewards[-100:]) / 100
    assert last >= first + 0.2, (first, last)
    assert all(k in metrics[-1] for k in ("reward_std", "frac_reward_zero_std", "kl", "entropy",
                                          "completions/mean_length", "rewards/correctness/mean"))

    rows = [json.loads(line) for line in cli("export", "learn", "--what", "groups", check=True).stdout.splitlines()]
    keys = {"step", "group", "index", "prompt", "completion", "answer", "expected", "verdict", "reward",
            "rewards", "advantage"}
    assert keys <= set(rows[0])
    sizes: dict[tuple[int, int], int] = {}
    for r in rows:
        sizes[(r["step"], r["group"])] = sizes.get((r["step"], r["group"]), 0) + 1
        assert r["verdict"] in ("right", "wrong", "unparseable")
        assert set(r["rewards"]) == {"correctness"}
        assert r["reward"] == r["rewards"]["correctness"]
        assert (r["verdict"] == "right") == (r["reward"] == 1.0)
    assert set(sizes.values()) == {8}
    assert len({s for s, _ in sizes}) >= 500
    # a group's prompt is one sum and its expected answer is that sum
    a, b = rows[0]["prompt"].rstrip("=").split("+")
    assert int(a) + int(b) == int(rows[0]["expected"])

    csv_out = cli("export", "learn", "--what", "groups", "--format", "csv", check=True).stdout.splitlines()
    assert csv_out[0].startswith("step,group,index,prompt,completion") and "rewards/correctness" in csv_out[0]
    assert len(csv_out) == len(rows) + 1
    system = cli("export", "learn", "--what", "system", check=True).stdout.splitlines()
    assert system and "ram_total" in json.loads(system[0])

    ls = json.loads(cli("ls", "--json", check=True).stdout)
    assert [(r["name"], r["status"], r["step"], r["max_steps"]) for r in ls] == [("learn", "finished", 600, 600)]


def test_pause_resume_stop_with_checkpoint(home: Path, cli, tmp_path: Path) -> None:
    cfg = _demo_config(home, tmp_path)
    started = cli("run", str(cfg), "--name", "ctl", check=True)
    assert "detached" in started.stdout
    wait_for(lambda: status_of(home, "ctl")["step"] >= 20, what="training to start")

    assert cli("pause", "ctl", check=True).returncode == 0
    wait_for(lambda: status_of(home, "ctl")["status"] == "paused", what="paused")
    step = status_of(home, "ctl")["step"]
    time.sleep(2.0)
    assert status_of(home, "ctl")["step"] == step, "a paused run must not take steps"
    with _store(home, "ctl") as s:
        assert s.latest_metrics()[0] == step, "the paused step's metrics are recorded"
        assert s.groups_at(step), "the paused step's groups are recorded"

    assert cli("resume", "ctl", check=True).returncode == 0
    wait_for(lambda: status_of(home, "ctl")["step"] > step + 5, what="steps after resume")

    assert cli("stop", "ctl", check=True).returncode == 0
    wait_for(lambda: status_of(home, "ctl")["status"] == "stopped", what="stopped")
    st = status_of(home, "ctl")
    assert st["exit_code"] == 4 and "checkpoint" in st["reason"]
    ck = list((home / "runs" / "ctl" / "checkpoints").glob("checkpoint-*"))
    assert ck and (ck[0] / "trainer_state.json").exists()
    assert cli("pause", "ctl").returncode == 2  # it has ended


def test_kill_ends_the_run_now(home: Path, cli, tmp_path: Path) -> None:
    cli("run", str(_demo_config(home, tmp_path)), "--name", "k", check=True)
    wait_for(lambda: status_of(home, "k")["step"] >= 5, what="training to start")
    pid = status_of(home, "k")["pid"]
    assert cli("kill", "k", check=True).returncode == 0
    st = status_of(home, "k")
    assert st["status"] == "killed" and st["exit_code"] == 5
    wait_for(lambda: not _alive(pid), timeout=10, what="the runner to exit")


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigkilled_runner_reads_lost_and_keeps_its_record(home: Path, cli, tmp_path: Path) -> None:
    cli("run", str(_demo_config(home, tmp_path)), "--name", "gone", check=True)
    wait_for(lambda: status_of(home, "gone")["step"] >= 10, what="training to start")
    pid = status_of(home, "gone")["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: status_of(home, "gone")["status"] == "lost", timeout=20, what="lost")
    with _store(home, "gone") as s:
        steps = s.group_steps()
        assert len(steps) >= 10 and all(len(s.groups_at(x)) == 2 for x in steps)
    assert "gone" in cli("ls", check=True).stdout and "lost" in cli("ls", check=True).stdout


def test_sigterm_stops_gracefully(home: Path, cli, tmp_path: Path) -> None:
    cli("run", str(_demo_config(home, tmp_path)), "--name", "term", check=True)
    wait_for(lambda: status_of(home, "term")["step"] >= 5, what="training to start")
    os.kill(status_of(home, "term")["pid"], signal.SIGTERM)
    wait_for(lambda: status_of(home, "term")["status"] == "stopped", what="stopped")
    assert "SIGTERM" in status_of(home, "term")["reason"]


def test_a_raising_reward_fails_the_run_with_its_traceback(home: Path, cli, tmp_path: Path) -> None:
    (tmp_path / "bad_reward.py").write_text(
        "def exploding(prompts, completions, **kw):\n    raise RuntimeError('reward exploded on purpose')\n"
    )
    cfg = _demo_config(home, tmp_path, extra='rewards = ["bad_reward.py:exploding"]', steps=50)
    proc = cli("run", str(cfg), "--name", "bad", "--headless", timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    st = status_of(home, "bad")
    assert st["status"] == "failed" and st["exit_code"] == 1
    assert "reward exploded on purpose" in st["reason"] and "\n" not in st["reason"]
    tb = (home / "runs" / "bad" / TRACEBACK_FILE).read_text()
    assert "bad_reward.py" in tb and "RuntimeError" in tb
