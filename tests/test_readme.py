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
