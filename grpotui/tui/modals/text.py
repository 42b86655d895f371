"""A scrollable text (a run's traceback, a run's note, every compared run's note), closed with escape or q.

Run data is shown as text, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class TextModal(ModalScreen[None]):
    """Show a long text as it is (never as markup); ``text`` may be ``[(heading, text), ...]``."""

    DEFAULT_CSS = """
    TextModal { align: center middle; }
    TextModal > VerticalScroll {
        width: 95%; height: 90%; border: thick $error; background: $surface; padding: 0 1;
    }
    TextModal.-note > VerticalScroll {
        width: 80%; max-width: 100; height: auto; max-height: 80%; border: thick $primary;
    }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Close"), Binding("enter,v", "dismiss", show=False)]

    def __init__(self, title: str, text: str | list[tuple[str, str]], *, note: bool = False) -> None:
        super().__init__(classes="-note" if note else None)
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = self.title_text
            yield Static(self._body())

    def _body(self) -> Text:
        if isinstance(self.text, str):
            return Text(self.text) if self.text else Text("(no note)", style="dim italic")
        out = Text()
        for i, (heading, body) in enumerate(self.text):
            if i:
                out.append("\n\n")
            out.append(heading + "\n", style="bold")
            if body:
                out.append(body)
            else:
                out.append("(no note)", style="dim italic")
        return out
