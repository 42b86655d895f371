"""The run store on real SQLite files, with a real second process writing while we read."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grpotui.store import RunStore, StoreError
from grpotui.store.db import SCHEMA_VERSION
from grpotui.store.runs import effective_status, process_alive


def _group(prompt: str, rewards: list[float], expected: str = "7") -> dict:
    return {
        "prompt": prompt,
        "expected": expected,
        "completions": [
            {"completion": f"c{i}", "answer": "7" if r else "3", "verdict": "right" if r else "wrong",
             "reward": r, "rewards": {"correctness": r}, "advantage": r - 0.5, "length": 2}
            for i, r in enumerate(rewards)
        ],
    }


def test_create_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    store = RunStore.create(path, name="r1", kind="run", config={"a": 1}, max_steps=10)
    store.set_status("running", "go")
    store.record_metrics(1, {"reward": 0.25, "kl": float("nan"), "rewards/correctness/mean": 0.25})
    store.record_metrics(1, {"eval_reward": 0.5})  # merged, not replaced
    n = store.record_groups(1, [_group("3+4=", [1.0, 0.0]), _group("2+2=", [0.0, 0.0], "4")])
    assert n == 2
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    reader = RunStore.open(path)
    info = reader.run_info()
    assert (info["name"], info["status"], info["max_steps"], info["config"]) == ("r1", "running", 10, {"a": 1})
    [(step, m)] = reader.metrics()
    assert step == 1 and m["reward"] == 0.25 and m["eval_reward"] == 0.5 and m["kl"] != m["kl"]  # NaN kept
    groups = reader.groups_at(1)
    assert [g.prompt for g in groups] == ["3+4=", "2+2="]
    assert [c.verdict for c in groups[0].completions] == ["right", "wrong"]
    assert groups[0].spread == 1.0 and groups[1].spread == 0.0
    rows = list(reader.iter_completions())
    assert len(rows) == 4 and rows[0]["rewards"] == {"correctness": 1.0} and rows[2]["group"] == 1
    assert [e["status"] for e in reader.events()] == ["starting", "running"]


def test_reader_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    RunStore.create(path, name="r", kind="run", config={}).close()
    reader = RunStore.open(path)
    with pytest.raises(sqlite3.OperationalError):
        reader._conn.execute("DELETE FROM run")


def test_commands_are_taken_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    runner = RunStore.create(path, name="r", kind="run", config={})
    ui = RunStore.open(path, readonly=False)
    ui.issue_command("pause")
    ui.issue_command("resume")
    with pytest.raises(ValueError):
        ui.issue_command("explode")
    taken = runner.take_commands(step=3)
    assert [c for _, c, _ in taken] == ["pause", "resume"]
    assert runner.take_commands() == []
    assert all(c["taken_step"] == 3 for c in ui.commands())


def test_refuses_newer_schema_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    RunStore.create(path, name="r", kind="run", config={}).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer grpotui"):
        RunStore.open(path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.sqlite"):
        RunStore.open(junk)


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from grpotui.store import RunStore
    s = RunStore.open(Path(sys.argv[1]), readonly=False)
    for step in range(1, 201):
        s.record_groups(step, [{"prompt": "p", "expected": "1", "completions": [
            {"completion": "x" * 1000, "reward": 1.0, "rewards": {"f": 1.0}} for _ in range(8)]}
            for _ in range(4)])
        s.record_metrics(step, {"reward": step / 200})
    s.set_status("finished", "done", exit_code=0)
    """
)


def test_readers_see_a_consistent_store_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    RunStore.create(path, name="r", kind="run", config={}).close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    reader = RunStore.open(path)
    seen_partial = False
    last = -1
    while True:
        status = reader.run_info()["status"]
        for step in reader.group_steps(last):
            groups = reader.groups_at(step)
            # a step is written in one transaction: never half a step
            assert len(groups) == 4 and all(len(g.completions) == 8 for g in groups)
            last = step
        if 0 < last < 200:
            seen_partial = True
        if status == "finished":
            break
        time.sleep(0.005)
    assert proc.wait(30) == 0
    assert reader.group_steps(last) == []
    assert last == 200 and reader.count_completions() == 200 * 32
    assert seen_partial, "the reader should have read while the writer was still writing"


def test_lost_when_the_process_is_gone(tmp_path: Path) -> None:
    info = {"status": "running", "pid": os.getpid(), "pid_create_time": None, "host": None,
            "created_at": time.time()}
    assert effective_status(info) == "running"
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not process_alive(proc.pid, None)
    assert effective_status({**info, "pid": proc.pid}) == "lost"
    # same pid, other start time: a reused pid is not our runner
    import psutil

    ct = psutil.Process(os.getpid()).create_time()
    assert effective_status({**info, "pid_create_time": ct - 1000}) == "lost"
    assert effective_status({**info, "status": "finished", "pid": proc.pid}) == "finished"


def test_a_long_run_opens_from_its_curve_summary(tmp_path: Path) -> None:
    """The writer keeps each curve's extremes per bucket; a reader of a long run gets them (spikes and
    NaN included) and the steps after the last bucket, not every step."""
    import math

    from grpotui.store.db import RunStore as RS
    from grpotui.tui.session import RunSession

    path = tmp_path / "long.sqlite"
    store = RS.create(path, name="long", kind="run", config={})
    for step in range(1, 9001):
        reward = 0.5 if step != 4321 else 9.0  # one spike
        store.record_metrics(step, {"reward": reward, "loss": math.nan if step == 7777 else 0.1})
    store.close()
    with RS.open(path) as reader:
        points, after = reader.curve_summary()
        assert after < 9000 and 9000 - after <= 16 and len(points) < 2000
        rewards = {s: m["reward"] for s, m in points if "reward" in m}
        assert rewards[4321] == 9.0 and max(rewards.values()) == 9.0
        assert any(math.isnan(m.get("loss", 0.0)) and s == 7777 for s, m in points)
    watcher = RunSession(path)
    up = watcher.poll()
    steps = [s for s, _ in up.metrics]
    assert steps == sorted(steps) and steps[-1] == 9000 and len(steps) < 2000  # not 9,000 rows
    assert 4321 in steps
    watcher.close()
