"""The run dashboard: header, curves, system, alerts, group spread and completions of one run, live."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, Tab, Tabs

from grpotui.store.db import ACTIVE_STATUSES, Group, StoreError
from grpotui.tui.data import RunUpdate, RunWatcher, Series, kl_off
from grpotui.tui.screens.confirm import ConfirmModal
from grpotui.tui.widgets.alerts import AlertsPanel
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.curves import CurvesPanel
from grpotui.tui.widgets.groups import GroupSpreadPanel
from grpotui.tui.widgets.header import RunHeader
from grpotui.tui.widgets.system import SystemPanel

VIEWS = ("curves", "groups", "completions", "system")
# Below this size the panels move into tabs (1-4), one at a time.
COMPACT_WIDTH, COMPACT_HEIGHT = 120, 34


class DashboardScreen(Screen):
    """Watch, pause, inspect, stop and kill one run; replay it once it has ended."""

    BINDINGS = [
        Binding("p", "pause_resume", "Pause/Resume", id="dashboard.pause"),
        Binding("s", "stop_run", "Stop", id="dashboard.stop"),
        Binding("k", "kill_run", "Kill", id="dashboard.kill"),
        Binding("left_square_bracket", "step(-1)", "Prev step", id="dashboard.prev"),
        Binding("right_square_bracket", "step(1)", "Next step", id="dashboard.next"),
        Binding("left_curly_bracket", "step(-10)", "Back 10", show=False, id="dashboard.prev10"),
        Binding("right_curly_bracket", "step(10)", "Forward 10", show=False, id="dashboard.next10"),
        Binding("g", "go_to_step", "Go to step", id="dashboard.goto"),
        Binding("l", "live", "Live", id="dashboard.live"),
        Binding("t", "traceback", "Traceback", id="dashboard.traceback"),
        Binding("f", "cycle_filter", "Filter", id="dashboard.filter"),
        Binding("slash", "search", "Search", id="dashboard.search"),
        Binding("1", "view('curves')", "Curves", show=False),
        Binding("2", "view('groups')", "Groups", show=False),
        Binding("3", "view('completions')", "Completions", show=False),
        Binding("4", "view('system')", "System", show=False),
        Binding("escape", "back", "Runs", id="dashboard.runs"),
    ]

    status: reactive[str] = reactive("starting")
    compact: reactive[bool] = reactive(False)
    view: reactive[str] = reactive("curves")
    # None: follow the newest step; else the step being reviewed.
    selected_step: var[int | None] = var(None)

    def __init__(self, run_name: str) -> None:
        super().__init__()
        self.run_name = run_name
        self.watcher: RunWatcher | None = None
        self.series = Series()
        self.alerts: list[dict[str, Any]] = []
        self.last_group_step: int | None = None
        self.last_step = 0
        self.info: dict[str, Any] = {}
        self._shown_step: int | None = None
        self._shown_groups = 0
        self._shown_pending = 0  # completions on show still waiting for their verdict
        self._polling = False
        self._curves_dirty = True
        self._first_poll = True

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield Static(id="banner")
        yield Tabs(*(Tab(f"{i} {v.title()}", id=f"tab-{v}") for i, v in enumerate(VIEWS, 1)), id="views")
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
        self.watch_view(self.view)
        self._tick()
        self.set_interval(1.0, self._tick)

    def on_resize(self, event: Resize) -> None:
        self.compact = event.size.width < COMPACT_WIDTH or event.size.height < COMPACT_HEIGHT

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")
        curves = self.query_one(CurvesPanel)
        curves.can_focus = compact  # its plots are taller than the screen there: keys scroll them
        self.call_after_refresh(self._focus_view)
        self._curves_dirty = True
        self.refresh_bindings()

    def watch_view(self, view: str) -> None:
        for v in VIEWS:
            self.set_class(v == view, f"-view-{v}")
        tabs = self.query_one("#views", Tabs)
        if tabs.active != f"tab-{view}":
            tabs.active = f"tab-{view}"
        self._curves_dirty = True
        self._focus_view(force=True)

    def _focus_view(self, force: bool = False) -> None:
        """Compact: the keys go to the view on show (unless the user has focused something else)."""
        if not self.compact or not self.is_mounted:
            return
        if force or self.focused is None or isinstance(self.focused, Tabs):
            self.query_one({"curves": "#curves", "groups": "#groups OptionList",
                            "completions": "#completions VerticalScroll", "system": "#alerts"}[self.view]).focus()

    @on(Tabs.TabActivated, "#views")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab and event.tab.id:
            self.view = event.tab.id.removeprefix("tab-")

    # ------------------------------------------------------------------ reading the store
    def _tick(self) -> None:
        if not self._polling:
            self._polling = True
            self._poll()

    @work(thread=True, group="poll")
    def _poll(self) -> None:
        try:
            if self.watcher is None:
                self.watcher = RunWatcher.for_run(self.run_name)
            up = self.watcher.poll()
            target = self.selected_step
            if target is None:
                target = up.last_group_step
            groups = None
            if target is not None and (
                target != self._shown_step or self.watcher.store.count_groups(target) != self._shown_groups
                or self._shown_pending
            ):  # a new step, more groups of this one (several generations in one step), or new verdicts
                groups = self.watcher.groups_with_verdicts(target)
            self.app.call_from_thread(self._apply, up, target, groups)
        except (StoreError, LookupError, ValueError) as e:
            self.app.call_from_thread(self._failed, e)
        finally:
            self._polling = False

    def _failed(self, e: Exception) -> None:
        self.query_one(CurvesPanel).loading = False
        self.notify(str(e), title="cannot read the run", severity="error", timeout=10, markup=False)

    def _apply(self, up: RunUpdate, target: int | None, groups: list[Group] | None) -> None:
        self.info = up.info
        for step, m in up.metrics:
            self.series.add(step, m)
        if up.metrics:
            self.last_step = max(self.last_step, up.metrics[-1][0])
            self._curves_dirty = True
        if up.last_group_step is not None:
            self.last_group_step = up.last_group_step
            self.last_step = max(self.last_step, up.last_group_step)
        if up.alerts:
            self.alerts.extend(up.alerts)
            self._curves_dirty = True
            self._show_alerts()
            if not self._first_poll:
                self.app.bell()
                a = up.alerts[-1]
                self.notify(a["message"], title=f"alert: {a['rule']} ({a.get('action') or 'warn'})", markup=False,
                            severity="error" if a["severity"] == "critical" else "warning", timeout=10)
        if self.watcher and up.system and self.selected_step is None:
            self.query_one(SystemPanel).sample = self.watcher.system_tail[-1]
        for ev in [] if self._first_poll else up.events:  # history is not news
            if ev["status"] in ("paused", "stopped", "finished", "failed", "killed"):
                self.notify(ev["reason"] or ev["status"], title=ev["status"], markup=False,
                            severity="error" if ev["status"] in ("failed", "killed") else "information")
        self._first_poll = False
        if up.status in ("failed", "lost") and not self.alerts:
            self._show_failure(up)
        self.status = up.status
        header = self.query_one(RunHeader)
        header.info, header.status, header.step = up.info, up.status, self.last_step
        wanted = self.selected_step if self.selected_step is not None else self.last_group_step
        if groups is not None and target is not None and target == wanted:  # not a step left meanwhile
            self._show_groups(target, groups)
        if self._curves_dirty:
            self._redraw_curves()
        self.query_one(CurvesPanel).loading = False
        self.call_after_refresh(self._focus_view)  # a loading widget takes no focus

    def _show_groups(self, step: int, groups: list[Group]) -> None:
        self._shown_step, self._shown_groups = step, len(groups)
        self._shown_pending = sum(c.verdict == "pending" for g in groups for c in g.completions)
        self.query_one(GroupSpreadPanel).show(step, groups)
        self.query_one(CompletionsView).show(step, groups)
        self.query_one("#groups").border_title = f"group spread · step {step}"
        self.query_one("#completions-box").border_title = f"completions · step {step}"

    def _show_failure(self, up: RunUpdate) -> None:
        theme = self.app.current_theme
        why = up.info.get("status_reason") or ""
        if up.status == "lost":
            why = f"the runner (pid {up.info.get('pid')}) is gone; what it recorded stays"
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" {up.status.upper()} ", style=f"bold reverse {theme.error}")
        t.append(f" {why}")
        if up.status == "failed":
            t.append("   (t: traceback)", style="dim")
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
        upto = self.selected_step
        shown = [a for a in self.alerts if upto is None or (a.get("step") or 0) <= upto]
        self.query_one(AlertsPanel).show(shown)
        if shown:
            self._show_banner(shown[-1], len(shown))
        elif self.alerts:  # reviewing a step before the first alert: it had not happened yet
            self.query_one("#banner", Static).remove_class("-shown")

    def _redraw_curves(self) -> None:
        if self.compact and self.view != "curves":
            return  # hidden: drawn when shown
        self._curves_dirty = False
        upto = self.selected_step
        marks = [a["step"] for a in self.alerts if a.get("step") and (upto is None or a["step"] <= upto)]
        self.query_one(CurvesPanel).redraw(self.series, upto=upto, marks=marks, cursor=upto,
                                           kl_off=kl_off(self.info.get("config"), self.series, self.last_step > 0))

    def watch_selected_step(self, step: int | None) -> None:
        self.query_one(RunHeader).viewing = step
        self._curves_dirty = True
        self._show_alerts()
        self._load_system(step)
        if step is not None and step != self._shown_step:
            self._load_step(step)
        elif step is None and self.last_group_step is not None and self.last_group_step != self._shown_step:
            self._load_step(self.last_group_step)
        else:
            self._redraw_curves()

    @work(thread=True, exclusive=True, group="system-at")
    def _load_system(self, step: int | None) -> None:
        """The system as it was at the reviewed step (the newest sample when following the run)."""
        if self.watcher is None:
            return
        try:
            if step is None:
                sample = self.watcher.system_tail[-1] if self.watcher.system_tail else None
            else:
                sample = self.watcher.store.system_at(step)
        except StoreError as e:
            self.app.call_from_thread(self._failed, e)
            return
        self.app.call_from_thread(self._show_system, step, sample)

    def _show_system(self, step: int | None, sample: dict[str, Any] | None) -> None:
        if step != self.selected_step:
            return
        self.query_one(SystemPanel).sample = sample
        self.query_one("#side").border_title = "system" if step is None else f"system · at step {step}"

    @work(thread=True, exclusive=True, group="step")
    def _load_step(self, step: int) -> None:
        if self.watcher is None:
            return
        try:
            groups = self.watcher.groups_with_verdicts(step, wait=0.0)  # stepping stays quick
        except StoreError as e:
            self.app.call_from_thread(self._failed, e)
            return
        self.app.call_from_thread(self._loaded_step, step, groups)

    def _loaded_step(self, step: int, groups: list[Group]) -> None:
        wanted = self.selected_step if self.selected_step is not None else self.last_group_step
        if step != wanted:
            return  # the user moved on while this step was read
        self._show_groups(step, groups)
        self.call_after_refresh(self._redraw_curves)  # the step's groups first, its curves next

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause_resume", "stop_run", "kill_run"):
            return self.status in ACTIVE_STATUSES
        if action == "live":
            return self.selected_step is not None
        if action == "traceback":
            return self.status == "failed"
        if action == "view":
            return self.compact
        return True

    def watch_status(self, old: str, new: str) -> None:
        self.set_class(new == "paused", "-paused")
        self.set_class(new not in ACTIVE_STATUSES, "-ended")
        self.refresh_bindings()

    def action_step(self, delta: int) -> None:
        if self.last_group_step is None or self.watcher is None:
            return
        current = self.selected_step if self.selected_step is not None else self.last_group_step
        self._find_step(current, delta)

    @work(thread=True, exclusive=True, group="find-step")
    def _find_step(self, current: int, delta: int) -> None:
        """The recorded step ``delta`` steps away (an indexed query: no list of steps is kept)."""
        assert self.watcher is not None
        store = self.watcher.store
        try:
            target = store.neighbor_step(current, delta)
            if target is None:  # past either end: stop at the first or the last step
                target = store.first_step() if delta < 0 else store.last_group_step()
        except StoreError as e:
            self.app.call_from_thread(self._failed, e)
            return
        self.app.call_from_thread(self._go_to, target, delta)

    def _go_to(self, target: int | None, delta: int) -> None:
        if target is None:
            return
        if target == self.last_group_step and delta > 0 and self.status in ACTIVE_STATUSES \
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
        from grpotui.tui.screens.prompt import PromptModal

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

    @work(thread=True, exclusive=True, group="find-step")
    def _nearest_step(self, wanted: int) -> None:
        assert self.watcher is not None
        store = self.watcher.store
        wanted = max(-(2**62), min(2**62, wanted))  # SQLite's integers are 64-bit
        try:
            if store.count_groups(wanted):
                target: int | None = wanted
            else:
                before, after = store.neighbor_step(wanted, -1), store.neighbor_step(wanted, 1)
                cands = [s for s in (before, after) if s is not None]
                target = min(cands, key=lambda s: (abs(s - wanted), s)) if cands else None
        except StoreError as e:
            self.app.call_from_thread(self._failed, e)
            return
        self.app.call_from_thread(self._go_to, target, 0)

    def action_view(self, view: str) -> None:
        self.view = view

    def action_cycle_filter(self) -> None:
        self.query_one(CompletionsView).action_cycle_filter()
        if self.compact and self.view not in ("completions",):
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

    def on_key(self, event: Any) -> None:
        box = self.query_one("#search", Input)
        if event.key == "escape" and box.has_focus:
            box.value = ""
            box.remove_class("-shown")
            self.query_one(CompletionsView).focus()
            event.stop()

    def on_unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.stop_judge()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    @work(thread=True, group="traceback")
    def action_traceback(self) -> None:
        """The failed run's traceback (or the end of its log), read off the event loop."""
        from grpotui.store.paths import LOG_FILE, TRACEBACK_FILE

        if self.watcher is None:
            return
        d = self.watcher.path.parent
        try:
            text = (d / TRACEBACK_FILE).read_text(errors="replace")
            title = f"{self.run_name}: traceback"
        except OSError:
            try:
                text = "\n".join((d / LOG_FILE).read_text(errors="replace").splitlines()[-200:])
                title = f"{self.run_name}: the end of its log"
            except OSError as e:
                text, title = str(e), "nothing to show"
        from grpotui.tui.screens.text import TextModal

        self.app.call_from_thread(self.app.push_screen, TextModal(title, text))

    def action_pause_resume(self) -> None:
        command = "resume" if self.status in ("paused", "pausing") else "pause"
        self._send(command)

    def action_stop_run(self) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self._send("stop")

        self.app.push_screen(
            ConfirmModal(f"Stop {self.run_name}? It saves a checkpoint at the next step boundary, then ends.",
                         yes="Stop"), answer)

    def action_kill_run(self) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self._send("kill")

        self.app.push_screen(
            ConfirmModal(f"Kill {self.run_name} now? No checkpoint is saved.", yes="Kill"), answer)

    @work(thread=True, group="control")
    def _send(self, command: str) -> None:
        """Write a control command into the store (off the event loop)."""
        try:
            path = self.watcher.path if self.watcher else None
            if path is None:
                raise StoreError("the run is not open yet")
            from grpotui import control

            control.send(path, command, name=self.run_name)  # a kill: SIGKILL if the runner does not answer
        except (StoreError, OSError, ValueError) as e:
            self.app.call_from_thread(self.notify, str(e), title=f"{command} failed", severity="error",
                                      markup=False)
            return
        text = {
            "pause": "pausing: the run pauses at the next step boundary",
            "resume": "resuming",
            "stop": "stopping: a checkpoint is saved at the next step boundary",
            "kill": "killed",
        }[command]
        self.app.call_from_thread(self.notify, text, title=self.run_name)
