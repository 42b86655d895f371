"""Runs beyond one process: `[launch] num_processes = 2` through accelerate launch, for real on the CPU
(gloo). Groups from both ranks are recorded once each; pause, resume and stop hold every rank."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import status_of, wait_for

from grpotui.runner.launch import runner_command
from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE


def test_launch_section_builds_the_accelerate_command(tmp_path: Path) -> None:
    assert runner_command(tmp_path, "grpotui.runner", {"num_processes": 1})[1:] == ["-m", "grpotui.runner",
                                                                                   str(tmp_path)]
    cmd = runner_command(tmp_path, "grpotui.runner", {"num_processes": 4, "mixed_precision": "bf16",
                                                       "main_process_port": 29555, "extra_args": ["--debug"]})
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"]
    assert cmd[cmd.index("--num_processes") + 1] == "4" and "--multi_gpu" in cmd
    assert cmd[-5:] == ["29555", "--debug", "-m", "grpotui.runner", str(tmp_path)]
    cmd = runner_command(tmp_path, "grpotui.runner", {"num_processes": 8, "config_file": "/x/fsdp.yaml"})
    assert "--multi_gpu" not in cmd and cmd[cmd.index("--config_file") + 1] == "/x/fsdp.yaml"


@pytest.mark.slow
def test_two_processes_record_every_group_once_and_obey_control(home: Path, cli) -> None:
    cli("demo", "--steps", "100000", "--name", "ddp", "--set", "launch.num_processes=2", check=True)
    path = home / "runs" / "ddp" / STORE_FILE
    wait_for(lambda: path.exists() and RunStore.open(path).last_step() >= 10, timeout=180, what="2-process training")
    with RunStore.open(path) as s:
        for step in s.group_steps()[:10]:
            groups = s.groups_at(step)
            # 16 completions per process per step, two processes: 4 groups of 8, each once
            assert [g.grp for g in groups] == [0, 1, 2, 3] and all(len(g.completions) == 8 for g in groups)
    cli("pause", "ddp", check=True)
    wait_for(lambda: status_of(home, "ddp")["status"] == "paused", what="both ranks paused")
    step = RunStore.open(path).last_step()
    time.sleep(2.0)
    assert RunStore.open(path).last_step() == step
    cli("resume", "ddp", check=True)
    wait_for(lambda: RunStore.open(path).last_step() > step + 5, what="both ranks resumed")
    cli("stop", "ddp", check=True)
    wait_for(lambda: status_of(home, "ddp")["status"] == "stopped", what="stopped")
    st = status_of(home, "ddp")
    assert st["exit_code"] == 4 and "checkpoint" in st["reason"]
    import psutil

    wait_for(lambda: not any("grpotui.runner" in " ".join(p.info["cmdline"] or [])
                             and str(home) in " ".join(p.info["cmdline"] or [])
                             for p in psutil.process_iter(["cmdline"])), timeout=30, what="every rank to exit")
