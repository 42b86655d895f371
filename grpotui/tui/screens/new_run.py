"""Start a run: a config file or the demo, overrides, a name (a modal over the runs screen; the app opens the
new run's dashboard once it has started)."""

from __future__ import annotations

import shlex
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker

from grpotui.tui.base import ShowsWorkerErrors
from grpotui.tui.messages import LaunchDone
from grpotui.tui.session import LaunchRefused, launch_run


class NewRunScreen(ShowsWorkerErrors, ModalScreen[str | None]):
    """Pick a config (or the demo), adjust overrides, launch; dismisses with the new run's name."""

    DEFAULT_CSS = """
    NewRunScreen { align: center middle; }
    NewRunScreen > Vertical {
        width: 90%; max-width: 100; height: auto; border: thick $primary; background: $surface; padding: 1 2;
    }
    NewRunScreen Label { margin-top: 1; }
    NewRunScreen #problems { color: $error; margin-top: 1; height: auto; }
    NewRunScreen Horizontal { height: auto; margin-top: 1; }
    NewRunScreen Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Start a GRPO run", style="bold"))
            yield Label("Config file (TOML), or 'demo' for the built-in demo")
            yield Input(value="demo", placeholder="path/to/run.toml or demo", id="config")
            yield Label("Overrides, KEY=VALUE separated by spaces (TOML values)")
            yield Input(placeholder="training.learning_rate=1e-5 training.max_steps=200", id="overrides")
            yield Label("Name (empty: from the config and the time)")
            yield Input(placeholder="my-run", id="name")
            yield Static(id="problems")
            with Horizontal():
                yield Button("Launch", variant="primary", id="launch")
                yield Button("Cancel", id="cancel")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#launch")
    def _launch_pressed(self) -> None:
        if self.query_one("#launch", Button).disabled:
            return  # enter pressed again while it starts: one run, not two
        source = self.query_one("#config", Input).value.strip()
        name = self.query_one("#name", Input).value.strip() or None
        try:
            overrides = shlex.split(self.query_one("#overrides", Input).value)
        except ValueError as e:
            self._problems(f"overrides: {e}")
            return
        self.query_one("#launch", Button).disabled = True
        self.query_one("#problems", Static).update(Text("checking the config and starting the run...", style="dim"))
        self._launch(source, overrides, name)

    @work(thread=True, exclusive=True, name="start the run", exit_on_error=False)
    def _launch(self, source: str, overrides: list[str], name: str | None) -> None:
        try:
            self.post_message(LaunchDone(launch_run(source, overrides, name)))
        except LaunchRefused as e:
            self.post_message(LaunchDone(None, str(e)))

    @on(LaunchDone)
    def _launched(self, event: LaunchDone) -> None:
        if event.name:
            self.dismiss(event.name)
        else:
            self._problems(event.problems)

    def worker_failed(self, worker: Worker[Any]) -> None:
        self._problems("")

    def _problems(self, text: str) -> None:
        self.query_one("#launch", Button).disabled = False
        self.query_one("#problems", Static).update(Text(text))
