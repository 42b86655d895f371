"""The TRL versions grpotui records: the tested range, the note outside it, and metric names that moved.

CI runs this file, the watch tests and the runner's demo test a second time in an environment with
trl 0.24.0 and transformers 4.57.6 (the oldest TRL in the tested range), next to the main one's newest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_cli, status_of

from grpotui.runner import compat


def test_a_trl_outside_the_tested_range_is_named_once_and_nothing_else_changes() -> None:
    assert compat.trl_outside_range("0.24.0") is None and compat.trl_outside_range("1.16.0") is None
    assert compat.trl_outside_range("1.0.0") is None
    note = compat.trl_outside_range("0.18.2")
    assert note is not None and "trl 0.18.2" in note and "0.24.0 to 1.16.x" in note
    assert compat.trl_outside_range("2.1.0") is not None
    code = ("from grpotui.runner import compat\ncompat.tell_once('0.18.2')\ncompat.tell_once('0.18.2')\n")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert err.count("outside the versions grpotui is tested with") == 1


def test_metrics_logged_under_older_names_are_recorded_under_todays() -> None:
    old = {"completion_length": 212.0, "rewards/correctness": 0.5, "rewards/format/mean": 0.9,
           "clip_ratio": 0.01, "reward": 0.5, "reward_std": 0.3}
    new = compat.normalize(old)
    assert new["completions/mean_length"] == 212.0 and "completion_length" not in new
    assert new["rewards/correctness/mean"] == 0.5 and "rewards/correctness" not in new
    assert new["rewards/format/mean"] == 0.9 and new["clip_ratio/region_mean"] == 0.01
    assert compat.normalize({"loss": 1.0, "policy_loss": 2.0}) == {"loss": 1.0, "policy_loss": 2.0}


@pytest.mark.slow
def test_watch_and_the_installed_trl(home: Path, cli, tmp_path: Path) -> None:
    """Whatever TRL this environment has (CI: the newest, and 0.24.0 in its second environment), a watched
    script is recorded whole and the installed TRL is left as it is."""
    import trl

    from grpotui.demo_config import ensure_demo_assets

    assets = ensure_demo_assets()
    proc = subprocess.run(
        [sys.executable, "-m", "grpotui", "watch", "--headless", "--name", "v", "--",
         sys.executable, str(REPO / "tests" / "scripts" / "train_grpo.py"), *assets, "6"],
        capture_output=True, text=True, env={**os.environ, "GRPOTUI_HOME": str(home)},
        cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    st = status_of(home, "v")
    assert st["status"] == "finished" and st["step"] == 6
    rows = run_cli("export", "v", "--what", "metrics", home=home, check=True).stdout.splitlines()
    last = json.loads(rows[-1])
    for key in ("reward", "reward_std", "kl", "entropy", "completions/mean_length", "rewards/sum_is_right/mean"):
        assert key in last, (trl.__version__, sorted(last))
    assert "outside the versions" not in proc.stdout + proc.stderr  # inside the tested range here
