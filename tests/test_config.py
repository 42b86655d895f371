"""Config validation: every problem reported at once, each naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from grpotui import config
from grpotui.config import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "model").mkdir(exist_ok=True)
    (tmp_path / "data.jsonl").write_text('{"prompt": "1+1=", "answer": "2"}\n')
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


GOOD = """
rewards = ["correctness", "format"]
[model]
name_or_path = "./model"
[data]
source = "data.jsonl"
[training]
learning_rate = 1e-5
num_generations = 4
per_device_train_batch_size = 8
max_steps = 20
"""


def test_good_config_resolves_paths_and_defaults(tmp_path: Path, home: Path) -> None:
    cfg = config.load(_write(tmp_path, GOOD))
    assert cfg["model"]["name_or_path"] == str((tmp_path / "model").resolve())
    assert cfg["data"]["source"] == str((tmp_path / "data.jsonl").resolve())
    assert cfg["model"]["backend"] == "auto" and cfg["model"]["lora"]["r"] == 16
    assert cfg["training"]["learning_rate"] == 1e-5
    assert config.max_steps_of(cfg) == 20


def test_every_problem_at_once_with_closest_key(tmp_path: Path, home: Path) -> None:
    bad = GOOD.replace("learning_rate = 1e-5", "learning_rat = 1e-5\nbeta = -1\ntemperature = 'hot'")
    bad = bad.replace('[model]', 'rewardz = 1\n[model]\nbackend = "unslot"')
    bad = bad.replace('"format"]', '"formt", "nope.py:f"]')
    with pytest.raises(ConfigError) as e:
        config.load(_write(tmp_path, bad))
    msg = str(e.value)
    assert "training.learning_rat: not a GRPOConfig field (did you mean 'learning_rate'?)" in msg
    assert "training.beta: -1 out of range" in msg
    assert "training.temperature: expected" in msg
    assert "model.backend: 'unslot' is not one of" in msg
    assert "(did you mean 'format'?)" in msg
    assert "nope.py" in msg and "no such file" in msg
    assert len(e.value.problems) >= 6


def test_missing_required_keys_and_files(tmp_path: Path, home: Path) -> None:
    with pytest.raises(ConfigError) as e:
        config.load(_write(tmp_path, "[data]\nsource = 'missing.jsonl'\n"))
    assert any(p.startswith("model.name_or_path: missing") for p in e.value.problems)
    assert any(p.startswith("data.source: no such file") for p in e.value.problems)


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "broken.toml"
    p.write_text("[model]\nname_or_path = \n")
    with pytest.raises(ConfigError, match=r"broken.toml: TOML syntax error: .*line 2, column"):
        config.load(p)


def test_batch_must_divide_into_groups(tmp_path: Path, home: Path) -> None:
    with pytest.raises(ConfigError, match="must divide by num_generations 8"):
        config.load(_write(tmp_path, GOOD), ["training.num_generations=8", "training.per_device_train_batch_size=12"])


def test_set_overrides(tmp_path: Path, home: Path) -> None:
    cfg = config.load(
        _write(tmp_path, GOOD),
        ["training.learning_rate=3e-6", "model.lora.r=8", "rewards=['correctness']", "data.split=test"],
    )
    assert cfg["training"]["learning_rate"] == 3e-6 and cfg["model"]["lora"]["r"] == 8
    assert cfg["rewards"] == ["correctness"] and cfg["data"]["split"] == "test"
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        config.parse_set("training.learning_rate")
    with pytest.raises(ConfigError, match="not TOML"):
        config.parse_set("rewards=[unclosed")


def test_reward_specs_checked_without_running_them(tmp_path: Path, home: Path) -> None:
    (tmp_path / "my_rewards.py").write_text(
        "raise SystemExit('must not run')\ndef good(prompts, completions, **kw):\n    return []\n")
    cfg = config.load(_write(tmp_path, GOOD), ["rewards=['my_rewards.py:good', 'json:loads']"])
    assert cfg["rewards"] == [f"{(tmp_path / 'my_rewards.py').resolve()}:good", "json:loads"]
    with pytest.raises(ConfigError, match="defines no 'missing'"):
        config.load(_write(tmp_path, GOOD), ["rewards=['my_rewards.py:missing']"])
    with pytest.raises(ConfigError, match="no module 'no_such_pkg_x.mod' can be found"):
        config.load(_write(tmp_path, GOOD), ["rewards=['no_such_pkg_x.mod:f']"])


def test_keys_grpotui_owns_are_refused(tmp_path: Path, home: Path) -> None:
    with pytest.raises(ConfigError, match="training.output_dir: set by grpotui"):
        config.load(_write(tmp_path, GOOD), ["training.output_dir='/tmp/x'"])
