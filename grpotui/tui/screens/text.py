"""A text shown whole (a run's note, every compared run's note): run data is shown as text, never markup."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class TextModal(ModalScreen[None]):
    """``title`` and ``body`` (plain text, or a list of ``(heading, text)`` parts), scrollable; any of
    escape, enter, q or v closes it."""

    DEFAULT_CSS = """
    TextModal { align: center middle; }
    TextModal > VerticalScroll {
        width: 80%; max-width: 100; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,enter,q,v", "dismiss", "Close")]

    def __init__(self, title: str, body: str | list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.parts = [("", body)] if isinstance(body, str) else body

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(self.title_text, style="bold underline"))
            for heading, text in self.parts:
                if heading:
                    yield Static(Text("\n" + heading, style="bold"))
                yield Static(Text(text or "(no note)", style="" if text else "dim italic"))
