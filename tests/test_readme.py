"""The README's example config is real: it validates, and trains on the real GSM8K problems."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO, data_dir

README = (REPO / "README.md").read_text()


def _readme_toml() -> str:
    """The README's run config: its one TOML block with a [model] table (the others are settings.toml)."""
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", README, re.S) if "[model]" in b]
    assert len(blocks) == 1
    return blocks[0]


def _gsm8k_config(tmp_path: Path) -> Path:
    gsm8k = data_dir() / "gsm8k_test.jsonl"
    if not gsm8k.exists():
        pytest.skip(f"{gsm8k} is not here")
    p = tmp_path / "gsm8k.toml"
    p.write_text(_readme_toml())  # as it is; the hub dataset is replaced by a local copy with --set
    return p


def test_the_quick_start_is_two_commands() -> None:
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", README, re.S).group(1)
    lines = [x for x in block.strip().splitlines() if x.strip()]
    assert len(lines) == 2 and "grpotui demo" in lines[0] and "pytest" in lines[1]
    ci = (REPO / ".ci" / "run").read_text()
    assert "torch==2.13.0" in ci and '-e ".[test]"' in ci and "python -m pytest" in ci


@pytest.mark.slow
def test_readme_config_trains_on_gsm8k(tmp_path: Path, home: Path, cli) -> None:
    from grpotui.demo_config import ensure_demo_assets

    model_dir, _ = ensure_demo_assets()
    cfg = _gsm8k_config(tmp_path)
    proc = cli(
        "run", str(cfg), "--name", "gsm8k", "--headless",
        "--set", f"model.name_or_path='{model_dir}'",  # no hub here: the tiny local model stands in
        "--set", f"data.source='{data_dir() / 'gsm8k_test.jsonl'}'",  # and GSM8K's test file for the hub's
        "--set", "training.max_steps=3", "--set", "training.max_completion_length=8",
        "--set", "training.use_cpu=true", "--set", "data.max_samples=64", "--set", "eval.max_samples=4",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [json.loads(x) for x in cli("export", "gsm8k", "--what", "groups", check=True).stdout.splitlines()]
    assert len(rows) == 3 * 8
    gold = {json.loads(x)["answer"].split("####")[-1].strip().replace(",", "")
            for x in (data_dir() / "gsm8k_test.jsonl").read_text().splitlines()}
    assert all(r["expected"] in gold for r in rows)
    assert all(set(r["rewards"]) == {"correctness", "format"} for r in rows)
    assert "Solve the problem step by step" in rows[0]["prompt"]


def test_the_slurm_example_hands_each_node_its_machine_settings(tmp_path: Path) -> None:
    """The README's sbatch line, run by bash as srun would on the second of two nodes: the `--set`s it
    makes (its quoting included) give the README's run config valid machine settings."""
    import os
    import subprocess
    import sys

    from grpotui import config

    inner = re.search(r"srun bash -c '(.*?)'\n", README, re.S).group(1)
    shim = tmp_path / "bin" / "grpotui"  # stands in for grpotui: prints the arguments it was given
    shim.parent.mkdir()
    shim.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}:{os.environ['PATH']}", "SLURM_JOB_ID": "77", "SLURM_NNODES": "2",
           "SLURM_NODEID": "1", "MAIN": "node001"}
    args = json.loads(subprocess.run(["bash", "-c", inner], env=env, capture_output=True, text=True,
                                     check=True).stdout)
    assert args[:5] == ["run", "grpo.toml", "--headless", "--name", "grpo-77"]
    sets = [a for i, a in enumerate(args) if i and args[i - 1] == "--set"]
    launch = re.search(r"```toml\n(\[launch\]\nnum_processes.*?)```", README, re.S).group(1)
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    raw = {**tomllib.loads(_readme_toml()), **tomllib.loads(launch)}
    cfg = config.validate(config.apply_overrides(raw, sets), base=tmp_path)
    assert config.machine_of(cfg) == (1, 2)
    assert cfg["launch"]["main_process_ip"] == "node001" and cfg["launch"]["num_processes"] == 16
