"""Curves of several runs overlaid on one step axis, one colour per run (the comparison screen)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Grid
from textual.reactive import var

from grpotui.tui.data import Series, downsample, smooth, smoothing_window
from grpotui.tui.widgets.curves import SCROLL_BINDINGS, DrawnWhenShown, MetricPlot, _fmt, finite, int_ticks, rgb

# (title, metric key); each reward function's mean is added after these.
OVERLAY_PLOTS = (
    ("reward", "reward"),
    ("reward std", "reward_std"),
    ("KL", "kl"),
    ("entropy", "entropy"),
    ("length", "completions/mean_length"),
)

EVAL_PLOT = ("held-out accuracy", "eval/accuracy")


@dataclass(frozen=True)
class OverlayView:
    """What the overlaid curves show: every run's series (as of their versions) in its colour, a cursor at the
    step looked at; ``kl_off``: no run logs KL (beta = 0), said instead of "no data"."""

    series: tuple[Series, ...]
    versions: tuple[int, ...]
    colors: tuple[str, ...]
    cursor: int | None = None
    kl_off: bool = False


class OverlayCurves(DrawnWhenShown, Grid):
    """One small plot per metric, each with a line per run (raw when short, a rolling mean when long)."""

    BINDINGS = SCROLL_BINDINGS

    DEFAULT_CSS = """
    OverlayCurves { grid-size: 3; grid-gutter: 0 1; height: 1fr; }
    """

    curves: var[OverlayView | None] = var(None)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.keys: list[tuple[str, str]] = list(OVERLAY_PLOTS)

    def plot_id(self, key: str) -> str:
        """A widget id per metric, by position (reward functions may be named anything)."""
        return f"ov-{[k for _, k in self.keys].index(key)}"

    def compose(self) -> ComposeResult:
        for title, key in self.keys:
            yield MetricPlot(id=self.plot_id(key), name=title)

    def _draw(self, view: OverlayView) -> None:
        """Every run's curves overlaid."""
        series, colors, cursor, kl_off = view.series, view.colors, view.cursor, view.kl_off
        funcs = sorted({k for s in series for k in s.reward_keys()})
        new = [(k.split("/")[1], k) for k in funcs if (k.split("/")[1], k) not in self.keys]
        if any(s.get("eval/accuracy")[0] for s in series) and EVAL_PLOT not in self.keys + new:
            new.append(EVAL_PLOT)  # a run evaluates on held-out problems
        if new:  # a reward function seen for the first time: one more plot, drawn once laid out (on_resize)
            self.keys += new
            self._drawn = None
            self.mount_all(MetricPlot(id=self.plot_id(key), name=title) for title, key in new)
            return
        for title, key in self.keys:
            plot = self.query_one(f"#{self.plot_id(key)}", MetricPlot)
            plt = plot.plt
            plt.clear_data()
            plt.clear_figure()
            width = max(10, plot.size.width - 8)
            xmin = xmax = None
            ymin = ymax = None
            smoothed = False
            for s, color in zip(series, colors, strict=False):
                xs, ys, _bad = finite(*s.get(key))
                if not xs:
                    continue
                w = smoothing_window(len(xs))
                if w > 1:
                    ys = smooth(ys, w)
                    smoothed = True
                px, py = downsample(xs, ys, width)
                plt.plot(px, py, color=rgb(color), marker="hd")
                xmin = xs[0] if xmin is None else min(xmin, xs[0])
                xmax = xs[-1] if xmax is None else max(xmax, xs[-1])
                ymin = min(py) if ymin is None else min(ymin, min(py))
                ymax = max(py) if ymax is None else max(ymax, max(py))
            label = f"{title} (rolling mean)" if smoothed else title
            plot.empty_message = None if xmin is not None else (
                f"\n{title}\n\nnot logged (beta = 0)" if key == "kl" and kl_off else f"\n{title}\n\nno data yet")
            if ymin is not None and ymax is not None and ymax > ymin:
                n = max(2, min(5, (plot.size.height - 3) // 2))  # no two ticks on one row
                yt = [ymin + (ymax - ymin) * i / (n - 1) for i in range(n)]
                plt.yticks(yt, [_fmt(v) for v in yt])
            if xmin is not None and xmax is not None:
                if cursor is not None and xmin <= cursor <= xmax:
                    plt.vline(cursor, rgb(self.app.current_theme.foreground or "white"))
                if xmax > xmin:
                    plt.xlim(xmin, xmax)
                    ticks = int_ticks(xmin, xmax, 4 if plot.size.width > 30 else 3)
                    plt.xticks(ticks, [str(t) for t in ticks])
            plt.title(label)
            plot.refresh()
