"""The run dashboard: header, curves, system, alerts, group spread and completions of one run, live or as
a replay; pause, stop and kill it; step back through what it recorded. Reads and commands go through its
:class:`~grpotui.tui.session.RunSession`."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.reactive import reactive, var
from textual.widgets import Footer, Input, Static
from textual.worker import Worker

from grpotui.store.db import ACTIVE_STATUSES
from grpotui.tui.base import TabbedScreen
from grpotui.tui.data import Series, StepGroups, kl_off
from grpotui.tui.messages import CommandSent, RunPolled, StepFound, StepLoaded, TextLoaded
from grpotui.tui.modals.confirm import ConfirmModal
from grpotui.tui.modals.prompt import PromptModal
from grpotui.tui.modals.text import TextModal
from grpotui.tui.navigation import navigator
from grpotui.tui.session import RunSession
from grpotui.tui.widgets.alerts import AlertsPanel
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.curves import CurvesPanel, CurveView
from grpotui.tui.widgets.groups import GroupSpreadPanel
from grpotui.tui.widgets.header import RunHeader
from grpotui.tui.widgets.system import SystemPanel

SENT_TEXT = {
    "pause": "pausing: the run pauses at the next step boundary",
    "resume": "resuming",
    "stop": "stopping: a checkpoint is saved at the next step boundary",
    "kill": "killed",
}


class DashboardScreen(TabbedScreen):
    """Watch, pause, inspect, stop and kill one run; replay it once it has ended."""

    VIEWS = ("curves", "groups", "completions", "system")
    VIEW_FOCUS = {"curves": "#curves", "groups": "#groups OptionList",
                  "completions": "#completions VerticalScroll", "system": "#alerts"}
    SCROLLER = "#curves"
    POLL_EVERY = 1.0

    BINDINGS = [
        Binding("p", "pause_resume", "Pause/Resume", tooltip="Pause the run at the next step, or resume it",
                id="dashboard.pause"),
        Binding("s", "stop_run", "Stop", tooltip="Stop the run with a checkpoint", id="dashboard.stop"),
        Binding("k", "kill_run", "Kill", tooltip="Kill the run now", id="dashboard.kill"),
        Binding("left_square_bracket", "step(-1)", "Prev step", tooltip="The previous recorded step",
                id="dashboard.prev"),
        Binding("right_square_bracket", "step(1)", "Next step", tooltip="The next recorded step",
                id="dashboard.next"),
        Binding("left_curly_bracket", "step(-10)", "Back 10", show=False, tooltip="Ten recorded steps back",
                id="dashboard.prev10"),
        Binding("right_curly_bracket", "step(10)", "Forward 10", show=False,
                tooltip="Ten recorded steps forward", id="dashboard.next10"),
        Binding("g", "go_to_step", "Go to step", tooltip="Go to a step by number", id="dashboard.goto"),
        Binding("l", "live", "Live", tooltip="Follow the newest step", id="dashboard.live"),
        Binding("t", "traceback", "Traceback", tooltip="The failed run's traceback", id="dashboard.traceback"),
        Binding("f", "cycle_filter", "Filter", tooltip="Filter the completions", id="dashboard.filter"),
        Binding("slash", "search", "Search", tooltip="Search the completions", id="dashboard.search"),
        Binding("1", "view('curves')", "Curves", show=False, id="dashboard.view_curves"),
        Binding("2", "view('groups')", "Groups", show=False, id="dashboard.view_groups"),
        Binding("3", "view('completions')", "Completions", show=False, id="dashboard.view_completions"),
        Binding("4", "view('system')", "System", show=False, id="dashboard.view_system"),
        Binding("escape", "back", "Runs", tooltip="Back to the runs", id="dashboard.runs"),
    ]

    status: reactive[str] = reactive("starting")
    # None: follow the newest step; else the step being reviewed.
    selected_step: var[int | None] = var(None)

    def __init__(self, run_name: str) -> None:
        super().__init__()
        self.run_name = run_name
        self.session = RunSession(name=run_name)
        self.series = Series()
        self.last_group_step: int | None = None
        self.last_step = 0
        self.info: dict[str, Any] = {}
        self.shown_step: int | None = None
        """The step whose groups are on show."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield Static(id="banner")
        yield self.compose_tabs()
        with Vertical(id="body"):
            with Horizontal(id="top"):
                yield CurvesPanel(id="curves", classes="panel")
                with Vertical(id="side", classes="panel"):
                    yield SystemPanel(id="system")
                    yield AlertsPanel(id="alerts")
            with Horizontal(id="bottom"):
                yield GroupSpreadPanel(id="groups", classes="panel")
                with Vertical(id="completions-box", classes="panel"):
                    yield Input(placeholder="search prompts and completions (enter: done, escape: clear)",
                                id="search")
                    yield CompletionsView(id="completions")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#curves").border_title = "curves"
        self.query_one("#side").border_title = "system"
        self.query_one("#groups").border_title = "group spread"
        self.query_one("#completions-box").border_title = "completions"
        self.query_one(CurvesPanel).loading = True
        self.poll_now()

    def on_unmount(self) -> None:
        self.session.close()

    @property
    def loaded(self) -> bool:
        """The run has been read and drawn: its step's groups on show, its curves up to date."""
        return self.shown_step is not None and self.query_one(CurvesPanel).up_to_date

    # ------------------------------------------------------------------ reading the run
    @work(thread=True, group="poll", name="read the run", exit_on_error=False)
    def poll(self) -> None:
        self.post_message(RunPolled(self.session.poll(self.selected_step)))

    def worker_failed(self, worker: Worker[Any]) -> None:
        self.query_one(CurvesPanel).loading = False

    @on(RunPolled)
    def _polled(self, event: RunPolled) -> None:
        up = event.update
        self.info = up.info
        for step, m in up.metrics:
            self.series.add(step, m)
        if up.metrics:
            self.last_step = max(self.last_step, up.metrics[-1][0])
        if up.last_group_step is not None:
            self.last_group_step = up.last_group_step
            self.last_step = max(self.last_step, up.last_group_step)
        if up.alerts:
            self._show_alerts()
            if not up.first:  # history is not news
                self.app.bell()
                a = up.alerts[-1]
                self.notify(a["message"], title=f"alert: {a['rule']} ({a.get('action') or 'warn'})", markup=False,
                            severity="error" if a["severity"] == "critical" else "warning", timeout=10)
        if up.system and self.selected_step is None:
            self.query_one(SystemPanel).sample = up.system[-1][3]
        for ev in [] if up.first else up.events:
            if ev["status"] in ("paused", "stopped", "finished", "failed", "killed"):
                self.notify(ev["reason"] or ev["status"], title=ev["status"], markup=False,
                            severity="error" if ev["status"] in ("failed", "killed") else "information")
        self.status = up.status
        if up.status in ("failed", "lost") and not self.session.alerts:
            self._show_failure(up.status, up.info)
        header = self.query_one(RunHeader)
        header.info, header.status, header.step = up.info, up.status, self.last_step
        if up.groups is not None and up.groups.step == self._wanted_step:  # not a step left meanwhile
            self._show_groups(up.groups)
        self._draw_curves()
        self.query_one(CurvesPanel).loading = False
        self.call_after_refresh(self.focus_view)  # a loading widget takes no focus

    @property
    def _wanted_step(self) -> int | None:
        """The step whose groups should be on show."""
        return self.selected_step if self.selected_step is not None else self.last_group_step

    def _show_groups(self, shown: StepGroups) -> None:
        self.shown_step = shown.step
        self.query_one(GroupSpreadPanel).step_groups = shown
        self.query_one(CompletionsView).step_groups = shown
        self.query_one("#groups").border_title = f"group spread · step {shown.step}"
        self.query_one("#completions-box").border_title = f"completions · step {shown.step}"

    def _show_failure(self, status: str, info: dict[str, Any]) -> None:
        theme = self.app.current_theme
        why = info.get("status_reason") or ""
        if status == "lost":
            why = f"the runner (pid {info.get('pid')}) is gone; what it recorded stays"
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" {status.upper()} ", style=f"bold reverse {theme.error}")
        t.append(f" {why}")
        if status == "failed":
            t.append(f"   ({self.key_for('dashboard.traceback')}: traceback)", style="dim")
        banner = self.query_one("#banner", Static)
        banner.update(t)
        banner.add_class("-shown")

    def _show_banner(self, a: dict[str, Any], n: int) -> None:
        theme = self.app.current_theme
        color = theme.error if a["severity"] == "critical" else theme.warning
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" ⚠ {a['rule']} ", style=f"bold reverse {color}")
        t.append(f" step {a.get('step') or '-'} · {a.get('action') or 'warn'}: ", style=f"bold {color}")
        t.append(a["message"])
        if n > 1:
            t.append(f"   ({n} alerts)", style="dim")
        banner = self.query_one("#banner", Static)
        banner.update(t)
        banner.add_class("-shown")

    def _show_alerts(self) -> None:
        """The alerts up to the step on show, and the newest of them in the banner."""
        shown = self.session.alerts_upto(self.selected_step)
        self.query_one(AlertsPanel).alerts = shown
        if shown:
            self._show_banner(shown[-1], len(shown))
        elif self.session.alerts:  # reviewing a step before the first alert: it had not happened yet
            self.query_one("#banner", Static).remove_class("-shown")

    def _draw_curves(self) -> None:
        """Hand the curves what they show now (drawn at once when on show and changed)."""
        upto = self.selected_step
        marks = tuple(a["step"] for a in self.session.alerts_upto(upto) if a.get("step"))
        self.query_one(CurvesPanel).curves = CurveView(
            self.series, self.series.version, upto=upto, marks=marks, cursor=upto,
            kl_off=kl_off(self.info.get("config"), self.series, self.last_step > 0))

    # ------------------------------------------------------------------ moving through the steps
    def watch_selected_step(self, step: int | None) -> None:
        self.query_one(RunHeader).viewing = step
        if not self.info:
            return  # nothing read yet: the first poll shows it all
        self._show_alerts()
        wanted = self._wanted_step
        fresh = wanted is not None and wanted != self.shown_step
        self._load_step(step, fresh)
        if not fresh:
            self._draw_curves()  # else once the step's groups are on show: they first, its curves next

    @work(thread=True, exclusive=True, group="step", name="read the step", exit_on_error=False)
    def _load_step(self, step: int | None, groups: bool) -> None:
        """The run as it was at ``step`` (its groups when not on show yet, the system sample of then)."""
        self.post_message(StepLoaded(self.session.snapshot(step, groups=groups)))

    @on(StepLoaded)
    def _step_loaded(self, event: StepLoaded) -> None:
        snap = event.snapshot
        if snap.step != self.selected_step:
            return  # the user moved on while this step was read
        self.query_one(SystemPanel).sample = snap.system
        self.query_one("#side").border_title = "system" if snap.step is None else f"system · at step {snap.step}"
        if snap.groups is not None and snap.groups.step == self._wanted_step:
            self._show_groups(snap.groups)
            self.call_after_refresh(self._draw_curves)

    def action_step(self, delta: int) -> None:
        if self.last_group_step is None:
            return
        self._find_step(self._wanted_step, delta)

    @work(thread=True, exclusive=True, group="find-step", name="find the step", exit_on_error=False)
    def _find_step(self, current: int, delta: int) -> None:
        self.post_message(StepFound(self.session.step_from(current, delta), delta))

    @work(thread=True, exclusive=True, group="find-step", name="find the step", exit_on_error=False)
    def _nearest_step(self, wanted: int) -> None:
        self.post_message(StepFound(self.session.nearest_step(wanted), 0))

    @on(StepFound)
    def _go_to(self, event: StepFound) -> None:
        target = event.step
        if target is None:
            return
        if target == self.last_group_step and event.delta > 0 and self.status in ACTIVE_STATUSES \
                and self.status != "paused":
            self.selected_step = None  # back to following the run
        else:
            self.selected_step = target
        self.refresh_bindings()

    def action_live(self) -> None:
        self.selected_step = None
        self.refresh_bindings()

    def action_go_to_step(self) -> None:
        """Jump to a step by number: the recorded step nearest to it."""
        if self.last_group_step is None:
            self.notify("no step recorded yet", title="go to step", markup=False)
            return

        def chosen(text: str | None) -> None:
            if text is None or not text.strip():
                return
            try:
                wanted = int(text.strip())
            except ValueError:
                self.notify(f"{text.strip()!r} is not a step number", title="go to step", severity="warning",
                            markup=False)
                return
            self._nearest_step(wanted)

        self.app.push_screen(PromptModal(f"Go to step (recorded: up to {self.last_group_step})",
                                         placeholder="a step number"), chosen)

    # ------------------------------------------------------------------ completions
    def action_cycle_filter(self) -> None:
        self.query_one(CompletionsView).action_cycle_filter()
        if self.compact:
            self.view = "completions"

    def action_search(self) -> None:
        if self.compact:
            self.view = "completions"
        box = self.query_one("#search", Input)
        box.add_class("-shown")
        box.focus()

    @on(GroupSpreadPanel.GroupSelected)
    def _group_selected(self, event: GroupSpreadPanel.GroupSelected) -> None:
        if self.compact:
            self.view = "completions"
        self.query_one(CompletionsView).scroll_to_group(event.grp)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_one(CompletionsView).search = event.value

    @on(Input.Submitted, "#search")
    def _search_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.remove_class("-shown")
        self.query_one(CompletionsView).focus()

    def on_key(self, event: Key) -> None:
        box = self.query_one("#search", Input)
        if event.key == "escape" and box.has_focus:
            box.value = ""
            box.remove_class("-shown")
            self.query_one(CompletionsView).focus()
            event.stop()

    # ------------------------------------------------------------------ control, traceback, leaving
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause_resume", "stop_run", "kill_run"):
            return self.status in ACTIVE_STATUSES
        if action == "live":
            return self.selected_step is not None
        if action == "traceback":
            return self.status == "failed"
        return super().check_action(action, parameters)

    def watch_status(self, old: str, new: str) -> None:
        self.set_class(new == "paused", "-paused")
        self.set_class(new not in ACTIVE_STATUSES, "-ended")
        self.refresh_bindings()

    def action_back(self) -> None:
        navigator(self).back_to_runs()

    def action_traceback(self) -> None:
        self._read_failure()

    @work(thread=True, group="traceback", name="read the traceback", exit_on_error=False)
    def _read_failure(self) -> None:
        """The failed run's traceback (or the end of its log), read off the event loop."""
        self.post_message(TextLoaded(*self.session.failure_text()))

    @on(TextLoaded)
    def _text_loaded(self, event: TextLoaded) -> None:
        self.app.push_screen(TextModal(event.title, event.text))

    def action_pause_resume(self) -> None:
        self._send("resume" if self.status in ("paused", "pausing") else "pause")

    def action_stop_run(self) -> None:
        self._confirm(f"Stop {self.run_name}? It saves a checkpoint at the next step boundary, then ends.",
                      "Stop", "stop")

    def action_kill_run(self) -> None:
        self._confirm(f"Kill {self.run_name} now? No checkpoint is saved.", "Kill", "kill")

    def _confirm(self, question: str, yes: str, command: str) -> None:
        def answer(sure: bool | None) -> None:
            if sure:
                self._send(command)

        self.app.push_screen(ConfirmModal(question, yes=yes), answer)

    def _send(self, command: str) -> None:
        """The command, off the event loop (a kill waits for the runner to end); a refusal is shown as the
        worker's error: "cannot pause: run 'x' is finished ..."."""
        self.run_worker(lambda: self.post_message(CommandSent(self.session.send(command))), thread=True,
                        group="control", name=command, exit_on_error=False)

    @on(CommandSent)
    def _sent(self, event: CommandSent) -> None:
        self.notify(SENT_TEXT[event.sent.command], title=self.run_name, markup=False)
