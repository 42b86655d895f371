"""One step's groups side by side: every sample's reward as a coloured bar, one row per group."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from textual import events, on
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import var
from textual.theme import Theme
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from grpotui.store.db import Group
from grpotui.tui.data import StepGroups

BARS = "▂▃▄▅▆▇█"  # the lowest is still visible
NO_SIGNAL = "no signal"
MUTED = "$text-muted"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


class GroupSpreadPanel(Vertical):
    """Each group's rewards for one step, with min/mean/max, verdict counts and zero-spread groups marked."""

    DEFAULT_CSS = """
    GroupSpreadPanel > OptionList {
        height: 1fr;
        scrollbar-gutter: stable;
    }
    """

    class GroupSelected(Message):
        """A group row was clicked or chosen with enter; ``control`` is the panel it was chosen in."""

        def __init__(self, grp: int, panel: GroupSpreadPanel) -> None:
            super().__init__()
            self.grp = grp
            self.panel = panel

        @property
        def control(self) -> GroupSpreadPanel:
            return self.panel

    step_groups: var[StepGroups] = var(StepGroups(None), init=False)
    """The step on show and its groups (set by the screen; :meth:`show` is the short way)."""
    marked: var[frozenset[int]] = var(frozenset, init=False)
    """Groups to mark (an alert's evidence): a marker beside them, the first of them highlighted."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 keep_order: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.keep_order = keep_order
        """Show the groups in the order given (a comparison lines up the prompts runs share), not by number."""
        self._step: int | None = None
        self._groups: list[Group] = []
        self._summary = Static(classes="summary")
        self._list = OptionList(compact=True)
        self._width = 0

    @property
    def groups(self) -> list[Group]:
        """The groups on show, in the order shown."""
        return self._groups

    def compose(self) -> ComposeResult:
        yield self._summary
        yield self._list

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self._redraw()

    def show(self, step: int | None, groups: Sequence[Group]) -> None:
        """Show the groups of one step (no I/O: the data is handed in)."""
        self.step_groups = StepGroups(step, tuple(groups))

    def watch_step_groups(self, shown: StepGroups) -> None:
        self._step = shown.step
        self._groups = list(shown.groups) if self.keep_order else sorted(shown.groups, key=lambda g: g.grp)
        self._redraw()

    def watch_marked(self, marked: frozenset[int]) -> None:
        self._redraw()
        ids = [g.grp for g in self._groups]
        first = next((i for i, grp in enumerate(ids) if grp in marked), None)
        if first is not None:
            self._list.highlighted = first

    def on_resize(self, event: events.Resize) -> None:
        if self._list.scrollable_content_region.width != self._width:
            self._redraw()

    def _on_theme_changed(self, theme: Theme) -> None:
        self._redraw()

    @on(OptionList.OptionSelected)
    def _group_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.GroupSelected(self._groups[event.option_index].grp, self))

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        self._summary.update(self._summary_line())
        self._width = self._list.scrollable_content_region.width
        rows = self._rows(self._width or 80)
        ol = self._list
        ids = [str(g.grp) for g in self._groups]
        if [o.id for o in ol.options] == ids:
            for index, row in enumerate(rows):
                ol.replace_option_prompt_at_index(index, row)
            return
        keep = ol.highlighted_option.id if ol.highlighted_option is not None else None
        ol.set_options(Option(row, id=option_id) for option_id, row in zip(ids, rows, strict=True))
        if rows:
            ol.highlighted = ids.index(keep) if keep in ids else 0

    def _summary_line(self) -> Content:
        groups = self._groups
        step = "step –" if self._step is None else f"step {self._step}"
        if not groups:
            return Content.assemble((step, "bold"), " · ", ("no groups recorded yet", MUTED))
        sizes = sorted({len(g.completions) for g in groups})
        k = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
        rewards = [r for g in groups for r in g.rewards]
        mean = f"{sum(rewards) / len(rewards):.2f}" if rewards else "–"
        zero = sum(g.spread == 0 for g in groups)
        v = Counter(c.verdict for g in groups for c in g.completions)
        parts: list[str | tuple[str, str]] = [
            (step, "bold"),
            f" · {len(groups)} groups × {k} samples · mean reward ",
            (mean, "bold"),
            " · zero-spread ",
            (f"{zero}/{len(groups)}", "bold $text-warning" if zero else "bold"),
            " · right ",
            (str(v["right"]), "bold $text-success"),
            " / wrong ",
            (str(v["wrong"]), "bold $text-error"),
            " / unparseable ",
            (str(v["unparseable"]), "bold $text-warning"),
        ]
        if v["pending"]:
            parts += [" / judging ", (str(v["pending"]), "bold")]
        if v[None]:
            parts += [" / unknown ", (str(v[None]), "bold")]
        if marked := [g for g in groups if g.grp in self.marked]:
            parts += [" · ", (f"▸ {len(marked)} evidence group{'s' if len(marked) != 1 else ''}", "bold $text-accent")]
        return Content.assemble(*parts)

    def _rows(self, width: int) -> list[Content]:
        """One Content per group, laid out for `width` cells: one line when it fits, else two."""
        groups = self._groups
        if not groups:
            return []
        rewards = [r for g in groups for r in g.rewards]
        lo, hi = min([0.0, *rewards]), max([1.0, *rewards])
        color = self._gradient()
        k = max(len(g.completions) for g in groups)
        label_w = len(f"#{max(g.grp for g in groups)}")
        num_w = max([4, *(len(f"{r:.2f}") for r in rewards)])
        count_w = len(str(k))
        unknown = any(c.verdict in (None, "pending") for g in groups for c in g.completions)
        tag_w = len(NO_SIGNAL) if any(g.spread == 0 for g in groups) else 0
        mark_w = 2 if self.marked else 0  # "▸ " beside an evidence group

        def bar(r: float | None) -> tuple[str, str]:
            if not _finite(r):
                return "·", MUTED
            return BARS[round((r - lo) / (hi - lo) * (len(BARS) - 1))], color((r - lo) / (hi - lo))

        def num(label: str, x: float | None) -> Content:
            value = (f"{x:.2f}".rjust(num_w), "") if _finite(x) else ("–".rjust(num_w), MUTED)
            return Content.assemble((label, MUTED), value)

        def count(symbol: str, n: int, style: str) -> Content:
            return Content.styled(f"{symbol}{n:>{count_w}}", style if n else MUTED)

        cells: list[tuple[Content, Content, Content, Content]] = []  # label, stats, counts, tag
        for g in groups:
            rs, v = g.rewards, Counter(c.verdict for c in g.completions)
            stats = Content(" ").join(
                [
                    num("min ", min(rs) if rs else None),
                    num("mean ", sum(rs) / len(rs) if rs else None),
                    num("max ", max(rs) if rs else None),
                ]
            )
            counts = Content(" ").join(
                [
                    count("✓", v["right"], "$text-success"),
                    count("✗", v["wrong"], "$text-error"),
                    count("?", v["unparseable"], "$text-warning"),
                    *([count("○", v[None] + v["pending"], "")] if unknown else []),
                ]
            )
            zero = g.spread == 0
            tag = Content.styled(NO_SIGNAL if zero else " " * tag_w, "italic $text-warning")
            evidence = g.grp in self.marked
            label = Content.styled(f"#{g.grp}".ljust(label_w),
                                   "bold $text-accent" if evidence else MUTED if zero else "bold")
            if mark_w:
                label = Content.assemble(("▸ " if evidence else "  ", "bold $text-accent"), label)
            cells.append((label, stats, counts, tag))

        # One line when the bars (two cells each when there is room, else one) fit beside the numbers.
        fixed = mark_w + label_w + 2 + max(c[1].cell_length for c in cells) + 2 + max(c[2].cell_length for c in cells)
        fixed += 2 + tag_w
        cell_w = next((w for w in (2, 1) if fixed + k * w <= width), 0)
        prompt_w = width - fixed - k * cell_w - 2

        rows = []
        for g, (label, stats, counts, tag) in zip(groups, cells, strict=True):
            gap = " " * (cell_w - 1)
            strip = Content.assemble(*(part for c in g.completions for part in (bar(c.reward), gap)))
            if cell_w:
                strip = strip.pad_right(k * cell_w - strip.cell_length)
                row = Content.assemble(label, " ", strip, " ", stats, "  ", counts, "  ", tag)
                if prompt_w >= 16:
                    row = Content.assemble(row, "  ", self._snippet(g.prompt, prompt_w))
            else:
                indent = " " * (mark_w + label_w + 1)
                row = Content.assemble(label, " ", strip, "\n", indent, stats, "  ", counts, "  ", tag)
            rows.append(row)
        return rows

    @staticmethod
    def _snippet(prompt: str, width: int) -> Content:
        text = "".join(filter(str.isprintable, " ".join(prompt.split())))
        if len(text) > width:
            text = text[: width - 1] + "…"
        return Content.styled(text, MUTED)

    def _gradient(self) -> Callable[[float], str]:
        """A function from 0..1 to a colour: error, through warning, to success, in the current theme."""
        variables = self.app.theme_variables
        stops = [Color.parse(variables.get(name, fallback)) for name, fallback in
                 (("error", "red"), ("warning", "yellow"), ("success", "green"))]  # fmt: skip
        if any(c.ansi is not None for c in stops):
            return lambda t: stops[round(t * 2)].hex

        def color(t: float) -> str:
            if t <= 0.5:
                return stops[0].blend(stops[1], t * 2).hex
            return stops[1].blend(stops[2], (t - 0.5) * 2).hex

        return color
