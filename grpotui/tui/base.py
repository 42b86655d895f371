"""What the screens share: one handler for every worker error, a poll that re-arms itself, and the compact
layout in which a screen's panels move into tabs (below 120x34), one view at a time."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.binding import Binding
from textual.events import Resize
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Tab, Tabs
from textual.worker import Worker, WorkerState


def step_bindings(screen: str) -> list[Binding]:
    """``[`` ``]`` (one recorded step) and ``{`` ``}`` (ten), with ids under ``screen``."""
    return [
        Binding("left_square_bracket", "step(-1)", "Prev step", tooltip="The previous recorded step",
                id=f"{screen}.prev"),
        Binding("right_square_bracket", "step(1)", "Next step", tooltip="The next recorded step",
                id=f"{screen}.next"),
        Binding("left_curly_bracket", "step(-10)", "Back 10", show=False, tooltip="Ten recorded steps back",
                id=f"{screen}.prev10"),
        Binding("right_curly_bracket", "step(10)", "Forward 10", show=False,
                tooltip="Ten recorded steps forward", id=f"{screen}.next10"),
    ]


# Below this size a tabbed screen shows one view at a time.
COMPACT_WIDTH, COMPACT_HEIGHT = 120, 34


class ShowsWorkerErrors:
    """For screens and modals: a worker that raises is shown as a notification, never the end of the app.

    Every worker of the app is started with ``exit_on_error=False`` and a ``name`` that completes "cannot
    ..." ("read the run", "pause"); this is the one place its error is handled.
    """

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR:
            error = worker.error
            text = str(error) or type(error).__name__
            self.notify(text, title=f"cannot {worker.name or 'do that'}", severity="error",  # type: ignore[attr-defined]
                        timeout=10, markup=False)
            self.worker_failed(worker)

    def worker_failed(self, worker: Worker[Any]) -> None:
        """Undo what was shown while the work was under way (a loading spinner, a disabled button)."""


class BaseScreen(ShowsWorkerErrors, Screen):
    """A screen that polls its session: :meth:`poll` starts a worker; when it ends (well or not) the next one
    is scheduled ``POLL_EVERY`` seconds later, so polls never overlap however long one takes."""

    POLL_EVERY: ClassVar[float] = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._poll_worker: Worker[Any] | None = None
        self._poll_timer: Timer | None = None
        self._poll_again = False

    def key_for(self, binding_id: str) -> str:
        """The key that does the binding ``binding_id`` (the user's keymap may have changed it), for text that
        names it: active here now, else one of the screen's own; "?" when neither."""
        for active in self.active_bindings.values():
            if active.binding.id == binding_id:
                return self.app.get_key_display(active.binding)
        for bindings in self._bindings.key_to_bindings.values():
            for binding in bindings:
                if binding.id == binding_id:
                    return self.app.get_key_display(binding)
        return "?"

    def help_notes(self) -> str:
        """What the screen's keys do together, for its help (under the list of keys); empty: nothing."""
        return ""

    def poll(self) -> Worker[Any]:
        """Start one poll (a thread worker that calls one session method and posts its answer)."""
        raise NotImplementedError

    def poll_now(self) -> None:
        """Poll at once (or as soon as the poll under way ends: it may have read before a change just made)."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        if self._poll_worker is not None and not self._poll_worker.is_finished:
            self._poll_again = True
            return
        self._poll_worker = self.poll()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._poll_worker and event.worker.is_finished and self.is_attached:
            # never 0: a Textual timer of interval 0 that fires late divides by it (ZeroDivisionError)
            delay = 0.05 if self._poll_again else self.POLL_EVERY
            self._poll_again = False
            self._poll_timer = self.set_timer(delay, self.poll_now)


class TabbedScreen(BaseScreen):
    """A screen whose panels move into tabs below ``COMPACT_WIDTH`` x ``COMPACT_HEIGHT``; keys ``1``-``n``
    (bound by each screen, ``action_view``) or the tabs choose the view on show, which takes the keys.

    Subclasses name their ``VIEWS``, what takes the keys in each (``VIEW_FOCUS``, a selector), and the grid of
    plots that is taller than the screen when compact (``SCROLLER``: it takes focus there, so keys scroll it).
    The CSS hides what is not on show from the classes ``-compact`` and ``-view-NAME``.
    """

    VIEWS: ClassVar[tuple[str, ...]] = ()
    VIEW_FOCUS: ClassVar[dict[str, str]] = {}
    SCROLLER: ClassVar[str] = ""

    compact: reactive[bool] = reactive(False)
    view: reactive[str] = reactive("", init=False)

    def __init__(self) -> None:
        super().__init__()
        self.set_reactive(TabbedScreen.view, self.VIEWS[0])

    def compose_tabs(self) -> Tabs:
        return Tabs(*(Tab(f"{i} {v.title()}", id=f"tab-{v}") for i, v in enumerate(self.VIEWS, 1)), id="views")

    def on_mount(self) -> None:
        self.watch_view(self.view)

    def on_resize(self, event: Resize) -> None:
        self.compact = event.size.width < COMPACT_WIDTH or event.size.height < COMPACT_HEIGHT

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")
        if self.SCROLLER:
            self.query_one(self.SCROLLER).can_focus = compact  # taller than the screen there: keys scroll it
        self.call_after_refresh(self.focus_view)
        self.refresh_bindings()

    def watch_view(self, view: str) -> None:
        for v in self.VIEWS:
            self.set_class(v == view, f"-view-{v}")
        tabs = self.query_one("#views", Tabs)
        if tabs.active != f"tab-{view}":
            tabs.active = f"tab-{view}"
        self.focus_view(force=True)

    def focus_view(self, force: bool = False) -> None:
        """Compact: the keys go to the view on show (unless the user has focused something else)."""
        if not self.compact or not self.is_mounted:
            return
        if force or self.focused is None or isinstance(self.focused, Tabs):
            self.query_one(self.VIEW_FOCUS[self.view]).focus()

    @on(Tabs.TabActivated, "#views")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab and event.tab.id:
            self.view = event.tab.id.removeprefix("tab-")

    def action_view(self, view: str) -> None:
        self.view = view

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "view":
            return self.compact
        return True
