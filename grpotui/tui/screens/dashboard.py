"""The run dashboard: header, curves, system, alerts, group spread and completions of one run, live or as
a replay; pause, stop and kill it; step back through what it recorded; an alert's evidence; which prompts it
is learning. Reads and commands go through its :class:`~grpotui.tui.session.RunSession`."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.reactive import reactive, var
from textual.widget import Widget
from textual.widgets import Footer, Input
from textual.worker import Worker, get_current_worker

from grpotui.store.db import ACTIVE_STATUSES
from grpotui.tui.base import TabbedScreen, step_bindings
from grpotui.tui.data import Evidence, PromptQuery, Series, StepGroups, kl_off
from grpotui.tui.messages import (
    CommandSent,
    PromptHistoryRead,
    PromptsRead,
    RunPolled,
    StepFound,
    StepLoaded,
    TextLoaded,
)
from grpotui.tui.modals.confirm import ConfirmModal
from grpotui.tui.modals.prompt import PromptModal
from grpotui.tui.modals.text import TextModal
from grpotui.tui.navigation import navigator
from grpotui.tui.session import RunSession
from grpotui.tui.widgets.alerts import AlertBanner, AlertChosen, AlertsPanel
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.curves import CurvesPanel, CurveView
from grpotui.tui.widgets.groups import GroupSpreadPanel
from grpotui.tui.widgets.header import RunHeader
from grpotui.tui.widgets.prompts import AppearanceChosen, PromptsView
from grpotui.tui.widgets.system import SystemPanel

# Keys that move through the steps or act on the panels of the step on show: off while the prompts are on show.
STEP_ACTIONS = ("step", "go_to_step", "live", "cycle_filter", "search", "show_evidence")

SENT_TEXT = {
    "pause": "pausing: the run pauses at the next step boundary",
    "resume": "resuming",
    "stop": "stopping: a checkpoint is saved at the next step boundary",
    "kill": "killed",
}


class DashboardScreen(TabbedScreen):
    """Watch, pause, inspect, stop and kill one run; replay it once it has ended."""

    VIEWS = ("curves", "groups", "completions", "system", "prompts")
    VIEW_FOCUS = {"curves": "#curves", "groups": "#groups OptionList",
                  "completions": "#completions VerticalScroll", "system": "#alerts", "prompts": "#prompts"}
    HELP_NOTES: ClassVar[str] = (  # {name}: the key of the binding dashboard.name
        "Alerts: enter on an alert in the alerts panel, a click on the banner, or {evidence} for the newest "
        "goes to the alert's step with its evidence groups marked (▸) in the group spread and the completions "
        "filtered to them; {prev} and {next} then move between its evidence steps (an alert that names no "
        "groups: the recorded steps of its window), {evidence_back} comes back to where you were (following "
        "the newest step, or the step you were on).\n\n"
        "Prompts: {prompts} (tab {view_prompts} below 120x34) lists the run's prompts, a page at a time, with "
        "their status and solve rate over their appearances; f filters them by status, o sorts by the next "
        "column (or click a column's header), r reverses the order, / searches; enter opens a prompt's "
        "history, ← and → move between its appearances, escape goes back to the table, then to the dashboard."
    )
    SCROLLER = "#curves"
    POLL_EVERY = 1.0

    BINDINGS = [
        Binding("p", "pause_resume", "Pause/Resume", tooltip="Pause the run at the next step, or resume it",
                id="dashboard.pause"),
        Binding("s", "stop_run", "Stop", tooltip="Stop the run with a checkpoint", id="dashboard.stop"),
        Binding("k", "kill_run", "Kill", tooltip="Kill the run now", id="dashboard.kill"),
        *step_bindings("dashboard"),
        Binding("g", "go_to_step", "Go to step", tooltip="Go to a step by number", id="dashboard.goto"),
        Binding("l", "live", "Live", tooltip="Follow the newest step", id="dashboard.live"),
        Binding("t", "traceback", "Traceback", tooltip="The failed run's traceback", id="dashboard.traceback"),
        Binding("f", "cycle_filter", "Filter", tooltip="Filter the completions", id="dashboard.filter"),
        Binding("slash", "search", "Search", tooltip="Search the completions", id="dashboard.search"),
        Binding("a", "show_evidence", "Evidence", show=False, tooltip="The newest alert's evidence: its step, "
                "its groups", id="dashboard.evidence"),
        Binding("1", "view('curves')", "Curves", show=False, id="dashboard.view_curves"),
        Binding("2", "view('groups')", "Groups", show=False, id="dashboard.view_groups"),
        Binding("3", "view('completions')", "Completions", show=False, id="dashboard.view_completions"),
        Binding("4", "view('system')", "System", show=False, id="dashboard.view_system"),
        Binding("5", "view('prompts')", "Prompts", show=False, id="dashboard.view_prompts"),
        Binding("escape", "leave_evidence", "Back", tooltip="Back from the alert's evidence to where you were",
                id="dashboard.evidence_back"),
        Binding("escape", "back", "Runs", tooltip="Back to the runs", id="dashboard.runs"),
        Binding("e", "evals", "Eval", tooltip="Accuracy and pass@k on problems it never trains on, and "
                "every evaluation's samples", id="dashboard.evals"),
        Binding("w", "prompts", "Prompts", tooltip="Which prompts it is learning: every prompt's solve rate "
                "and history", id="dashboard.prompts"),
    ]

    status: reactive[str] = reactive("starting")
    # None: follow the newest step; else the step being reviewed.
    selected_step: var[int | None] = var(None)
    # The alert whose evidence is on show (its groups marked, [ ] between its steps); None: none.
    evidence: var[Evidence | None] = var(None, init=False)

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
        self._evidence_from: tuple[int | None, str] = (None, self.VIEWS[0])  # (step, view) before the evidence
        self._view_shown = self.VIEWS[0]
        self.has_evals = False
        """The run has recorded a held-out evaluation (``e`` opens them)."""
        self._before_prompts = self.VIEWS[0]  # the view to go back to from the prompts
        self._focus_before_prompts: Widget | None = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield AlertBanner(id="banner")
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
        yield PromptsView(id="prompts", classes="panel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#curves").border_title = "curves"
        self.query_one("#side").border_title = "system"
        self.query_one("#groups").border_title = "group spread"
        self.query_one("#completions-box").border_title = "completions"
        self.query_one("#prompts").border_title = "prompts"
        self.query_one(CurvesPanel).loading = True
        self.poll_now()

    def on_unmount(self) -> None:
        self.session.close()

    def help_notes(self) -> str:
        names = ("evidence", "prev", "next", "evidence_back", "prompts", "view_prompts")
        return self.HELP_NOTES.format(**{n: self.key_for(f"dashboard.{n}") for n in names})

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
        if up.evals:
            header.evaluation = up.evals[-1]
            if not self.has_evals:
                self.has_evals = True
                self.refresh_bindings()
        if up.groups is not None and up.groups.step == self._wanted_step:  # not a step left meanwhile
            self._show_groups(up.groups)
        if self.view == "prompts":
            self._follow_prompts()
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
        self.query_one("#completions", CompletionsView).step_groups = shown
        self.query_one("#groups").border_title = f"group spread · step {shown.step}"
        self.query_one("#completions-box").border_title = f"completions · step {shown.step}"
        if self.evidence is not None:
            self._mark_evidence()

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
        banner = self.query_one("#banner", AlertBanner)
        banner.alert = None
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
        banner = self.query_one("#banner", AlertBanner)
        hint = f"   ({self.key_for('dashboard.evidence')}: its evidence)"
        if t.cell_len + len(hint) <= self.size.width:  # only where it fits (the banner is as wide as the screen)
            t.append(hint, style="dim")
        banner.alert = a
        banner.update(t)
        banner.add_class("-shown")

    def _show_alerts(self) -> None:
        """The alerts up to the step on show, and the newest of them in the banner (the evidence on show, when
        there is)."""
        shown = self.session.alerts_upto(self.selected_step)
        self.query_one(AlertsPanel).alerts = shown
        if self.evidence is not None:
            self._show_evidence_banner()
        elif shown:
            self._show_banner(shown[-1], len(shown))
        elif self.session.alerts:  # reviewing a step before the first alert: it had not happened yet
            self.query_one("#banner", AlertBanner).remove_class("-shown")

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
        ev = self.evidence
        if ev is not None and ev.steps:  # between the steps of the alert's evidence groups
            target = ev.step_from(self._wanted_step, delta)
            if target is not None and target != self._wanted_step:
                self.selected_step = target
        elif ev is not None and ev.window is not None:  # between the recorded steps of its window
            self._step_within(self._wanted_step, delta, *ev.window)
        else:
            self._find_step(self._wanted_step, delta)

    @work(thread=True, exclusive=True, group="find-step", name="find the step", exit_on_error=False)
    def _step_within(self, current: int, delta: int, first: int, last: int) -> None:
        self.post_message(StepFound(self.session.step_within(current, delta, first, last), 0))

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
        if self.evidence is None and target == self.last_group_step and event.delta > 0 \
                and self.status in ACTIVE_STATUSES and self.status != "paused":
            self.selected_step = None  # back to following the run
        else:
            self.selected_step = target
        self.refresh_bindings()

    def action_live(self) -> None:
        self.evidence = None
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
            self.evidence = None
            self._nearest_step(wanted)

        self.app.push_screen(PromptModal(f"Go to step (recorded: up to {self.last_group_step})",
                                         placeholder="a step number"), chosen)

    # ------------------------------------------------------------------ an alert's evidence
    def action_show_evidence(self) -> None:
        """The evidence of the newest alert raised up to the step on show."""
        shown = self.session.alerts_upto(self.selected_step)
        if shown:
            self._go_to_evidence(shown[-1])
        else:
            self.notify("no alert so far", title="evidence", markup=False)

    @on(AlertChosen)
    def _alert_chosen(self, event: AlertChosen) -> None:
        self._go_to_evidence(event.alert)

    def _go_to_evidence(self, alert: dict[str, Any]) -> None:
        """To the alert's step, its evidence groups marked and the completions filtered to them; escape comes
        back to where the user was."""
        ev = Evidence.of(alert)
        if self.evidence is None:
            self._evidence_from = (self.selected_step, self.view)
        self.evidence = ev
        if self.compact:
            self.view = "groups"
        start = ev.start
        if start is None:
            return
        if ev.steps:  # steps with recorded groups
            self.selected_step = start
        else:
            self._nearest_step(start)
        self.refresh_bindings()

    def watch_evidence(self, evidence: Evidence | None) -> None:
        self._mark_evidence()
        if evidence is None:
            self._show_alerts()
        self.refresh_bindings()

    def _mark_evidence(self) -> None:
        """The evidence groups of the step on show marked, the completions filtered to them, the banner."""
        ev = self.evidence
        marked = ev.marked(self.shown_step) if ev is not None else frozenset()
        self.query_one(GroupSpreadPanel).marked = marked
        self.query_one("#completions", CompletionsView).only_groups = marked or None
        if ev is not None:
            self._show_evidence_banner()

    def _show_evidence_banner(self) -> None:
        ev = self.evidence
        if ev is None:
            return
        theme = self.app.current_theme
        a, step = ev.alert, self._wanted_step
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" ▸ evidence: {a['rule']} ", style=f"bold reverse {theme.accent}")
        t.append(f" alert at step {a.get('step') or '-'} · ", style="bold")
        if ev.steps:
            pos = ev.position(step)
            n = len(ev.marked(step))
            t.append(f"step {step}: {pos or '–'} of {len(ev.steps)} evidence steps, {n} group{'s' if n != 1 else ''} "
                     "marked")
        elif ev.window is not None:
            t.append(f"step {step} of its window, steps {ev.window[0]}–{ev.window[1]} (no groups named)")
        else:
            t.append(f"step {step} (no evidence recorded with this alert)")
        keys = f"{self.key_for('dashboard.prev')} {self.key_for('dashboard.next')}"
        t.append(f"   {keys}: evidence steps · {self.key_for('dashboard.evidence_back')}: back", style="dim")
        banner = self.query_one("#banner", AlertBanner)
        banner.alert = None
        banner.update(t)
        banner.add_class("-shown")

    def action_leave_evidence(self) -> None:
        """Back to where the user was before the evidence: the newest step (followed) or the step they were on."""
        step, view = self._evidence_from
        self.evidence = None
        self.selected_step = step
        if self.compact:
            self.view = view
        self.refresh_bindings()

    def action_evals(self) -> None:
        self.app.open_evals(self.session)

    # ------------------------------------------------------------------ which prompts it is learning
    def action_prompts(self) -> None:
        self.view = "prompts"

    def watch_view(self, view: str) -> None:
        before = self._view_shown
        self._view_shown = view
        if view == "prompts" and before != "prompts":
            self._before_prompts = before
            self._focus_before_prompts = self.focused
        super().watch_view(view)
        if view == "prompts":
            self._follow_prompts()
            if not self.compact:
                self.call_after_refresh(self.query_one(PromptsView).focus)
        elif before == "prompts" and not self.compact:
            # the keys no longer go to the prompts, now hidden: back to what had them before
            prompts = self.query_one(PromptsView)
            if self.focused is not None and prompts in self.focused.ancestors_with_self:
                self.set_focus(None)
            back = self._focus_before_prompts
            if back is not None and back.is_attached and prompts not in back.ancestors_with_self:
                self.call_after_refresh(back.focus)
        self.refresh_bindings()

    @on(PromptsView.Closed)
    def _prompts_closed(self, event: PromptsView.Closed) -> None:
        self.view = self._before_prompts if self._before_prompts != "prompts" else self.VIEWS[0]

    def _follow_prompts(self) -> None:
        """The prompts on show read again when the run has moved on (or verdicts were pending): same page,
        filter and order; the history open follows too."""
        prompts = self.query_one(PromptsView)
        page = prompts.page
        if page is not None and page.last_step == self.last_group_step and not page.pending:
            history = prompts.history.history
            if history is None or not history.groups.groups or not _pending(history.groups):
                return
        self._read_prompts(prompts.query)
        if prompts.opened is not None:
            self._read_history(prompts.opened, prompts.history_at)

    @on(PromptsView.QueryChanged)
    def _prompts_query(self, event: PromptsView.QueryChanged) -> None:
        if self.view == "prompts":
            self._read_prompts(event.query)

    @work(thread=True, exclusive=True, group="prompts", name="read the prompts", exit_on_error=False)
    def _read_prompts(self, query: PromptQuery) -> None:
        page = self.session.prompts_page(query)
        if not get_current_worker().is_cancelled:
            self.post_message(PromptsRead(page))

    @on(PromptsRead)
    def _prompts_read(self, event: PromptsRead) -> None:
        self.query_one(PromptsView).show_page(event.page)

    @on(AppearanceChosen)
    def _appearance_chosen(self, event: AppearanceChosen) -> None:
        self._read_history(event.key, event.at)

    @work(thread=True, exclusive=True, group="prompt-history", name="read the prompt's history",
          exit_on_error=False)
    def _read_history(self, key: str, at: tuple[int, int] | None) -> None:
        history = self.session.prompt_history(key, at)
        if not get_current_worker().is_cancelled:
            self.post_message(PromptHistoryRead(history))

    @on(PromptHistoryRead)
    def _history_read(self, event: PromptHistoryRead) -> None:
        self.query_one(PromptsView).show_history(event.history)

    # ------------------------------------------------------------------ completions
    def action_cycle_filter(self) -> None:
        self.query_one("#completions", CompletionsView).action_cycle_filter()
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
        self.query_one("#completions", CompletionsView).scroll_to_group(event.grp)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_one("#completions", CompletionsView).search = event.value

    @on(Input.Submitted, "#search")
    def _search_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.remove_class("-shown")
        self.query_one("#completions", CompletionsView).focus()

    def on_key(self, event: Key) -> None:
        box = self.query_one("#search", Input)
        if event.key == "escape" and box.has_focus:
            box.value = ""
            box.remove_class("-shown")
            self.query_one("#completions", CompletionsView).focus()
            event.stop()

    # ------------------------------------------------------------------ control, traceback, leaving
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause_resume", "stop_run", "kill_run"):
            return self.status in ACTIVE_STATUSES
        if action in STEP_ACTIONS and self.view == "prompts":
            return False  # the prompts on show take the keys; the steps are not on show
        if action == "live":
            return self.selected_step is not None
        if action == "prompts":
            return self.view != "prompts"
        if action == "show_evidence":
            return bool(self.session.alerts)
        if action == "evals":
            return self.has_evals  # a run without [eval] has nothing to show there
        if action == "leave_evidence":
            return self.evidence is not None
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


def _pending(shown: StepGroups) -> bool:
    return any(c.verdict == "pending" for g in shown.groups for c in g.completions)
