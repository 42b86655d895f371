"""The completions of one step, grouped by prompt, each with its extracted answer highlighted."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rich.color import Color as RichColor
from rich.console import Group as RichGroup
from rich.console import RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color, ColorParseError
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.reactive import reactive, var
from textual.theme import Theme
from textual.timer import Timer
from textual.widgets import Static

from grpotui.store.db import Completion, Group
from grpotui.tui.data import StepGroups

FILTERS = ("all", "wrong", "unparseable", "zero-spread")
PROMPT_CHARS = 320
SEARCH_DELAY = 0.15  # seconds: a search typed key by key redraws once the keys pause
VERDICT_LABELS = {"right": "✓ right", "wrong": "✗ wrong", "unparseable": "? unparseable"}
VERDICT_COLORS = {"right": "success", "wrong": "error", "unparseable": "warning"}
CONTROL_CODES = dict.fromkeys([*range(9), *range(11, 32), 127])  # all but tab and newline: model text is data


class CompletionsView(Vertical):
    """A scrollable view of one step's completions, one block per group, filterable and searchable."""

    DEFAULT_CSS = """
    CompletionsView > VerticalScroll {
        height: 1fr;
    }
    """

    BINDINGS = [Binding("f", "cycle_filter", "Filter", id="completions.cycle_filter")]

    filter: reactive[str] = reactive("all", init=False)
    """Which completions to show: "all", "wrong", "unparseable" or "zero-spread" (groups with no gradient)."""
    search: reactive[str] = reactive("", init=False)
    """Case-insensitive substring to find in prompts and completions; matches are highlighted."""

    step_groups: var[StepGroups] = var(StepGroups(None), init=False)
    """The step on show and its groups (set by the screen; :meth:`show` is the short way)."""
    only_groups: var[frozenset[int] | None] = var(None, init=False)
    """Show only these groups (an alert's evidence); None: every group."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 keep_order: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.keep_order = keep_order
        """Show the groups in the order given (a comparison lines up the prompts runs share), not by number."""
        self._step: int | None = None
        self._groups: list[Group] = []
        self._summary = Static(classes="summary")
        self._body = VerticalScroll()
        self._cards: list[Static] = []
        self._card_grps: list[int | None] = []
        self._search_timer: Timer | None = None
        self.shown = 0
        """Completions on show, after the filter and the search."""
        self.total = 0
        """Completions of the step."""

    def compose(self) -> ComposeResult:
        yield self._summary
        yield self._body

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self._redraw()

    def show(self, step: int | None, groups: Sequence[Group]) -> None:
        """Show the completions of one step (no I/O: the data is handed in)."""
        self.step_groups = StepGroups(step, tuple(groups))

    def watch_step_groups(self, shown: StepGroups) -> None:
        if shown.step != self._step and self.is_mounted:
            self._body.scroll_home(animate=False)
        self._step = shown.step
        self._groups = list(shown.groups) if self.keep_order else sorted(shown.groups, key=lambda g: g.grp)
        self._redraw()

    def scroll_to_group(self, grp: int) -> None:
        """Scroll so that group `grp` is at the top, if it is on show."""
        if grp in self._card_grps:
            self._body.scroll_to_widget(self._cards[self._card_grps.index(grp)], top=True, animate=False)

    def action_cycle_filter(self) -> None:
        """Show the next filter: all → wrong → unparseable → zero-spread → all."""
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]

    def validate_filter(self, value: str) -> str:
        if value not in FILTERS:
            raise ValueError(f"filter must be one of {', '.join(FILTERS)}, not {value!r}")
        return value

    def watch_filter(self) -> None:
        self._body.scroll_home(animate=False)
        self._redraw()

    def watch_only_groups(self) -> None:
        self._body.scroll_home(animate=False)
        self._redraw()

    def watch_search(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, self._search_settled)

    def _search_settled(self) -> None:
        self._search_timer = None
        self._body.scroll_home(animate=False)
        self._redraw()

    def _on_theme_changed(self, theme: Theme) -> None:
        self._redraw()

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        query = self.search.strip().lower()
        pattern = re.compile(re.escape(query), re.IGNORECASE) if query else None
        styles = _Styles(self.app.theme_variables)
        cards: list[tuple[int | None, RenderableType]] = []
        self.total = sum(len(g.completions) for g in self._groups)
        self.shown = 0
        only = self.only_groups
        for g in self._groups:
            if only is not None and g.grp not in only:
                continue
            if kept := _kept(g, self.filter, query):
                self.shown += len(kept)
                cards.append((g.grp, _group_card(g, kept, styles, pattern)))
        self._summary.update(self._summary_line())
        if not cards:
            empty = "no completions recorded yet" if not self.total else "no completions match"
            cards.append((None, Text(empty, style="dim italic")))
        self._update_cards(cards)

    def _summary_line(self) -> Content:
        parts: list[str | tuple[str, str]] = []
        if self._step is not None:
            parts += [(f"step {self._step}", "bold"), " · "]
        parts += ["showing ", (str(self.shown), "bold"), " of ", (str(self.total), "bold"), " completions"]
        only = sorted(self.only_groups) if self.only_groups is not None else None
        notes = [] if only is None else [f"evidence: group{'s' if len(only) != 1 else ''} {', '.join(map(str, only))}"]
        notes += [] if self.filter == "all" else [f"filter: {self.filter}"]
        notes += [f'search: "{self.search.strip()}"'] if self.search.strip() else []
        if notes:
            parts.append((f" ({', '.join(notes)})", "$text-accent"))
        return Content.assemble(*parts)

    def _update_cards(self, cards: list[tuple[int | None, RenderableType]]) -> None:
        """Reuse one Static per group card; mount more only when there are more groups than ever before."""
        for card, (_, renderable) in zip(self._cards, cards, strict=False):
            card.update(renderable)
            card.display = True
        new = [Static(renderable, classes="group") for _, renderable in cards[len(self._cards) :]]
        if new:
            self._cards += new
            self._body.mount_all(new)
        for card in self._cards[len(cards) :]:
            card.display = False
        self._card_grps = [grp for grp, _ in cards]


class _Styles:
    """The Rich styles of the current theme, resolved once per redraw."""

    def __init__(self, variables: dict[str, str]) -> None:
        def color(name: str) -> RichColor | None:
            try:
                return Color.parse(variables[name]).rich_color
            except (KeyError, ColorParseError):  # ANSI themes: "ansi_green 50%"
                return None

        self.verdict = {v: Style(color=color(f"text-{c}"), bold=True) for v, c in VERDICT_COLORS.items()}
        self.answer = {
            v: Style(color=color(f"text-{c}"), bgcolor=color(f"{c}-muted"), bold=True)
            for v, c in VERDICT_COLORS.items()
        }
        self.answer[None] = Style(bold=True, underline=True)
        self.match = Style(color=color("background"), bgcolor=color("accent"), bold=True)
        if self.match.bgcolor is None:
            self.match = Style(reverse=True, bold=True)
        self.no_signal = Style(color=color("text-warning"), italic=True)


def _kept(group: Group, which: str, query: str) -> list[Completion]:
    """The completions of `group` that pass the filter `which` and contain `query` (or whose prompt does)."""
    if which == "zero-spread" and group.spread != 0:
        return []
    verdict = which if which in ("wrong", "unparseable") else None
    in_prompt = not query or query in group.prompt.lower()
    return [
        c
        for c in group.completions
        if (verdict is None or c.verdict == verdict) and (in_prompt or query in c.completion.lower())
    ]


def _highlight(text: Text, pattern: re.Pattern[str] | None, style: Style) -> Text:
    if pattern is not None:
        text.highlight_regex(pattern, style)
    return text


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "–" if x is None else format(x, fmt)


def _group_card(
    group: Group, kept: list[Completion], styles: _Styles, pattern: re.Pattern[str] | None
) -> RichGroup:
    """A group: a rule with its counts, the prompt (dim, truncated), the expected answer, the completions."""
    v = Counter(c.verdict for c in group.completions)
    title = Text.assemble(
        (f" group {group.grp} ", "bold"),
        (f"· {len(kept)} of {len(group.completions)} · spread {group.spread:.2f} ", "dim"),
        *((f"{VERDICT_LABELS[k][0]}{v[k]} ", styles.verdict[k] if v[k] else "dim") for k in VERDICT_LABELS),
    )
    if v["pending"]:
        title.append(f"…{v['pending']} judging ", "dim")
    if v[None]:
        title.append(f"○{v[None]} unknown ", "dim")
    if group.spread == 0:
        title.append(" no signal (zero spread) ", styles.no_signal)
    prompt = group.prompt.strip().translate(CONTROL_CODES)
    if len(prompt) > PROMPT_CHARS and not (pattern and pattern.search(prompt[PROMPT_CHARS:])):
        prompt = prompt[:PROMPT_CHARS].rstrip() + "…"
    expected = (
        Text.assemble(("expected ", "dim"), (group.expected, "bold"))
        if group.expected is not None
        else Text("no expected answer: verdicts unknown", style="dim italic")
    )
    parts: list[RenderableType] = [
        Rule(title, align="left", style="dim"),
        Padding(_highlight(Text(prompt, style="dim"), pattern, styles.match), (0, 0, 0, 2)),
        Padding(expected, (0, 0, 0, 2)),
    ]
    for c in kept:
        body = Padding(_completion_body(c, styles, pattern), (0, 0, 0, 4))
        parts += ["", _completion_header(c, styles), body]
    parts.append("")
    return RichGroup(*parts)


def _completion_header(c: Completion, styles: _Styles) -> Text:
    """`#3  ✓ right  reward 1.00 (correct 1.00 · format 0.00)  adv +0.71  len 212`."""
    header = Text.assemble((f"  #{c.idx}  ", "bold"))
    if c.verdict in VERDICT_LABELS:
        header.append(VERDICT_LABELS[c.verdict], styles.verdict[c.verdict])
        if c.verdict_reason:
            header.append(f" ({c.verdict_reason})", "dim")
    elif c.verdict == "pending":
        header.append("… judging", "dim italic")
    else:
        header.append("· verdict unknown (no expected answer)", "dim italic")
    header.append("  reward ", "dim")
    header.append(_num(c.reward), "bold")
    if len(c.rewards) > 1:
        each = " · ".join(f"{name} {_num(value)}" for name, value in c.rewards.items())
        header.append(f" ({each})", "dim")
    header.append("  adv ", "dim")
    header.append(_num(c.advantage, "+.2f"))
    header.append("  len ", "dim")
    header.append(_num(c.length, "d"))
    return header


def _completion_body(c: Completion, styles: _Styles, pattern: re.Pattern[str] | None) -> Text:
    """The completion text, its extracted answer highlighted (or named after it when not found literally)."""
    text = Text(
        c.completion.strip().translate(CONTROL_CODES), style="dim" if c.verdict == "unparseable" else ""
    )
    answer_style = styles.answer.get(c.verdict, styles.answer[None])
    if c.answer:
        at = _answer_at(text.plain, c.answer)
        if at >= 0:
            text.stylize(answer_style, at, at + len(c.answer))
        else:
            text.append("  → answer: ", "dim")
            text.append(c.answer, answer_style)
    return _highlight(text, pattern, styles.match)


def _answer_at(text: str, answer: str) -> int:
    """Where `answer` is in `text`: its last occurrence not inside a longer number, else its last, else -1."""
    alone = list(re.finditer(rf"(?<![\d.]){re.escape(answer)}(?!\d)", text))
    return alone[-1].start() if alone else text.rfind(answer)
