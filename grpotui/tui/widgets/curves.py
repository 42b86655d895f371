"""Curves over steps (raw values dim, their rolling mean bright; few points: reward with its ± std band):
reward, reward std, zero-spread groups, KL, loss, entropy, length, and each reward function's mean; alerts
marked on every curve."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Grid
from textual.reactive import var
from textual_plotext import PlotextPlot

from grpotui.tui.data import Series, downsample, smooth, smoothing_window

# (widget id, title, metric key); the reward plot adds the std band, the last one every function.
PLOTS = (
    ("plot-reward", "reward", "reward"),
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
    """About ``n`` integer ticks from ``lo`` that always end at ``hi`` (the last step shown can be read)."""
    if hi <= lo:
        return [lo]
    step = max(1, math.ceil((hi - lo) / (n - 1)))
    ticks = list(range(lo, hi + 1, step))
    if ticks[-1] != hi:
        if len(ticks) > 1 and hi - ticks[-1] < step / 2:
            ticks[-1] = hi  # too close to fit both: the end wins
        else:
            ticks.append(hi)
    return ticks


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if v != 0 and abs(v) < 1e-3:
        return f"{v:.1e}"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def finite(xs: list[int], ys: list[float]) -> tuple[list[int], list[float], int]:
    """The points plotext can draw, and how many were NaN or infinite."""
    keep = [(x, y) for x, y in zip(xs, ys, strict=False) if math.isfinite(y)]
    return [x for x, _ in keep], [y for _, y in keep], len(xs) - len(keep)


class MetricPlot(PlotextPlot):
    """One small plot; a value plotext cannot draw never takes the app down."""

    DEFAULT_CSS = """
    MetricPlot { height: 1fr; min-height: 7; }
    """

    empty_message: str | None = None

    def on_resize(self) -> None:
        if isinstance(self.parent, DrawnWhenShown):
            self.parent.draw()  # its points and ticks are laid out for its size

    def render(self) -> Any:
        if self.empty_message is not None:
            return Text(self.empty_message, style="dim", justify="center")
        try:
            return super().render()
        except (ValueError, ZeroDivisionError, OverflowError, IndexError) as e:
            return Text(f"cannot draw: {e}", style="dim")


# Keys that scroll a grid of plots taller than the screen (compact layouts, where it takes focus).
SCROLL_BINDINGS = [
    Binding("up", "scroll_up", show=False), Binding("down", "scroll_down", show=False),
    Binding("pageup", "page_up", show=False), Binding("pagedown", "page_down", show=False),
    Binding("home", "scroll_home", show=False), Binding("end", "scroll_end", show=False),
]


@dataclass(frozen=True)
class CurveView:
    """What the curves show: a run's series as of one version, up to step ``upto`` (None: all of it), with
    alerts marked and a cursor; ``kl_off``: the run logs no KL (beta = 0), said instead of "no data yet"."""

    series: Series
    version: int
    upto: int | None = None
    marks: tuple[int, ...] = ()
    cursor: int | None = None
    kl_off: bool = False


class DrawnWhenShown:
    """For a grid of plots: draws its ``curves`` when they change, when it is shown (drawing what is hidden
    is wasted) and when its size or a plot's changes; ``up_to_date`` once what is set has been drawn."""

    curves: Any  # a var of the class that uses it: what to draw
    _drawn: tuple[Any, Any] | None = None

    def watch_curves(self) -> None:
        self.draw()

    def on_show(self) -> None:
        self.draw()

    def on_resize(self) -> None:
        self.draw()

    @property
    def up_to_date(self) -> bool:
        return self.curves is not None and self._drawn is not None and self._drawn[0] == self.curves

    def draw(self) -> None:
        if self.curves is None or not self.region:  # type: ignore[attr-defined]
            return  # nothing yet, or hidden: drawn when shown
        key = (self.curves, tuple(plot.size for plot in self.children))  # type: ignore[attr-defined]
        if key != self._drawn:
            self._drawn = key
            self._draw(self.curves)

    def _draw(self, curves: Any) -> None:
        raise NotImplementedError


class CurvesPanel(DrawnWhenShown, Grid):
    """A grid of small plots of one run (its ``curves``: a :class:`CurveView`)."""

    BINDINGS = SCROLL_BINDINGS

    DEFAULT_CSS = """
    CurvesPanel { grid-size: 4; grid-gutter: 0 1; height: 1fr; }
    """

    curves: var[CurveView | None] = var(None)

    def compose(self) -> ComposeResult:
        for pid, _title, _key in PLOTS:
            yield MetricPlot(id=pid)

    def _draw(self, view: CurveView) -> None:
        """Draw every plot from the series (up to step ``upto`` when reviewing the past)."""
        series, upto, marks, cursor, kl_off = view.series, view.upto, view.marks, view.cursor, view.kl_off
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
            ymin = ymax = None
            band_lo = band_hi = None
            if pid == "plot-funcs":
                for i, k in enumerate(series.reward_keys()):
                    xs, ys, _bad = finite(*series.get(k, upto))
                    if xs:
                        px, py = downsample(xs, smooth(ys, smoothing_window(len(xs))), width)
                        plt.plot(px, py, color=palette[i % len(palette)], marker="hd", label=k.split("/")[1])
                        xmin, xmax = xs[0], xs[-1]
                        ymin = min(py) if ymin is None else min(ymin, min(py))
                        ymax = max(py) if ymax is None else max(ymax, max(py))
            else:
                raw_x, raw_y = series.get(key, upto)
                xs, ys, bad = finite(raw_x, raw_y)
                if xs:
                    color = rgb(theme.success if pid == "plot-reward" else theme.primary)
                    w = smoothing_window(len(xs))
                    if w > 1:  # raw values as a dim envelope, their rolling mean on top
                        px, py = downsample(xs, ys, width)
                        plt.plot(px, py, color="gray", marker="hd")
                        sm = smooth(ys, w)
                        px, py = downsample(xs, sm, width)
                        plt.plot(px, py, color=color, marker="hd")
                    else:
                        if pid == "plot-reward":
                            sx, sd, _ = finite(*series.get("reward_std", upto))
                            if sx == xs:
                                lo = [y - s for y, s in zip(ys, sd, strict=False)]
                                hi = [y + s for y, s in zip(ys, sd, strict=False)]
                                for band in (lo, hi):
                                    bx, by = downsample(xs, band, width)
                                    plt.plot(bx, by, color="gray", marker="hd")
                                    band_lo = min(by) if band_lo is None else min(band_lo, min(by))
                                    band_hi = max(by) if band_hi is None else max(band_hi, max(by))
                        px, py = downsample(xs, ys, width)
                        plt.plot(px, py, color=color, marker="hd")
                    xmin, xmax = xs[0], xs[-1]
                    ymin, ymax = min(ys), max(ys)
                    if band_lo is not None and band_hi is not None:  # the ticks span what is drawn
                        ymin, ymax = min(ymin, band_lo), max(ymax, band_hi)
                    # the latest value, or with many steps its rolling mean (~), which is what moves
                    label = f"{title}  ~{_fmt(sm[-1])}" if w > 1 else f"{title}  {_fmt(raw_y[-1])}"
                elif key == "kl" and not raw_x and kl_off:
                    label = "KL: not logged (beta = 0)"
                if bad:
                    label = f"{title}  {bad} non-finite!"
            plot.empty_message = None if xmin is not None else f"\n{label}\n\nno data yet" \
                if label == title else f"\n{label}"
            if ymin is not None and ymax is not None and ymax > ymin:
                yt = [ymin + (ymax - ymin) * i / 4 for i in range(5)]
                plt.yticks(yt, [_fmt(v) for v in yt])
            if xmin is not None and xmax is not None:
                for m in marks:
                    if xmin <= m <= xmax:
                        plt.vline(m, rgb(theme.error))
                if cursor is not None:
                    plt.vline(cursor, rgb(theme.accent))
                if xmax > xmin:  # plotext divides by the x range
                    plt.xlim(xmin, xmax)
                    ticks = int_ticks(xmin, xmax, 4 if plot.size.width > 30 else 3)
                    plt.xticks(ticks, [str(t) for t in ticks])
            plt.title(label)
            plot.refresh()
