"""The CLI as a user runs it: exit codes and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE


def _fake_run(home: Path, name: str, status: str = "finished") -> None:
    d = home / "runs" / name
    d.mkdir(parents=True)
    s = RunStore.create(d / STORE_FILE, name=name, kind="run", config={"x": 1}, max_steps=3)
    for step in (1, 2, 3):
        s.record_metrics(step, {"reward": step / 4, "kl": float("nan") if step == 2 else 0.1})
        s.record_groups(step, [{"prompt": "1+1=", "expected": "2", "completions": [
            {"completion": "2", "answer": "2", "verdict": "right", "reward": 1.0, "rewards": {"correctness": 1.0},
             "advantage": 0.0, "length": 1}] * 4}])
    s.set_status(status, "done", exit_code=0)
    s.close()


def test_ls_on_an_empty_home(cli) -> None:
    proc = cli("ls")
    assert proc.returncode == 0 and "no runs yet" in proc.stdout
    assert json.loads(cli("ls", "--json").stdout) == []


def test_no_arguments_on_a_non_terminal_prints_ls(cli, home: Path) -> None:
    _fake_run(home, "r1")
    proc = cli()
    assert proc.returncode == 0 and "r1" in proc.stdout and "finished" in proc.stdout


def test_unknown_and_bad_names(cli, home: Path) -> None:
    _fake_run(home, "alpha")
    proc = cli("status", "alpah")
    assert proc.returncode == 2 and "no run named 'alpah'" in proc.stderr and "did you mean 'alpha'" in proc.stderr
    proc = cli("status", "../etc")
    assert proc.returncode == 2 and "bad run name" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_controlling_an_ended_run_is_refused(cli, home: Path) -> None:
    _fake_run(home, "done")
    proc = cli("pause", "done")
    assert proc.returncode == 2 and "is finished: there is nothing to pause" in proc.stderr


def test_export_shapes_and_nan(cli, home: Path, tmp_path: Path) -> None:
    _fake_run(home, "e")
    metrics = [json.loads(x) for x in cli("export", "e", "--what", "metrics").stdout.splitlines()]
    assert [m["step"] for m in metrics] == [1, 2, 3] and metrics[1]["kl"] is None  # NaN -> null, valid JSON
    out = tmp_path / "g.csv"
    proc = cli("export", "e", "--what", "groups", "--format", "csv", "-o", str(out))
    assert proc.returncode == 0 and "wrote 12 groups rows" in proc.stderr
    assert out.read_text().splitlines()[0].split(",")[:5] == ["step", "group", "index", "prompt", "completion"]
    proc = cli("export", "e", "-o", "/proc/nope/x.jsonl")
    assert proc.returncode == 2 and "/proc/nope/x.jsonl: cannot write" in proc.stderr


def test_run_refuses_bad_config_with_every_problem(cli, tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[model]\nname_or_path = "./nowhere"\n[data]\nsource = "x.jsonl"\n[training]\nlearning_rat = 1\n')
    proc = cli("run", str(p))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert any("training.learning_rat" in x and "learning_rate" in x for x in lines)
    assert any("model.name_or_path" in x for x in lines) and any("data.source" in x for x in lines)
    assert all(x.startswith("grpotui: error: ") for x in lines)
