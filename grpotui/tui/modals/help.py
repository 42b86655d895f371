"""Help: what each key does, on the screen it was asked from."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

ABOUT = (
    "grpotui reads one SQLite store per run. Leaving (q) never stops a run; `grpotui attach NAME` or the "
    "runs screen shows it again. Pause takes effect at the next step boundary. While paused or after the "
    "run, [ and ] step through every recorded step."
)


class HelpScreen(ModalScreen[None]):
    """The keys of the screen below, with their descriptions."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80%; max-width: 90; height: 80%; border: thick $primary; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, bindings: list[tuple[str, str]], *, notes: str = "") -> None:
        super().__init__()
        self.keys = bindings
        self.notes = notes
        """What the screen's keys do together (its ``HELP_NOTES``), shown under the keys."""

    def compose(self) -> ComposeResult:
        t = Table(show_header=False, box=None, padding=(0, 2))
        t.add_column(style="bold")
        t.add_column()
        for key, desc in self.keys:
            t.add_row(key, desc)
        with VerticalScroll():
            yield Static(Text("Keys", style="bold underline"))
            yield Static(t)
            if self.notes:
                yield Static(Text("\n" + self.notes))
            yield Static(Text("\n" + ABOUT, style="dim"))
