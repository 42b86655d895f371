"""Verdicts judged off the training thread: a real judge process, real runner processes, real SQLite.

No timings are asserted here (figures are in benchmarks/); what is asserted is that every recorded
completion gets the verdict judge() gives it, whatever ends the run, and that nothing is ever wrong.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, status_of, wait_for

from grpotui.rewards import gold_answer, judge
from grpotui.store import RunStore
from grpotui.store.db import SCHEMA_VERSION
from grpotui.store.paths import STORE_FILE

SCRIPT = REPO / "tests" / "scripts" / "train_grpo.py"
PATHOLOGICAL = r"The answer is $\boxed{\left( 3, \frac{\pi}{2} \right)}$."  # math-verify: ~0.8 s vs "p - q"


def _rows(path: Path) -> list[tuple]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        return c.execute("SELECT c.completion, g.expected, c.answer, c.verdict, c.verdict_reason FROM completions c"
                         " JOIN groups g ON g.step = c.step AND g.grp = c.grp").fetchall()


def _all_judged_right(path: Path) -> int:
    """Every verdict in the store is the one judge() gives (pending ones are not wrong, only not there)."""
    rows = _rows(path)
    done = 0
    for completion, expected, answer, verdict, _reason in rows:
        if verdict == "pending":
            continue
        j = judge(completion, expected)
        assert (answer, verdict) == (j.answer, j.verdict), (completion, expected, answer, verdict)
        done += 1
    return done


def _pending(home: Path, name: str) -> int:
    return status_of(home, name)["verdicts_pending"]


@pytest.fixture
def assets(home: Path) -> tuple[str, str]:
    from grpotui.demo_config import ensure_demo_assets

    return ensure_demo_assets()


@pytest.mark.slow
def test_a_watched_run_gets_every_verdict_from_the_judge(home: Path, cli, assets, tmp_path: Path) -> None:
    # the script's own reward is not grpotui's: every verdict is left to the judge process
    env = {**os.environ, "GRPOTUI_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "grpotui", "watch", "--headless", "--name", "v", "--",
                           sys.executable, str(SCRIPT), *assets, "20"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    path = home / "runs" / "v" / STORE_FILE
    wait_for(lambda: _pending(home, "v") == 0, timeout=120, what="every verdict judged")
    assert _all_judged_right(path) == 20 * 16


@pytest.mark.slow
@pytest.mark.parametrize("how", ["stop", "sigterm", "kill9"])
def test_verdicts_after_stop_sigterm_and_kill9(home: Path, cli, assets, how: str) -> None:
    cli("watch", "--name", how, "--", sys.executable, str(SCRIPT), *assets, "100000", check=True)
    path = home / "runs" / how / STORE_FILE
    wait_for(lambda: path.exists() and RunStore.open(path).last_step() >= 5, what="training")
    with RunStore.open(path) as store:
        committed = store.count_completions()
    if how == "stop":
        cli("stop", how, check=True)
    else:
        import psutil

        recorder = int(RunStore.open(path).get_meta("recorder_pid"))
        os.kill(recorder, signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        psutil.Process(recorder).wait(60) if psutil.pid_exists(recorder) else None
    wait_for(lambda: status_of(home, how)["status"] not in ("running", "stopping", "starting"), timeout=60,
             what="the run ended")
    with RunStore.open(path) as store:
        assert store.count_completions() >= committed  # nothing committed is lost
    # the judge outlives the script (its own session) and finishes; opening the run would restart it
    wait_for(lambda: _pending(home, how) == 0, timeout=120, what="every verdict judged")
    assert _all_judged_right(path) >= committed


def _store_with(tmp_path: Path, completions: list[tuple[str, str]]) -> Path:
    d = tmp_path / "runs" / "j"
    d.mkdir(parents=True)
    store = RunStore.create(d / STORE_FILE, name="j", kind="run", config={})
    groups = [{"prompt": "p", "expected": gold_answer(exp), "completions": [
        {"completion": text, "verdict": "pending", "reward": 0.0, "rewards": {}} for text, _ in [(t, exp)]]}
        for t, exp in completions]
    store.record_groups(1, groups)
    store.close()
    return d


def test_a_check_past_the_time_limit_is_unparseable_with_its_reason(tmp_path: Path) -> None:
    d = _store_with(tmp_path, [(PATHOLOGICAL, "p - q"), ("so it is 12. The answer is 12.", "12")])
    proc = subprocess.run([sys.executable, "-m", "grpotui.runner.judge", str(d), "--timeout", "0.05"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = {r[0]: r for r in _rows(d / STORE_FILE)}
    _, _, answer, verdict, reason = rows[PATHOLOGICAL]
    assert verdict == "unparseable" and "0.05 s limit" in reason and answer
    assert rows["so it is 12. The answer is 12."][3:] == ("right", None)


def test_repeated_answer_gold_pairs_are_checked_once() -> None:
    from grpotui.rewards import answers, correctness, known_judgement

    answers._equivalent.cache_clear()
    texts = [f"Attempt {i}: we get \\frac{{1}}{{3}}. The answer is \\boxed{{\\frac{{1}}{{3}}}}." for i in range(8)]
    assert correctness(None, texts, answer=["0.5"] * 8) == [0.0] * 8
    info = answers._equivalent.cache_info()
    assert info.misses == 1 and info.hits == 7  # one group: one check of (1/3, 0.5)
    # and what the correctness reward decided is there for the recorder to reuse, without judging again
    assert all(known_judgement(t, gold_answer("0.5")).verdict == "wrong" for t in texts)


@pytest.mark.slow
def test_the_builtin_reward_s_verdicts_are_reused(home: Path, cli) -> None:
    proc = cli("demo", "--headless", "--steps", "20", "--name", "reuse")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = home / "runs" / "reuse" / STORE_FILE
    rows = _rows(path)
    # written with their verdicts at once: the judge process was never needed
    assert len(rows) == 20 * 16 and not [r for r in rows if r[3] == "pending"]
    assert _all_judged_right(path) == 20 * 16
    assert not (home / "runs" / "reuse" / ".judge.lock").exists()


def test_a_store_of_schema_1_is_read_and_upgraded_by_the_writer(tmp_path: Path) -> None:
    from recorded import make_schema1_store

    path = make_schema1_store(tmp_path / "old.sqlite")
    with RunStore.open(path) as reader:  # read-only: no migration, nothing missing is an error
        assert reader.schema_version == 1
        [g] = reader.groups_at(1)
        assert g.completions[0].verdict == "right" and g.completions[0].verdict_reason is None
        assert reader.count_pending() == 0 and reader.pending_verdicts() == []
        assert [r["verdict_reason"] for r in reader.iter_completions()] == [None]
        # held-out evaluations (schema 4) are "not recorded" here, never an error
        assert reader.evals() == [] and reader.eval_groups(0) == [] and list(reader.iter_eval_rows()) == []
        assert reader.latest_eval_accuracy() is None and reader.evals_version() is None
    with RunStore.open(path, readonly=False, migrate=False) as outsider:  # a note or a command: no migration
        assert outsider.schema_version == 1
    with RunStore.open(path, readonly=False) as writer:
        assert writer.schema_version == SCHEMA_VERSION
    with RunStore.open(path) as reader:
        assert reader.schema_version == SCHEMA_VERSION and reader.groups_at(1)[0].completions[0].completion == "42"
        assert reader.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert reader.alerts() == [] and reader.notifications() == [] and reader.prompts()[0]["status"] == "once"
        assert reader.evals() == [] and reader.evals_version() == (0, None, 0)


def test_the_judge_fills_pending_evaluation_verdicts(tmp_path: Path) -> None:
    """Samples of a held-out evaluation recorded pending (a reward of the user's own) are judged by the
    background judge like training's, and the evaluation's figures follow."""
    d = tmp_path / "runs" / "ev"
    d.mkdir(parents=True)
    store = RunStore.create(d / STORE_FILE, name="ev", kind="run", config={})
    store.record_eval(0, [{"prompt": "3+4=", "expected": "7", "completions": [
        {"completion": f"The answer is {7 if i < 3 else 8}.", "verdict": "pending", "reward": 0.0, "rewards": {}}
        for i in range(4)]}])
    assert store.evals()[0]["eval/pending"] == 4 and store.evals()[0]["eval/accuracy"] is None
    assert store.count_pending() == 4
    store.close()
    proc = subprocess.run([sys.executable, "-m", "grpotui.runner.judge", str(d)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    with RunStore.open(d / STORE_FILE) as s:
        [e] = s.evals()
        assert e["eval/pending"] == 0 and e["eval/accuracy"] == 0.75 and e["eval/pass@k"] == 1.0
        assert [c.answer for c in s.eval_groups(0)[0].completions] == ["7", "7", "7", "8"]


def test_the_on_demand_judge_judges_the_steps_it_is_asked_for(tmp_path: Path) -> None:
    d = tmp_path / "runs" / "od"
    d.mkdir(parents=True)
    store = RunStore.create(d / STORE_FILE, name="od", kind="run", config={})
    for step in (1, 2, 3):
        store.record_groups(step, [{"prompt": "p", "expected": "7", "completions": [
            {"completion": f"so it is {7 if i % 2 else 8}. The answer is {7 if i % 2 else 8}.", "verdict": "pending",
             "reward": 0.0, "rewards": {}} for i in range(4)]}])
    store.close()
    judge = subprocess.Popen([sys.executable, "-m", "grpotui.runner.judge", str(d), "--on-demand"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        judge.stdin.write(b"2\n")
        judge.stdin.flush()
        with RunStore.open(d / STORE_FILE) as reader:
            wait_for(lambda: reader.count_pending_at(2) == 0, timeout=60, what="step 2 judged")
            assert reader.count_pending_at(1) == 4 and reader.count_pending_at(3) == 4  # only what was asked
            assert [c.verdict for c in reader.groups_at(2)[0].completions] == ["wrong", "right"] * 2
    finally:
        judge.stdin.close()  # the dashboard leaves: the judge ends
        assert judge.wait(30) == 0


@pytest.mark.slow
async def test_the_dashboard_shows_the_verdicts_of_a_live_step(home: Path, cli, assets) -> None:
    from grpotui.tui.app import make_app
    from grpotui.tui.widgets.completions import CompletionsView

    cli("watch", "--name", "livev", "--", sys.executable, str(SCRIPT), *assets, "100000", check=True)
    path = home / "runs" / "livev" / STORE_FILE
    wait_for(lambda: path.exists() and RunStore.open(path).last_step() >= 3, what="training")
    app = make_app(run_name="livev")
    async with app.run_test(size=(160, 45)) as pilot:
        screen = app.screen
        end = time.time() + 90
        judged_live = False
        while time.time() < end and not judged_live:
            await pilot.pause(0.2)
            view = screen.query_one(CompletionsView)
            shown = [c for g in view._groups for c in g.completions]
            judged_live = (screen.status == "running" and bool(shown)
                           and all(c.verdict in ("right", "wrong", "unparseable") for c in shown))
        assert judged_live, "a live step was never shown with its verdicts"
        assert screen.session._judge is not None  # this dashboard's own judge was asked
    cli("kill", "livev", check=True)
