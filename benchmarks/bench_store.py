"""Run store: sustained write rate of completions and the latency of reading one step's groups.

    python benchmarks/bench_store.py [--steps 20000] [--group-size 8] [--groups 8] [--text 1000]

Writes a synthetic run the way the runner does (one transaction per generation: every completion of the
step with its group, then the step's metrics), ~1 kB completions, and measures as it grows: the write
rate, and reading one random step's groups (what the dashboard does on `[` / `]`) at three sizes.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from grpotui.store import RunStore

# Every key GRPOTrainer logs a step (trl 1.16), so that reading metrics costs what it costs on a real run.
TRL_LOGS = {
    "loss": 0.1, "grad_norm": 0.8, "learning_rate": 1e-6, "num_tokens": 1.2e6, "completions/mean_length": 250.0,
    "completions/min_length": 40.0, "completions/max_length": 512.0, "completions/clipped_ratio": 0.05,
    "completions/mean_terminated_length": 240.0, "completions/min_terminated_length": 40.0,
    "completions/max_terminated_length": 500.0, "rewards/correctness/mean": 0.5, "rewards/correctness/std": 0.5,
    "rewards/format/mean": 0.9, "rewards/format/std": 0.3, "reward": 0.5, "reward_std": 0.4,
    "frac_reward_zero_std": 0.2, "kl": 0.01, "entropy": 1.0, "clip_ratio/low_mean": 0.0,
    "clip_ratio/high_mean": 0.0, "clip_ratio/region_mean": 0.0, "clip_ratio/low_min": 0.0,
    "clip_ratio/high_max": 0.0, "step_time": 2.5, "epoch": 0.1,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--groups", type=int, default=8)
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--text", type=int, default=1000, help="completion length in characters")
    ap.add_argument("--dir", default=None, help="where to write the store (default: a temp dir)")
    a = ap.parse_args()
    rng = random.Random(0)
    words = ["the", "answer", "is", "step", "so", "we", "add", "multiply", "total", "each", "then", "because"]
    texts = [" ".join(rng.choice(words) for _ in range(a.text // 5))[: a.text] + f" The answer is {i}."
             for i in range(200)]
    d = Path(a.dir or tempfile.mkdtemp(prefix="grpotui-store-"))
    d.mkdir(parents=True, exist_ok=True, mode=0o700)  # private, like any run folder
    path = d / "run.sqlite"
    store = RunStore.create(path, name=d.name, kind="run", config={}, max_steps=a.steps)
    reader = RunStore.open(path)
    per_step = a.groups * a.group_size
    marks = sorted({a.steps // 10, a.steps * 3 // 10, a.steps})
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"command: python benchmarks/bench_store.py --steps {a.steps} --groups {a.groups} "
          f"--group-size {a.group_size} --text {a.text}")
    print(f"{per_step} completions a step of ~{a.text} characters; store in {d}\n")
    print("| steps | completions | store size | write rate (completions/s) | MB/s "
          "| read one step's groups: median | p95 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    t_start = time.perf_counter()
    written_since, t_since = 0, time.perf_counter()
    for step in range(1, a.steps + 1):
        groups = []
        for g in range(a.groups):
            comps = []
            for _ in range(a.group_size):
                ok = rng.random() < 0.5
                comps.append({"completion": rng.choice(texts), "answer": "18" if ok else "17",
                              "verdict": "right" if ok else "wrong", "reward": float(ok),
                              "rewards": {"correctness": float(ok), "format": 1.0},
                              "advantage": rng.uniform(-1, 1), "length": a.text // 4})
            groups.append({"prompt": f"Question {step}/{g}: " + texts[g][:400], "expected": "18",
                           "completions": comps})
        store.record_groups(step, groups)
        store.record_metrics(step, {**TRL_LOGS, "reward": rng.random(), "kl": rng.random(), "entropy": rng.random(),
                                    "step_time": rng.uniform(2, 3), "epoch": step / a.steps})
        written_since += per_step
        if step in marks:
            dt = time.perf_counter() - t_since
            rate = written_since / dt
            size = sum(p.stat().st_size for p in d.glob("run.sqlite*"))
            lat = []
            for _ in range(200):
                s = rng.randint(1, step)
                t0 = time.perf_counter()
                gs = reader.groups_at(s)
                lat.append((time.perf_counter() - t0) * 1000)
                assert len(gs) == a.groups
            lat.sort()
            print(f"| {step} | {step * per_step:,} | {size / 2**20:,.0f} MiB | {rate:,.0f} | "
                  f"{rate * a.text / 1e6:.1f} | {statistics.median(lat):.2f} ms | {lat[int(0.95 * len(lat))]:.2f} ms |",
                  flush=True)
            written_since, t_since = 0, time.perf_counter()
    total = time.perf_counter() - t_start
    print(f"\nall {a.steps * per_step:,} completions in {total:.0f}s: {a.steps * per_step / total:,.0f} completions/s "
          f"sustained; a GPU run makes 64 completions every few seconds")


if __name__ == "__main__":
    main()
