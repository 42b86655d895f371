"""Curves over steps: reward (mean with its spread), reward std, KL, loss, entropy, length, per-function rewards."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Grid
from textual_plotext import PlotextPlot

from grpotui.tui.data import Series, downsample

# (widget id, title, metric keys)
PLOTS = (
    ("plot-reward", "reward (mean ± std)", ("reward",)),
    ("plot-reward-std", "reward std", ("reward_std",)),
    ("plot-kl", "KL", ("kl",)),
    ("plot-loss", "loss", ("loss",)),
    ("plot-entropy", "entropy", ("entropy",)),
    ("plot-length", "completion length", ("completions/mean_length",)),
    ("plot-funcs", "reward by function", ()),
)


class MetricPlot(PlotextPlot):
    """One curve (or a few) with a readable step axis."""

    DEFAULT_CSS = """
    MetricPlot { height: 1fr; min-height: 6; }
    """


class CurvesPanel(Grid):
    """A grid of small plots, redrawn from a :class:`Series` when new steps arrive."""

    DEFAULT_CSS = """
    CurvesPanel { grid-size: 3; grid-gutter: 0 1; height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        for pid, title, _ in PLOTS:
            plot = MetricPlot(id=pid)
            plot.border_title = title
            yield plot

    def redraw(self, series: Series, *, upto: int | None = None, marks: list[int] = (),
               cursor: int | None = None) -> None:
        """Draw every plot from ``series`` (up to step ``upto`` when reviewing the past)."""
        theme = self.app.current_theme
        for pid, title, keys in PLOTS:
            plot = self.query_one(f"#{pid}", MetricPlot)
            plt = plot.plt
            plt.clear_data()
            plt.clear_figure()
            width = max(10, plot.size.width - 8)
            drawn = False
            if pid == "plot-reward":
                xs, ys = series.get("reward", upto)
                sx, sd = series.get("reward_std", upto)
                if xs:
                    if len(sx) == len(xs):
                        lo = [y - s for y, s in zip(ys, sd)]
                        hi = [y + s for y, s in zip(ys, sd)]
                        for band in (lo, hi):
                            bx, by = downsample(xs, band, width)
                            plt.plot(bx, by, color="gray", marker="braille")
                    px, py = downsample(xs, ys, width)
                    plt.plot(px, py, color=theme.success, marker="braille")
                    drawn = True
                    plot.border_title = f"{title}  {ys[-1]:.3f}" if math.isfinite(ys[-1]) else title
            elif pid == "plot-funcs":
                colors = [theme.primary, theme.accent, theme.secondary, theme.warning]
                for i, key in enumerate(series.reward_keys()):
                    xs, ys = series.get(key, upto)
                    if xs:
                        px, py = downsample(xs, ys, width)
                        plt.plot(px, py, color=colors[i % len(colors)], marker="braille",
                                 label=key.split("/")[1])
                        drawn = True
            else:
                xs, ys = series.get(keys[0], upto)
                if xs:
                    px, py = downsample(xs, ys, width)
                    plt.plot(px, py, color=theme.primary, marker="braille")
                    drawn = True
                    last = ys[-1]
                    plot.border_title = f"{title}  {last:.4g}" if math.isfinite(last) else f"{title}  {last}"
                elif keys[0] == "kl":
                    plot.border_title = "KL (not logged: beta = 0)"
            if drawn:
                for m in marks:
                    plt.vline(m, theme.error)
                if cursor is not None:
                    plt.vline(cursor, theme.accent)
            plt.xlabel("")
            plot.refresh()
