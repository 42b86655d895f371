"""The alerts of a run: step, severity, rule and message, newest last."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import var
from textual.widgets import DataTable


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
