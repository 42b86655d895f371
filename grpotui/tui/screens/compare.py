"""Runs side by side: their curves overlaid, the config keys in which they differ with their headline
figures, and for one step the group spread and completions of each run, shared prompts lined up."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, Tab, Tabs

from grpotui.compare import (
    Headline,
    align_groups,
    common_step,
    config_diff,
    config_title,
    figure_rows,
    headline,
    placeholder,
    same_prompt,
    short,
    show_value,
)
from grpotui.store.db import ACTIVE_STATUSES, Group, StoreError
from grpotui.tui.data import RunUpdate, RunWatcher, Series, kl_off
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.groups import GroupSpreadPanel
from grpotui.tui.widgets.overlay import OverlayCurves

VIEWS = ("curves", "differences", "groups")
HEADLINE_EVERY = 4.0  # seconds: a live run's figures re-read at most this often (they read every step)
COMPACT_WIDTH, COMPACT_HEIGHT = 120, 34


def run_colors(app: Any, n: int) -> list[str]:
    """One colour per run from the theme, distinct as far as the theme allows."""
    t = app.current_theme
    base = [t.primary, t.warning, t.success, t.error, t.accent, t.secondary]
    seen: list[str] = []
    for c in base:
        if c and c not in seen:
            seen.append(c)
    return [seen[i % len(seen)] for i in range(n)]


class CompareScreen(Screen):
    """Compare two or more runs, live or ended."""

    BINDINGS = [
        Binding("left_square_bracket", "step(-1)", "Prev step", id="compare.prev"),
        Binding("right_square_bracket", "step(1)", "Next step", id="compare.next"),
        Binding("left_curly_bracket", "step(-10)", "Back 10", show=False),
        Binding("right_curly_bracket", "step(10)", "Forward 10", show=False),
        Binding("l", "live", "Newest", id="compare.live"),
        Binding("f", "cycle_filter", "Filter", id="compare.filter"),
        Binding("1", "view('curves')", "Curves", show=False),
        Binding("2", "view('differences')", "Differences", show=False),
        Binding("3", "view('groups')", "Groups", show=False),
        Binding("v", "view_notes", "Notes", id="compare.notes", show=False),
        Binding("escape", "back", "Runs", id="compare.back"),
    ]

    compact: reactive[bool] = reactive(False)
    view: reactive[str] = reactive("curves")
    # None: the newest step every run has recorded; else the step being looked at.
    selected_step: var[int | None] = var(None)

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = list(names)
        self.watchers: list[RunWatcher | None] = []
        self.series = [Series() for _ in names]
        self.statuses = ["starting"] * len(names)
        self.last_group_steps: list[int | None] = [None] * len(names)
        self.heads: list[Headline] = []
        self.shown_step: int | None = None
        self.shared = 0
        self.columns: list[list[Group]] = [[] for _ in names]
        self._polling = False
        self._dirty = True
        self._closed = False
        self._head_at = [0.0] * len(names)
        self._told: set[str] = set()
        self._table_keys: list[str] = []

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static(id="legend")
        yield Tabs(*(Tab(f"{i} {v.title()}", id=f"ctab-{v}") for i, v in enumerate(VIEWS, 1)), id="cviews")
        with Vertical(id="cbody"):
            with Horizontal(id="ctop"):
                yield OverlayCurves(id="ccurves", classes="panel")
            with Horizontal(id="cbottom"):
                yield DataTable(id="cdiff", classes="panel", cursor_type="row", zebra_stripes=True)
                for i in range(len(self.names)):
                    with Vertical(id=f"ccol-{i}", classes="panel ccol"):
                        yield GroupSpreadPanel(id=f"cgroups-{i}")
                        yield CompletionsView(id=f"ccomps-{i}")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ccurves").border_title = "curves, one colour per run"
        self.query_one("#cdiff").border_title = "how they differ"
        colors = run_colors(self.app, len(self.names))
        for i, name in enumerate(self.names):
            col = self.query_one(f"#ccol-{i}")
            col.border_title = name
            col.styles.border_title_color = colors[i]
        self.watch_view(self.view)
        self._legend()
        self.query_one("#ccurves").loading = True
        self._tick()
        self.set_interval(2.0, self._tick)

    def on_resize(self, event: Resize) -> None:
        self.compact = event.size.width < COMPACT_WIDTH or event.size.height < COMPACT_HEIGHT

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")
        curves = self.query_one(OverlayCurves)
        curves.can_focus = compact  # taller than the screen there: keys scroll it
        self.call_after_refresh(self._focus_view)
        self._dirty = True
        self.refresh_bindings()

    def watch_view(self, view: str) -> None:
        for v in VIEWS:
            self.set_class(v == view, f"-view-{v}")
        tabs = self.query_one("#cviews", Tabs)
        if tabs.active != f"ctab-{view}":
            tabs.active = f"ctab-{view}"
        self._dirty = True
        self._focus_view(force=True)
        if self.is_mounted and self.heads:
            self.call_after_refresh(self._redraw_curves)

    def _focus_view(self, force: bool = False) -> None:
        """Compact: the keys go to the view on show (unless the user has focused something else)."""
        if not self.compact or not self.is_mounted:
            return
        if force or self.focused is None or isinstance(self.focused, Tabs):
            self.query_one({"curves": "#ccurves", "differences": "#cdiff",
                            "groups": "#cgroups-0 OptionList"}[self.view]).focus()

    @on(Tabs.TabActivated, "#cviews")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab and event.tab.id:
            self.view = event.tab.id.removeprefix("ctab-")

    # ------------------------------------------------------------------ reading the stores
    def _tick(self) -> None:
        if not self._polling:
            self._polling = True
            self._poll()

    @work(thread=True, group="compare-poll")
    def _poll(self) -> None:
        """Read what is new in every run; a run that cannot be read is marked, the others go on."""
        try:
            if self._closed:
                return
            if not self.watchers:
                self.watchers = [None] * len(self.names)
            ups: list[RunUpdate | None] = []
            errors: list[str] = []
            for i, name in enumerate(self.names):
                try:
                    if self.watchers[i] is None:
                        self.watchers[i] = RunWatcher.for_run(name)
                    ups.append(self.watchers[i].poll())
                except (StoreError, LookupError, ValueError) as e:
                    ups.append(None)
                    errors.append(str(e))
            now = time.monotonic()
            heads = list(self.heads) or [None] * len(self.names)
            for i, (w, u) in enumerate(zip(self.watchers, ups, strict=False)):
                status = u.status if u else "unreadable"
                due = heads[i] is None or heads[i].status != status or \
                    (u is not None and u.metrics and now - self._head_at[i] > HEADLINE_EVERY)
                if not due:
                    continue
                try:
                    heads[i] = headline(w.store, self.names[i]) if u and w else placeholder(self.names[i], status)
                    self._head_at[i] = now
                except StoreError as e:
                    heads[i] = placeholder(self.names[i], "unreadable")
                    errors.append(str(e))
            readable = [(w.store, u) for w, u in zip(self.watchers, ups, strict=False)
                        if u is not None and w is not None]
            target = self.selected_step
            if target is None:
                target = common_step([st for st, _ in readable],
                                     [u.last_group_step for _, u in readable if u.last_group_step is not None])
            groups = None
            if target is not None and (target != self.shown_step or any(
                    w is not None and u is not None and w.store.count_groups(target) != len(c)
                    for w, u, c in zip(self.watchers, ups, self.columns, strict=False))):
                groups = [w.groups_at(target) if w is not None and u is not None else []
                          for w, u in zip(self.watchers, ups, strict=False)]
            self.app.call_from_thread(self._apply, ups, heads, target, groups, errors)
        except (StoreError, LookupError, ValueError) as e:
            self.app.call_from_thread(self.notify, str(e), title="cannot read a run", severity="error",
                                      markup=False)
        finally:
            self._polling = False
            if self._closed:
                self._close()

    def _apply(self, ups: list[RunUpdate | None], heads: list[Headline], target: int | None,
               groups: list[list[Group]] | None, errors: list[str]) -> None:
        for s, u in zip(self.series, ups, strict=False):
            if u is not None and u.metrics:
                for step, m in u.metrics:
                    s.add(step, m)
                self._dirty = True
        self.statuses = [u.status if u else "unreadable" for u in ups]
        self.last_group_steps = [u.last_group_step if u else None for u in ups]
        for e in errors:
            if e not in self._told:  # once each, not every poll
                self._told.add(e)
                self.notify(e, title="cannot read a run", severity="error", markup=False, timeout=10)
        if heads != self.heads:
            self.heads = heads
            self._fill_table()
        wanted = self.selected_step
        if groups is not None and target is not None and (wanted is None or wanted == target):
            self._show_groups(target, groups)
        self._legend()
        if self._dirty:
            self._redraw_curves()
        self.query_one("#ccurves").loading = False
        self.call_after_refresh(self._focus_view)  # a loading widget takes no focus
        self.refresh_bindings()

    def _legend(self) -> None:
        colors = run_colors(self.app, len(self.names))
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" compare ", style="bold reverse")
        for name, color, status in zip(self.names, colors, self.statuses, strict=False):
            t.append("  ■ ", style=f"bold {color}")
            t.append(name, style="bold")
            t.append(f" {status}", style="dim")
        if self.shown_step is not None:
            t.append(f"   step {self.shown_step}", style="bold")
            if self.selected_step is None:
                t.append(" (newest in all)", style="dim")
            t.append(f" · {self.shared} shared prompt{'s' if self.shared != 1 else ''}", style="dim")
        self.query_one("#legend", Static).update(t)

    def action_view_notes(self) -> None:
        """Every run's note in full (the table shows their start)."""
        from grpotui.tui.screens.text import TextModal

        notes = [(name, h.note) for name, h in zip(self.names, self.heads, strict=False)]
        self.app.push_screen(TextModal("notes", notes or [(n, "") for n in self.names], note=True))

    def _fill_table(self) -> None:
        """The figures and the differing keys; cells change in place so the cursor and scroll stay."""
        table = self.query_one("#cdiff", DataTable)
        rows: list[tuple[str, Text, list[Any]]] = [
            (f"fig:{i}", Text(label, style="bold"), cells) for i, (label, cells) in enumerate(figure_rows(self.heads))
        ]
        readable = [i for i, h in enumerate(self.heads) if h.status != "unreadable"]
        diff = config_diff([self.heads[i].config for i in readable])
        rows.append(("cfg", Text(config_title(len(diff)), style="bold italic"), [""] * len(self.names)))
        for key, values in diff:
            by_run = dict(zip(readable, values, strict=False))
            rows.append((f"cfg:{key}", Text(f"  {key}"),
                         [show_value(by_run[i]) if i in by_run else "?" for i in range(len(self.names))]))
        notes = [h.note for h in self.heads]
        if any(notes):
            rows.append(("note", Text("note (v: whole)", style="bold"),  # v shows every note whole
                         [Text(short(n, 28) or "–", style="dim") for n in notes]))
        keys = [k for k, _, _ in rows]
        if table.columns and keys == self._table_keys:
            for key, label, cells in rows:
                for i, cell in enumerate([label, *cells]):
                    col = "label" if i == 0 else f"run-{i - 1}"
                    if str(table.get_cell(key, col)) != str(cell):
                        table.update_cell(key, col, cell, update_width=True)  # a longer value: a wider column
            return
        colors = run_colors(self.app, len(self.names))
        table.clear(columns=True)
        table.add_column("", key="label")
        for i, (name, color) in enumerate(zip(self.names, colors, strict=False)):
            table.add_column(Text(name, style=f"bold {color}"), key=f"run-{i}")
        for key, label, cells in rows:
            table.add_row(label, *cells, key=key)
        self._table_keys = keys

    def _redraw_curves(self) -> None:
        if self.compact and self.view != "curves":
            return
        self._dirty = False
        off = bool(self.heads) and all(
            kl_off(h.config, s, bool(s.steps)) for h, s in zip(self.heads, self.series, strict=False))
        self.query_one(OverlayCurves).redraw(self.names, self.series, run_colors(self.app, len(self.names)),
                                             cursor=self.selected_step, kl_off=off)

    def _show_groups(self, step: int, groups: list[list[Group]]) -> None:
        aligned, self.shared = align_groups(groups)
        self.shown_step = step
        self.columns = aligned
        for i, gs in enumerate(aligned):
            self.query_one(f"#cgroups-{i}", GroupSpreadPanel).show(step, gs, keep_order=True)
            self.query_one(f"#ccomps-{i}", CompletionsView).show(step, gs, keep_order=True)
            self.query_one(f"#ccol-{i}").border_subtitle = f"step {step}" if gs else f"nothing at step {step}"
        self._legend()

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "view":
            return self.compact
        if action == "live":
            return self.selected_step is not None
        return True

    def action_view(self, view: str) -> None:
        self.view = view

    def action_step(self, delta: int) -> None:
        if self.shown_step is None or not self.watchers:
            return
        self._find_step(self.shown_step, delta)

    @work(thread=True, exclusive=True, group="compare-step")
    def _find_step(self, current: int, delta: int) -> None:
        """The step ``delta`` recorded steps away in any of the runs, and every run's groups there."""
        stores = [w.store for w in self.watchers if w is not None]
        try:
            found = [st for st in (s.neighbor_step(current, delta) for s in stores) if st is not None]
            if not found:  # past either end
                ends = [e for e in (s.first_step() if delta < 0 else s.last_group_step() for s in stores)
                        if e is not None]
                if not ends:
                    return
                target = min(ends) if delta < 0 else max(ends)
            else:
                target = max(found) if delta < 0 else min(found)
            groups = [w.groups_at(target) if w is not None else [] for w in self.watchers]
        except StoreError as e:
            self.app.call_from_thread(self.notify, str(e), title="cannot read a run", severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self._go_to, target, groups)

    def _go_to(self, target: int, groups: list[list[Group]]) -> None:
        self.selected_step = target
        self._show_groups(target, groups)
        self._dirty = True
        self._redraw_curves()
        self.refresh_bindings()

    def action_live(self) -> None:
        self.selected_step = None
        self.shown_step = None  # the next poll shows the newest common step
        self._dirty = True
        self._tick()
        self.refresh_bindings()

    def action_cycle_filter(self) -> None:
        views = list(self.query(CompletionsView))
        for v in views:
            v.action_cycle_filter()
        if self.compact:
            self.view = "groups"

    @on(GroupSpreadPanel.GroupSelected)
    def _group_selected(self, event: GroupSpreadPanel.GroupSelected) -> None:
        """A group chosen in one run scrolls every run to its group with the same prompt."""
        event.stop()
        source = event.panel
        col = int(source.id.rsplit("-", 1)[1]) if source is not None and source.id else 0
        chosen = next((g for g in self.columns[col] if g.grp == event.grp), None)
        if chosen is None:
            return
        for i, gs in enumerate(self.columns):
            match = chosen if i == col else next((g for g in gs if same_prompt(g, chosen)), None)
            if match is not None:
                self.query_one(f"#ccomps-{i}", CompletionsView).scroll_to_group(match.grp)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            from grpotui.tui.screens.runs import RunsScreen

            self.app.switch_screen(RunsScreen())

    @property
    def any_active(self) -> bool:
        return any(s in ACTIVE_STATUSES for s in self.statuses)

    def on_unmount(self) -> None:
        self._closed = True
        if not self._polling:
            self._close()

    def _close(self) -> None:
        for w in self.watchers:
            if w is not None:
                w.close()
        self.watchers = []
