"""The run dashboard's header: name, status, step / max, elapsed and ETA, backend and model."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from grpotui.report import duration
from grpotui.tui.data import eta_seconds

STATUS_STYLE = {
    "running": "success", "starting": "primary", "pausing": "warning", "paused": "warning",
    "stopping": "warning", "finished": "primary", "stopped": "secondary", "failed": "error",
    "killed": "error", "lost": "error",
}


class RunHeader(Widget):
    """One line: what run this is and where it stands."""

    DEFAULT_CSS = """
    RunHeader { height: 1; background: $panel; padding: 0 1; }
    """

    info: reactive[dict[str, Any]] = reactive(dict, always_update=True)
    status: reactive[str] = reactive("starting")
    step: reactive[int] = reactive(0)
    viewing: reactive[int | None] = reactive(None)
    evaluation: reactive[dict[str, Any] | None] = reactive(None)
    """The newest held-out evaluation's figures (None: the run has none)."""

    def render(self) -> Text:
        info, theme = self.info, self.app.current_theme
        style = getattr(theme, STATUS_STYLE.get(self.status, "foreground"), None) or "white"
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(info.get("name", "?"), style="bold")
        t.append("  ")
        t.append(f" {self.status.upper()} ", style=f"bold reverse {style}")
        max_steps = info.get("max_steps")
        t.append(f"  step {self.step}" + (f"/{max_steps}" if max_steps else ""))
        if self.viewing is not None:
            t.append(f"  viewing step {self.viewing}", style=f"bold {theme.accent}")
        started, ended = info.get("started_at"), info.get("ended_at")
        if started:
            t.append(f"  elapsed {duration((ended or time.time()) - started)}", style="dim")
            eta = eta_seconds(info, self.step) if self.status in ("running", "pausing") else None
            if eta is not None:
                t.append(f"  ETA {duration(eta)}", style="dim")
        ev = self.evaluation
        if ev is not None and ev.get("eval/accuracy") is not None:
            t.append(f"  held-out {ev['eval/accuracy']:.2f} @ {ev['step']}", style=f"bold {theme.secondary}")
        model = str(info.get("model") or "-").rstrip("/").rsplit("/", 1)[-1]
        t.append(f"  {info.get('backend') or '-'} · {model}", style="dim")
        return t
