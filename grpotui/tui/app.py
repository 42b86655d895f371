"""The grpotui Textual app: the runs screen, run dashboards, themes. Reads run stores only.

It never imports torch, transformers or trl: it starts fast and stays light over SSH.
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from grpotui.tui.screens.help import HelpScreen
from grpotui.tui.screens.runs import RunsScreen
from grpotui.tui.themes import DEFAULT_THEME, configured_theme, shipped_themes, user_themes


class GrpoTuiApp(App[None]):
    """Watch and control GRPO runs."""

    CSS_PATH = "app.tcss"
    TITLE = "grpotui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
    ]

    def __init__(self, *, run_name: str | None = None, compare: list[str] | None = None,
                 theme: str | None = None) -> None:
        super().__init__()
        self.run_name = run_name
        self.compare = compare
        self._wanted_theme = theme
        self._theme_problems: list[str] = []
        for t in shipped_themes():
            self.register_theme(t)
        extra, self._theme_problems = user_themes()
        for t in extra:
            self.register_theme(t)
        wanted = theme or configured_theme() or DEFAULT_THEME
        if wanted not in self.available_themes:
            self._theme_problems.append(
                f"unknown theme {wanted!r}; available: {', '.join(sorted(self.available_themes))}"
            )
            wanted = DEFAULT_THEME
        self.theme = wanted

    def on_mount(self) -> None:
        for problem in self._theme_problems:
            self.notify(problem, title="theme", severity="warning", timeout=10)
        self.push_screen(RunsScreen())
        if self.run_name:
            from grpotui.tui.screens.dashboard import DashboardScreen

            self.push_screen(DashboardScreen(self.run_name))
        elif self.compare:
            from grpotui.tui.screens.compare import CompareScreen

            self.push_screen(CompareScreen(self.compare))

    def action_help(self) -> None:
        keys: list[tuple[str, str]] = []
        seen = set()
        for active in self.active_bindings.values():
            b = active.binding
            if b.description and b.action not in seen and active.enabled:
                seen.add(b.action)
                keys.append((active.binding.key_display or self.get_key_display(b), b.description))
        self.push_screen(HelpScreen(keys))


def make_app(*, run_name: str | None = None, compare: list[str] | None = None,
             theme: str | None = None) -> GrpoTuiApp:
    """The app as the CLI and the tests build it."""
    return GrpoTuiApp(run_name=run_name, compare=compare, theme=theme)
