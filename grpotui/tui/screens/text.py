"""A scrollable text (a run's traceback), closed with escape or q."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class TextModal(ModalScreen[None]):
    """Show a long text as it is (never as markup)."""

    DEFAULT_CSS = """
    TextModal { align: center middle; }
    TextModal > VerticalScroll {
        width: 95%; height: 90%; border: thick $error; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = self.title_text
            yield Static(Text(self.text))
