"""Which problems is the run learning: a paged table of the run's prompts (sortable, filterable by status and
by text, each with its solve rate over its appearances) and one prompt's history, appearance by appearance,
with the completions of each. The screen reads the pages and histories; this draws them and says what the
user asked for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from grpotui.tui.data import (
    STATUS_FILTERS,
    TREND_POINTS,
    Appearance,
    PromptHistory,
    PromptQuery,
    PromptsPage,
    sparkline,
    status_label,
)
from grpotui.tui.widgets.completions import CONTROL_CODES, CompletionsView

# The table's columns: (label, column key, the field it sorts by; None: not sortable)
COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("status", "status", "status"),
    ("seen", "groups", "groups"),
    ("right", "right", "right"),
    ("first", "first", "first_solve_rate"),
    ("last", "last", "last_solve_rate"),
    ("solve rate", "trend", None),
    ("prompt", "prompt", "prompt"),
    ("steps", "steps", "first_step"),
    ("reward", "reward", "mean_reward"),
    ("no signal", "zero", "zero_spread_groups"),
)
SORTS = tuple(field for _, _, field in COLUMNS if field)
SORT_NAMES = {field: label for label, _, field in COLUMNS if field}
TEXT_SORTS = ("prompt", "question", "expected", "status")  # sorted low first by default, numbers high first
STATUS_STYLE = {"learned": "bold $text-success", "forgotten": "bold $text-error", "never": "bold $text-warning",
                "always": "bold $text-warning", "mixed": "bold", "once": "bold $text-muted"}
TREND_WIDE = TREND_POINTS  # cells of the solve-rate trend on a wide screen
OTHER_COLUMNS = 72  # cells of the columns but the trend and the prompt, with their padding
MIN_PROMPT = 24  # characters of the prompt at the least (the table scrolls sideways when narrow)


def _rate(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _one_line(text: str) -> str:
    """Model and dataset text is data: one line, no control codes (never markup: it goes in a Text)."""
    return " ".join(text.translate(CONTROL_CODES).split())


class AppearanceChosen(Message):
    """The user opened a prompt's history (``at`` None: its newest appearance) or moved to another of its
    appearances (``at``: its ``(step, group)``); ``control`` is the widget it was chosen in."""

    def __init__(self, key: str, at: tuple[int, int] | None, chooser: Widget) -> None:
        super().__init__()
        self.key = key
        self.at = at
        self.chooser = chooser

    @property
    def control(self) -> Widget:
        return self.chooser


class PromptsTable(DataTable):
    """One page of prompts; the cursor moving past either end of the page asks for the next or previous."""

    BINDINGS = [Binding("enter", "select_cursor", "History", tooltip="The prompt's history, appearance by "
                        "appearance", id="prompts.open")]

    class PageWanted(Message):
        """The cursor went past the end (``delta`` 1) or the start (-1) of the page."""

        def __init__(self, delta: int) -> None:
            super().__init__()
            self.delta = delta

    more_before: var[bool] = var(False)
    more_after: var[bool] = var(False)

    def _at_end(self) -> bool:
        return self.row_count > 0 and self.cursor_row >= self.row_count - 1 and self.more_after

    def _at_start(self) -> bool:
        return self.cursor_row <= 0 and self.more_before

    def _page_or(self, delta: int, move: Callable[[], None]) -> None:
        """Past the end (or the start) of the page: ask for the next (previous) one; else move."""
        if (self._at_end() if delta > 0 else self._at_start()):
            self.post_message(self.PageWanted(delta))
        else:
            move()

    def action_cursor_down(self) -> None:
        self._page_or(1, super().action_cursor_down)

    def action_cursor_up(self) -> None:
        self._page_or(-1, super().action_cursor_up)

    def action_page_down(self) -> None:
        self._page_or(1, super().action_page_down)

    def action_page_up(self) -> None:
        self._page_or(-1, super().action_page_up)


class PromptHistoryView(Vertical, can_focus=True):
    """One prompt's appearances: which one is on show (i of n, its step, group and solve rate), the solve
    rate of each as a strip, and that group's completions with their verdicts.

    Its :class:`CompletionsView` is mounted while a history is on show and removed when it closes, so the
    dashboard's own completions stay the one ``query_one(CompletionsView)`` finds; until it is there the view
    itself takes the keys.
    """

    DEFAULT_CSS = """
    PromptHistoryView > .title { height: auto; }
    PromptHistoryView > .strip { height: 1; }
    PromptHistoryView > CompletionsView { height: 1fr; }
    """

    BINDINGS = [
        Binding("left", "move(-1)", "Earlier", tooltip="The prompt's previous appearance", id="prompts.earlier",
                priority=True),
        Binding("right", "move(1)", "Later", tooltip="The prompt's next appearance", id="prompts.later",
                priority=True),
        Binding("escape", "close", "Table", tooltip="Back to the table of prompts", id="prompts.table"),
    ]

    class Closed(Message):
        """Escape: back to the table."""

    history: var[PromptHistory | None] = var(None, init=False)
    """The prompt's appearances and the group on show (set by the prompts view)."""
    row: var[dict[str, Any] | None] = var(None, init=False)
    """The prompt's row of figures, as the table last read it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._title = Static(classes="title")
        self._strip = Static(classes="strip")
        self.completions: CompletionsView | None = None
        """The completions of the appearance on show (None: no history on show)."""

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._strip

    def watch_history(self, history: PromptHistory | None) -> None:
        if history is not None:
            if self.completions is None:
                self.completions = CompletionsView()
                self.call_next(self._mount_completions, self.completions)
            elif self.completions.is_mounted:
                self.completions.step_groups = history.groups
        self._redraw()

    async def _mount_completions(self, view: CompletionsView) -> None:
        if view is not self.completions:
            return  # closed meanwhile
        await self.mount(view)
        if view is not self.completions:  # closed while it was being mounted
            await view.remove()
            return
        if self.history is not None:
            view.step_groups = self.history.groups
        if self.has_focus:  # the keys go on to the completions (they scroll them)
            self.focus()

    def close(self) -> None:
        """Nothing on show: the completions go."""
        self.history = None
        self.row = None
        view, self.completions = self.completions, None
        if view is not None and view.is_attached:
            view.remove()

    def watch_row(self) -> None:
        self._redraw()

    def on_resize(self, event: Resize) -> None:
        self._redraw()

    def focus(self, scroll_visible: bool = True) -> PromptHistoryView:
        if self.completions is not None and self.completions.is_mounted:
            self.completions.query_one("VerticalScroll").focus(scroll_visible)
            return self
        return super().focus(scroll_visible)

    def action_move(self, delta: int) -> None:
        h = self.history
        if h is None or not h.appearances:
            return
        i = max(0, min(len(h.appearances) - 1, h.index + delta))
        if i != h.index:
            a = h.appearances[i]
            self.post_message(AppearanceChosen(h.key, (a.step, a.grp), self))

    def action_close(self) -> None:
        self.post_message(self.Closed())

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        h, row = self.history, self.row
        parts: list[str | tuple[str, str] | Content] = []
        if row is not None:
            parts += [(row["status"], STATUS_STYLE.get(row["status"], "bold")), " · "]
        if h is None or h.current is None:
            parts.append(("reading its history…" if h is None else "no appearance recorded", "$text-muted"))
            self._title.update(Content.assemble(*parts))
            self._strip.update("")
            return
        a = h.current
        parts += [
            "appearance ", (f"{h.index + 1}", "bold"), f" of {len(h.appearances)} · step ", (str(a.step), "bold"),
            f" · group {a.grp} · solve rate ", (_rate(a.rate), "bold"), f" ({a.right} of {a.n - a.pending} right",
        ]
        parts.append(f", {a.pending} judging)" if a.pending else ")")
        parts.append(("   ← → appearances · escape: the table", "$text-muted"))
        self._title.update(Content.assemble(*parts))
        label = "solve rate by appearance "
        strip = self._strip_line(h.appearances, h.index, max(10, self.size.width - len(label) - 2))
        self._strip.update(Content.assemble((label, "$text-muted"), strip))

    @staticmethod
    def _strip_line(appearances: tuple[Appearance, ...], index: int, width: int) -> Content:
        """The solve rate of each appearance (0 to 1), the one on show reversed; a window around it when
        they are more than fit."""
        start = max(0, min(index - width // 2, len(appearances) - width))
        cells = []
        for i, a in enumerate(appearances[start : start + width], start):
            bar = sparkline([a.rate], 1, lo=0.0, hi=1.0) or "·"
            cells.append((bar, "reverse bold" if i == index else "$text-success"))
        return Content.assemble(*cells)


class PromptsView(Vertical):
    """The run's prompts, a page at a time: a summary of their statuses, the table, and a prompt's history."""

    DEFAULT_CSS = """
    PromptsView > .summary { height: auto; }
    PromptsView > .showing { height: auto; color: $text-muted; }
    PromptsView > #prompts-search { display: none; }
    PromptsView > #prompts-search.-shown { display: block; }
    PromptsView > PromptsTable { height: 1fr; }
    PromptsView > PromptHistoryView { display: none; height: 1fr; }
    PromptsView.-history > PromptHistoryView { display: block; }
    PromptsView.-history > PromptsTable, PromptsView.-history > .showing,
    PromptsView.-history > #prompts-search { display: none; }
    """

    BINDINGS = [
        Binding("f", "cycle_status", "Status", tooltip="Filter the prompts by status", id="prompts.status"),
        Binding("o", "cycle_sort", "Sort", tooltip="Sort the prompts by the next column", id="prompts.sort"),
        Binding("r", "reverse", "Reverse", tooltip="Reverse the order of the prompts", id="prompts.reverse"),
        Binding("slash", "search", "Search", tooltip="Search the prompts", id="prompts.search"),
        Binding("escape", "close", "Back", tooltip="Close the prompts", id="prompts.close"),
    ]

    class QueryChanged(Message):
        """The user changed the filter, the order or the page: ``query`` is to be read."""

        def __init__(self, query: PromptQuery) -> None:
            super().__init__()
            self.query = query

    class Closed(Message):
        """Escape on the table: the user is done with the prompts."""

    query: var[PromptQuery] = var(PromptQuery, init=False)
    """The page of prompts asked for."""
    page: var[PromptsPage | None] = var(None, init=False)
    """The page on show (set by the screen; a page read for another query is left out)."""
    opened: var[str | None] = var(None, init=False)
    """The key of the prompt whose history is open (None: the table is on show)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._summary = Static(classes="summary")
        self._showing = Static(classes="showing")
        self._search = Input(placeholder="search the prompts (enter: done, escape: clear)", id="prompts-search")
        self.table = PromptsTable(cursor_type="row", zebra_stripes=True)
        self.history = PromptHistoryView()
        self._drawn: tuple[Any, ...] | None = None
        self._cursor_to: str | None = None  # "first" / "last": where the cursor goes on the next page read

    def compose(self) -> ComposeResult:
        yield self._summary
        yield self._showing
        yield self._search
        yield self.table
        yield self.history

    def on_mount(self) -> None:
        self._redraw()

    # ---------------------------------------------------------------- what the screen hands in
    def show_page(self, page: PromptsPage) -> None:
        """A page read for the query on show (one read for an older query is left out)."""
        if page.asked != self.query:
            return
        if page.offset != self.query.offset:  # the filter shrank the list: the page read is the last one
            self.set_reactive(PromptsView.query, replace(self.query, offset=page.offset))
        self.page = page

    def show_history(self, history: PromptHistory) -> None:
        if history.key == self.opened:
            self.history.history = history

    @property
    def history_at(self) -> tuple[int, int] | None:
        """The appearance on show, to read again when the run moves on (None: the newest, followed)."""
        h = self.history.history
        if h is None or h.key != self.opened or h.current is None or h.index == len(h.appearances) - 1:
            return None
        return h.current.step, h.current.grp

    def focus(self, scroll_visible: bool = True) -> PromptsView:
        """The keys go to the history when open, else to the table."""
        if self.opened is not None:
            self.history.focus(scroll_visible)
        else:
            self.table.focus(scroll_visible)
        return self

    # ---------------------------------------------------------------- drawing
    def watch_query(self, query: PromptQuery) -> None:
        self._showing.update(self._showing_line())
        self.post_message(self.QueryChanged(query))

    def watch_page(self, page: PromptsPage | None) -> None:
        self._redraw()
        if page is not None and self.opened is not None:
            row = next((r for r in page.rows if r["key"] == self.opened), None)
            if row is not None:
                self.history.row = row

    def watch_opened(self, opened: str | None) -> None:
        self.set_class(opened is not None, "-history")
        if opened is None:
            self.history.close()
        self.call_after_refresh(self.focus)
        self.screen.refresh_bindings()

    def on_resize(self, event: Resize) -> None:
        if self._drawn is not None and self._drawn[-1] != self._widths():
            self._redraw()

    def _widths(self) -> tuple[int, int]:
        """(cells of the trend, characters of the prompt) for the width on show."""
        width = self.size.width - 2  # the scrollbar
        trend = TREND_WIDE if width >= 140 else 20 if width >= 100 else 12
        return trend, max(MIN_PROMPT, width - OTHER_COLUMNS - trend)

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        self._summary.update(self._summary_line())
        self._showing.update(self._showing_line())
        page = self.page
        if page is None:
            return
        drawn = (page.rows, page.trends, self.query.sort, self.query.descending, self._widths())
        if drawn == self._drawn and self._cursor_to is None:
            return  # read again, nothing changed: the table stays as it is (cursor, scroll)
        self._drawn = drawn
        table = self.table
        keep = self._cursor_key()
        keep_row = table.cursor_row
        table.clear(columns=True)
        for label, key, sort in COLUMNS:
            if sort == self.query.sort:
                label = f"{label} {'▼' if self.query.descending else '▲'}"
            table.add_column(Text(label, style="bold" if sort == self.query.sort else ""), key=key)
        trend_w, prompt_w = self._widths()
        for r, trend in zip(page.rows, page.trends, strict=True):
            table.add_row(*self._cells(r, trend, trend_w, prompt_w), key=r["key"])
        table.more_before = page.offset > 0
        table.more_after = page.offset + len(page.rows) < page.total
        keys = [r["key"] for r in page.rows]
        if not keys:
            return
        if self._cursor_to == "first":
            row = 0
        elif self._cursor_to == "last":
            row = len(keys) - 1
        elif keep in keys:
            row = keys.index(keep)
        else:
            row = min(keep_row, len(keys) - 1)
        self._cursor_to = None
        table.move_cursor(row=row, animate=False)

    def _cursor_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - a cursor outside the rows: no key to keep
            return None

    def _cells(self, r: dict[str, Any], trend: tuple[float | None, ...], trend_w: int,
               prompt_w: int) -> list[Text]:
        theme = self.app.current_theme
        colors = {"learned": theme.success, "forgotten": theme.error, "never": theme.warning,
                  "always": theme.warning}
        status = r["status"]
        right = f"{r['right']}/{r['completions']}" + (f"+{r['pending']}?" if r["pending"] else "")
        text = _one_line(r["question"] or r["prompt"])
        if len(text) > prompt_w:
            text = text[: prompt_w - 1] + "…"
        steps = f"{r['first_step']}–{r['last_step']}" if r["last_step"] != r["first_step"] else str(r["first_step"])
        reward = "–" if r["mean_reward"] is None else f"{r['mean_reward']:.2f}"
        zero = r["zero_spread_groups"]
        return [
            Text(status, style=colors.get(status, "dim" if status == "once" else "")),
            Text(str(r["groups"]), justify="right"),
            Text(right, justify="right"),
            Text(_rate(r["first_solve_rate"]), justify="right"),
            Text(_rate(r["last_solve_rate"]), justify="right"),
            Text(sparkline(list(trend), trend_w, lo=0.0, hi=1.0).ljust(trend_w), style=theme.success or ""),
            Text(text),
            Text(steps, justify="right"),
            Text(reward, justify="right"),
            Text(str(zero), justify="right", style=theme.warning if zero else "dim"),
        ]

    def _summary_line(self) -> Content:
        page = self.page
        if page is None:
            return Content.styled("reading the prompts…", "$text-muted")
        s = page.summary
        n, st = s.get("prompts") or 0, s.get("statuses") or {}
        if not n:
            return Content.styled("no prompts recorded yet", "$text-muted")

        def share(k: str) -> str:
            return f"{st.get(k, 0)} ({st.get(k, 0) / n:.0%})"

        return Content.assemble(
            (f"{n} prompts", "bold"), ": always right ", (share("always"), "bold $text-warning"),
            ", never right ", (share("never"), "bold $text-warning"), " give no signal · ",
            ("learned ", ""), (str(st.get("learned", 0)), "bold $text-success"),
            " · forgotten ", (str(st.get("forgotten", 0)), "bold $text-error"),
            " · mixed ", (str(st.get("mixed", 0)), "bold"), " · once ", (str(st.get("once", 0)), "bold"),
        )

    def _showing_line(self) -> Content:
        q, page = self.query, self.page
        parts: list[str | tuple[str, str]] = []
        if page is not None:
            if page.total:
                parts += ["showing ", (f"{page.offset + 1}–{page.offset + len(page.rows)}", "bold"),
                          f" of {page.total}"]
            else:
                parts.append("no prompt matches")
        parts += [" · status ", (status_label(q.statuses), "bold"),
                  " · sorted by ", (f"{SORT_NAMES.get(q.sort, q.sort)} {'▼' if q.descending else '▲'}", "bold")]
        if q.text.strip():
            parts += [" · search ", (f'"{q.text.strip()}"', "bold")]
        return Content.assemble(*parts)

    # ---------------------------------------------------------------- what the user asks for
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cycle_status", "cycle_sort", "reverse", "search"):
            return self.opened is None
        return True

    def action_cycle_status(self) -> None:
        """All, never, always, no signal (never or always), learned, forgotten, mixed, once, all..."""
        i = STATUS_FILTERS.index(self.query.statuses) if self.query.statuses in STATUS_FILTERS else -1
        self.query = replace(self.query, statuses=STATUS_FILTERS[(i + 1) % len(STATUS_FILTERS)], offset=0)

    def action_cycle_sort(self) -> None:
        i = SORTS.index(self.query.sort) if self.query.sort in SORTS else -1
        self.sort_by(SORTS[(i + 1) % len(SORTS)])

    def sort_by(self, field: str) -> None:
        """Sort by ``field``: numbers high first, text low first; the same field again reverses the order."""
        if field == self.query.sort:
            self.action_reverse()
        else:
            self.query = replace(self.query, sort=field, descending=field not in TEXT_SORTS, offset=0)

    def action_reverse(self) -> None:
        self.query = replace(self.query, descending=not self.query.descending, offset=0)

    def action_search(self) -> None:
        self._search.add_class("-shown")
        self._search.focus()

    def action_close(self) -> None:
        if self._search.has_focus:  # escape in the search: clear it
            self._search.value = ""
            self._search.remove_class("-shown")
            self.table.focus()
            return
        self.post_message(self.Closed())

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        field = next((f for _, key, f in COLUMNS if key == event.column_key.value), None)
        if field:
            self.sort_by(field)

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        if key is None:
            return
        page = self.page
        self.history.row = next((r for r in page.rows if r["key"] == key), None) if page else None
        self.history.history = None
        self.opened = key
        self.post_message(AppearanceChosen(key, None, self))

    @on(PromptsTable.PageWanted)
    def _page_wanted(self, event: PromptsTable.PageWanted) -> None:
        event.stop()
        q = self.query
        self._cursor_to = "first" if event.delta > 0 else "last"
        self.query = replace(q, offset=max(0, q.offset + event.delta * q.limit))

    @on(Input.Changed, "#prompts-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value != self.query.text:
            self.query = replace(self.query, text=event.value, offset=0)

    @on(Input.Submitted, "#prompts-search")
    def _search_done(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            self._search.remove_class("-shown")
        self.table.focus()

    @on(PromptHistoryView.Closed)
    def _history_closed(self, event: PromptHistoryView.Closed) -> None:
        event.stop()
        self.opened = None

