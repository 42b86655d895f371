"""Held-out evaluation while training: the demo's own (5 sums never trained on), an eval set from a local
file, bad [eval] input, a pause asked for during an evaluation, and what the dashboard, ls, diff and export
show of it. Real runner processes, real TRL evaluation (``eval_dataset``, ``eval_steps``), a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, data_dir, run_cli, settle, status_of, wait_for
from textual.widgets import DataTable

from grpotui.store.runs import open_run
from grpotui.tui.app import make_app
from grpotui.tui.screens.dashboard import DashboardScreen
from grpotui.tui.screens.evals import EvalScreen
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.groups import GroupSpreadPanel

pytestmark = pytest.mark.slow
STEPS = 400


@pytest.fixture(scope="module")
def eval_home(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Path:
    """The healthy demo for 400 steps (its [eval]: 5 held-out sums, every 100 steps), and a 30-step demo
    without evaluations to compare it with."""
    h = tmp_path_factory.mktemp("eval") / "home"
    h.mkdir()
    (h / "cache").symlink_to(shared_cache)
    proc = run_cli("demo", "--headless", "--steps", str(STEPS), "--name", "held", home=h)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = run_cli("demo", "--headless", "--steps", "30", "--name", "plain", "--scenario", "hacking", home=h)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return h


@pytest.fixture
def ev(eval_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRPOTUI_HOME", str(eval_home))
    return eval_home


def _jsonl(home: Path, *args: str) -> list[dict]:
    out = run_cli(*args, home=home, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_the_demo_evaluates_held_out_sums_apart_from_training(ev: Path) -> None:
    with open_run("held") as s:
        evals = s.evals()
        held = {g.prompt for g in s.eval_groups(0)}
    # a baseline before the first step, every 100 steps and the last: five, each of 5 problems x 8 samples
    assert [e["step"] for e in evals] == [0, 100, 200, 300, 400]
    assert all(e["eval/problems"] == 5 and e["eval/k"] == 8 and e["eval/pending"] == 0 for e in evals)
    assert all(e["eval/pass@k"] >= e["eval/accuracy"] for e in evals)
    assert all("eval_loss" in e["trl"] for e in evals)  # TRL's own eval logs, kept with the evaluation
    # the model generalises to some sums it never trains on (3+1 and 4+1: it trains on 1+3 and 1+4)
    assert evals[-1]["eval/accuracy"] > evals[0]["eval/accuracy"]
    assert len(held) == 5

    groups = _jsonl(ev, "export", "held", "--what", "groups")
    per_step: dict[int, set[int]] = {}
    for r in groups:
        per_step.setdefault(r["step"], set()).add(r["group"])
    assert set(per_step) == set(range(1, STEPS + 1))
    assert all(len(g) == 2 for g in per_step.values())  # training groups unchanged: 2 groups of 8 a step
    assert len(groups) == STEPS * 16
    assert not held & {r["prompt"] for r in groups}  # never trained on, never counted as training

    metrics = _jsonl(ev, "export", "held", "--what", "metrics")
    assert [m["step"] for m in metrics if "eval/accuracy" in m] == [0, 100, 200, 300, 400]
    assert not any(k.startswith("eval_") for m in metrics for k in m)  # TRL's eval logs stay out of the curves
    assert len([m for m in metrics if "reward" in m]) == STEPS
    rows = _jsonl(ev, "export", "held", "--what", "eval")
    assert len(rows) == 5 * 5 * 8 and {r["eval_step"] for r in rows} == {0, 100, 200, 300, 400}
    assert {"eval_step", "prompt", "completion", "answer", "expected", "verdict", "sample"} <= set(rows[0])
    last = [r for r in rows if r["eval_step"] == STEPS]
    assert sum(r["verdict"] == "right" for r in last) / len(last) == pytest.approx(evals[-1]["eval/accuracy"])

    st = status_of(ev, "held")
    assert st["alerts"] == [] and st["eval_step"] == STEPS
    assert st["eval_accuracy"] == pytest.approx(evals[-1]["eval/accuracy"])
    ls = json.loads(run_cli("ls", "--json", home=ev, check=True).stdout)
    assert {r["name"]: r["eval_accuracy"] for r in ls}["plain"] is None
    assert "EVAL" in run_cli("ls", home=ev, check=True).stdout

    d = json.loads(run_cli("diff", "held", "plain", "--json", home=ev, check=True).stdout)
    figs = {f["name"]: f for f in d["figures"]}
    assert figs["held"]["final_eval_accuracy"] == pytest.approx(evals[-1]["eval/accuracy"])
    assert figs["held"]["best_eval_accuracy"] == pytest.approx(max(e["eval/accuracy"] for e in evals))
    assert figs["plain"]["final_eval_accuracy"] is None
    text = run_cli("diff", "held", "plain", home=ev, check=True).stdout
    line = next(x for x in text.splitlines() if "final held-out accuracy" in x)
    assert f"{evals[-1]['eval/accuracy']:.3f} @ {STEPS}" in line and "–" in line


async def test_the_dashboard_shows_the_evaluations_and_their_samples(ev: Path) -> None:
    with open_run("held") as s:
        evals = s.evals()
    app = make_app(run_name="held")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, 8)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("e")
        await settle(pilot, 8)
        screen = app.screen
        assert isinstance(screen, EvalScreen)
        table = screen.query_one("#eval-table", DataTable)
        assert table.row_count == 5
        assert [str(table.get_row_at(i)[0]) for i in range(5)] == ["0", "100", "200", "300", "400"]
        assert screen.shown_step == STEPS  # the newest evaluation on show
        assert len(screen.query_one(GroupSpreadPanel).groups) == 5
        view = screen.query_one(CompletionsView)
        assert view.total == 40
        await pilot.press("left_square_bracket")
        await settle(pilot, 5)
        assert screen.shown_step == 300
        await pilot.press("f")  # wrong ones only
        await settle(pilot)
        assert view.filter == "wrong" and view.shown < view.total
        title = str(screen.query_one("#eval-title").render())
        assert f"accuracy {evals[-1]['eval/accuracy']:.2f}" in title
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        header = str(app.screen.query_one("RunHeader").render())
        assert f"held-out {evals[-1]['eval/accuracy']:.2f} @ {STEPS}" in header


async def test_the_comparison_overlays_held_out_accuracy(ev: Path) -> None:
    from grpotui.tui.screens.compare import CompareScreen
    from grpotui.tui.widgets.overlay import EVAL_PLOT, OverlayCurves

    app = make_app(compare=["held", "plain"])
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, 10)
        assert isinstance(app.screen, CompareScreen)
        overlay = app.screen.query_one(OverlayCurves)
        assert EVAL_PLOT in overlay.keys
        table = app.screen.query_one("#cdiff", DataTable)
        labels = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "final held-out accuracy" in labels


def _config(tmp_path: Path, body: str) -> Path:
    from grpotui.demo_config import ensure_demo_assets

    model, data = ensure_demo_assets()
    p = tmp_path / "c.toml"
    p.write_text(f'[model]\nname_or_path = "{model}"\nbackend = "transformers"\nload_in_4bit = false\n'
                 f'[data]\nsource = "{data}"\nchat_template = false\n'
                 '[training]\nper_device_train_batch_size = 16\nnum_generations = 8\nmax_completion_length = 2\n'
                 'max_steps = 4\nlogging_steps = 1\nuse_cpu = true\nreport_to = "none"\n' + body)
    return p


@pytest.mark.parametrize(("body", "training", "said"), [
    ('[eval]\nsource = "x.jsonl"\nholdout = 3\n', "", "eval.source and eval.holdout: set one"),
    ("[eval]\nevery = 10\n", "", "[eval]: set eval.source"),
    ("[eval]\nholdout = 3\n", "eval_steps = 5\n", "training.eval_steps: set by [eval]"),
    ("[eval]\nholdout = 3\nnum_generations = 3\n", "per_device_eval_batch_size = 10\n",
     "must divide by eval.num_generations 3"),
    ("[eval]\nholdout = 3\nnum_generations = 32\n", "", "is more than a training generation"),
    ('[eval]\nsource = "nowhere.jsonl"\n', "", "eval.source: no such file"),
])
def test_bad_eval_input_is_one_line_before_anything_starts(home: Path, tmp_path: Path, body: str, training: str,
                                                           said: str) -> None:
    p = _config(tmp_path, body)
    p.write_text(p.read_text().replace("report_to", training + "report_to"))
    proc = run_cli("run", str(p), "--headless", "--name", "bad", home=home)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert said in proc.stderr + proc.stdout
    assert not (home / "runs" / "bad").exists()


def test_an_eval_set_from_a_local_file(home: Path, tmp_path: Path) -> None:
    """The GSM8K test file as the held-out set (the tiny demo model stands in for a real one)."""
    gsm = data_dir() / "gsm8k_test.jsonl"
    if not gsm.exists():
        pytest.skip(f"{gsm} is not here (it lies beside the development checkout)")
    p = _config(tmp_path, f'[eval]\nsource = "{gsm}"\nprompt_field = "question"\nanswer_field = "answer"\n'
                          "every = 2\nmax_samples = 4\nnum_generations = 4\n")
    proc = run_cli("run", str(p), "--headless", "--name", "gsm-eval", home=home, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open_run("gsm-eval") as s:
        evals = s.evals()
        groups = s.eval_groups(4)
    assert [e["step"] for e in evals] == [0, 2, 4]
    assert all(e["eval/problems"] == 4 and e["eval/k"] == 4 for e in evals)
    questions = {json.loads(line)["question"] for line in gsm.read_text().splitlines()}
    assert len(groups) == 4 and all(g.prompt in questions for g in groups)  # built with [data]'s template
    assert all(g.expected and "####" not in g.expected for g in groups)  # the gold answer as judged


def test_a_pause_asked_for_during_an_evaluation_takes_effect_when_it_ends(home: Path, tmp_path: Path) -> None:
    """A reward function that takes 3 s on the eval set's one marked problem holds the evaluation open while
    the pause is sent: the run pauses at that step, once the evaluation is recorded whole."""
    evals_file = tmp_path / "eval.jsonl"
    evals_file.write_text("".join(json.dumps({"prompt": p, "answer": a}) + "\n"
                                  for p, a in (("9+0=", "9"), ("8+1=", "9"))))
    reward = tmp_path / "slow.py"
    reward.write_text(
        "import time\n"
        "def slow_on_marked(prompts, completions, answer, **kw):\n"
        "    if any(p == '9+0=' for p in prompts):\n"
        "        time.sleep(3)\n"
        "    return [1.0 if str(c).strip().startswith(str(a)) else 0.0 for c, a in zip(completions, answer)]\n")
    p = _config(tmp_path, f'rewards = ["{reward}:slow_on_marked"]\n'
                          f'[eval]\nsource = "{evals_file}"\nevery = 2\nnum_generations = 8\n')
    text = p.read_text().replace(f'rewards = ["{reward}:slow_on_marked"]\n', "")
    p.write_text(f'rewards = ["{reward}:slow_on_marked"]\n' + text.replace("max_steps = 4", "max_steps = 6"))
    proc = run_cli("run", str(p), "--name", "pz", home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def evaluating_at_2() -> bool:
        with open_run("pz") as s:
            return (s.last_step() or 0) >= 2 and any(e["step"] == 2 for e in s.evals()) is False
    wait_for(evaluating_at_2, timeout=240, what="the evaluation at step 2 under way")
    run_cli("pause", "pz", home=home, check=True)
    wait_for(lambda: status_of(home, "pz")["status"] == "paused", timeout=120, what="paused")
    st = status_of(home, "pz")
    with open_run("pz") as s:
        evals = {e["step"]: e for e in s.evals()}
        paused_at = s.last_step()
    assert paused_at == 2, st  # not a step later: at the end of the evaluation
    assert evals[2]["eval/problems"] == 2 and evals[2]["eval/k"] == 8  # recorded whole before the pause
    run_cli("resume", "pz", home=home, check=True)
    wait_for(lambda: status_of(home, "pz")["status"] == "finished", timeout=240, what="finished")
    with open_run("pz") as s:
        assert [e["step"] for e in s.evals()] == [0, 2, 4, 6]


@pytest.mark.parametrize("how", ["watch", "callback"])
def test_a_users_script_that_evaluates_is_recorded_the_same_way(home: Path, tmp_path: Path, how: str) -> None:
    """An unchanged script with its own eval_dataset (TRL's eval_steps): under `grpotui watch` and with
    GRPOTUICallback, its evaluations land in the evaluation tables, its training groups stay as they were."""
    from grpotui.demo_config import ensure_demo_assets

    script = REPO / "tests" / "scripts" / "train_grpo.py"
    user = [sys.executable, str(script), *ensure_demo_assets(), "6", "--eval-every", "3"]
    cmd = ([sys.executable, "-m", "grpotui", "watch", "--headless", "--name", "mine", "--", *user]
           if how == "watch" else [*user, "--callback", "mine"])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "GRPOTUI_HOME": str(home)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open_run("mine") as s:
        evals = s.evals()
        groups = s.eval_groups(3)
        assert s.count_completions() == 6 * 16  # training: 6 steps of 2 groups of 8, no evaluation rows
    assert [e["step"] for e in evals] == [3, 6]
    assert all(e["eval/problems"] == 4 and e["eval/k"] == 8 for e in evals)
    assert all(g.expected for g in groups) and all("eval_loss" in e["trl"] for e in evals)


def test_a_resumed_run_keeps_one_evaluation_a_step(tmp_path: Path) -> None:
    """A resume drops what came after its checkpoint, evaluations too, and evaluates the checkpoint's step
    again (TRL's eval_on_start): that evaluation replaces the one recorded there, never adds to it."""
    from grpotui.store import RunStore

    def group(right: int) -> dict:
        return {"prompt": "3+4=", "expected": "7", "completions": [
            {"completion": "7" if i < right else "8", "verdict": "right" if i < right else "wrong", "reward": 0.0}
            for i in range(4)]}

    store = RunStore.create(tmp_path / "run.sqlite", name="r", kind="run", config={})
    for step, right in ((0, 0), (100, 1), (200, 2)):
        store.record_eval(step, [group(right), group(right)])
    store.reopen("resumed", after_step=100)
    assert [e["step"] for e in store.evals()] == [0, 100]
    store.record_eval(100, [group(4)])  # the checkpoint's step evaluated again: one problem this time
    store.record_eval(100, [group(4)], first_group=1)  # its second batch
    evals = store.evals()
    assert [e["step"] for e in evals] == [0, 100]
    assert evals[1]["eval/problems"] == 2 and evals[1]["eval/accuracy"] == 1.0
    store.close()
