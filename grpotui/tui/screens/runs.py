"""The runs screen: every run in GRPOTUI_HOME, live; enter opens one, n starts a new one, space marks
runs to compare (c), e and t edit a run's note and tags, v shows its note whole, d deletes it, / filters the
list. Reads and writes go through its :class:`~grpotui.tui.session.RunsSession`."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker

from grpotui.report import age, eval_text
from grpotui.store.db import ACTIVE_STATUSES
from grpotui.store.paths import runs_dir
from grpotui.tui.base import BaseScreen
from grpotui.tui.messages import RunChanged, RunsListed
from grpotui.tui.modals.confirm import ConfirmModal
from grpotui.tui.modals.prompt import PromptModal
from grpotui.tui.modals.text import TextModal
from grpotui.tui.navigation import navigator
from grpotui.tui.session import RunsSession
from grpotui.tui.widgets.header import STATUS_STYLE


def matches(run: dict[str, Any], query: str) -> bool:
    """Every word of ``query`` is in the run's name, status, tags or note (case-insensitive);
    ``#word`` must be one of its tags exactly."""
    hay = " ".join([run["name"], run.get("status") or "", *(run.get("tags") or []), run.get("note") or ""]).lower()
    tags = {t.lower() for t in run.get("tags") or []}
    for word in query.lower().split():
        if word.startswith("#") and len(word) > 1:
            if word[1:] not in tags:
                return False
        elif word not in hay:
            return False
    return True


class RunsScreen(BaseScreen):
    """A live table of runs."""

    AUTO_FOCUS = "#runs"
    POLL_EVERY = 2.0

    BINDINGS = [
        Binding("enter", "open_run", "Open", tooltip="Open the run's dashboard", id="runs.open"),
        Binding("space", "mark", "Mark", tooltip="Mark the run to compare it", id="runs.mark"),
        Binding("c", "compare", "Compare", tooltip="Compare the marked runs", id="runs.compare"),
        Binding("n", "new_run", "New", tooltip="Start a new run", id="runs.new"),
        Binding("e", "edit_note", "Note", tooltip="Edit the run's note", id="runs.note"),
        Binding("v", "view_note", "View note", show=False, tooltip="The run's note in full", id="runs.view_note"),
        Binding("t", "edit_tags", "Tags", tooltip="Edit the run's tags", id="runs.tags"),
        Binding("d", "delete", "Delete", tooltip="Delete the run", id="runs.delete"),
        Binding("slash", "filter", "Filter", tooltip="Filter the runs", id="runs.filter"),
        Binding("escape", "clear", "Clear", show=False, tooltip="Clear the filter, then the marks",
                id="runs.clear"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="Read the runs again", id="runs.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session = RunsSession()
        self.all_runs: list[dict[str, Any]] = []
        self.runs: list[dict[str, Any]] = []
        """The runs on show (after the filter), in table order."""
        self.marked: list[str] = []
        """Runs marked for a comparison, in the order they were marked."""
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Static(id="runs-title")
        yield Input(placeholder="filter: words in name, status, tags or note; #tag for a tag (enter: done, "
                    "escape: clear)", id="runs-filter")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("No runs yet. Press n to start one (or the demo), or run `grpotui demo`.", id="runs-empty")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for label, key in (("", "mark"), ("name", "name"), ("status", "status"), ("step", "step"),
                           ("reward", "reward"), ("trend", "trend"), ("eval", "eval"), ("alerts", "alerts"),
                           ("age", "age"),
                           ("tags", "tags"), ("note", "note")):
            table.add_column(label, key=key)
        table.loading = True
        self._title()

    def on_screen_resume(self) -> None:
        self.poll_now()  # shown first, or back from a dashboard or a new run: what changed meanwhile

    def action_refresh(self) -> None:
        self.poll_now()

    @work(thread=True, group="poll", name="read the runs", exit_on_error=False)
    def poll(self) -> None:
        self.post_message(RunsListed(self.session.poll()))  # one read of each store

    def worker_failed(self, worker: Worker[Any]) -> None:
        self.query_one("#runs", DataTable).loading = False

    @on(RunsListed)
    def _listed(self, event: RunsListed) -> None:
        self._show(event.runs)

    def _show(self, runs: list[dict[str, Any]] | None = None) -> None:
        table = self.query_one("#runs", DataTable)
        table.loading = False
        selected = self.current
        if runs is not None:
            self.all_runs = runs
            names = {r["name"] for r in self.all_runs}
            self.marked = [n for n in self.marked if n in names]  # deleted meanwhile
        runs = [r for r in self.all_runs if matches(r, self.query_text)]
        self.runs = runs
        theme = self.app.current_theme
        table.clear()
        for r in runs:
            style = getattr(theme, STATUS_STYLE.get(r["status"], "foreground"), None) or ""
            step = f"{r.get('step') or 0}/{r['max_steps']}" if r.get("max_steps") else str(r.get("step") or 0)
            reward = r.get("reward")
            n_alerts = len(r.get("alerts") or [])
            mark = self.marked.index(r["name"]) + 1 if r["name"] in self.marked else 0
            table.add_row(
                Text(f"{mark}●" if mark else "", style=f"bold {theme.accent}"),
                Text(r["name"], style="bold"),
                Text(r["status"], style=style),
                Text(step, justify="right"),
                Text(f"{reward:.3f}" if isinstance(reward, (int, float)) else "-", justify="right"),
                Text(r.get("trend", ""), style=theme.success),
                Text(eval_text(r), justify="right"),
                Text(str(n_alerts), style=theme.warning if n_alerts else "dim", justify="right"),
                Text(age(r.get("created_at")), justify="right"),
                Text(" ".join(r.get("tags") or []), style=theme.secondary or "", no_wrap=True),
                Text(" ".join((r.get("note") or "").split())[:60], style="dim", no_wrap=True, overflow="ellipsis"),
                key=r["name"],
            )
        if selected:
            for i, r in enumerate(runs):
                if r["name"] == selected:
                    table.move_cursor(row=i)
        self.set_class(not self.all_runs, "-empty")
        self._title()

    def _title(self) -> None:
        title = Text("grpotui", style="bold")
        title.append(f"   runs in {runs_dir()}", style="dim")
        if self.query_text:
            title.append(f"   {len(self.runs)} of {len(self.all_runs)} match “{self.query_text}”",
                         style=self.app.current_theme.accent)
        if self.marked:
            title.append(f"   marked: {', '.join(self.marked)}  ({self.key_for('runs.compare')}: compare, "
                         f"{self.key_for('runs.mark')}: unmark)", style="bold")
        self.query_one("#runs-title", Static).update(title)

    @property
    def current(self) -> str | None:
        """The run under the cursor."""
        table = self.query_one("#runs", DataTable)
        if self.runs and 0 <= table.cursor_row < len(self.runs):
            return str(self.runs[table.cursor_row]["name"])
        return None

    def _run(self, name: str) -> dict[str, Any]:
        return next(r for r in self.all_runs if r["name"] == name)

    def _open(self, name: str) -> None:
        run = self._run(name)
        if run.get("kind") == "follower":  # another machine's share of a run: nothing of it is here
            from grpotui.store.runs import where_to_open

            self.notify(where_to_open(name, run.get("follows")), markup=False, timeout=8)
            return
        navigator(self).open_run(name)

    @on(DataTable.RowSelected, "#runs")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self._open(str(event.row_key.value))

    def action_open_run(self) -> None:
        if self.current:
            self._open(self.current)

    # ------------------------------------------------------------------ marking and comparing
    def action_mark(self) -> None:
        name = self.current
        if not name:
            return
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
        self._show()
        table = self.query_one("#runs", DataTable)
        if table.cursor_row < len(self.runs) - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_compare(self) -> None:
        names = list(self.marked)
        if len(names) < 2:
            self.notify("mark two or more runs with space, then press c", title="compare", markup=False)
            return
        navigator(self).open_compare(names)

    def action_clear(self) -> None:
        box = self.query_one("#runs-filter", Input)
        if box.has_focus or self.query_text:
            box.value = ""
            box.remove_class("-shown")
            self.query_one("#runs", DataTable).focus()
        elif self.marked:
            self.marked = []
        self._show()

    # ------------------------------------------------------------------ filtering
    def action_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.add_class("-shown")
        box.focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value.strip()
        self._show()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.remove_class("-shown")
        self.query_one("#runs", DataTable).focus()

    # ------------------------------------------------------------------ notes, tags, deleting
    def action_view_note(self) -> None:
        """The run's note in full (the list cuts it at 60 characters)."""
        if name := self.current:
            self.app.push_screen(TextModal(f"note of {name}", self._run(name).get("note") or "", note=True))

    def action_edit_note(self) -> None:
        if name := self.current:
            self._edit(name, "note", PromptModal(f"Note for {name}: why it was started, what was learned",
                                                 self._run(name).get("note") or "", placeholder="(no note)"))

    def action_edit_tags(self) -> None:
        if name := self.current:
            self._edit(name, "tags", PromptModal(
                f"Tags of {name}, separated by spaces", " ".join(self._run(name).get("tags") or []),
                placeholder="lr-sweep baseline ...",
                hint="filter by a tag with / and #tag · enter: save · escape: cancel"))

    def _edit(self, name: str, what: str, prompt: PromptModal) -> None:
        """Ask, then write what was typed (off the event loop); escape writes nothing."""

        def save(text: str | None) -> None:
            if text is not None:
                self._write(name, what, text)

        self.app.push_screen(prompt, save)

    def _write(self, name: str, what: str, text: str) -> None:
        """Write the note or the tags off the event loop; a refusal (a bad tag) is the worker's error."""
        save = self.session.set_note if what == "note" else self.session.set_tags

        def work() -> None:
            save(name, text)
            self.post_message(RunChanged(name))

        self.run_worker(work, thread=True, group="runs-write", name=f"save the {what}", exit_on_error=False)

    @on(RunChanged)
    def _changed(self, event: RunChanged) -> None:
        if event.text:
            self.notify(event.text, title="delete", markup=False)
        self.poll_now()

    def action_delete(self) -> None:
        name = self.current
        if not name:
            return
        status = self._run(name).get("status")
        if status in ACTIVE_STATUSES:
            self.notify(f"{name} is {status}: stop or kill it before deleting it", title="delete",
                        severity="warning", markup=False)
            return

        unreadable = status == "unreadable"

        def answer(yes: bool | None) -> None:
            if yes:
                self._delete(name, unreadable)

        why = " Its store cannot be read, so whether it still runs cannot be told." if unreadable else ""
        self.app.push_screen(ConfirmModal(f"Delete {name} with every file of it (store, checkpoints, log)? "
                                          f"This cannot be undone.{why}", yes="Delete"), answer)

    @work(thread=True, group="runs-write", name="delete the run", exit_on_error=False)
    def _delete(self, name: str, force: bool = False) -> None:
        self.session.delete(name, force=force)
        self.post_message(RunChanged(name, f"deleted {name}"))

    def action_new_run(self) -> None:
        navigator(self).open_new_run()
