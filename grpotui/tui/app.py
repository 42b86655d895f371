"""The grpotui Textual app: opens the screens by name (runs, a run's dashboard, a comparison, a new run),
applies the themes and the user's keymap, and adds the screens' actions to the command palette.

It never imports torch, transformers or trl: it starts fast and stays light over SSH.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode

from grpotui import settings
from grpotui.tui.commands import ScreenCommands
from grpotui.tui.keymap import binding_ids, load_keymap
from grpotui.tui.modals.confirm import ConfirmModal
from grpotui.tui.modals.help import HelpScreen
from grpotui.tui.modals.prompt import PromptModal
from grpotui.tui.modals.text import TextModal
from grpotui.tui.screens.compare import CompareScreen
from grpotui.tui.screens.dashboard import DashboardScreen
from grpotui.tui.screens.evals import EvalScreen
from grpotui.tui.screens.new_run import NewRunScreen
from grpotui.tui.screens.runs import RunsScreen
from grpotui.tui.session import RunSession
from grpotui.tui.themes import DEFAULT_THEME, shipped_themes, user_themes
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.prompts import PromptHistoryView, PromptsTable, PromptsView

# Where the app's bindings are declared: what a [keys] entry may name.
KEYED: tuple[type[DOMNode], ...] = (RunsScreen, DashboardScreen, EvalScreen, CompareScreen, NewRunScreen, ConfirmModal,
                                    PromptModal, TextModal, HelpScreen, CompletionsView, PromptsView,
                                    PromptsTable, PromptHistoryView)


class GrpoTuiApp(App[None]):
    """Watch and control GRPO runs."""

    CSS_PATH = "app.tcss"
    TITLE = "grpotui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {ScreenCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
    ]

    def __init__(self, *, run_name: str | None = None, compare: list[str] | None = None,
                 theme: str | None = None) -> None:
        super().__init__()
        self.run_name = run_name
        self.compare = compare
        self._problems: list[tuple[str, str]] = []  # (title, text) told once the app has started
        for t in shipped_themes():
            self.register_theme(t)
        extra, problems = user_themes()
        self._problems += [("theme", p) for p in problems]
        for t in extra:
            self.register_theme(t)
        wanted = theme or settings.theme() or DEFAULT_THEME
        if wanted not in self.available_themes:
            self._problems.append(("theme", f"unknown theme {wanted!r}; available: "
                                            f"{', '.join(sorted(self.available_themes))}"))
            wanted = DEFAULT_THEME
        self.theme = wanted

    @staticmethod
    def binding_ids() -> set[str]:
        """Every binding id a ``[keys]`` entry of settings.toml may name."""
        return binding_ids((GrpoTuiApp, *KEYED))

    def on_mount(self) -> None:
        keymap, problems = load_keymap(self.binding_ids())
        self.set_keymap(keymap)
        self._problems += [("settings", p) for p in problems]
        for title, problem in self._problems:
            self.notify(problem, title=title, severity="warning", timeout=10, markup=False)
        self.push_screen(RunsScreen())
        if self.run_name:
            self.open_run(self.run_name)
        elif self.compare:
            self.open_compare(self.compare)

    # ------------------------------------------------------------------ opening screens by name
    def open_run(self, name: str) -> None:
        self.push_screen(DashboardScreen(name))

    def open_evals(self, session: RunSession) -> None:
        """A run's held-out evaluations, read through its dashboard's session."""
        self.push_screen(EvalScreen(session))

    def open_compare(self, names: Iterable[str]) -> None:
        self.push_screen(CompareScreen(list(names)))

    def open_new_run(self) -> None:
        def launched(name: str | None) -> None:
            if name:
                self.open_run(name)

        self.push_screen(NewRunScreen(), launched)

    def back_to_runs(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()
        else:
            self.switch_screen(RunsScreen())

    def action_help(self) -> None:
        keys: list[tuple[str, str]] = []
        seen = set()
        for active in self.active_bindings.values():
            b = active.binding
            if b.description and b.action not in seen and active.enabled:
                seen.add(b.action)
                keys.append((active.binding.key_display or self.get_key_display(b), b.description))
        notes = getattr(self.screen, "help_notes", None)
        self.push_screen(HelpScreen(keys, notes=notes() if callable(notes) else ""))


def make_app(*, run_name: str | None = None, compare: list[str] | None = None,
             theme: str | None = None) -> GrpoTuiApp:
    """The app as the CLI and the tests build it."""
    return GrpoTuiApp(run_name=run_name, compare=compare, theme=theme)
