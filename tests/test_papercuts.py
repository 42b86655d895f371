"""Papercuts seen as a new user: each with the test that would have caught it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from conftest import REPO, compare_loaded
from recorded import write_recorded_run

from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE
from grpotui.tui.app import make_app
from grpotui.tui.widgets.curves import int_ticks


def _store(home: Path, name: str, beta: float, metrics: list[dict]) -> None:
    d = home / "runs" / name
    d.mkdir(parents=True)
    store = RunStore.create(d / STORE_FILE, name=name, kind="demo", config={"training": {"beta": beta}})
    for i, m in enumerate(metrics, start=1):
        store.record_metrics(i, m)
    store.set_status("finished", "done", exit_code=0)
    store.close()


async def _kl_title(home: Path, name: str) -> str:
    from grpotui.tui.widgets.curves import CurvesPanel, MetricPlot

    app = make_app(run_name=name)
    async with app.run_test(size=(160, 45)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            plot = app.screen.query_one("#plot-kl", MetricPlot)
            if app.screen.query_one(CurvesPanel).up_to_date and app.screen.info:
                break
        return plot.empty_message or ""


async def test_kl_says_no_data_yet_before_any_step_and_not_logged_only_when_beta_is_0(home: Path) -> None:
    _store(home, "fresh", 0.02, [])
    _store(home, "beta0", 0.0, [{"reward": 0.1, "loss": 0.2}, {"reward": 0.2, "loss": 0.1}])
    fresh = await _kl_title(home, "fresh")
    assert "no data yet" in fresh and "not logged" not in fresh
    assert "not logged (beta = 0)" in await _kl_title(home, "beta0")


def test_the_x_axis_ends_at_the_last_step_shown() -> None:
    assert int_ticks(1, 800)[-1] == 800 and int_ticks(1, 800)[0] == 1
    for lo, hi, n in ((1, 800, 4), (1, 799, 3), (5, 17, 4), (1, 2, 4), (100, 20000, 4)):
        ticks = int_ticks(lo, hi, n)
        assert ticks[0] == lo and ticks[-1] == hi and ticks == sorted(set(ticks)), ticks


def run_note_of(name: str) -> str:
    from grpotui.store.runs import open_run, run_note

    with open_run(name) as s:
        return run_note(s)


async def test_comparison_columns_fit_what_they_hold(home: Path) -> None:
    from textual.widgets import DataTable

    write_recorded_run(home, "a", steps=40)
    write_recorded_run(home, "b", steps=40, seed=8, alerts=False)
    app = make_app(compare=["a", "b"])
    async with app.run_test(size=(160, 45)) as pilot:
        await compare_loaded(pilot)
        screen = app.screen
        # from here the test stands in for the screen's polls (which would put back the stored figures
        # over the ones set below): the next one an hour away, the ones under way let end
        screen.POLL_EVERY = 3600
        for _ in range(2):
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
        # a live run's figures grow in place: its best step goes from 2 digits to 5
        screen.heads[1] = dataclasses.replace(screen.heads[1], best_step=12345, best_reward=0.181)
        screen._fill_table()
        await pilot.pause(0.1)
        table = screen.query_one("#cdiff", DataTable)
        for row in table.rows:
            for col in table.columns.values():
                cell = table.get_cell(row, col.key)
                text = (str(cell).splitlines() or [""])[0]
                assert col.get_render_width(table) >= len(text) + 2 * table.cell_padding, (text, col.width)
        assert any(str(table.get_cell(r, "run-1")) == "0.181 @ 12345" for r in table.rows)
        # and both runs' columns are on show, a long note too (shown whole with its key)
        from grpotui.store.runs import set_note

        set_note("a", "a long note that explains why this run was started, at some length " * 2)
        screen.heads[0] = dataclasses.replace(screen.heads[0], note=run_note_of("a"))
        screen._fill_table()
        await pilot.pause(0.1)
        assert table.virtual_size.width <= table.scrollable_content_region.width, (
            table.virtual_size.width, table.scrollable_content_region.width)


async def test_a_note_is_shown_whole_on_demand(home: Path) -> None:
    from grpotui.store.runs import set_note
    from grpotui.tui.modals.text import TextModal

    write_recorded_run(home, "noted", steps=10)
    note = "why: " + " ".join(f"word{i}" for i in range(60)) + " [bold]not markup[/bold] END"
    set_note("noted", note)
    write_recorded_run(home, "other", steps=10, seed=3)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.screen.current:
                break
        while app.screen.current != "noted":
            await pilot.press("down")
        await pilot.press("v")
        await pilot.pause(0.1)
        assert isinstance(app.screen, TextModal)
        shown = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "END" in shown and "[bold]not markup[/bold]" in shown
        await pilot.press("escape")
    # the comparison shows every run's note whole too
    app = make_app(compare=["other", "noted"])
    async with app.run_test(size=(120, 30)) as pilot:
        await compare_loaded(pilot)
        await pilot.press("v")
        await pilot.pause(0.1)
        assert isinstance(app.screen, TextModal)
        assert "END" in " ".join(str(s.render()) for s in app.screen.query("Static"))


def test_bench_store_creates_its_folder(tmp_path: Path) -> None:
    target = tmp_path / "home" / "runs" / "big"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_store.py"), "--steps", "10",
                           "--groups", "1", "--group-size", "2", "--text", "20", "--dir", str(target)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (target / "run.sqlite").exists() and (target.stat().st_mode & 0o777) == 0o700
