"""Several runs on one machine: wall time per run of one demo alone, and of two and three at once,
with grpotui's fair share of the CPU threads and without it (every run takes all the cores, as torch
does by default: ``launch.cpu_threads`` = the number of cores).

    python benchmarks/bench_concurrent.py [--steps 300] [--unshared-steps 60]

Without the share, runs at once crawl (on 2 cores, two 300-step demos took 470 s each), so those are
timed on fewer steps and the table gives seconds per 100 steps for every case.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_at_once(home: Path, n: int, steps: int, extra: list[str], tag: str) -> list[float]:
    """Start ``n`` demos together; seconds from start to finish of each (from its recorded times)."""
    env = {**os.environ, "GRPOTUI_HOME": str(home)}
    env.pop("OMP_NUM_THREADS", None)
    env.pop("MKL_NUM_THREADS", None)
    names = [f"{tag}-{n}-{i}" for i in range(n)]
    for name in names:
        subprocess.run([sys.executable, "-m", "grpotui", "demo", "--steps", str(steps), "--name", name, *extra],
                       env=env, check=True, capture_output=True)
    out = []
    for name in names:
        while True:
            st = json.loads(subprocess.run([sys.executable, "-m", "grpotui", "status", name, "--json"], env=env,
                                           check=True, capture_output=True, text=True).stdout)
            if st["status"] not in ("starting", "running"):
                break
            time.sleep(1.0)
        if st["status"] != "finished":
            raise SystemExit(f"{name} ended {st['status']}: {st['reason']}")
        out.append(st["ended_at"] - st["started_at"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--unshared-steps", type=int, default=60)
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    print(f"machine: {platform.node()} {platform.machine()}, {cores} CPUs, Python {platform.python_version()}")
    print(f"command: python benchmarks/bench_concurrent.py --steps {a.steps} --unshared-steps {a.unshared_steps}\n")
    home = Path(tempfile.mkdtemp(prefix="grpotui-conc-"))
    run_at_once(home, 1, 3, [], "warm")  # builds the demo's model and data once
    rows = []
    for n in (1, 2, 3):
        shared = run_at_once(home, n, a.steps, [], "share")
        rows.append((n, "fair share (default)", a.steps, shared))
        unshared = run_at_once(home, n, a.unshared_steps if n > 1 else a.steps,
                               ["--set", f"launch.cpu_threads={cores}"], "all")
        rows.append((n, f"every run {cores} threads", a.unshared_steps if n > 1 else a.steps, unshared))
    print("| runs at once | threads | steps each | wall time per run (s) | s per 100 steps (mean) |")
    print("| --- | --- | --- | --- | --- |")
    for n, label, steps, secs in rows:
        per100 = sum(secs) / len(secs) / steps * 100
        print(f"| {n} | {label} | {steps} | {', '.join(f'{s:.1f}' for s in secs)} | {per100:.1f} |")


if __name__ == "__main__":
    main()
