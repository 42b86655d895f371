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
from grpotui.tui.modals.confirm import ConfirmModal
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
        from grpotui.tui.modals.text import TextModal

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
    from grpotui.tui.modals.prompt import PromptModal
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


# ----------------------------------------------------------------------------- the session layer, without a screen
def test_run_session_answers_what_the_dashboard_asks(home: Path) -> None:
    from grpotui.control import ControlRefused
    from grpotui.tui.session import RunSession, SessionClosed

    d = write_recorded_run(home, "s", steps=40)  # a kl_blowup alert at step 20, one system sample at 40
    session = RunSession(name="s")
    up = session.poll()
    assert up.first and up.status == "finished" and up.last_group_step == 40
    assert [st for st, _ in up.metrics] == list(range(1, 41)) and [a["rule"] for a in up.alerts] == ["kl_blowup"]
    assert up.groups is not None and up.groups.step == 40 and len(up.groups.groups) == 2
    again = session.poll()  # nothing new: nothing read twice
    assert not again.first and again.metrics == [] and again.alerts == [] and again.groups is None
    assert session.poll(15).groups.step == 15  # the step on show is another one: its groups
    assert session.step_from(40, -1) == 39 and session.step_from(30, -10) == 20
    assert session.step_from(3, -10) == 1 and session.step_from(38, 10) == 40  # past either end: the end
    assert session.nearest_step(999) == 40 and session.nearest_step(-5) == 1
    assert session.nearest_step(10**30) == 40  # beyond any integer SQLite holds
    then = session.snapshot(15)
    assert then.groups.step == 15 and then.system is None  # the only sample was taken at step 40
    assert session.snapshot(None, groups=False).system["gpus"][0]["util"] == 87
    assert session.alerts_upto(19) == [] and len(session.alerts_upto(20)) == len(session.alerts_upto(None)) == 1
    assert session.config["training"]["max_steps"] == 40
    (d / "traceback.txt").write_text("RuntimeError: boom\n")
    assert session.failure_text() == ("s: traceback", "RuntimeError: boom\n")
    with pytest.raises(ControlRefused, match="finished"):  # control.send decides; nothing is written
        session.send("pause")
    with session._reading() as store:  # a read under way when the screen closes its session...
        session.close()
        assert store.run_info()["name"] == "s"  # ...ends with the store still open
    assert session._store is None
    with pytest.raises(SessionClosed):
        session.poll()


# ----------------------------------------------------------------------------- keys, palette, errors, layers
def _told(app) -> list[tuple[str, str, str]]:
    """Every notification the app shows from now on, as (title, message, severity)."""
    told: list[tuple[str, str, str]] = []
    notify = app.notify

    def recording(message, *, title="", severity="information", **kw):
        told.append((title, str(message), severity))
        return notify(message, title=title, severity=severity, **kw)

    app.notify = recording
    return told


async def test_keys_from_settings_toml_and_bad_entries_named_at_start(home: Path) -> None:
    write_recorded_run(home, "a", steps=3)
    write_recorded_run(home, "b", steps=3, seed=3)
    (home / "settings.toml").write_text('theme = "grpotui-light"\n[keys]\n"runs.mark" = "m"\n'
                                        '"dashbord.pause" = "space"\n"runs.new" = 3\n"runs.compare" = "c, x"\n')
    app = make_app()
    told = _told(app)
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert app.theme == "grpotui-light"
        assert isinstance(screen, RunsScreen) and screen.current
        problems = [m for title, m, _ in told if title == "settings"]
        assert len(problems) == 2 and all("\n" not in p for p in problems)
        assert any("'dashbord.pause'" in p and "did you mean 'dashboard.pause'" in p for p in problems)
        assert any("'runs.new'" in p and "not 3" in p for p in problems)
        await pilot.press("space")  # no longer marks: m does
        assert screen.marked == []
        await pilot.press("m", "m")
        assert len(screen.marked) == 2
        await pilot.press("x")  # one of the two keys now given to compare
        await pilot.pause(0.1)
        assert type(app.screen).__name__ == "CompareScreen"


async def test_command_palette_offers_the_screens_actions_and_runs_them(home: Path) -> None:
    from textual.command import CommandPalette

    from grpotui.tui.commands import ScreenCommands
    from grpotui.tui.modals.prompt import PromptModal

    d = write_recorded_run(home, "broke", steps=5, status="failed", alerts=False)
    (d / "traceback.txt").write_text("RuntimeError: reward exploded\n")
    write_recorded_run(home, "done", steps=5, seed=3)
    app = make_app(run_name="done")
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot)
        offered = [title for title, _, _ in ScreenCommands(app.screen).commands()]
        assert "Go to a step by number" in offered and "Filter the completions" in offered
        assert not {"Pause the run at the next step, or resume it", "Kill the run now",
                    "The failed run's traceback", "Follow the newest step"} & set(offered)  # not enabled here
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"go to a step")
        await _until(pilot, lambda: app.screen.query_one("CommandList").option_count > 0, what="the hits")
        await pilot.press("down", "enter")
        await _until(pilot, lambda: isinstance(app.screen, PromptModal), what="the step prompt")
        await pilot.press(*"3", "enter")
        await _settle(pilot)
        assert app.screen.selected_step == 3
        await pilot.press("escape")
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        while screen.current != "broke":
            await pilot.press("down")
        helps = {title: help for title, help, _ in ScreenCommands(screen).commands()}
        assert helps["Compare the marked runs"].startswith("key c")  # with the key that does the same
    app = make_app(run_name="broke")
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot)
        offered = [title for title, _, _ in ScreenCommands(app.screen).commands()]
        assert "The failed run's traceback" in offered


async def test_a_worker_error_is_shown_and_the_app_goes_on(home: Path) -> None:
    """The runs directory becomes unreadable: the poll's error is a notification, and polling goes on."""
    write_recorded_run(home, "one", steps=3)
    runs, iterdir = home / "runs", Path.iterdir

    def unreadable(self: Path):
        if self == runs:
            raise PermissionError(13, "Permission denied", str(self))
        return iterdir(self)

    app = make_app()
    told = _told(app)
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert [r["name"] for r in screen.runs] == ["one"]
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(Path, "iterdir", unreadable)
            await pilot.press("r")
            await _until(pilot, lambda: any("Permission denied" in m for _, m, _ in told), what="the error shown")
        title, _, severity = next(t for t in told if "Permission denied" in t[1])
        assert title == "cannot read the runs" and severity == "error"
        assert app.is_running and app.screen is screen
        # readable again: the next poll (re-armed after the error) lists the new run
        write_recorded_run(home, "two", steps=3, seed=3)
        await _until(pilot, lambda: len(screen.runs) == 2, what="the runs listed again")


def test_settings_are_read_with_the_standard_library_only() -> None:
    import json
    import subprocess
    import sys

    code = "import sys, json, grpotui.settings; print(json.dumps(sorted(sys.modules)))"
    loaded = {m.split(".")[0] for m in json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                                                  text=True, check=True).stdout)}
    assert not loaded & {"textual", "rich", "torch", "transformers", "trl"}


def test_screens_do_not_import_each_other_and_the_ui_never_imports_the_cli() -> None:
    """Screens are opened by name through the app; modals, widgets and the session are shared."""
    import ast

    import grpotui.tui

    root = Path(grpotui.tui.__file__).parent

    def imported(path: Path) -> set[str]:
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        return names

    screens = {p.stem for p in (root / "screens").glob("*.py") if p.stem != "__init__"}
    assert {"runs", "dashboard", "compare", "new_run"} <= screens
    for stem in screens:
        others = {f"grpotui.tui.screens.{s}" for s in screens - {stem}}
        assert not imported(root / "screens" / f"{stem}.py") & others, f"screens/{stem}.py imports a screen"
    for path in root.rglob("*.py"):
        assert not {n for n in imported(path) if n == "grpotui.cli" or n.startswith("grpotui.cli.")}, path


# ----------------------------------------------------------------------------- an alert's evidence
def _evidence_run(home: Path, name: str = "ev") -> Path:
    """The recorded run (kl_blowup at step 20, recorded without evidence as an older store has it), with a
    no_signal alert naming groups at steps 14, 21 and 28 and a length_runaway naming only its window."""
    d = write_recorded_run(home, name, steps=40)
    with RunStore.open(d / STORE_FILE, readonly=False) as s:
        s.record_alert(step=28, rule="no_signal", severity="warning", message="zero-spread groups 90% over 50 steps",
                       action="warn", values={}, evidence={"steps": [14, 28], "groups": [
                           {"step": 14, "group": 0}, {"step": 21, "group": 0}, {"step": 28, "group": 1}]})
        s.record_alert(step=35, rule="length_runaway", severity="warning", message="clipped 90%", action="warn",
                       values={}, evidence={"steps": [30, 33], "groups": []})
    return d


async def test_choosing_an_alert_goes_to_its_evidence_and_escape_comes_back(home: Path) -> None:
    from grpotui.tui.widgets.alerts import AlertChosen, AlertsPanel

    _evidence_run(home)
    chosen: list[str] = []
    app = make_app(run_name="ev")

    seen: list[AlertChosen] = []

    def hook(message) -> None:  # once per message (the hook sees it at each node it bubbles through)
        if isinstance(message, AlertChosen) and not any(m is message for m in seen):
            seen.append(message)
            chosen.append(type(message.control).__name__)

    async with app.run_test(size=(160, 45), message_hook=hook) as pilot:
        await _settle(pilot)
        screen = app.screen
        alerts = screen.query_one(AlertsPanel)
        spread = screen.query_one(GroupSpreadPanel)
        comps = screen.query_one("#completions", CompletionsView)
        banner = screen.query_one("#banner")
        assert alerts.row_count == 3

        # from a step being reviewed: enter on the alert in the alerts panel
        await pilot.press("g", *"30", "enter")
        await _settle(pilot, 6)
        assert screen.selected_step == 30 and alerts.row_count == 2  # kl_blowup, no_signal so far
        alerts.focus()
        alerts.move_cursor(row=1)
        await pilot.press("enter")
        await _settle(pilot, 6)
        assert chosen == ["AlertsPanel"]
        assert screen.selected_step == 28 and spread.groups[0].step == 28
        assert spread.marked == {1} and comps.only_groups == {1}
        assert comps.shown == 8 and comps.total == 16  # the one evidence group's completions
        assert "▸ 1 evidence group" in str(spread.query_one(".summary").render())
        assert "evidence: group 1" in str(comps.query_one(".summary").render())
        text = str(banner.render())
        assert "evidence: no_signal" in text and "step 28: 3 of 3 evidence steps, 1 group marked" in text
        # [ ] between the evidence steps (14, 21, 28), no further than either end; never back to live
        await pilot.press("left_square_bracket")
        await _settle(pilot, 6)
        assert screen.selected_step == 21 and spread.marked == {0} and comps.only_groups == {0}
        assert "step 21: 2 of 3 evidence steps" in str(banner.render())
        await pilot.press("left_square_bracket", "left_square_bracket")
        await _settle(pilot, 6)
        assert screen.selected_step == 14 and spread.groups[0].step == 14 and spread.marked == {0}
        await pilot.press("right_curly_bracket")  # 10 evidence steps on: the last of them
        await _settle(pilot, 6)
        assert screen.selected_step == 28 and spread.marked == {1}
        await pilot.press("right_square_bracket")
        await _settle(pilot, 6)
        assert screen.selected_step == 28
        # escape: back to the step the user was on, nothing marked
        await pilot.press("escape")
        await _settle(pilot, 6)
        assert isinstance(app.screen, DashboardScreen) and screen.evidence is None
        assert screen.selected_step == 30 and spread.groups[0].step == 30
        assert spread.marked == frozenset() and comps.only_groups is None and comps.shown == 16
        assert "no_signal" in str(banner.render()) and "evidence:" not in str(banner.render())

        # from following the newest step: a click on the banner (the newest alert, which names only its window)
        await pilot.press("l")
        await _settle(pilot)
        assert screen.selected_step is None and "length_runaway" in str(banner.render())
        await pilot.click("#banner")
        await _settle(pilot, 6)
        assert chosen[-1] == "AlertBanner"
        assert screen.selected_step == 33 and spread.marked == frozenset() and comps.only_groups is None
        assert "steps 30–33" in str(banner.render())
        await pilot.press("right_square_bracket")  # the end of its window
        await _settle(pilot, 6)
        assert screen.selected_step == 33
        await pilot.press("left_square_bracket")
        await _settle(pilot, 6)
        assert screen.selected_step == 32
        await pilot.press("left_curly_bracket")
        await _settle(pilot, 6)
        assert screen.selected_step == 30
        await pilot.press("escape")
        await _settle(pilot, 6)
        assert screen.selected_step is None and spread.groups[0].step == 40  # following the newest step again

        # an alert recorded without evidence (an older store): its step; [ ] step as usual; escape comes back
        alerts.focus()
        alerts.move_cursor(row=0)
        await pilot.press("enter")
        await _settle(pilot, 6)
        assert screen.selected_step == 20 and "no evidence recorded" in str(banner.render())
        await pilot.press("left_square_bracket")
        await _settle(pilot, 6)
        assert screen.selected_step == 19
        await pilot.press("escape")
        await _settle(pilot, 6)
        assert screen.selected_step is None and screen.evidence is None
        await pilot.press("escape")  # no evidence on show: escape goes back to the runs
        assert isinstance(app.screen, RunsScreen)


async def test_evidence_in_the_compact_layout_shows_the_groups_then_comes_back(home: Path) -> None:
    from grpotui.tui.widgets.alerts import AlertsPanel

    _evidence_run(home, "evc")
    app = make_app(run_name="evc")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        screen = app.screen
        await pilot.press("4")  # the alerts are in the system tab
        assert screen.view == "system" and app.focused is screen.query_one(AlertsPanel)
        await pilot.press("a")  # the newest alert: length_runaway, its window
        await _settle(pilot, 6)
        assert screen.view == "groups" and screen.selected_step == 33
        await pilot.press("escape")
        await _settle(pilot, 6)
        assert screen.view == "system" and screen.selected_step is None
