"""The command palette's screen commands: what the screen on show can do now, found by its words.

Every binding of the screen (and of what has focus in it) with an ``id`` is offered while it is enabled
(pause and stop only while the run is going, the traceback only for a failed run...), titled by its tooltip
or its description, with the key that does the same (as the user's keymap has it). Textual's own commands
(theme, keys, quit, screenshot) come from its ``SystemCommandsProvider`` beside this one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

# App-wide bindings are Textual's own commands already ("Quit", "Keys").
SKIPPED = ("app.",)


class ScreenCommands(Provider):
    """Offers the enabled actions of the screen the palette was opened on."""

    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        """``(title, help, run)`` for each enabled action of the screen, once each."""
        out: list[tuple[str, str, Callable[[], Any]]] = []
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.id or not active.enabled or binding.id in seen or binding.id.startswith(SKIPPED):
                continue
            seen.add(binding.id)
            title = binding.tooltip or binding.description or binding.action
            help_text = f"key {self.app.get_key_display(binding)} · {binding.description}"
            out.append((title, help_text, partial(self.app.run_action, binding.action, active.node)))
        return out

    async def discover(self) -> Hits:
        for title, help_text, run in self.commands():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self.commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), run, help=help_text)
