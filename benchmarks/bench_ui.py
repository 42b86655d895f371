"""UI: `grpotui ls` against importing the training stack, and the dashboard on a huge run.

    python benchmarks/bench_ui.py --home HOME --run NAME [--profile] [--compare RUN RUN ...]

HOME holds the run (make one with bench_store.py: `--steps 20000 --dir HOME/runs/big` writes 1.28M
completions). Measures: `grpotui ls` wall time (median of 5) against `python -c "import torch,
transformers, trl"`; the dashboard's first full frame (curves drawn, the newest step's groups and
completions shown) at 160x45; stepping back through history with `[` (time until the step's groups
show); and the app's memory (RSS) after loading, for each run given (several sizes show the growth);
with --compare, the comparison screen's first full frame and its `[` over those runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time

import psutil


def wall(cmd: list[str], env: dict[str, str], n: int = 5) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


async def dashboard(run: str, steps_back: int) -> dict[str, float]:
    from grpotui.tui.app import make_app
    from grpotui.tui.screens.dashboard import DashboardScreen

    rss0 = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    app = make_app(run_name=run)
    out: dict[str, float] = {}
    async with app.run_test(size=(160, 45)) as pilot:
        while True:
            s = app.screen
            if isinstance(s, DashboardScreen) and s.loaded and s.last_step and s.shown_step == s.last_step:
                break
            await pilot.pause(0.005)
        await pilot.pause()  # the frame itself
        out["first_frame_s"] = time.perf_counter() - t0
        out["rss_mib"] = (psutil.Process().memory_info().rss - rss0) / 2**20
        shown: dict[int, float] = {}
        original = s._show_groups

        def show_groups(step_groups):  # when a step's groups reach the screen
            original(step_groups)
            shown[step_groups.step] = time.perf_counter()

        s._show_groups = show_groups
        lat = []
        for _ in range(steps_back):
            want = s.shown_step - 1
            t1 = time.perf_counter()
            s.action_step(-1)
            while want not in shown:
                await asyncio.sleep(0.001)
            lat.append((shown[want] - t1) * 1000)
            await pilot.pause()  # let the frame and the curves' redraw happen before the next key
        out["step_median_ms"] = statistics.median(lat)
        out["step_max_ms"] = max(lat)
    return out


async def comparison(runs: list[str]) -> dict[str, float]:
    """The comparison screen at 160x45: until every run's curves, the table and the groups are shown."""
    from grpotui.tui.app import make_app
    from grpotui.tui.screens.compare import CompareScreen

    t0 = time.perf_counter()
    app = make_app(compare=runs)
    out: dict[str, float] = {}
    async with app.run_test(size=(160, 45)) as pilot:
        while True:
            s = app.screen
            if isinstance(s, CompareScreen) and s.loaded:
                break
            await pilot.pause(0.005)
        await pilot.pause()
        out["first_frame_s"] = time.perf_counter() - t0
        lat = []
        for _ in range(10):
            want = s.shown_step - 1
            t1 = time.perf_counter()
            s.action_step(-1)
            while s.shown_step != want:
                await asyncio.sleep(0.001)
            lat.append((time.perf_counter() - t1) * 1000)
            await pilot.pause()
        out["step_median_ms"] = statistics.median(lat)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True)
    ap.add_argument("--run", action="append", required=True, help="run name(s), smallest first")
    ap.add_argument("--steps-back", type=int, default=30)
    ap.add_argument("--profile", action="store_true", help="profile the first frame with pyinstrument")
    ap.add_argument("--compare", nargs="+", metavar="RUN", help="also time the comparison of these runs")
    a = ap.parse_args()
    os.environ["GRPOTUI_HOME"] = a.home
    env = {**os.environ}
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"command: python benchmarks/bench_ui.py --home {a.home} " + " ".join(f"--run {r}" for r in a.run))
    ls = wall([sys.executable, "-m", "grpotui", "ls"], env)
    heavy = wall([sys.executable, "-c", "import torch, transformers, trl"], env, n=3)
    print(f"\n`grpotui ls`: {ls * 1000:.0f} ms; `import torch, transformers, trl`: {heavy * 1000:.0f} ms "
          f"(ls takes {ls / heavy:.0%} of it)\n")
    print("| run | steps | completions | first full frame | `[` median | `[` max | app memory after load |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    from grpotui.store.runs import open_run

    for run in a.run:
        with open_run(run) as s:
            steps, comps = s.last_step(), s.count_completions()
        if a.profile:
            from pyinstrument import Profiler

            prof = Profiler()
            prof.start()
        r = asyncio.run(dashboard(run, a.steps_back))
        if a.profile:
            prof.stop()
            print(prof.output_text(unicode=False, color=False, show_all=False)[:6000], file=sys.stderr)
        print(f"| {run} | {steps:,} | {comps:,} | {r['first_frame_s']:.2f} s | {r['step_median_ms']:.0f} ms | "
              f"{r['step_max_ms']:.0f} ms | {r['rss_mib']:.0f} MiB |", flush=True)
    if a.compare:
        c = asyncio.run(comparison(a.compare))
        print(f"\ncomparison of {' and '.join(a.compare)} at 160x45: first full frame {c['first_frame_s']:.2f} s, "
              f"`[` median {c['step_median_ms']:.0f} ms (every run's groups at the previous step)")


if __name__ == "__main__":
    main()
