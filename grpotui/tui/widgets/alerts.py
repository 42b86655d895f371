"""The alerts of a run: step, severity, rule and message, newest last; the banner with the newest of them.
Choosing an alert (enter on its row, a click on the banner) says so: the screen goes to its evidence."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.events import Click
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import DataTable, Static


class AlertChosen(Message):
    """The user chose ``alert`` (to see its evidence); ``control`` is the widget it was chosen in."""

    def __init__(self, alert: dict[str, Any], chooser: Widget) -> None:
        super().__init__()
        self.alert = alert
        self.chooser = chooser

    @property
    def control(self) -> Widget:
        return self.chooser


class AlertsPanel(DataTable):
    """Every alert recorded so far (up to the step being viewed)."""

    DEFAULT_CSS = """
    AlertsPanel { height: 1fr; }
    """

    alerts: var[list[dict[str, Any]]] = var(list, init=False)
    """The alerts to list, oldest first (set by the screen)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_columns("step", "severity", "rule", "message")
        self.border_title = "alerts"
        self.border_subtitle = "no alerts"

    def watch_alerts(self, alerts: list[dict[str, Any]]) -> None:
        theme = self.app.current_theme
        self.clear()
        for a in alerts:
            color = theme.error if a["severity"] in ("critical", "error") else theme.warning
            self.add_row(str(a.get("step") or "-"), Text(a["severity"], style=color), Text(a["rule"]),
                         Text(a["message"]))
        self.border_subtitle = f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}" if alerts else "no alerts"
        if alerts:
            self.move_cursor(row=len(alerts) - 1)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.alerts):
            self.post_message(AlertChosen(self.alerts[event.cursor_row], self))


class AlertBanner(Static):
    """One line over the dashboard: the newest alert (a click goes to its evidence), a failure, or the
    evidence on show (set by the screen)."""

    alert: dict[str, Any] | None = None
    """The alert the banner tells of (None: it tells of something else)."""

    def on_click(self, event: Click) -> None:
        if self.alert is not None:
            event.stop()
            self.post_message(AlertChosen(self.alert, self))
