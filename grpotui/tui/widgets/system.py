"""System panel: per-GPU VRAM and utilisation from NVML, else CPU and RAM from psutil, and says which."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

GiB = 1024**3


def bar(frac: float | None, width: int, style: str) -> Text:
    """A horizontal gauge."""
    t = Text()
    if frac is None:
        return t.append("·" * width, style="dim")
    n = max(0, min(width, round(frac * width)))
    return t.append("█" * n, style=style).append("░" * (width - n), style="dim")


class SystemPanel(Static):
    """The latest system sample, as the runner recorded it."""

    DEFAULT_CSS = """
    SystemPanel { height: auto; padding: 0 1; }
    """

    sample: reactive[dict[str, Any] | None] = reactive(None, always_update=True)

    def watch_sample(self, sample: dict[str, Any] | None) -> None:
        self.update(self._table(sample))

    def _style(self, frac: float | None) -> str:
        theme = self.app.current_theme
        if frac is None:
            return "dim"
        return theme.error if frac > 0.92 else theme.warning if frac > 0.8 else theme.success

    def _table(self, s: dict[str, Any] | None) -> Group | Text:
        if not s:
            return Text("no system sample yet", style="dim")
        others = [m for m in s.get("machines") or [] if isinstance(m, dict)]
        if not others:
            return Group(*self._machine(s))
        # a run over several machines: rank 0's own first, then each other machine's newest figures
        parts: list[Any] = [Text("machine 0 (rank 0, this run's store)", style="bold underline", no_wrap=True,
                                 overflow="ellipsis")]
        parts += self._machine(s)
        for m in others:
            head = Text(f"machine {m.get('machine', '?')} ", style="bold underline", no_wrap=True, overflow="ellipsis")
            head.append(str(m.get("host") or ""), style="dim")
            age = m.get("age")
            if isinstance(age, (int, float)) and age > 10:
                head.append(f"  {age:.0f} s old", style=self.app.current_theme.warning)
            parts.append(head)
            parts += self._machine(m, compact=True)
        return Group(*parts)

    def _machine(self, s: dict[str, Any], *, compact: bool = False) -> list[Any]:
        """One machine's GPUs, CPU and RAM (``compact``: another machine's, without the NVML note)."""
        width = max(8, min(40, (self.size.width or 60) - 30))
        theme = self.app.current_theme
        parts: list[Any] = []

        def grid() -> Table:
            t = Table.grid(padding=(0, 1))
            t.add_column(no_wrap=True, min_width=6)
            t.add_column(no_wrap=True)
            t.add_column(no_wrap=True, overflow="ellipsis")
            return t

        gpus = s.get("gpus") or []
        if compact and gpus:  # another machine's GPUs: one line each (VRAM gauge, figures, utilisation)
            t = grid()
            for g in gpus:
                used, total = g.get("mem_used"), g.get("mem_total")
                frac = used / total if used is not None and total else None
                util = g.get("util")
                t.add_row(f"GPU{g.get('index', '?')}", bar(frac, width, self._style(frac)),
                          f"{(used or 0) / GiB:.0f}/{(total or 0) / GiB:.0f} GiB"
                          + (f" · {util}%" if util is not None else ""))
            parts.append(t)
            gpus = []
        for g in gpus:
            head = Text(f"GPU{g.get('index', '?')} ", style="bold", no_wrap=True, overflow="ellipsis")
            extra = [str(g.get("name") or "")]
            if g.get("temp_c") is not None:
                extra.append(f"{g['temp_c']}°C")
            if g.get("power_w") is not None:
                extra.append(f"{g['power_w']:.0f} W")
            head.append(" · ".join(x for x in extra if x), style="dim")
            parts.append(head)
            t = grid()
            used, total = g.get("mem_used"), g.get("mem_total")
            frac = used / total if used is not None and total else None
            mine = f" run {g['proc_mem'] / GiB:.1f}" if g.get("proc_mem") else ""
            t.add_row("VRAM", bar(frac, width, self._style(frac)),
                      f"{(used or 0) / GiB:.1f}/{(total or 0) / GiB:.0f} GiB{mine}")
            util = g.get("util")
            t.add_row("util", bar(util / 100 if util is not None else None, width, theme.primary),
                      f"{util}%" if util is not None else "-")
            parts.append(t)
        if not gpus and not compact:
            why = str(s.get("gpu_source") or "none")
            parts.append(Text("No GPU figures (NVML unavailable): showing CPU and RAM", style="dim"))
            if why.startswith("none (") and len(why) < 90:
                parts.append(Text(why[6:-1], style="dim", no_wrap=True, overflow="ellipsis"))
        t = grid()
        cpu = s.get("cpu_percent")
        t.add_row("CPU", bar(cpu / 100 if cpu is not None else None, width, theme.primary),
                  f"{cpu:.0f}% of {s.get('cpu_count') or '?'}" if cpu is not None else "-")
        used, total = s.get("ram_used"), s.get("ram_total")
        frac = used / total if used and total else None
        t.add_row("RAM", bar(frac, width, self._style(frac)), f"{(used or 0) / GiB:.1f}/{(total or 0) / GiB:.0f} GiB")
        if s.get("proc_rss"):
            t.add_row("runner", Text(""), f"{s['proc_rss'] / GiB:.2f} GiB RSS")
        parts.append(t)
        return parts
