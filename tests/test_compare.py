"""Comparing runs and reviewing them: two real demo runs that differ in one key (the learning rate),
compared with ``grpotui diff``, ``grpotui compare`` and the comparison screen driven by Pilot; notes,
tags and deleting through the CLI and the runs screen; Parquet export read back by pandas and datasets."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import compare_loaded as _compare_loaded
from conftest import run_cli
from conftest import settle as _settle
from recorded import write_recorded_run
from textual.widgets import DataTable

from grpotui.compare import align_groups, config_diff, flatten
from grpotui.store import Group, RunStore
from grpotui.store.paths import STORE_FILE
from grpotui.tui.app import make_app
from grpotui.tui.modals.confirm import ConfirmModal
from grpotui.tui.modals.prompt import PromptModal
from grpotui.tui.screens.compare import CompareScreen
from grpotui.tui.screens.runs import RunsScreen
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.groups import GroupSpreadPanel

STEPS = 30
LRS = {"lr-low": "5e-3", "lr-high": "2e-2"}


@pytest.fixture(scope="session")
def pair_home(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Path:
    """Two real demo runs, the same but for training.learning_rate (written once per session, read only)."""
    h = tmp_path_factory.mktemp("pair") / "home"
    h.mkdir()
    (h / "cache").symlink_to(shared_cache)
    for name, lr in LRS.items():
        proc = run_cli("demo", "--headless", "--steps", str(STEPS), "--name", name,
                       "--set", f"training.learning_rate={lr}", home=h)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return h


@pytest.fixture
def pair(pair_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRPOTUI_HOME", str(pair_home))
    return pair_home


@pytest.fixture
def pair_copy(pair_home: Path, home: Path) -> Path:
    """The two runs copied into this test's own home (for tests that change or delete them)."""
    shutil.copytree(pair_home / "runs", home / "runs")
    return home


# ----------------------------------------------------------------------------- diff
def _rewards(home: Path, name: str) -> list[float]:
    out = run_cli("export", name, "--what", "metrics", home=home, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    return [r["reward"] for r in rows if "reward" in r]  # training steps (a held-out evaluation's row has none)


def test_diff_names_the_one_differing_key_and_the_headline_figures(pair: Path) -> None:
    proc = run_cli("diff", "lr-low", "lr-high", home=pair, check=True)
    text = proc.stdout
    assert "config: 1 key differs" in text
    row = next(line for line in text.splitlines() if "training.learning_rate" in line)
    assert row.split()[1:] == ["0.005", "0.02"]
    assert f"{STEPS}/{STEPS}" in text and "final reward" in text and "best reward" in text
    # the figures are what the store holds: final reward = mean of the last w logged rewards
    data = json.loads(run_cli("diff", "lr-low", "lr-high", "--json", home=pair, check=True).stdout)
    assert data["runs"] == ["lr-low", "lr-high"]
    assert data["config"] == {"training.learning_rate": [0.005, 0.02]}
    for fig in data["figures"]:
        rewards = _rewards(pair, fig["name"])
        w = fig["window"]
        assert len(rewards) == STEPS and fig["step"] == STEPS and fig["status"] == "finished"
        assert fig["final_reward"] == pytest.approx(sum(rewards[-w:]) / w)
        best = max(sum(rewards[i - w + 1 : i + 1]) / w for i in range(w - 1, len(rewards)))
        assert fig["best_reward"] == pytest.approx(best)
        assert fig["seconds"] is not None and fig["seconds"] > 0
        line = next(line for line in text.splitlines() if line.strip().startswith("final reward"))
        assert f"{fig['final_reward']:.3f}" in line


def test_diff_and_compare_refuse_bad_input_in_one_line(pair: Path) -> None:
    one = run_cli("diff", "lr-low", home=pair)
    assert one.returncode == 2 and one.stderr.strip().count("\n") == 0 and "two or more" in one.stderr
    missing = run_cli("diff", "lr-low", "lr-nope", home=pair)
    assert missing.returncode == 2 and "lr-nope" in missing.stderr and "lr-low" in missing.stderr
    twice = run_cli("compare", "lr-low", "lr-low", home=pair)
    assert twice.returncode == 2 and "twice" in twice.stderr
    # without a terminal, compare prints what diff prints
    plain = run_cli("compare", "lr-low", "lr-high", home=pair, check=True)
    assert plain.stdout == run_cli("diff", "lr-low", "lr-high", home=pair, check=True).stdout


def test_config_diff_ignores_spelling_and_notes() -> None:
    a = {"training": {"learning_rate": 1e-5, "beta": 0.0}, "run": {"note": "a"}, "rewards": ["correctness"]}
    b = {"training": {"learning_rate": 0.00001, "beta": 0}, "run": {"note": "b"}, "rewards": ["correctness"]}
    assert config_diff([a, b]) == []
    c = {"training": {"learning_rate": 1e-5, "num_generations": 8}, "rewards": ["correctness", "format"]}
    keys = [k for k, _ in config_diff([a, c])]
    assert keys == ["rewards", "training.beta", "training.num_generations"]
    assert flatten({"x": {"y": {"z": 1}}, "w": []}) == {"x.y.z": 1, "w": []}


def test_align_groups_puts_shared_prompts_first_in_the_same_order() -> None:
    def g(grp: int, prompt: str) -> Group:
        return Group(step=5, grp=grp, prompt=prompt, expected="1")

    a = [g(0, "1+1="), g(1, "2+2="), g(2, "only in a")]
    b = [g(0, "only in b"), g(1, "2+2="), g(2, " 1+1= ")]
    (oa, ob), shared = align_groups([a, b])
    assert shared == 2
    assert [x.prompt.strip() for x in oa[:2]] == [x.prompt.strip() for x in ob[:2]] == ["1+1=", "2+2="]
    assert oa[2].prompt == "only in a" and ob[2].prompt == "only in b"


# ----------------------------------------------------------------------------- the comparison screen
async def test_comparison_screen_overlays_curves_and_lines_up_groups(pair: Path) -> None:
    app = make_app(compare=["lr-low", "lr-high"])
    async with app.run_test(size=(160, 45)) as pilot:
        await _compare_loaded(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen) and not screen.has_class("-compact")
        # curves: every run's full history, one plot per metric and one per reward function
        for s in screen.series:
            steps, values = s.get("reward")
            assert steps == list(range(1, STEPS + 1)) and len(values) == STEPS
        plots = [k for _, k in screen.query_one("#ccurves").keys]
        assert {"reward", "reward_std", "kl", "entropy", "completions/mean_length",
                "rewards/correctness/mean"} <= set(plots)
        legend = str(screen.query_one("#legend").render())
        assert "lr-low" in legend and "lr-high" in legend and f"step {STEPS}" in legend
        # the table: figures, then the one differing key with both values
        table = screen.query_one("#cdiff", DataTable)
        row = [str(c) for c in table.get_row("cfg:training.learning_rate")]
        assert row[1:] == ["0.005", "0.02"]
        labels = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "steps" in labels and any(lbl.startswith("final reward") for lbl in labels)
        # groups of both runs at the newest step; same seed and data, so the same prompts, lined up
        left = screen.query_one("#cgroups-0", GroupSpreadPanel).groups
        right = screen.query_one("#cgroups-1", GroupSpreadPanel).groups
        assert left and left[0].step == right[0].step == STEPS
        assert screen.shared == len(left) == len(right)
        assert [g.prompt for g in left] == [g.prompt for g in right]
        with RunStore.open(pair / "runs" / "lr-high" / STORE_FILE) as s:
            assert {g.prompt for g in s.groups_at(STEPS)} == {g.prompt for g in right}
        # choosing a group in one run scrolls every run to its group of the same prompt
        second = right[1]
        left_list = screen.query_one("#cgroups-0", GroupSpreadPanel).query_one("OptionList")
        left_list.focus()
        await pilot.press("down", "enter")
        await pilot.pause(0.3)
        for i in (0, 1):
            view = screen.query_one(f"#ccomps-{i}", CompletionsView)
            assert view._body.scroll_y > 0
            card = view._cards[view._card_grps.index(screen.columns[i][1].grp)]
            assert view._body.scroll_y == card.virtual_region.y
        assert screen.columns[0][1].prompt == second.prompt
        # step back: both runs show the earlier step, and the curves mark it
        await pilot.press("left_square_bracket")
        await _settle(pilot)
        assert screen.selected_step == STEPS - 1
        for i in (0, 1):
            assert screen.query_one(f"#cgroups-{i}", GroupSpreadPanel).groups[0].step == STEPS - 1
            assert screen.query_one(f"#ccomps-{i}", CompletionsView).total > 0
        await pilot.press("left_curly_bracket")
        await _settle(pilot)
        assert screen.selected_step == STEPS - 11
        await pilot.press("l")
        await _settle(pilot, 6)
        assert screen.selected_step is None and screen.shown_step == STEPS
        # the filter applies to both runs' completions
        await pilot.press("f")
        assert {v.filter for v in screen.query(CompletionsView)} == {"wrong"}
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert isinstance(app.screen, RunsScreen)


async def test_runs_screen_marks_runs_and_opens_their_comparison(pair: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await pilot.press("c")  # nothing marked: says how
        await pilot.pause(0.1)
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("space", "space")
        assert sorted(screen.marked) == ["lr-high", "lr-low"]
        assert "marked" in str(screen.query_one("#runs-title").render())
        await pilot.press("c")
        await _compare_loaded(pilot)
        assert isinstance(app.screen, CompareScreen) and sorted(app.screen.names) == ["lr-high", "lr-low"]
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen is screen
        await pilot.press("escape")  # clears the marks
        assert screen.marked == []


async def test_compact_comparison_moves_views_into_tabs(pair: Path) -> None:
    app = make_app(compare=["lr-low", "lr-high"])
    async with app.run_test(size=(80, 24)) as pilot:
        await _compare_loaded(pilot)
        screen = app.screen
        assert screen.has_class("-compact") and screen.query_one("#ccurves").display
        assert not screen.query_one("#cbottom").display
        curves = screen.query_one("#ccurves")
        # focus and layout settle a few frames later on a busy machine: wait for them, then assert
        await _settled(pilot, lambda: app.focused is curves and curves.max_scroll_y > 0)
        assert app.focused is curves and curves.max_scroll_y > 0  # plots below: the keys scroll to them
        await pilot.press("pagedown")
        await _settled(pilot, lambda: curves.scroll_y > 0)
        assert curves.scroll_y > 0
        await pilot.press("2")
        await _settled(pilot, lambda: screen.query_one("#cdiff").display
                       and not screen.query_one("#ctop").display)
        assert screen.query_one("#cdiff").display and not screen.query_one("#ctop").display
        assert not screen.query_one("#ccol-0").display
        await pilot.press("3")
        await _settled(pilot, lambda: screen.query_one("#ccol-0").display)
        assert screen.query_one("#ccol-0").display and not screen.query_one("#ctop").display
        assert not screen.query_one("#cdiff").display


async def _settled(pilot, pred, seconds: float = 10.0) -> None:
    """Until ``pred()`` holds or ``seconds`` pass (the assertion after it says what did not happen)."""
    for _ in range(int(seconds / 0.05)):
        if pred():
            return
        await pilot.pause(0.05)


# ----------------------------------------------------------------------------- notes, tags, deleting
def test_notes_and_tags_show_in_ls_and_filter_it(pair_copy: Path) -> None:
    home = pair_copy
    assert run_cli("note", "lr-low", "baseline:", "the", "default", "lr", home=home, check=True).returncode == 0
    assert run_cli("note", "lr-low", home=home, check=True).stdout.strip() == "baseline: the default lr"
    run_cli("tag", "lr-low", "sweep", "baseline", home=home, check=True)
    run_cli("tag", "lr-high", "sweep", "too-high", home=home, check=True)
    run_cli("tag", "lr-high", "--remove", "too-high", home=home, check=True)
    assert run_cli("tag", "lr-high", home=home, check=True).stdout.split() == ["sweep"]
    ls = run_cli("ls", home=home, check=True).stdout
    low = next(line for line in ls.splitlines() if line.startswith("lr-low"))
    assert "sweep,baseline" in low and "baseline: the default lr" in low
    only = run_cli("ls", "--tag", "baseline", home=home, check=True).stdout
    assert "lr-low" in only and "lr-high" not in only
    runs = {r["name"]: r for r in json.loads(run_cli("ls", "--json", home=home, check=True).stdout)}
    assert runs["lr-low"]["tags"] == ["sweep", "baseline"] and runs["lr-high"]["tags"] == ["sweep"]
    assert runs["lr-low"]["note"] == "baseline: the default lr"
    assert runs["lr-high"]["note"].startswith("embedded demo")  # the config's note until one is written
    bad = run_cli("tag", "lr-low", "has space", home=home)
    assert bad.returncode == 2 and "bad tag 'has space'" in bad.stderr
    assert run_cli("note", "lr-low", "--clear", home=home, check=True).returncode == 0
    assert json.loads(run_cli("status", "lr-low", "--json", home=home, check=True).stdout)["note"] == ""


def test_rm_asks_refuses_live_runs_and_leaves_nothing_half_removed(pair_copy: Path) -> None:
    home = pair_copy
    no_tty = run_cli("rm", "lr-high", home=home)
    assert no_tty.returncode == 2 and "--yes" in no_tty.stderr
    assert (home / "runs" / "lr-high" / STORE_FILE).exists()
    # a run that is still going is refused, and kept whole
    write_recorded_run(home, "live", steps=5, status="running")
    import sqlite3

    import psutil

    con = sqlite3.connect(home / "runs" / "live" / STORE_FILE)
    con.execute("UPDATE run SET pid=?, pid_create_time=?, host=NULL",
                (os.getpid(), psutil.Process().create_time()))
    con.commit()
    con.close()
    live = run_cli("rm", "--yes", "live", home=home)
    assert live.returncode == 2 and "stop or kill it" in live.stderr
    assert json.loads(run_cli("status", "live", "--json", home=home, check=True).stdout)["step"] == 5
    # an unknown name deletes nothing, even next to a good one
    typo = run_cli("rm", "--yes", "lr-high", "lr-hihg", home=home)
    assert typo.returncode == 2 and (home / "runs" / "lr-high").exists()
    # an interrupted delete leaves only a hidden folder, never listed, swept by the next delete
    leftover = home / "runs" / ".deleted-old-1-2"
    shutil.copytree(home / "runs" / "lr-low", leftover)
    assert ".deleted" not in run_cli("ls", home=home, check=True).stdout
    done = run_cli("rm", "--yes", "lr-high", home=home, check=True)
    assert "deleted lr-high" in done.stdout
    assert not (home / "runs" / "lr-high").exists() and not leftover.exists()
    names = [r["name"] for r in json.loads(run_cli("ls", "--json", home=home, check=True).stdout)]
    assert sorted(names) == ["live", "lr-low"]
    # a damaged store: whether it still runs cannot be told, so only --force deletes it
    bad = home / "runs" / "damaged"
    bad.mkdir()
    (bad / STORE_FILE).write_bytes(b"not a database" * 100)
    refused = run_cli("rm", "--yes", "damaged", home=home)
    assert refused.returncode == 2 and "--force" in refused.stderr and bad.exists()
    run_cli("rm", "--yes", "--force", "damaged", home=home, check=True)
    assert not bad.exists()


async def test_runs_screen_edits_notes_and_tags_filters_and_deletes(pair_copy: Path) -> None:
    home = pair_copy
    app = make_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        first = screen.current
        await pilot.press("e")
        await pilot.pause(0.1)
        assert isinstance(app.screen, PromptModal)
        app.screen.query_one("#answer").value = ""
        await pilot.press(*"too noisy", "enter")
        await _settle(pilot, 5)
        await pilot.press("t")
        await pilot.pause(0.1)
        await pilot.press(*"keep sweep", "enter")
        await _settle(pilot, 5)
        assert run_cli("note", first, home=home, check=True).stdout.strip() == "too noisy"
        assert run_cli("tag", first, home=home, check=True).stdout.split() == ["keep", "sweep"]
        row = next(r for r in screen.runs if r["name"] == first)
        assert row["note"] == "too noisy" and row["tags"] == ["keep", "sweep"]
        # filter by tag: only that run is listed
        await pilot.press("slash", *"#keep", "enter")
        await pilot.pause(0.1)
        assert [r["name"] for r in screen.runs] == [first]
        await pilot.press("escape")
        assert len(screen.runs) == 2
        # delete the other one, after saying yes
        other = next(r["name"] for r in screen.runs if r["name"] != first)
        table = screen.query_one("#runs", DataTable)
        table.move_cursor(row=[r["name"] for r in screen.runs].index(other))
        await pilot.press("d")
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await pilot.pause(0.1)
        assert (home / "runs" / other).exists()
        await pilot.press("d")
        await pilot.pause(0.1)
        await pilot.press("y")
        await _settle(pilot, 6)
        assert not (home / "runs" / other).exists()
        assert [r["name"] for r in screen.runs] == [first]


# ----------------------------------------------------------------------------- parquet
def test_parquet_export_reads_back_in_pandas_and_datasets(pair: Path, tmp_path: Path) -> None:
    import datasets
    import pandas as pd

    for what in ("groups", "metrics", "system"):
        out = tmp_path / f"{what}.parquet"
        proc = run_cli("export", "lr-low", "--what", what, "--format", "parquet", "-o", str(out), home=pair)
        assert proc.returncode == 0, proc.stderr
        assert oct(out.stat().st_mode & 0o777) == "0o600"
        lines = run_cli("export", "lr-low", "--what", what, home=pair, check=True).stdout.splitlines()
        df = pd.read_parquet(out)
        assert len(df) == len(lines) > 0
        ds = datasets.Dataset.from_parquet(str(out))
        assert ds.num_rows == len(lines)
        if what == "groups":
            first = json.loads(lines[0])
            assert list(df.columns[:8]) == ["step", "group", "index", "prompt", "completion", "answer",
                                            "expected", "verdict"]
            assert df["step"].dtype == "int64" and df["reward"].dtype == "float64"
            assert df.iloc[0]["completion"] == first["completion"]
            assert df.iloc[0]["rewards/correctness"] == first["rewards"]["correctness"]
            assert set(ds.column_names) == set(df.columns)
        if what == "metrics":
            want = [json.loads(x).get("reward") for x in lines]  # None: the baseline evaluation's row (step 0)
            got = df["reward"].tolist()
            assert [g for g, w in zip(got, want, strict=True) if w is not None] == pytest.approx(
                [w for w in want if w is not None])
            assert all(g != g for g, w in zip(got, want, strict=True) if w is None)  # null in Parquet: NaN
    no_file = run_cli("export", "lr-low", "--format", "parquet", home=pair)
    assert no_file.returncode == 2 and "-o FILE" in no_file.stderr


# ----------------------------------------------------------------------------- what must not break it
async def test_comparison_survives_an_unreadable_run_and_odd_reward_names(home: Path) -> None:
    """One damaged store is marked, the other runs are compared; reward functions whose names differ only
    in punctuation get a plot each."""
    d = write_recorded_run(home, "good", steps=12)
    write_recorded_run(home, "other", steps=12, lr=2e-5, seed=8)
    with RunStore.open(d / STORE_FILE, readonly=False) as s:
        for step in (11, 12):
            s.record_metrics(step, {"rewards/format_reward/mean": 0.5, "rewards/format-reward/mean": 0.25})
    bad = home / "runs" / "damaged"
    bad.mkdir()
    (bad / STORE_FILE).write_bytes(b"not a database" * 100)
    app = make_app(compare=["good", "damaged", "other"])
    async with app.run_test(size=(160, 45)) as pilot:
        await _compare_loaded(pilot)
        screen = app.screen
        assert screen.statuses == ["finished", "unreadable", "finished"]
        assert screen.shown_step == 12 and screen.query_one("#cgroups-0", GroupSpreadPanel).groups
        assert screen.query_one("#cgroups-1", GroupSpreadPanel).groups == []
        table = screen.query_one("#cdiff", DataTable)
        assert [str(c) for c in table.get_row("cfg:training.learning_rate")][1:] == ["5e-06", "?", "2e-05"]
        keys = [k for _, k in screen.query_one("#ccurves").keys]
        assert "rewards/format_reward/mean" in keys and "rewards/format-reward/mean" in keys
        await pilot.press("left_square_bracket")
        await _settle(pilot)
        assert screen.selected_step == 11 and isinstance(app.screen, CompareScreen)


async def test_go_to_a_step_beyond_any_number_sqlite_holds(home: Path) -> None:
    write_recorded_run(home, "r", steps=5)
    app = make_app(run_name="r")
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(pilot)
        await pilot.press("g", *"99999999999999999999999", "enter")
        await _settle(pilot, 5)
        assert app.is_running and app.screen.selected_step == 5


def test_best_reward_skips_nan_steps(home: Path) -> None:
    from grpotui.compare import headline

    d = write_recorded_run(home, "nan", steps=40)
    with RunStore.open(d / STORE_FILE, readonly=False) as s:
        for step in range(1, 41):
            s.record_metrics(step, {"reward": float("nan") if step % 2 else -1.0 + step / 100})
    with RunStore.open(d / STORE_FILE) as s:
        h = headline(s)
    assert h.window == 2 and h.best_step == 40 and h.best_reward == pytest.approx(-0.6)
    assert h.final_reward == pytest.approx(-0.6)


def test_parquet_types_come_from_every_row(tmp_path: Path) -> None:
    """A reward that is null in the first thousands of rows and a number later is a number column; a
    column that first appears late is kept."""
    import pandas as pd

    from grpotui.export import write_parquet

    def rows():
        for i in range(3000):
            r = {"step": i, "reward": None if i < 2500 else i / 10, "answer": None if i < 2999 else "42"}
            if i == 2999:
                r["late"] = 1.5
            yield r

    out = tmp_path / "x.parquet"
    assert write_parquet(rows, out) == 3000
    df = pd.read_parquet(out)
    assert df["reward"].dtype == "float64" and df["reward"].iloc[-1] == pytest.approx(299.9)
    assert df["answer"].iloc[-1] == "42" and df["late"].iloc[-1] == 1.5 and df["step"].dtype == "int64"


async def test_a_live_run_takes_notes_and_tags_and_compares_as_it_goes(pair_copy: Path) -> None:
    """Notes and tags are written while the runner writes the same store; deleting it is refused; the
    comparison follows it."""
    from conftest import wait_for

    home = pair_copy
    run_cli("demo", "--steps", "100000", "--name", "live", home=home, check=True)  # detached: returns at once

    def steps() -> int:
        return json.loads(run_cli("status", "live", "--json", home=home, check=True).stdout)["step"] or 0

    wait_for(lambda: steps() >= 3, timeout=120, what="the live run's first steps")
    run_cli("note", "live", "started", "to", "compare", home=home, check=True)
    run_cli("tag", "live", "long", home=home, check=True)
    assert run_cli("rm", "--yes", "live", home=home).returncode == 2
    app = make_app(compare=["lr-low", "live"])
    async with app.run_test(size=(160, 45)) as pilot:
        await _compare_loaded(pilot)
        screen = app.screen
        assert screen.statuses == ["finished", "running"]
        first = len(screen.series[1].get("reward")[0])
        end = time.time() + 60
        while len(screen.series[1].get("reward")[0]) <= first + 2 and time.time() < end:
            await pilot.pause(0.3)
        assert len(screen.series[1].get("reward")[0]) > first + 2  # new steps reach the curves
        assert screen.heads[1].note == "started to compare" and screen.heads[1].tags == ["long"]
    run_cli("kill", "live", home=home, check=True)
    s = json.loads(run_cli("status", "live", "--json", home=home, check=True).stdout)
    assert s["status"] == "killed" and s["note"] == "started to compare" and s["step"] >= 3


def test_a_long_runs_best_reward_is_kept_as_it_is_written_and_matches_every_step(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of 1,000 logged rewards and more: the headline reads the best 50-step mean the writer kept
    (not every step); it is the same figure as computing it from every step, also after a resume that
    drops the steps holding the best, and for a store written before the writer kept it."""
    import math

    from grpotui.compare import headline
    from grpotui.store.db import BEST_REWARD_KEY, reward_figures

    def reward(step: int) -> float:
        if step % 7 == 0:
            return float("nan")
        peak = 1.0 if 600 <= step < 650 else 0.0  # the best window ends at 649
        return peak + math.sin(step / 50) / 10

    d = write_recorded_run(home, "long", steps=3)
    with RunStore.open(d / STORE_FILE, readonly=False) as s:
        for step in range(1, 1501):
            s.record_metrics(step, {"reward": reward(step), "kl": 0.1})
        s.record_metrics(1500, {"eval_reward": 0.5})  # merged into a logged step: counted once

    def from_every_step(s: RunStore) -> tuple:
        return reward_figures(s.reward_series())

    with RunStore.open(d / STORE_FILE) as s:
        full = from_every_step(s)
        with monkeypatch.context() as m:
            m.setattr(RunStore, "reward_series", lambda self: pytest.fail("the headline read every step"))
            h = headline(s)
        assert json.loads(s.get_meta(BEST_REWARD_KEY))["n"] == 1500
    assert full[3] == 50 and full[2] == 649
    assert (h.final_reward, h.best_reward, h.best_step, h.window) == pytest.approx(full)

    with RunStore.open(d / STORE_FILE, readonly=False) as s:  # resumed from step 1200: the peak stays
        s.reopen("resumed", after_step=1200)
        for step in range(1201, 1401):
            s.record_metrics(step, {"reward": reward(step) - 0.5})
    with RunStore.open(d / STORE_FILE) as s:
        h, full = headline(s), from_every_step(s)
    assert (h.final_reward, h.best_reward, h.best_step) == pytest.approx(full[:3]) and h.best_step == 649

    with RunStore.open(d / STORE_FILE, readonly=False) as s:  # resumed before the peak: it is gone
        s.reopen("resumed", after_step=550)
        for step in range(551, 1601):
            s.record_metrics(step, {"reward": reward(step) / 2 if not 600 <= step < 650 else 0.0})
    with RunStore.open(d / STORE_FILE) as s:
        h, full = headline(s), from_every_step(s)
    assert (h.final_reward, h.best_reward, h.best_step) == pytest.approx(full[:3]) and h.best_step != 649

    with RunStore.open(d / STORE_FILE, readonly=False) as s:  # a store from before: no kept figure
        s._conn.execute("DELETE FROM meta WHERE key = ?", (BEST_REWARD_KEY,))
    with RunStore.open(d / STORE_FILE) as s:
        assert (headline(s).best_reward, headline(s).best_step) == pytest.approx(full[1:3])
