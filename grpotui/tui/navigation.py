"""Opening screens by name: what the app does for the screens, so that no screen imports another."""

from __future__ import annotations

from typing import Protocol, cast

from textual.dom import DOMNode


class Navigator(Protocol):
    """The app's side of moving between screens (implemented by :class:`grpotui.tui.app.GrpoTuiApp`)."""

    def open_run(self, name: str) -> None:
        """The run's dashboard, over the screen on show."""

    def open_compare(self, names: list[str]) -> None:
        """The comparison of two or more runs, over the screen on show."""

    def open_new_run(self) -> None:
        """The form that starts a run; once started, its dashboard."""

    def back_to_runs(self) -> None:
        """Leave the screen on show for the runs screen under it."""


def navigator(node: DOMNode) -> Navigator:
    """The app of ``node``, as the navigator it is."""
    return cast(Navigator, node.app)
