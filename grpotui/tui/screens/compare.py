"""Runs side by side: their curves overlaid, the config keys in which they differ with their headline
figures, and for one step the group spread and completions of each run, shared prompts lined up. Reads go
through its :class:`~grpotui.tui.session.CompareSession`."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker

from grpotui.compare import Headline, config_diff, config_title, figure_rows, same_prompt, short, show_value
from grpotui.store.db import Group
from grpotui.tui.base import TabbedScreen, step_bindings
from grpotui.tui.data import Series, StepGroups, kl_off
from grpotui.tui.messages import ComparePolled, CompareStepLoaded
from grpotui.tui.modals.text import TextModal
from grpotui.tui.navigation import navigator
from grpotui.tui.session import CompareSession
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.groups import GroupSpreadPanel
from grpotui.tui.widgets.overlay import OverlayCurves, OverlayView


def run_colors(app: App[Any], n: int) -> list[str]:
    """One colour per run from the theme, distinct as far as the theme allows."""
    t = app.current_theme
    base = [t.primary, t.warning, t.success, t.error, t.accent, t.secondary]
    seen: list[str] = []
    for c in base:
        if c and c not in seen:
            seen.append(c)
    return [seen[i % len(seen)] for i in range(n)]


class CompareScreen(TabbedScreen):
    """Compare two or more runs, live or ended."""

    VIEWS = ("curves", "differences", "groups")
    VIEW_FOCUS = {"curves": "#ccurves", "differences": "#cdiff", "groups": "#cgroups-0 OptionList"}
    SCROLLER = "#ccurves"
    POLL_EVERY = 2.0

    BINDINGS = [
        *step_bindings("compare"),
        Binding("l", "live", "Newest", tooltip="The newest step all runs have", id="compare.live"),
        Binding("f", "cycle_filter", "Filter", tooltip="Filter every run's completions", id="compare.filter"),
        Binding("1", "view('curves')", "Curves", show=False, id="compare.view_curves"),
        Binding("2", "view('differences')", "Differences", show=False, id="compare.view_differences"),
        Binding("3", "view('groups')", "Groups", show=False, id="compare.view_groups"),
        Binding("v", "view_notes", "Notes", show=False, tooltip="Every run's note in full", id="compare.notes"),
        Binding("escape", "back", "Runs", tooltip="Back to the runs", id="compare.back"),
    ]

    # None: the newest step every run has recorded; else the step being looked at.
    selected_step: var[int | None] = var(None)

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = list(names)
        self.session = CompareSession(self.names)
        self.series = [Series() for _ in names]
        self.statuses = ["starting"] * len(names)
        self.heads: list[Headline] = []
        self.shown_step: int | None = None
        self.shared = 0
        self.columns: list[list[Group]] = [[] for _ in names]
        self._told: set[str] = set()
        self._table_keys: list[str] = []

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static(id="legend")
        yield self.compose_tabs()
        with Vertical(id="cbody"):
            with Horizontal(id="ctop"):
                yield OverlayCurves(id="ccurves", classes="panel")
            with Horizontal(id="cbottom"):
                yield DataTable(id="cdiff", classes="panel", cursor_type="row", zebra_stripes=True)
                for i in range(len(self.names)):
                    with Vertical(id=f"ccol-{i}", classes="panel ccol"):
                        yield GroupSpreadPanel(id=f"cgroups-{i}", keep_order=True)
                        yield CompletionsView(id=f"ccomps-{i}", keep_order=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ccurves").border_title = "curves, one colour per run"
        self.query_one("#cdiff").border_title = "how they differ"
        colors = run_colors(self.app, len(self.names))
        for i, name in enumerate(self.names):
            col = self.query_one(f"#ccol-{i}")
            col.border_title = name
            col.styles.border_title_color = colors[i]
        self._legend()
        self.query_one("#ccurves").loading = True
        self.poll_now()

    def on_unmount(self) -> None:
        self.session.close()

    @property
    def group_panels(self) -> list[GroupSpreadPanel]:
        return list(self.query(GroupSpreadPanel))

    @property
    def completion_views(self) -> list[CompletionsView]:
        return list(self.query(CompletionsView))

    @property
    def loaded(self) -> bool:
        """Every run has been read and drawn: the figures, a step's groups, the curves up to date."""
        return self.shown_step is not None and bool(self.heads) and self.query_one(OverlayCurves).up_to_date

    # ------------------------------------------------------------------ reading the runs
    @work(thread=True, group="poll", name="read the runs", exit_on_error=False)
    def poll(self) -> None:
        """Read what is new in every run; a run that cannot be read is marked, the others go on."""
        self.post_message(ComparePolled(self.session.poll(self.selected_step)))

    def worker_failed(self, worker: Worker[Any]) -> None:
        self.query_one("#ccurves").loading = False

    @on(ComparePolled)
    def _polled(self, event: ComparePolled) -> None:
        up = event.update
        for s, u in zip(self.series, up.updates, strict=True):
            for step, m in u.metrics if u is not None else []:
                s.add(step, m)
        self.statuses = up.statuses
        for e in up.errors:
            if e not in self._told:  # once each, not every poll
                self._told.add(e)
                self.notify(e, title="cannot read a run", severity="error", markup=False, timeout=10)
        if up.heads != self.heads:
            self.heads = up.heads
            self._fill_table()
        if up.groups is not None and up.step is not None and self.selected_step in (None, up.step):
            self._show_groups(up.step, up.groups, up.shared)
        self._legend()
        self._draw_curves()
        self.query_one("#ccurves").loading = False
        self.call_after_refresh(self.focus_view)  # a loading widget takes no focus
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
            rows.append(("note", Text(f"note ({self.key_for('compare.notes')}: whole)", style="bold"),
                         [Text(short(n, 16) or "–", style="dim") for n in notes]))
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

    def _draw_curves(self) -> None:
        """Hand the overlaid curves what they show now (drawn at once when on show and changed)."""
        off = bool(self.heads) and all(
            kl_off(h.config, s, bool(s.steps)) for h, s in zip(self.heads, self.series, strict=False))
        self.query_one(OverlayCurves).curves = OverlayView(
            tuple(self.series), tuple(s.version for s in self.series),
            tuple(run_colors(self.app, len(self.names))), cursor=self.selected_step, kl_off=off)

    def _show_groups(self, step: int, columns: list[list[Group]], shared: int) -> None:
        self.shown_step, self.columns, self.shared = step, columns, shared
        for panel, view, col, groups in zip(self.group_panels, self.completion_views,
                                            self.query(".ccol"), columns, strict=True):
            shown = StepGroups(step, tuple(groups))
            panel.step_groups = view.step_groups = shown
            col.border_subtitle = f"step {step}" if groups else f"nothing at step {step}"
        self._legend()

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "live":
            return self.selected_step is not None
        return super().check_action(action, parameters)

    def action_step(self, delta: int) -> None:
        if self.shown_step is None:
            return
        self._find_step(self.shown_step, delta)

    @work(thread=True, exclusive=True, group="compare-step", name="find the step", exit_on_error=False)
    def _find_step(self, current: int, delta: int) -> None:
        """The step ``delta`` recorded steps away in any of the runs, and every run's groups there."""
        found = self.session.step_from(current, delta)
        if found is not None:
            self.post_message(CompareStepLoaded(found))

    @on(CompareStepLoaded)
    def _go_to(self, event: CompareStepLoaded) -> None:
        found = event.step
        self.selected_step = found.step
        self._show_groups(found.step, found.groups, found.shared)
        self._draw_curves()
        self.refresh_bindings()

    def action_live(self) -> None:
        self.selected_step = None
        self.poll_now()  # it brings the groups of the newest common step, unless they are on show
        self.refresh_bindings()

    def action_cycle_filter(self) -> None:
        for v in self.completion_views:
            v.action_cycle_filter()
        if self.compact:
            self.view = "groups"

    def action_view_notes(self) -> None:
        """Every run's note in full (the table shows their start)."""
        notes = [(name, h.note) for name, h in zip(self.names, self.heads, strict=False)]
        self.app.push_screen(TextModal("notes", notes or [(n, "") for n in self.names], note=True))

    @on(GroupSpreadPanel.GroupSelected)
    def _group_selected(self, event: GroupSpreadPanel.GroupSelected) -> None:
        """A group chosen in one run scrolls every run to its group with the same prompt."""
        event.stop()
        col = self.group_panels.index(event.control)
        chosen = next((g for g in self.columns[col] if g.grp == event.grp), None)
        if chosen is None:
            return
        for i, (gs, view) in enumerate(zip(self.columns, self.completion_views, strict=True)):
            match = chosen if i == col else next((g for g in gs if same_prompt(g, chosen)), None)
            if match is not None:
                view.scroll_to_group(match.grp)

    def action_back(self) -> None:
        navigator(self).back_to_runs()
