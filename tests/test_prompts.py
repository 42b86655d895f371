"""Per-prompt statistics: which problems a run learns, never solves or always solves (issue 18).

A real demo run that learns (the sums dataset has 25 distinct prompts, so each appears many times) is
checked against what this test computes on its own from ``export --what groups``; the store-level tests
cover verdicts that arrive later, a step recorded again, and stores from before schema 3.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import run_cli
from recorded import make_schema1_store

from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE
from grpotui.store.prompts import FIELDS, HIGH, LOW, SOLVED_REWARD

LEARN_STEPS = 120


@pytest.fixture(scope="module")
def learn_home(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Path:
    """A demo run set to learn fast (lr 5e-3, constant; health rules off so it runs its steps) and a
    short one at the demo's own settings, which learns little (written once, read only). The first with the
    seed it was measured with (42) and no held-out evaluation, which would change its trajectory."""
    h = tmp_path_factory.mktemp("prompts") / "home"
    h.mkdir()
    (h / "cache").symlink_to(shared_cache)
    proc = run_cli("demo", "--headless", "--steps", str(LEARN_STEPS), "--name", "learn",
                   "--set", "training.learning_rate=5e-3", "--set", "training.lr_scheduler_type='constant'",
                   "--set", "health.enabled=false", "--set", "training.seed=42", "--set", "eval={}", home=h)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    proc = run_cli("demo", "--headless", "--steps", "20", "--name", "slow", home=h)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return h


def _expected_from_groups(rows: list[dict]) -> dict[str, dict]:
    """Per-prompt statistics computed here from the exported completions, by the README's rules."""
    groups: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["step"], r["group"])].append(r)
    by_prompt: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for key in sorted(groups):
        by_prompt[groups[key][0]["prompt"]].append(key)  # the demo builds no template: prompt == question
    out = {}
    for prompt, keys in by_prompt.items():
        comps = [c for k in keys for c in groups[k]]

        def rate(k: tuple[int, int]) -> float:
            cs = groups[k]
            return sum(c["verdict"] == "right" for c in cs) / len(cs)

        right = sum(c["verdict"] == "right" for c in comps)
        first, last = rate(keys[0]), rate(keys[-1])
        if len(keys) == 1:
            status = "once"
        elif right == 0:
            status = "never"
        elif right == len(comps):
            status = "always"
        elif first <= LOW and last >= HIGH:
            status = "learned"
        elif first >= HIGH and last <= LOW:
            status = "forgotten"
        else:
            status = "mixed"
        rewards = [c["reward"] for c in comps]
        zero = sum(1 for k in keys if len({c["reward"] for c in groups[k]}) == 1)
        out[prompt] = {"groups": len(keys), "completions": len(comps), "right": right, "pending": 0,
                       "first_step": keys[0][0], "last_step": keys[-1][0], "first_solve_rate": first,
                       "last_solve_rate": last, "mean_reward": sum(rewards) / len(rewards),
                       "zero_spread_groups": zero, "status": status, "expected": comps[0]["expected"]}
    return out


def test_statistics_match_the_recorded_groups(learn_home: Path) -> None:
    export = run_cli("export", "learn", "--what", "groups", home=learn_home, check=True).stdout
    rows = [json.loads(line) for line in export.splitlines()]
    mine = _expected_from_groups(rows)
    out = json.loads(run_cli("prompts", "learn", "--json", home=learn_home, check=True).stdout)
    prompts = out["prompts"]
    assert len(prompts) == len(mine) == out["summary"]["prompts"]
    for p in prompts:
        assert set(p) == set(FIELDS)
        want = mine[p["prompt"]]
        assert p["question"] == p["prompt"] and isinstance(p["row"], int)  # the dataset row it came from
        for k, v in want.items():
            assert p[k] == pytest.approx(v), (p["prompt"], k)
    statuses = [p["status"] for p in prompts]
    assert "learned" in statuses  # a run that learns has problems it learned
    assert out["summary"]["statuses"]["learned"] == statuses.count("learned")
    assert out["summary"]["never_share"] == pytest.approx(statuses.count("never") / len(prompts))
    # default order: as first seen
    assert [p["first_step"] for p in prompts] == sorted(p["first_step"] for p in prompts)


def test_filters_sort_and_limit(learn_home: Path) -> None:
    learned = json.loads(run_cli("prompts", "learn", "--json", "--status", "learned", home=learn_home,
                                 check=True).stdout)["prompts"]
    assert learned and {p["status"] for p in learned} == {"learned"}
    two = json.loads(run_cli("prompts", "learn", "--json", "--status", "learned", "--status", "never",
                             home=learn_home, check=True).stdout)["prompts"]
    assert {p["status"] for p in two} <= {"learned", "never"} and len(two) >= len(learned)
    top = json.loads(run_cli("prompts", "learn", "--json", "--sort", "right", "--limit", "3",
                             home=learn_home, check=True).stdout)["prompts"]
    every = json.loads(run_cli("prompts", "learn", "--json", home=learn_home, check=True).stdout)["prompts"]
    assert [p["right"] for p in top] == sorted((p["right"] for p in every), reverse=True)[:3]
    text = run_cli("prompts", "learn", home=learn_home, check=True).stdout
    assert text.splitlines()[0].startswith(f"{len(every)} prompts:") and "give GRPO no signal" in text
    bad = run_cli("prompts", "learn", "--status", "solved", home=learn_home)
    assert bad.returncode == 2 and "--status solved" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    bad = run_cli("prompts", "learn", "--sort", "speed", home=learn_home)
    assert bad.returncode == 2 and "--sort speed" in bad.stderr


def test_export_prompts_and_the_diff_line(learn_home: Path, tmp_path: Path) -> None:
    every = json.loads(run_cli("prompts", "learn", "--json", home=learn_home, check=True).stdout)["prompts"]
    lines = run_cli("export", "learn", "--what", "prompts", home=learn_home, check=True).stdout.splitlines()
    assert [json.loads(x) for x in lines] == every
    out = tmp_path / "p.csv"
    run_cli("export", "learn", "--what", "prompts", "--format", "csv", "-o", str(out), home=learn_home, check=True)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["prompt"] for r in rows] == [p["prompt"] for p in every] and list(rows[0]) == list(FIELDS)
    # the comparison: prompts one run learned and the other did not
    diff = json.loads(run_cli("diff", "learn", "slow", "--json", home=learn_home, check=True).stdout)
    slow = {p["prompt"]: p["status"] for p in json.loads(
        run_cli("prompts", "slow", "--json", home=learn_home, check=True).stdout)["prompts"]}
    learn = {p["prompt"]: p["status"] for p in every}
    shared = set(slow) & set(learn)
    assert diff["prompts_shared"] == len(shared)
    want = sum(1 for k in shared if learn[k] == "learned" and slow[k] != "learned")
    assert diff["prompts_learned_only_by"] == {
        "learn": want, "slow": sum(1 for k in shared if slow[k] == "learned" and learn[k] != "learned")}
    assert want >= 1
    text = run_cli("diff", "learn", "slow", home=learn_home, check=True).stdout
    [line] = [x for x in text.splitlines() if "learned only here (of" in x]
    assert f"of {len(shared)} shared" in line and line.split()[-2] == str(want)


# ---------------------------------------------------------------------------- the store on its own
def _group(prompt: str, verdicts: list[str], rewards: list[float], expected: str | None = "4",
           question: str | None = None) -> dict:
    return {"prompt": prompt, "expected": expected, "question": question, "row": 3,
            "completions": [{"completion": "x", "answer": None, "verdict": v, "reward": r, "rewards": {},
                             "advantage": 0.0, "length": 1} for v, r in zip(verdicts, rewards, strict=True)]}


def test_pending_verdicts_update_the_statistics(tmp_path: Path) -> None:
    s = RunStore.create(tmp_path / STORE_FILE, name="p", kind="run", config={})
    s.record_groups(1, [_group("[sys] 2+2=", ["pending"] * 4, [0.0] * 4, question="2+2")])
    [p] = s.prompts()
    assert (p["pending"], p["right"], p["first_solve_rate"], p["status"]) == (4, 0, None, "once")
    assert p["question"] == "2+2" and p["row"] == 3
    s.record_groups(2, [_group("other template: 2+2=", ["wrong"] * 4, [0.0] * 4, question="2+2")])
    [p] = s.prompts()  # the same problem under another template: one prompt
    assert (p["groups"], p["pending"], p["status"]) == (2, 4, "never")
    s.set_verdicts([(1, 0, i, "4", "right", None) for i in range(4)])  # the judge: step 1 was all right
    [p] = s.prompts()
    assert (p["pending"], p["right"], p["first_solve_rate"], p["last_solve_rate"]) == (0, 4, 1.0, 0.0)
    assert p["status"] == "forgotten"
    s.record_groups(2, [_group("other template: 2+2=", ["right"] * 4, [1.0] * 4, question="2+2")])
    [p] = s.prompts()  # step 2 recorded again (a resumed run): replaced, not counted twice
    assert (p["groups"], p["completions"], p["right"], p["status"]) == (2, 8, 8, "always")
    # no expected answer: a completion is right when its reward reaches SOLVED_REWARD
    s.record_groups(3, [_group("free text", [None] * 4, [SOLVED_REWARD, 0.2, 0.2, 0.2], expected=None)])
    [q] = s.prompts(text="FREE")
    assert (q["right"], q["first_solve_rate"], q["zero_spread_groups"]) == (1, 0.25, 0)
    assert s.count_prompts(statuses=["once"]) == 1 and s.prompt_history("2+2")[0][:2] == (1, 0)
    s.close()


def test_older_stores_get_their_statistics(tmp_path: Path) -> None:
    path = make_schema1_store(tmp_path / "old.sqlite")
    with RunStore.open(path) as s:  # a reader never writes: computed in memory, once
        assert s.schema_version == 1
        [p] = s.prompts()
        assert (p["prompt"], p["right"], p["status"], p["question"]) == ("What is 6 x 7?", 1, "once", None)
    copy = tmp_path / "copy.sqlite"
    shutil.copy(path, copy)
    with RunStore.open(copy, readonly=False) as s:  # the writing side migrates, prompts included
        assert s.schema_version >= 3
        assert s.prompts() == [p]
    con = sqlite3.connect(copy)
    assert con.execute("SELECT COUNT(*) FROM prompts").fetchone()[0] == 1
    con.close()
