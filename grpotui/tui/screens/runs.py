"""The runs screen: every run in GRPOTUI_HOME, live; enter opens one, n starts a new one."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from grpotui.report import age
from grpotui.store.paths import runs_dir
from grpotui.store.runs import summarize_all
from grpotui.tui.data import sparkline
from grpotui.tui.widgets.header import STATUS_STYLE


class RunsScreen(Screen):
    """A live table of runs."""

    BINDINGS = [
        Binding("enter", "open_run", "Open", id="runs.open"),
        Binding("n", "new_run", "New run", id="runs.new"),
        Binding("r", "refresh", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._polling = False
        self.runs: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="runs-title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("No runs yet. Press n to start one (or the demo), or run `grpotui demo`.", id="runs-empty")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for label, key in (("name", "name"), ("status", "status"), ("step", "step"), ("reward", "reward"),
                           ("trend", "trend"), ("alerts", "alerts"), ("age", "age"), ("note", "note")):
            table.add_column(label, key=key)
        table.loading = True
        title = Text("grpotui", style="bold")
        title.append(f"   runs in {runs_dir()}", style="dim")
        self.query_one("#runs-title", Static).update(title)
        self.action_refresh()
        self.set_interval(2.0, self.action_refresh)

    def action_refresh(self) -> None:
        if not self._polling:
            self._polling = True
            self._poll()

    @work(thread=True, group="runs")
    def _poll(self) -> None:
        try:
            runs = summarize_all(trend=16)  # one read of each store
            for r in runs:
                r["trend"] = sparkline(r.get("reward_tail") or [], 16)
            self.app.call_from_thread(self._show, runs)
        finally:
            self._polling = False

    def _show(self, runs: list[dict[str, Any]]) -> None:
        table = self.query_one("#runs", DataTable)
        table.loading = False
        selected = self.runs[table.cursor_row]["name"] if self.runs and 0 <= table.cursor_row < len(self.runs) else None
        runs = sorted(runs, key=lambda r: r.get("created_at") or 0, reverse=True)
        self.runs = runs
        theme = self.app.current_theme
        table.clear()
        for r in runs:
            style = getattr(theme, STATUS_STYLE.get(r["status"], "foreground"), None) or ""
            step = f"{r.get('step') or 0}/{r['max_steps']}" if r.get("max_steps") else str(r.get("step") or 0)
            reward = r.get("reward")
            n_alerts = len(r.get("alerts") or [])
            table.add_row(
                Text(r["name"], style="bold"),
                Text(r["status"], style=style),
                Text(step, justify="right"),
                Text(f"{reward:.3f}" if isinstance(reward, (int, float)) else "-", justify="right"),
                Text(r.get("trend", ""), style=theme.success),
                Text(str(n_alerts), style=theme.warning if n_alerts else "dim", justify="right"),
                Text(age(r.get("created_at")), justify="right"),
                Text((r.get("note") or "")[:48], style="dim", no_wrap=True, overflow="ellipsis"),
                key=r["name"],
            )
        if selected:
            for i, r in enumerate(runs):
                if r["name"] == selected:
                    table.move_cursor(row=i)
        self.set_class(not runs, "-empty")

    def _open(self, name: str) -> None:
        from grpotui.tui.screens.dashboard import DashboardScreen

        self.app.push_screen(DashboardScreen(name))

    @on(DataTable.RowSelected, "#runs")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self._open(str(event.row_key.value))

    def action_open_run(self) -> None:
        table = self.query_one("#runs", DataTable)
        if self.runs and 0 <= table.cursor_row < len(self.runs):
            self._open(self.runs[table.cursor_row]["name"])

    def action_new_run(self) -> None:
        from grpotui.tui.screens.new_run import NewRunScreen

        def launched(name: str | None) -> None:
            if name:
                self.action_refresh()
                self._open(name)

        self.app.push_screen(NewRunScreen(), launched)
