"""The group-spread panel and the completions view, driven in a tiny harness app with realistic groups."""

from __future__ import annotations

import time

from rich.console import Console
from rich.padding import Padding
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from grpotui.store.db import Completion, Group
from grpotui.tui.widgets.completions import FILTERS, SEARCH_DELAY, CompletionsView
from grpotui.tui.widgets.groups import GroupSpreadPanel

STEP = 12
SETTLE = SEARCH_DELAY + 0.1  # a search redraws once typing pauses

DUCKS = (
    "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her "
    "friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck "
    "egg. How much in dollars does she make every day at the farmers' market?"
)
ROBE = "A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total?"
HOUSE = (
    "Josh decides to try flipping a house.  He buys a house for $80,000 and then puts in $50,000 in "
    "repairs.  This increased the value of the house by 150%.  How much profit did he make?"
)
SPRINTS = (
    "James decides to run 3 sprints 3 times a week.  He runs 60 meters each sprint.  How many total meters?"
)


def completion(
    idx: int, text: str, answer: str | None, verdict: str | None, reward: float | None
) -> Completion:
    rewards = {"correctness": reward, "format": 0.0 if reward is None else min(reward, 0.5)}
    return Completion(
        idx, text, answer, verdict, reward, rewards, None if reward is None else reward - 0.5, 40 + idx
    )


def make_groups() -> list[Group]:
    """Four groups of one step: mixed, all right (zero spread), all unparseable, and markup-looking text."""
    ducks = [
        completion(0, "16 - 3 - 4 = 9 eggs are left. 9 * 2 = 18. The answer is 18.", "18", "right", 1.0),
        completion(
            1, "She eats 3 and bakes 4, so 16 - 7 = 9. 9 * $2 = $18. The answer is 18.", "18", "right", 1.0
        ),
        completion(2, "16 eggs * $2 = $32. The answer is 32.", "32", "wrong", 0.0),
        completion(3, "16 - 3 = 13, 13 - 4 = 9, and 9 * 2 = 18 dollars. #### 18", "18", "right", 1.0),
        completion(4, "I think she makes about twenty dollars a day.", None, "unparseable", 0.0),
        completion(5, "9 eggs are sold at $2 each: \\boxed{18}", "18", "right", 1.0),
        completion(6, "16 - 3 - 4 = 9. 9 / 2 = 4.5. The answer is 4.5, not 14.5.", "4.5", "wrong", 0.0),
        completion(
            7, "She sells 9 eggs and makes 9 * 2 = 18 dollars. The answer is $18.00.", "18", "right", 1.0
        ),
    ]
    robe = [
        completion(i, f"Try {i}: 2 + 2/2 = 3 bolts. The answer is 3.", "3", "right", 1.0) for i in range(8)
    ]
    house = [
        completion(
            i,
            "The house is worth a lot after the repairs, so he made a good profit.",
            None,
            "unparseable",
            0.0,
        )
        for i in range(8)
    ]
    sprints = [
        completion(
            0,
            "3 [red]sprints[/red] × 3 times = 9 sprints; 9 × 60 = 540. The answer is 540.",
            "540",
            "right",
            1.0,
        ),
        completion(1, "[bold]3 * 60 = 180[/bold] meters. The answer is 180.", "180", "wrong", 0.0),
        completion(2, "3 × 3 × 60 = 540 meters [/]. So he runs five hundred forty.", "540.0", "right", 1.0),
        completion(3, "He runs 3 * 3 * 60 = 540 meters a week.", "540", None, None),
    ]
    return [
        Group(STEP, 0, DUCKS, "18", tuple(ducks)),
        Group(STEP, 1, ROBE, "3", tuple(robe)),
        Group(STEP, 2, HOUSE, "70000", tuple(house)),
        Group(STEP, 3, SPRINTS, None, tuple(sprints)),
    ]


def big_groups(n_groups: int = 8, size: int = 8) -> list[Group]:
    """A heavy step: by default 8 groups × 8 completions of ~1.5 kB each."""
    body = "Let me think step by step. " + "16 - 3 - 4 = 9 eggs, and 9 * 2 = 18 dollars. " * 30
    return [
        Group(
            STEP,
            g,
            DUCKS,
            "18",
            tuple(
                completion(
                    i,
                    f"{body}The answer is {18 if i % 3 else 17}.",
                    "18" if i % 3 else "17",
                    "right" if i % 3 else "wrong",
                    1.0 if i % 3 else 0.0,
                )
                for i in range(size)
            ),
        )
        for g in range(n_groups)
    ]


class PanelApp(App[None]):
    """A harness that shows one step's groups in a GroupSpreadPanel."""

    def __init__(self, groups: list[Group] | None = None) -> None:
        super().__init__()
        self.groups = make_groups() if groups is None else groups
        self.selected: list[int] = []

    def compose(self) -> ComposeResult:
        yield GroupSpreadPanel()

    def on_mount(self) -> None:
        self.query_one(GroupSpreadPanel).show(STEP, self.groups)

    def on_group_spread_panel_group_selected(self, event: GroupSpreadPanel.GroupSelected) -> None:
        self.selected.append(event.grp)


class CompletionsApp(App[None]):
    """A harness that shows one step's completions in a CompletionsView."""

    def __init__(self, groups: list[Group] | None = None) -> None:
        super().__init__()
        self.groups = make_groups() if groups is None else groups

    def compose(self) -> ComposeResult:
        yield CompletionsView()

    def on_mount(self) -> None:
        view = self.query_one(CompletionsView)
        view.show(STEP, self.groups)
        view.query_one("VerticalScroll").focus()


def plain(widget: Static) -> str:
    """What a Static shows, as plain text (Rich renderables rendered at 100 columns)."""
    content = widget.content
    if isinstance(content, str):
        return content
    if hasattr(content, "plain"):
        return content.plain
    console = Console(width=100, record=True, color_system=None)
    console.print(content)
    return console.export_text()


def panel_rows(panel: GroupSpreadPanel) -> list[str]:
    return [str(option.prompt) for option in panel.query_one("OptionList").options]


def view_text(view: CompletionsView) -> str:
    return "\n".join(plain(card) for card in view.query(".group") if card.display)


# ------------------------------------------------------------------------------------------------------------
# GroupSpreadPanel
# ------------------------------------------------------------------------------------------------------------


async def test_panel_summary_and_rows_at_80_columns() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.query_one(GroupSpreadPanel)
        summary = plain(panel.query_one(".summary", Static))
        assert summary == (
            "step 12 · 4 groups × 4–8 samples · mean reward 0.56 · zero-spread 2/4 · "
            "right 15 / wrong 3 / unparseable 9 / unknown 1"
        )
        rows = panel_rows(panel)
        assert len(rows) == 4
        assert all(max(len(line) for line in row.splitlines()) <= 78 for row in rows)
        ducks, robe, house, sprints = rows
        assert (
            ducks.startswith("#0 █") and "min 0.00" in ducks and "mean 0.62" in ducks and "max 1.00" in ducks
        )
        assert "✓5 ✗2 ?1" in ducks and "no signal" not in ducks
        assert "no signal" in robe and "✓8 ✗0 ?0" in robe and "█" * 8 in robe.replace(" ", "")
        assert "no signal" in house and "?8" in house
        assert "○1" in sprints  # one completion without a verdict
        assert "·" in sprints and "mean 0.67" in sprints  # the reward-less sample is a dim dot


async def test_panel_uses_the_width_at_200_columns() -> None:
    app = PanelApp()
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        rows = panel_rows(app.query_one(GroupSpreadPanel))
        assert all("\n" not in row for row in rows)
        assert "█ █" in rows[1]  # wide cells
        assert "Janet’s ducks lay 16 eggs" in rows[0]  # the prompt fills what is left


async def test_panel_two_lines_per_group_when_narrow() -> None:
    app = PanelApp(big_groups(4, 64))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.query_one(GroupSpreadPanel)
        rows = panel_rows(panel)
        assert all(row.count("\n") == 1 for row in rows)
        assert "4 groups × 64 samples" in plain(panel.query_one(".summary", Static))
        await pilot.resize_terminal(200, 40)
        await pilot.pause()
        assert all("\n" not in row for row in panel_rows(panel))


async def test_panel_empty_state_and_selection() -> None:
    app = PanelApp([])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.query_one(GroupSpreadPanel)
        assert "no groups recorded yet" in plain(panel.query_one(".summary", Static))
        panel.show(STEP, make_groups())
        panel.query_one("OptionList").focus()
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.selected == [2]
        panel.show(STEP + 1, make_groups())  # a new step keeps the highlighted group
        await pilot.pause()
        assert panel.query_one("OptionList").highlighted == 2
        await pilot.click("OptionList", offset=(2, 0))
        await pilot.pause()
        assert app.selected == [2, 0]


async def test_panel_follows_the_theme() -> None:
    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        options = app.query_one(GroupSpreadPanel).query_one("OptionList").options
        assert "#4EBF71" in [span.style for span in options[1].prompt.spans]  # textual-dark's success
        app.theme = "catppuccin-latte"
        await pilot.pause()
        assert "#40A02B" in [span.style for span in options[1].prompt.spans]  # catppuccin-latte's success
        app.theme = "ansi-dark"  # ANSI colours cannot be blended: the nearest of the three
        await pilot.pause()
        assert "ansi_green" in [span.style for span in options[1].prompt.spans]


def test_panel_snapshot(snap_compare) -> None:
    assert snap_compare(PanelApp(), terminal_size=(100, 30))


# ------------------------------------------------------------------------------------------------------------
# CompletionsView
# ------------------------------------------------------------------------------------------------------------


async def test_completions_show_every_group_with_answers_and_markup_as_text() -> None:
    app = CompletionsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view = app.query_one(CompletionsView)
        assert plain(view.query_one(".summary", Static)) == "step 12 · showing 28 of 28 completions"
        text = view_text(view)
        for grp in range(4):
            assert f"group {grp} " in text
        assert text.count("no signal (zero spread)") == 2
        assert "expected 18" in text and "no expected answer" in text
        assert "3 [red]sprints[/red] × 3 times" in text  # markup-looking text stays text
        assert "[bold]3 * 60 = 180[/bold]" in text
        assert "→ answer: 540.0" in text  # not found literally
        assert "verdict unknown (no expected answer)" in text
        assert "(correctness 1.00 · format 0.50)" in text and "adv +0.50" in text and "len 40" in text


async def test_completions_highlight_the_last_occurrence_of_the_answer() -> None:
    app = CompletionsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        card = app.query_one(CompletionsView).query(".group").first(Static)
        bodies = [r.renderable for r in card.content.renderables if isinstance(r, Padding)]

        def highlighted(start: str) -> list[str]:
            body = next(b for b in bodies if b.plain.startswith(start))
            return [
                f"{span.start}:{body.plain[span.start : span.end]}" for span in body.spans if span.style.bold
            ]

        assert highlighted("16 - 3 - 4 = 9 eggs") == ["56:18"]  # the last "18", not the first
        assert highlighted("16 - 3 - 4 = 9. 9 / 2") == ["43:4.5"]  # not the "4.5" inside "14.5"


async def test_control_codes_in_the_data_never_reach_the_terminal() -> None:
    bell = "Ring\x07 \x1b[31mred\x1b[0m\r"
    groups = [
        Group(STEP, 0, f"{bell} prompt", "1", (completion(0, f"{bell} The answer is 1.", "1", "right", 1.0),))
    ]
    app = CompletionsApp(groups)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = view_text(app.query_one(CompletionsView))
        assert "Ring [31mred[0m prompt" in text and "Ring [31mred[0m The answer is 1." in text
    app = PanelApp(groups)
    async with app.run_test(size=(200, 24)) as pilot:
        await pilot.pause()
        assert "Ring [31mred[0m prompt" in panel_rows(app.query_one(GroupSpreadPanel))[0]


async def test_completions_filter_cycles_and_counts() -> None:
    app = CompletionsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view = app.query_one(CompletionsView)
        seen = []
        for _ in FILTERS:
            await pilot.press("f")
            await pilot.pause()
            seen.append((view.filter, plain(view.query_one(".summary", Static))))
        assert seen == [
            ("wrong", "step 12 · showing 3 of 28 completions (filter: wrong)"),
            ("unparseable", "step 12 · showing 9 of 28 completions (filter: unparseable)"),
            ("zero-spread", "step 12 · showing 16 of 28 completions (filter: zero-spread)"),
            ("all", "step 12 · showing 28 of 28 completions"),
        ]
        view.filter = "zero-spread"
        await pilot.pause()
        text = view_text(view)
        assert "group 1 " in text and "group 2 " in text and "group 0 " not in text
        view.filter = "wrong"
        await pilot.pause()
        assert "The answer is 32." in view_text(view) and "The answer is 18." not in view_text(view)
        try:
            view.filter = "bogus"
        except ValueError:
            pass
        else:
            raise AssertionError("an unknown filter is refused")


async def test_completions_search_is_case_insensitive_and_highlighted() -> None:
    app = CompletionsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view = app.query_one(CompletionsView)
        view.search = "TWENTY"
        # not redrawn per key: once the keys pause (a timer, not a race with the test's own pace)
        assert view.shown == 28 and view._search_timer is not None
        await pilot.pause(SETTLE)
        assert plain(view.query_one(".summary", Static)) == (
            'step 12 · showing 1 of 28 completions (search: "TWENTY")'
        )
        assert "about twenty dollars" in view_text(view)
        view.search = "robe"  # matches a prompt: the whole group shows
        view.filter = "all"
        await pilot.pause(SETTLE)
        assert view.shown == 8
        view.search = "[red]"
        await pilot.pause(SETTLE)
        assert view.shown == 1 and "[red]sprints" in view_text(view)
        view.search = "no such thing"
        await pilot.pause(SETTLE)
        assert view.shown == 0 and "no completions match" in view_text(view)


async def test_completions_empty_state_and_big_step_at_200_columns() -> None:
    app = CompletionsApp([])
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        view = app.query_one(CompletionsView)
        assert "no completions recorded yet" in view_text(view)
        start = time.perf_counter()
        view.show(STEP, big_groups())
        await pilot.pause()
        view.filter = "wrong"
        await pilot.pause()
        assert time.perf_counter() - start < 2.0
        assert view.total == 64 and len(view.query(".group")) == 8
        view.scroll_to_group(5)
        await pilot.pause()
        body = view.query_one(VerticalScroll)
        assert body.scroll_y > 0 and view.query(".group")[5].region.y == body.region.y


async def test_completions_follow_the_theme() -> None:
    def right_color(view: CompletionsView) -> str:
        card = view.query(".group").first(Static)
        header = next(
            r for r in card.content.renderables if isinstance(r, Text) and r.plain.startswith("  #0")
        )
        return next(
            str(span.style.color.name)
            for span in header.spans
            if "right" in header.plain[span.start : span.end]
        )

    app = CompletionsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view = app.query_one(CompletionsView)
        dark = right_color(view)
        app.theme = "catppuccin-latte"
        await pilot.pause()
        light = right_color(view)
        assert dark != light
        app.theme = "ansi-dark"
        await pilot.pause()
        assert right_color(view) != light


def test_completions_snapshot(snap_compare) -> None:
    assert snap_compare(CompletionsApp(), terminal_size=(100, 30))


# ------------------------------------------------------------------------------------------------------------
# An alert's evidence: the marks in the group spread, the completions filtered to them
# ------------------------------------------------------------------------------------------------------------


async def test_panel_marks_the_evidence_groups_and_completions_keep_only_them() -> None:
    app = PanelApp()
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        panel = app.query_one(GroupSpreadPanel)
        panel.marked = frozenset({2})
        await pilot.pause()
        rows = panel_rows(panel)
        assert rows[2].startswith("▸ #2") and all(r.startswith("  #") for i, r in enumerate(rows) if i != 2)
        assert panel.query_one("OptionList").highlighted == 2  # the first evidence group under the cursor
        assert "▸ 1 evidence group" in plain(panel.query_one(".summary", Static))
        panel.marked = frozenset()
        await pilot.pause()
        assert panel_rows(panel)[0].startswith("#0 ")
    app = CompletionsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(CompletionsView)
        view.only_groups = frozenset({0, 2})
        await pilot.pause()
        assert view.shown == 8 + 8 and "evidence: groups 0, 2" in plain(view.query_one(".summary", Static))
        assert "group 1" not in view_text(view) and "group 0" in view_text(view)
        view.only_groups = None
        await pilot.pause()
        assert view.shown == view.total


def test_evidence_of_an_alert() -> None:
    from grpotui.tui.data import Evidence

    groups = [{"step": 14, "group": 0}, {"step": 21, "group": 3}, {"step": 21, "group": 1}, {"step": 28, "group": 2}]
    ev = Evidence.of({"step": 25, "evidence": {"steps": [14, 28], "groups": groups}})
    assert ev.steps == (14, 21, 28) and ev.window == (14, 28) and ev.marked(21) == {1, 3} and ev.marked(15) == set()
    assert ev.start == 21  # the last evidence step at or before the alert's own
    assert ev.step_from(21, 1) == 28 and ev.step_from(21, -1) == 14 and ev.step_from(28, 1) == 28
    assert ev.step_from(14, -10) == 14 and ev.step_from(14, 10) == 28
    assert ev.step_from(17, 1) == 21 and ev.step_from(17, -1) == 14  # from between two of them
    assert ev.position(21) == 2 and ev.position(22) is None
    window = Evidence.of({"step": 35, "evidence": {"steps": [30, 33], "groups": []}})
    assert window.steps == () and window.window == (30, 33) and window.start == 33
    assert window.step_from(31, 1) is None  # the store finds the window's recorded steps
    older = Evidence.of({"step": 20, "evidence": None})
    assert older.steps == () and older.window is None and older.start == 20
