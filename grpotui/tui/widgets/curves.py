"""Curves over steps: reward (mean ± std), reward std, zero-spread groups, KL, loss, entropy, length,
and each reward function's mean; alerts marked on every curve."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Grid
from textual_plotext import PlotextPlot

from grpotui.tui.data import Series, downsample

# (widget id, title, metric key); the reward plot adds the std band, the last one every function.
PLOTS = (
    ("plot-reward", "reward ±std", "reward"),
    ("plot-reward-std", "reward std", "reward_std"),
    ("plot-zero-std", "zero-spread", "frac_reward_zero_std"),
    ("plot-kl", "KL", "kl"),
    ("plot-loss", "loss", "loss"),
    ("plot-entropy", "entropy", "entropy"),
    ("plot-length", "length", "completions/mean_length"),
    ("plot-funcs", "by function", ""),
)


def rgb(color: str) -> tuple[int, int, int]:
    """A theme colour as plotext wants it."""
    c = Color.parse(color)
    return (c.r, c.g, c.b)


def int_ticks(lo: int, hi: int, n: int = 4) -> list[int]:
    if hi <= lo:
        return [lo]
    step = max(1, math.ceil((hi - lo) / (n - 1)))
    return list(range(lo, hi + 1, step))


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


class MetricPlot(PlotextPlot):
    """One small plot."""

    DEFAULT_CSS = """
    MetricPlot { height: 1fr; min-height: 7; }
    """


class CurvesPanel(Grid):
    """A grid of small plots, redrawn from a :class:`Series` when new steps arrive."""

    DEFAULT_CSS = """
    CurvesPanel { grid-size: 4; grid-gutter: 0 1; height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        for pid, _title, _key in PLOTS:
            yield MetricPlot(id=pid)

    def redraw(self, series: Series, *, upto: int | None = None, marks: list[int] = (),
               cursor: int | None = None) -> None:
        """Draw every plot from ``series`` (up to step ``upto`` when reviewing the past)."""
        theme = self.app.current_theme
        palette = [rgb(c) for c in (theme.primary, theme.accent, theme.secondary or theme.primary,
                                    theme.warning or theme.accent)]
        for pid, title, key in PLOTS:
            plot = self.query_one(f"#{pid}", MetricPlot)
            plt = plot.plt
            plt.clear_data()
            plt.clear_figure()
            width = max(10, plot.size.width - 8)
            label = title
            xmin = xmax = None
            if pid == "plot-funcs":
                for i, k in enumerate(series.reward_keys()):
                    xs, ys = series.get(k, upto)
                    if xs:
                        px, py = downsample(xs, ys, width)
                        plt.plot(px, py, color=palette[i % len(palette)], marker="hd", label=k.split("/")[1])
                        xmin, xmax = xs[0], xs[-1]
            else:
                xs, ys = series.get(key, upto)
                if xs:
                    if pid == "plot-reward":
                        sx, sd = series.get("reward_std", upto)
                        if sx == xs:
                            for band in ([y - s for y, s in zip(ys, sd)], [y + s for y, s in zip(ys, sd)]):
                                bx, by = downsample(xs, band, width)
                                plt.plot(bx, by, color="gray", marker="hd")
                    px, py = downsample(xs, ys, width)
                    plt.plot(px, py, color=rgb(theme.success if pid == "plot-reward" else theme.primary),
                             marker="hd")
                    xmin, xmax = xs[0], xs[-1]
                    label = f"{title}  {_fmt(ys[-1])}"
                elif key == "kl":
                    label = "KL: not logged (beta = 0)"
            if xmin is not None and xmax is not None:
                for m in marks:
                    if xmin <= m <= xmax:
                        plt.vline(m, rgb(theme.error))
                if cursor is not None:
                    plt.vline(cursor, rgb(theme.accent))
                plt.xlim(xmin, xmax)
                ticks = int_ticks(xmin, xmax, 4 if plot.size.width > 30 else 3)
                plt.xticks(ticks, [str(t) for t in ticks])
            plt.title(label)
            plot.refresh()
