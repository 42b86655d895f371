"""Demo start-up: time from `grpotui demo` to the first recorded step, with a cold and a warm cache.

    python benchmarks/bench_demo.py [--rounds 3]

Cold: a fresh GRPOTUI_HOME, so the tiny model, its tokenizer and the dataset are built first (and TRL's
GRPOConfig fields are read once for validation). Warm: they are cached under GRPOTUI_HOME/cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def first_step(home: Path, name: str) -> tuple[float, float]:
    """(seconds until `grpotui demo` returned, seconds until the store held step 1)."""
    env = {**os.environ, "GRPOTUI_HOME": str(home)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grpotui", "demo", "--steps", "100000", "--name", name], env=env,
                   check=True, capture_output=True)
    returned = time.perf_counter() - t0
    from grpotui.store import RunStore

    path = home / "runs" / name / "run.sqlite"
    while True:
        with RunStore.open(path) as s:
            if s.last_step() >= 1:
                break
        time.sleep(0.02)
    done = time.perf_counter() - t0
    subprocess.run([sys.executable, "-m", "grpotui", "kill", name], env=env, capture_output=True)
    return returned, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"command: python benchmarks/bench_demo.py --rounds {a.rounds}\n")
    cold, warm = [], []
    for r in range(a.rounds):
        home = Path(tempfile.mkdtemp(prefix="grpotui-demo-"))
        cold.append(first_step(home, f"cold{r}"))
        warm.append(first_step(home, f"warm{r}"))
    print("| cache | `grpotui demo` returns (median) | first recorded step (median) |")
    print("| --- | --- | --- |")
    for label, xs in (("cold (builds model and data)", cold), ("warm (cached)", warm)):
        returns, first = statistics.median(x[0] for x in xs), statistics.median(x[1] for x in xs)
        print(f"| {label} | {returns:.2f} s | {first:.2f} s |")


if __name__ == "__main__":
    main()
