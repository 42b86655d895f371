"""The dashboard's prompts view (which problems is it learning), driven with Pilot on real stores: sort,
filter by status and text, pages, a prompt's history appearance by appearance, a live run followed; and the
session methods under it."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import settle as _settle
from recorded import write_recorded_run

from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE
from grpotui.tui.app import make_app
from grpotui.tui.data import PromptQuery, solve_rate
from grpotui.tui.screens.dashboard import DashboardScreen
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.prompts import PromptsView


async def _until(pilot, pred, timeout: float = 60.0, what: str = "condition") -> None:
    end = time.time() + timeout
    while time.time() < end:
        await pilot.app.workers.wait_for_complete()
        if pred():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _open_prompts(pilot) -> PromptsView:
    """The dashboard read and drawn, then its prompts opened with their key and the first page read."""
    app = pilot.app
    await _until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.loaded, what="the dashboard")
    await pilot.press("w")
    view = app.screen.query_one(PromptsView)
    await _until(pilot, lambda: view.page is not None and view.table.has_focus, what="the prompts read")
    return view


def _keys(view: PromptsView) -> list[str]:
    table = view.table
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


def _column(view: PromptsView, key: str) -> list[str]:
    table = view.table
    return [str(table.get_cell_at((i, table.get_column_index(key)))) for i in range(table.row_count)]


def _store(home: Path, name: str) -> RunStore:
    return RunStore.open(home / "runs" / name / STORE_FILE)


def write_many_prompts(home: Path, name: str, n: int, *, steps: int = 3) -> Path:
    """A finished run of ``n`` distinct problems, each seen at every step (one group each), its solve rate
    rising; problem 7's text has Rich markup in it (data, never markup)."""
    d = home / "runs" / name
    d.mkdir(parents=True, mode=0o700)
    s = RunStore.create(d / STORE_FILE, name=name, kind="run", config={"run": {}}, max_steps=steps)
    s.set_status("running", "training", step=0)
    for step in range(1, steps + 1):
        groups = []
        for i in range(n):
            question = f"What is {i} + 1?" if i != 7 else "What is [bold]7[/bold] + 0?"
            right = (i % 5 + step) % 5
            comps = [{"completion": f"The answer is {i if j < right else -1}.", "answer": str(i if j < right else -1),
                      "verdict": "right" if j < right else "wrong", "reward": 1.0 if j < right else 0.0,
                      "rewards": {}, "advantage": 0.0, "length": 5} for j in range(4)]
            groups.append({"prompt": f"Solve: {question}", "question": question, "row": i, "expected": str(i),
                           "completions": comps})
        s.record_groups(step, groups)
        s.record_metrics(step, {"reward": 0.5})
    s.set_status("finished", "done", step=steps, exit_code=0)
    s.close()
    return d


# ----------------------------------------------------------------------------- the view, driven
async def test_prompts_view_sorts_filters_searches_and_opens_a_history(home: Path) -> None:
    write_recorded_run(home, "run", steps=40)  # 4 problems, each in 20 groups over 40 steps
    with _store(home, "run") as s:
        first_seen = [r["key"] for r in s.prompts(sort="first_step", descending=False)]
        by_last_rate = [r["key"] for r in s.prompts(sort="last_solve_rate")]
        learned = {r["key"] for r in s.prompts(statuses=("learned",))}
    app = make_app(run_name="run")
    async with app.run_test(size=(160, 45)) as pilot:
        screen = app.screen
        view = await _open_prompts(pilot)
        assert screen.view == "prompts" and not screen.query_one("#body").display and view.display
        summary = str(view.query_one(".summary").render())
        assert summary.startswith("4 prompts: always right 0 (0%), never right 0 (0%) give no signal")
        assert "learned 3" in summary
        assert _keys(view) == first_seen  # as first seen
        trends = _column(view, "trend")
        assert all(len(t.strip()) == 20 for t in trends)  # 20 appearances each, drawn on 0..1
        assert _column(view, "groups") == ["20"] * 4

        # sort: o goes to the next column; a click on a header sorts by it, again reverses
        await pilot.press("o")  # from the steps to the reward
        await _until(pilot, lambda: view.query.sort == "mean_reward" and view.page.asked == view.query,
                     what="sorted")
        assert view.query.descending  # numbers high first
        with _store(home, "run") as s:
            assert _keys(view) == [r["key"] for r in s.prompts(sort="mean_reward")]
        table = view.table
        x = sum(c.get_render_width(table) for c in table.ordered_columns[:table.get_column_index("last")]) + 1
        await pilot.click(table, offset=(x, 0))
        await _until(pilot, lambda: view.query.sort == "last_solve_rate" and view.page.asked == view.query,
                     what="sorted by a click")
        assert _keys(view) == by_last_rate
        assert "▼" in str(table.ordered_columns[table.get_column_index("last")].label)
        await pilot.click(table, offset=(x, 0))
        await _until(pilot, lambda: not view.query.descending and view.page.asked == view.query, what="reversed")
        with _store(home, "run") as s:
            assert _keys(view) == [r["key"] for r in s.prompts(sort="last_solve_rate", descending=False)]

        # filter by status: f cycles all -> never -> always -> no signal -> learned
        for _ in range(4):
            await pilot.press("f")
        await _until(pilot, lambda: view.query.statuses == ("learned",) and view.page.asked == view.query,
                     what="filtered")
        assert set(_keys(view)) == learned and set(_column(view, "status")) == {"learned"}
        assert "showing 1–3 of 3 · status learned" in str(view.query_one(".showing").render())
        await pilot.press(*["f"] * 4)  # forgotten, mixed, once, all
        await _until(pilot, lambda: view.query.statuses == () and view.page.asked == view.query, what="all again")

        # filter by text
        await pilot.press("slash")
        assert app.focused is view.query_one("#prompts-search")
        await pilot.press(*"janet")
        await _until(pilot, lambda: view.query.text == "janet" and view.page.asked == view.query, what="searched")
        assert len(_keys(view)) == 1 and _keys(view)[0].startswith("Janet's ducks")
        await pilot.press("escape")  # clears the search, back to the table
        await _until(pilot, lambda: view.query.text == "" and len(_keys(view)) == 4, what="search cleared")
        assert app.focused is table and screen.view == "prompts"

        # enter: the history of the prompt under the cursor, its newest appearance first
        await pilot.press("down")
        key = _keys(view)[table.cursor_row]
        with _store(home, "run") as s:
            appearances = s.prompt_history(key)
            groups = {g.grp: g for g in s.groups_at(appearances[-2][0])}
        await pilot.press("enter")
        await _until(pilot, lambda: view.history.history is not None and view.history.completions is not None
                     and app.focused is not None and app.focused.parent is view.history.completions,
                     what="the history, its completions taking the keys")
        history = view.history.history
        assert view.opened == key and history.key == key and len(history.appearances) == len(appearances) == 20
        assert history.index == 19 and not table.display and view.history.display
        shown = view.history.completions
        assert shown.step_groups.step == appearances[-1][0] and len(shown.step_groups.groups) == 1
        assert shown.total == shown.shown == 8  # drawn: the group's 8 completions
        title = str(view.history.query_one(".title").render())
        assert f"appearance 20 of 20 · step {appearances[-1][0]} · group {appearances[-1][1]}" in title
        assert app.focused.parent is shown  # the keys scroll its completions

        # left / right between appearances; the dashboard's [ ] do not move its steps meanwhile
        await pilot.press("left")
        await _until(pilot, lambda: view.history.history.index == 18, what="the previous appearance")
        step, grp, n, right, pending = appearances[-2]
        assert shown.step_groups.step == step and shown.step_groups.groups[0].grp == grp
        assert shown.step_groups.groups[0].completions == groups[grp].completions
        title = str(view.history.query_one(".title").render())
        assert f"appearance 19 of 20 · step {step} · group {grp} · solve rate {solve_rate(n, right, pending):.2f}" \
            in title
        await pilot.press("left_square_bracket")
        await _settle(pilot)
        assert screen.selected_step is None and view.history.history.index == 18
        await pilot.press("right", "right")  # the second goes no further than the newest
        await _until(pilot, lambda: view.history.history.index == 19, what="the next appearance")
        await _settle(pilot)
        assert view.history.history.index == 19

        # escape: the table (cursor kept), escape again: the panels as they were
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert view.opened is None and table.display and app.focused is table
        assert view.history.completions is None  # mounted only while a history is on show
        assert screen.query_one(CompletionsView) is screen.query_one("#completions")
        assert _keys(view)[table.cursor_row] == key
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert screen.view == "curves" and screen.query_one("#body").display and not view.display
        assert app.focused is None or view not in app.focused.ancestors_with_self  # no keys to hidden widgets
        assert isinstance(app.screen, DashboardScreen)  # not back to the runs


async def test_prompts_are_read_a_page_at_a_time(home: Path) -> None:
    write_many_prompts(home, "many", 230)
    with _store(home, "many") as s:
        pages = [[r["key"] for r in s.prompts(sort="first_step", descending=False, limit=100, offset=o)]
                 for o in (0, 100, 200)]
    app = make_app(run_name="many")
    async with app.run_test(size=(160, 45)) as pilot:
        view = await _open_prompts(pilot)
        table = view.table
        assert _keys(view) == pages[0] and view.page.total == 230 and view.page.offset == 0
        assert "showing 1–100 of 230" in str(view.query_one(".showing").render())
        await pilot.press("ctrl+end")  # the last row of the page
        assert table.cursor_row == 99
        await pilot.press("down")  # past it: the next page
        await _until(pilot, lambda: view.page.offset == 100, what="the second page")
        assert _keys(view) == pages[1] and table.cursor_row == 0
        await pilot.press("ctrl+end", "down")
        await _until(pilot, lambda: view.page.offset == 200, what="the last page")
        assert _keys(view) == pages[2] and table.row_count == 30
        await pilot.press("ctrl+end", "down")  # no page after the last
        await _settle(pilot)
        assert view.page.offset == 200 and table.cursor_row == 29
        await pilot.press("ctrl+home", "up")  # before the first row: the page before, at its end
        await _until(pilot, lambda: view.page.offset == 100, what="back a page")
        assert _keys(view) == pages[1] and table.cursor_row == 99
        # a filter that leaves fewer prompts than the offset: back to a page that has some
        await pilot.press("slash", *"What is 7")
        await _until(pilot, lambda: view.page.asked == view.query and view.query.text == "What is 7",
                     what="searched")
        assert view.page.offset == 0 and _column(view, "prompt") == [f"What is {i} + 1?" for i in range(70, 80)]
        # text from the data is never markup
        await pilot.press("escape")
        await pilot.press("slash", *"[bold]")
        await _until(pilot, lambda: view.page.asked == view.query and view.query.text == "[bold]", what="searched")
        assert _column(view, "prompt") == ["What is [bold]7[/bold] + 0?"]


async def test_the_prompts_view_follows_a_live_run(home: Path) -> None:
    write_recorded_run(home, "live", steps=20, status="running")  # no runner: shown as lost, still read
    app = make_app(run_name="live")
    async with app.run_test(size=(160, 45)) as pilot:
        view = await _open_prompts(pilot)
        await pilot.press("r")  # newest first
        await _until(pilot, lambda: view.query.descending and view.page.asked == view.query, what="reversed")
        await pilot.press("down", "enter")
        await _until(pilot, lambda: view.history.history is not None, what="the history")
        key = view.opened
        before = view.history.history
        with RunStore.open(home / "runs" / "live" / STORE_FILE, readonly=False) as s:
            row = next(r for r in s.prompts() if r["key"] == key)
            seen = row["groups"]
            comps = [{"completion": "The answer is 7.", "answer": "7", "verdict": "right", "reward": 2.0,
                      "rewards": {}, "advantage": 0.0, "length": 4}] * 8
            s.record_groups(21, [{"prompt": row["prompt"], "expected": row["expected"], "completions": comps}])
            s.record_metrics(21, {"reward": 2.0})
        await _until(pilot, lambda: view.page.last_step == 21, what="the page read again")
        await _until(pilot, lambda: view.history.history is not before and len(view.history.history.appearances)
                     == seen + 1, what="the history read again")
        h = view.history.history
        assert h.index == seen and h.current.step == 21  # on the newest: follows it
        assert view.query.descending and view.opened == key  # order and history kept
        assert view.history.row["groups"] == seen + 1
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert _keys(view)[view.table.cursor_row] == key  # the cursor kept on its prompt
        assert _column(view, "groups")[view.table.cursor_row] == str(seen + 1)


async def test_prompts_are_a_tab_of_the_compact_layout(home: Path) -> None:
    write_recorded_run(home, "small", steps=10)
    app = make_app(run_name="small")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await _until(pilot, lambda: isinstance(app.screen, DashboardScreen) and screen.loaded, what="the dashboard")
        assert screen.has_class("-compact")
        await pilot.press("3")
        assert screen.view == "completions"
        await pilot.press("5")
        view = screen.query_one(PromptsView)
        await _until(pilot, lambda: view.page is not None and app.focused is view.table, what="the prompts tab")
        assert screen.view == "prompts" and screen.query_one("#views").active == "tab-prompts"
        assert view.table.row_count == 4
        await pilot.press("escape")  # back to the tab it came from
        await pilot.pause(0.1)
        assert screen.view == "completions"
        await pilot.press("w")  # the key opens the tab too
        await pilot.pause(0.1)
        assert screen.view == "prompts"


async def test_the_help_names_the_prompts_and_evidence_keys(home: Path) -> None:
    from grpotui.tui.modals.help import HelpScreen

    write_recorded_run(home, "h", steps=5)
    app = make_app(run_name="h")
    async with app.run_test(size=(160, 45)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.loaded, what="loaded")
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Prompts" in text and "Prompts: w (tab 5 below 120x34)" in text
        assert "or a for the newest" in text and "[ and ] then move between its evidence steps" in text


# ----------------------------------------------------------------------------- the session, without a screen
def test_the_session_reads_a_page_and_a_history(home: Path) -> None:
    from grpotui.tui.session import RunSession

    write_many_prompts(home, "many", 150)
    session = RunSession(name="many")
    page = session.prompts_page(PromptQuery(sort="first_step", limit=100))
    assert page.total == 150 and len(page.rows) == 100 and page.offset == 0 and page.last_step == 3
    assert page.summary["prompts"] == 150 and len(page.trends) == 100
    with _store(home, "many") as s:
        for r, trend in zip(page.rows, page.trends, strict=True):
            assert trend == tuple(solve_rate(n, k, p) for _, _, n, k, p in s.prompt_history(r["key"]))
    last = session.prompts_page(PromptQuery(offset=100))
    assert len(last.rows) == 50 and last.offset == 100
    past = session.prompts_page(PromptQuery(offset=300, statuses=("mixed",)))
    assert past.offset == (past.total - 1) // 100 * 100  # a filter that shrank the list: its last page
    key = page.rows[0]["key"]
    h = session.prompt_history(key)
    assert [a.step for a in h.appearances] == [1, 2, 3] and h.index == 2 and h.groups.step == 3
    assert [g.prompt for g in h.groups.groups] == [page.rows[0]["prompt"]]
    a = h.appearances[0]
    assert session.prompt_history(key, (a.step, a.grp)).index == 0
    assert session.prompt_history("no such prompt").current is None
    session.close()

