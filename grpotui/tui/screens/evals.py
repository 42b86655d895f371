"""A run's held-out evaluations: accuracy and pass@k over the steps, every evaluation's figures, and the
problems of the one chosen with their samples (filter wrong, unparseable), as a step's groups are shown."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker

from grpotui.tui.base import BaseScreen
from grpotui.tui.messages import EvalGroupsRead, EvalsRead
from grpotui.tui.session import RunSession
from grpotui.tui.widgets.completions import CompletionsView
from grpotui.tui.widgets.curves import MetricPlot, _fmt, int_ticks, rgb
from grpotui.tui.widgets.groups import GroupSpreadPanel


def _share(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


class EvalScreen(BaseScreen):
    """Opened from a run's dashboard (``e``); escape goes back to it."""

    POLL_EVERY = 2.0
    DEFAULT_CSS = """
    EvalScreen #eval-top { height: 2fr; min-height: 9; }
    EvalScreen #eval-plot { width: 1fr; }
    EvalScreen #eval-table { width: 74; max-width: 50%; height: 1fr; }
    EvalScreen #eval-bottom { height: 3fr; }
    EvalScreen #eval-groups { width: 2fr; }
    EvalScreen #eval-completions { width: 3fr; }
    EvalScreen #eval-title { height: 1; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the dashboard", id="evals.back"),
        Binding("left_square_bracket", "move(-1)", "Prev eval", tooltip="The evaluation before", id="evals.prev"),
        Binding("right_square_bracket", "move(1)", "Next eval", tooltip="The evaluation after", id="evals.next"),
        Binding("f", "cycle_filter", "Filter", tooltip="Filter the samples: wrong, unparseable", id="evals.filter"),
    ]

    def __init__(self, session: RunSession) -> None:
        super().__init__()
        self.session = session
        self.evals: list[dict[str, Any]] = []
        self.shown_step: int | None = None
        """The evaluation whose problems are on show (None: none yet)."""

    def compose(self) -> ComposeResult:
        yield Static(id="eval-title")
        with Horizontal(id="eval-top"):
            yield MetricPlot(id="eval-plot", classes="panel")
            yield DataTable(id="eval-table", cursor_type="row", zebra_stripes=True, classes="panel")
        with Horizontal(id="eval-bottom"):
            yield GroupSpreadPanel(id="eval-groups", classes="panel")
            yield CompletionsView(id="eval-completions", classes="panel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#eval-table", DataTable).border_title = "evaluations"
        self.query_one("#eval-groups").border_title = "problems"
        self.query_one("#eval-completions").border_title = "samples"
        table = self.query_one("#eval-table", DataTable)
        for label, key in (("step", "step"), ("accuracy", "acc"), ("pass@k", "pass"), ("k", "k"),
                           ("problems", "n"), ("unparseable", "unp"), ("length", "len"), ("pending", "pend")):
            table.add_column(label, key=key)
        table.focus()
        self._title()
        self.poll_now()

    # ------------------------------------------------------------------ reading
    @work(thread=True, group="poll", name="read the evaluations", exit_on_error=False)
    def poll(self) -> None:
        self.post_message(EvalsRead(self.session.evals()))

    @on(EvalsRead)
    def _evals_read(self, event: EvalsRead) -> None:
        if event.evals == self.evals:
            return
        self.evals = event.evals
        table = self.query_one("#eval-table", DataTable)
        keep = table.cursor_row
        table.clear()
        for e in self.evals:
            table.add_row(str(e["step"]), _share(e["eval/accuracy"]), _share(e["eval/pass@k"]),
                          str(e["eval/k"] or "–"), str(e["eval/problems"]), _share(e["eval/unparseable"]),
                          "–" if e["eval/mean_length"] is None else f"{e['eval/mean_length']:.0f}",
                          str(e["eval/pending"] or ""), key=str(e["step"]))
        if self.evals:
            row = keep if self.shown_step is not None and keep < len(self.evals) else len(self.evals) - 1
            table.move_cursor(row=row)
            self._show(self.evals[row]["step"], again=True)
        self._draw()
        self._title()

    def _title(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" held-out evaluation ", style="bold reverse")
        t.append(f"  {self.session.name}", style="bold")
        if not self.evals:
            t.append("  no evaluation recorded yet (set [eval] in the run's config)", style="dim")
        else:
            last = self.evals[-1]
            t.append(f"  {len(self.evals)} evaluation{'s' if len(self.evals) != 1 else ''} · newest at step "
                     f"{last['step']}: accuracy {_share(last['eval/accuracy'])}, pass@{last['eval/k']} "
                     f"{_share(last['eval/pass@k'])}", style="dim")
            if self.shown_step is not None:
                t.append(f"   on show: step {self.shown_step}", style="bold")
        self.query_one("#eval-title", Static).update(t)

    def _draw(self) -> None:
        """Accuracy (pass@1) and pass@k over the steps, one point per evaluation."""
        plot = self.query_one("#eval-plot", MetricPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        theme = self.app.current_theme
        drawn = False
        for key, label, color in (("eval/accuracy", "accuracy", theme.primary), ("eval/pass@k", "pass@k",
                                                                                   theme.secondary or "cyan")):
            pts = [(e["step"], e[key]) for e in self.evals if e[key] is not None]
            if pts:
                plt.plot([x for x, _ in pts], [y for _, y in pts], color=rgb(color or "white"), marker="braille",
                         label=label)
                drawn = True
        plot.empty_message = None if drawn else "\nheld-out accuracy\n\nno evaluation judged yet"
        if drawn:
            plt.ylim(0, 1)
            plt.yticks([0, 0.5, 1], ["0", "0.5", "1"])
            steps = [e["step"] for e in self.evals]
            if max(steps) > min(steps):
                ticks = int_ticks(min(steps), max(steps), 4)
                plt.xticks(ticks, [str(t) for t in ticks])
            if self.shown_step is not None:
                plt.vline(self.shown_step, rgb(theme.foreground or "white"))
            last = self.evals[-1]
            plt.title(f"held-out accuracy {_fmt(last['eval/accuracy'] or 0.0)} · pass@{last['eval/k']}")
        plot.refresh()

    # ------------------------------------------------------------------ one evaluation
    @on(DataTable.RowHighlighted, "#eval-table")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._show(int(event.row_key.value))

    def _show(self, step: int, *, again: bool = False) -> None:
        if step != self.shown_step or again:
            self._read_groups(step)

    @work(thread=True, exclusive=True, group="eval-groups", name="read the evaluation", exit_on_error=False)
    def _read_groups(self, step: int) -> None:
        self.post_message(EvalGroupsRead(self.session.eval_groups(step)))

    @on(EvalGroupsRead)
    def _groups_read(self, event: EvalGroupsRead) -> None:
        shown = event.groups
        self.shown_step = shown.step
        self.query_one(GroupSpreadPanel).step_groups = shown
        self.query_one(CompletionsView).step_groups = shown
        self.query_one("#eval-completions").border_subtitle = f"evaluation at step {shown.step}"
        self._draw()
        self._title()

    @on(GroupSpreadPanel.GroupSelected)
    def _group_selected(self, event: GroupSpreadPanel.GroupSelected) -> None:
        self.query_one(CompletionsView).scroll_to_group(event.grp)

    def action_move(self, delta: int) -> None:
        table = self.query_one("#eval-table", DataTable)
        if self.evals:
            table.move_cursor(row=max(0, min(len(self.evals) - 1, table.cursor_row + delta)))

    def action_cycle_filter(self) -> None:
        self.query_one(CompletionsView).action_cycle_filter()

    def worker_failed(self, worker: Worker[Any]) -> None:
        return None
