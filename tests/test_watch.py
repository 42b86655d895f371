"""`grpotui watch` on a real TRL script that does not import grpotui, and GRPOTUICallback used directly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, status_of, wait_for

from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE

pytestmark = pytest.mark.slow
SCRIPT = REPO / "tests" / "scripts" / "train_grpo.py"


@pytest.fixture
def assets(home: Path) -> tuple[str, str]:
    from grpotui.demo_config import ensure_demo_assets

    return ensure_demo_assets()






def test_watch_records_an_unchanged_script(home: Path, cli, assets, tmp_path: Path) -> None:
    # the user's own sitecustomize keeps working beside grpotui's
    user_site = tmp_path / "usersite"
    user_site.mkdir()
    marker = tmp_path / "user-sitecustomize-ran"
    (user_site / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('yes')\n")
    env = {**os.environ, "GRPOTUI_HOME": str(home), "PYTHONPATH": str(user_site)}
    proc = subprocess.run(
        [sys.executable, "-m", "grpotui", "watch", "--headless", "--name", "w", "--",
         sys.executable, str(SCRIPT), *assets, "40"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert marker.read_text() == "yes"
    st = status_of(home, "w")
    assert st["status"] == "finished" and st["exit_code"] == 0 and st["step"] == 40 and st["max_steps"] == 40
    rows = [json.loads(x) for x in cli("export", "w", "--what", "groups", check=True).stdout.splitlines()]
    assert len(rows) == 40 * 16 and {r["step"] for r in rows} == set(range(1, 41))
    assert all(set(r["rewards"]) == {"sum_is_right"} for r in rows)  # the user's function, by its name
    assert all(r["verdict"] in ("right", "wrong", "unparseable") and r["expected"] for r in rows)
    metrics = [json.loads(x) for x in cli("export", "w", "--what", "metrics", check=True).stdout.splitlines()]
    assert len(metrics) == 40 and "rewards/sum_is_right/mean" in metrics[-1]
    assert cli("export", "w", "--what", "system", check=True).stdout.strip()
    log = cli("logs", "w", check=True).stdout
    assert "training done by the user's script" in log


def test_watched_script_that_fails_ends_failed_with_its_output(home: Path, cli, assets) -> None:
    proc = cli("watch", "--headless", "--name", "boom", "--", sys.executable, str(SCRIPT), *assets, "40",
               "--explode-at", "5", timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    st = status_of(home, "boom")
    assert st["status"] == "failed" and st["exit_code"] == 1
    assert "my reward blew up" in st["reason"]
    assert st["step"] >= 3  # what it recorded before the fault stays


def test_a_command_that_never_trains_still_runs_and_is_shown(home: Path, cli) -> None:
    proc = cli("watch", "--headless", "--name", "plain", "--", "sh", "-c", "echo hello from sh; sleep 1.5; exit 3")
    assert proc.returncode == 1
    st = status_of(home, "plain")
    assert st["status"] == "failed" and "exit code 3" in st["reason"] and "hello from sh" in st["reason"]
    assert "hello from sh" in cli("logs", "plain", check=True).stdout
    assert cli("export", "plain", "--what", "system", check=True).stdout.strip()


def test_pause_resume_and_stop_a_watched_run(home: Path, cli, assets) -> None:
    cli("watch", "--name", "ctl", "--", sys.executable, str(SCRIPT), *assets, "100000", check=True)
    store = RunStore.open(home / "runs" / "ctl" / STORE_FILE)
    wait_for(lambda: store.last_step() >= 10, what="watched training")
    cli("pause", "ctl", check=True)
    wait_for(lambda: store.run_info()["status"] == "paused", what="paused at a step boundary")
    step = store.last_step()
    time.sleep(1.5)
    assert store.last_step() == step
    cli("resume", "ctl", check=True)
    wait_for(lambda: store.last_step() > step + 3, what="resumed")
    cli("stop", "ctl", check=True)
    wait_for(lambda: status_of(home, "ctl")["status"] == "stopped", what="stopped")
    assert status_of(home, "ctl")["exit_code"] == 4
    store.close()


def test_callback_in_a_script_records_the_same(home: Path, cli, assets, tmp_path: Path) -> None:
    env = {**os.environ, "GRPOTUI_HOME": str(home)}
    proc = subprocess.run([sys.executable, str(SCRIPT), *assets, "30", "--callback", "cb-run"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    st = status_of(home, "cb-run")
    assert st["status"] == "finished" and st["step"] == 30 and st["kind"] == "callback"
    rows = [json.loads(x) for x in cli("export", "cb-run", "--what", "groups", check=True).stdout.splitlines()]
    assert len(rows) == 30 * 16 and all(set(r["rewards"]) == {"sum_is_right"} for r in rows)
    assert cli("export", "cb-run", "--what", "system", check=True).stdout.strip()


def test_import_grpotui_stays_light() -> None:
    code = "import sys, grpotui; print('textual' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- Unsloth's trainer. Unsloth patches nothing without a GPU (and no machine of this project has one),
# so tests/scripts/unsloth_like.py stands in for it: it rebuilds TRL's GRPOTrainer from its module source
# under another name and rebinds TRL's names to it, as unsloth/models/rl.py does. The trainer the script
# then builds is not a subclass of TRL's GRPOTrainer.

def test_watch_records_a_trainer_rebuilt_like_unsloths(home: Path, cli, assets, tmp_path: Path) -> None:
    env = {**os.environ, "GRPOTUI_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "grpotui", "watch", "--headless", "--name", "u", "--",
         sys.executable, str(SCRIPT), *assets, "12", "--unsloth-like"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    st = status_of(home, "u")
    assert st["status"] == "finished" and st["step"] == 12 and st["backend"] == "unsloth"
    assert "no GRPO trainer" not in st["reason"]
    rows = [json.loads(x) for x in cli("export", "u", "--what", "groups", check=True).stdout.splitlines()]
    assert len(rows) == 12 * 16 and {r["step"] for r in rows} == set(range(1, 13))
    assert all(set(r["rewards"]) == {"sum_is_right"} for r in rows)
    assert all(r["verdict"] in ("right", "wrong", "unparseable") for r in rows)
    metrics = [json.loads(x) for x in cli("export", "u", "--what", "metrics", check=True).stdout.splitlines()]
    assert len(metrics) == 12


def test_callback_records_a_trainer_rebuilt_like_unsloths(home: Path, cli, assets, tmp_path: Path) -> None:
    env = {**os.environ, "GRPOTUI_HOME": str(home)}
    proc = subprocess.run([sys.executable, str(SCRIPT), *assets, "10", "--unsloth-like", "--callback",
                           "cb-u"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    st = status_of(home, "cb-u")
    assert st["status"] == "finished" and st["step"] == 10
    rows = [json.loads(x) for x in cli("export", "cb-u", "--what", "groups", check=True).stdout.splitlines()]
    assert len(rows) == 10 * 16 and all(set(r["rewards"]) == {"sum_is_right"} for r in rows)


def test_a_python_command_without_a_trainer_says_so(home: Path, cli) -> None:
    proc = cli("watch", "--headless", "--name", "notrain", "--", sys.executable, "-c", "print('just python')")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    st = status_of(home, "notrain")
    assert st["status"] == "finished" and st["exit_code"] == 0
    assert "no GRPO trainer was recorded" in st["reason"]


def test_the_callback_imports_neither_transformers_nor_trl() -> None:
    code = ("import sys\nfrom grpotui import GRPOTUICallback\nGRPOTUICallback(name='x')\n"
            "print(sorted(m for m in ('transformers', 'trl', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
