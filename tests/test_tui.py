"""The real app driven by Pilot: the runs screen, a dashboard replaying a recorded run, and live control
of a real runner process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import settle as _settle
from recorded import write_recorded_run
from textual.widgets import DataTable

from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE
from grpotui.tui.app import make_app
from grpotui.tui.screens.confirm import ConfirmModal
from grpotui.tui.screens.dashboard import DashboardScreen
from grpotui.tui.screens.runs import RunsScreen
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.groups import GroupSpreadPanel
from grpotui.tui.widgets.header import RunHeader


async def _until(pilot, pred, timeout: float = 60.0, what: str = "condition") -> None:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        await pilot.pause(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _header(app) -> str:
    return app.screen.query_one(RunHeader).render().plain


async def test_runs_screen_lists_every_run_with_its_status(home: Path) -> None:
    write_recorded_run(home, "done-run")
    write_recorded_run(home, "dead-run", status="running")  # no runner process: reads `lost`
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        table = app.screen.query_one("#runs", DataTable)
        rows = {str(table.get_cell_at((i, table.get_column_index("name")))):
                str(table.get_cell_at((i, table.get_column_index("status")))) for i in range(table.row_count)}
        assert rows == {"done-run": "finished", "dead-run": "lost"}
        await pilot.press("enter")
        await _settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_empty_home_says_how_to_start(home: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        assert app.screen.has_class("-empty")


async def test_replay_of_a_finished_run_steps_through_history(home: Path) -> None:
    write_recorded_run(home, "replay", steps=40)
    app = make_app(run_name="replay")
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen) and not screen.has_class("-compact")
        text = _header(app)
        assert "replay" in text and "FINISHED" in text and "step 40/40" in text
        spread = screen.query_one(GroupSpreadPanel)
        assert spread.groups[0].step == 40 and len(spread.groups) == 2
        banner = screen.query_one("#banner")
        assert banner.display and "kl_blowup" in str(banner.render()) and "step 20" in str(banner.render())
        # a finished run is read-only: no pause / stop / kill
        assert screen.check_action("pause_resume", ()) is False
        assert screen.check_action("kill_run", ()) is False
        await pilot.press("left_square_bracket", "left_square_bracket")
        await _settle(pilot)
        assert screen.selected_step == 38 and spread.groups[0].step == 38
        assert "viewing step 38" in _header(app)
        await pilot.press("left_curly_bracket")
        await _settle(pilot)
        assert screen.selected_step == 28
        await pilot.press("l")
        await _settle(pilot)
        assert screen.selected_step is None and spread.groups[0].step == 40
        await pilot.press("p")  # nothing to pause: no command reaches the store
        with RunStore.open(home / "runs" / "replay" / STORE_FILE) as s:
            assert s.commands() == []


async def test_completions_filter_and_search(home: Path) -> None:
    write_recorded_run(home, "look", steps=10)
    app = make_app(run_name="look")
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot)
        view = app.screen.query_one(CompletionsView)
        assert view.filter == "all"
        await pilot.press("f")
        assert view.filter == "wrong"
        await pilot.press("slash")
        await pilot.press(*"Janet")
        await _settle(pilot)
        assert view.search == "Janet"
        await pilot.press("escape")
        assert view.search == ""


async def test_compact_layout_moves_panels_into_tabs(home: Path) -> None:
    write_recorded_run(home, "small", steps=5)
    app = make_app(run_name="small")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert screen.has_class("-compact") and screen.view == "curves"
        curves = screen.query_one("#curves")
        assert app.focused is curves and curves.max_scroll_y > 0  # taller than the screen: keys scroll it
        await pilot.press("pagedown")
        await pilot.pause(0.1)
        assert curves.scroll_y > 0
        await pilot.press("3")
        assert screen.view == "completions"
        assert app.focused.parent is screen.query_one(CompletionsView)  # the keys scroll the completions
        assert screen.query_one("#completions-box").display and not screen.query_one("#top").display
        await pilot.press("2")
        assert screen.query_one("#groups").display and not screen.query_one("#completions-box").display


async def test_unknown_theme_falls_back_with_a_notice(home: Path) -> None:
    app = make_app(theme="no-such-theme")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        assert app.theme == "grpotui-dark"
    assert make_app(theme="grpotui-light").theme == "grpotui-light"


@pytest.mark.slow
async def test_live_pause_resume_and_kill_a_real_run(home: Path) -> None:
    from grpotui.runner.launch import launch, prepare

    cfg, name, kind = prepare(None, [], steps=100000, name="live")
    launch(cfg, name, kind)
    app = make_app(run_name="live")
    store = RunStore.open(home / "runs" / "live" / STORE_FILE)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = app.screen
        await _until(pilot, lambda: screen.last_step >= 10 and screen.status == "running", what="live steps")
        assert screen.query_one(GroupSpreadPanel).groups
        # metrics that arrive after the dashboard opened reach the curves
        await _until(pilot, lambda: len(screen.series.get("reward")[0]) >= 5, what="live curves")

        await pilot.press("p")
        await _until(pilot, lambda: store.run_info()["status"] == "paused", what="the runner to pause")
        await _until(pilot, lambda: screen.status == "paused", what="the header to say paused")
        assert "PAUSED" in _header(app)
        step = store.last_step()
        time.sleep(1.5)
        assert store.last_step() == step

        await pilot.press("p")
        await _until(pilot, lambda: store.last_step() > step + 3, what="steps after resume")

        await pilot.press("k")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # the safe answer: nothing happens
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("k")
        await pilot.press("y")
        await _until(pilot, lambda: store.run_info()["status"] == "killed", what="killed")
        await _until(pilot, lambda: screen.status == "killed", what="the header to say killed")
    store.close()


async def test_nan_metrics_are_shown_not_fatal(home: Path) -> None:
    write_recorded_run(home, "nan-run", steps=10, status="running")
    with RunStore.open(home / "runs" / "nan-run" / STORE_FILE, readonly=False) as s:
        for step in (11, 12):
            s.record_metrics(step, {"reward": float("nan"), "loss": float("inf"), "kl": float("nan")})
        s.set_status("failed", "ValueError: loss is NaN", step=12, exit_code=1)
    app = make_app(run_name="nan-run")
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot)
        await pilot.pause(0.3)  # a full render of every plot
        assert "FAILED" in _header(app)
        titles = [p.plt._active.monitor.title for p in app.screen.query("MetricPlot")]
        assert any("non-finite" in (t or "") for t in titles), titles


@pytest.mark.slow
async def test_new_run_from_the_runs_screen_lands_on_its_dashboard(home: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("n")
        from grpotui.tui.screens.new_run import NewRunScreen

        assert isinstance(app.screen, NewRunScreen)
        app.screen.query_one("#overrides").value = "training.max_stepz=20"
        app.screen.query_one("#name").value = "from-ui"
        await pilot.click("#launch")
        await _until(pilot, lambda: "max_stepz" in str(app.screen.query_one("#problems").render()),
                     what="the config problem to show")
        assert isinstance(app.screen, NewRunScreen)  # nothing started
        assert not (home / "runs" / "from-ui").exists()
        overrides = app.screen.query_one("#overrides")
        overrides.value = "training.max_steps=20"
        overrides.focus()
        await pilot.press("enter")  # enter in a field launches too
        await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the new run's dashboard")
        assert app.screen.run_name == "from-ui"
        await _until(pilot, lambda: app.screen.status == "finished", what="the run to finish")


async def test_failed_run_shows_its_reason_and_traceback(home: Path) -> None:
    d = write_recorded_run(home, "broke", steps=5, status="failed", alerts=False)
    (d / "traceback.txt").write_text("Traceback (most recent call last):\n  File \"my_reward.py\", line 3\n"
                                     "RuntimeError: reward exploded [on purpose]\n")
    app = make_app(run_name="broke")
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot)
        banner = str(app.screen.query_one("#banner").render())
        assert "FAILED" in banner and "t: traceback" in banner
        await pilot.press("t")
        await _settle(pilot)
        from grpotui.tui.screens.text import TextModal

        assert isinstance(app.screen, TextModal)
        assert "reward exploded [on purpose]" in str(app.screen.query_one("Static").render())
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_runs_screen_keys_runs_by_directory(home: Path) -> None:
    """A store copied to another directory keeps its recorded name: the list must still show both."""
    import shutil

    write_recorded_run(home, "orig", steps=3)
    shutil.copytree(home / "runs" / "orig", home / "runs" / "copy")
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(pilot)
        table = app.screen.query_one("#runs", DataTable)
        name = table.get_column_index("name")
        assert sorted(str(table.get_cell_at((i, name))) for i in range(table.row_count)) == ["copy", "orig"]


async def test_review_goes_to_any_step_and_shows_the_run_as_it_was_then(home: Path) -> None:
    """g jumps to a step by number: curves up to it, its groups, the alerts so far, the system then."""
    from grpotui.tui.screens.prompt import PromptModal
    from grpotui.tui.widgets.alerts import AlertsPanel
    from grpotui.tui.widgets.curves import MetricPlot
    from grpotui.tui.widgets.system import SystemPanel

    d = write_recorded_run(home, "review", steps=40)  # kl_blowup alert at step 20, a system sample at 40
    with RunStore.open(d / STORE_FILE) as s:
        reward_15 = dict(s.metrics())[15]["reward"]
    app = make_app(run_name="review")
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot)
        screen = app.screen
        alerts = screen.query_one(AlertsPanel)
        system = screen.query_one(SystemPanel)
        assert alerts.row_count == 1 and system.sample["gpus"][0]["name"] == "NVIDIA GeForce RTX 4090"
        await pilot.press("g")
        await pilot.pause(0.1)
        assert isinstance(app.screen, PromptModal)
        await pilot.press(*"15", "enter")
        await _settle(pilot, 6)
        assert screen.selected_step == 15 and "viewing step 15" in _header(app)
        assert {g.step for g in screen.query_one(GroupSpreadPanel).groups} == {15}
        assert screen.query_one(CompletionsView).total == 16
        assert alerts.row_count == 0  # the alert came at step 20: not yet
        assert not screen.query_one("#banner").display
        assert screen.query_one("#side").border_title == "system · at step 15"
        assert system.sample is None  # the only sample was taken at step 40
        title = screen.query_one("#plot-reward", MetricPlot).render().plain.splitlines()[0]
        assert f"{reward_15:.3g}" in title  # the curve ends at step 15
        # past the alert: it is listed; a step that was never recorded goes to the nearest one
        await pilot.press("g", *"25", "enter")
        await _settle(pilot, 6)
        assert screen.selected_step == 25 and alerts.row_count == 1
        assert screen.query_one("#banner").display and "kl_blowup" in str(screen.query_one("#banner").render())
        await pilot.press("g", *"999", "enter")
        await _settle(pilot, 6)
        assert screen.selected_step == 40 and system.sample["gpus"][0]["util"] == 87
        await pilot.press("g", *"x1", "enter")  # not a number: said so, nothing moves
        await _settle(pilot)
        assert screen.selected_step == 40
        await pilot.press("l")
        await _settle(pilot)
        assert screen.selected_step is None and screen.query_one("#side").border_title == "system"
