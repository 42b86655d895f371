"""Run store: sustained write rate of completions, the latency of reading one step's groups, and the
per-prompt statistics at GSM8K scale.

    python benchmarks/bench_store.py [--steps 20000] [--group-size 8] [--groups 8] [--text 1000]
                                     [--prompts 7473] [--dir HOME/runs/NAME]

Writes a synthetic run the way the runner does (one transaction per generation: every completion of the
step with its group, then the step's metrics), ~1 kB completions, and measures as it grows: the write
rate (the per-prompt statistics are kept as it writes), and reading one random step's groups (what the
dashboard does on `[` / `]`) at three sizes. The prompts are drawn epoch by epoch from a dataset of
``--prompts`` problems (GSM8K's train split has 7,473), each with a solve rate that rises through the run
for some and stays put for others. At the end: the prompts view's reads (summary, count and the first
page of 50 with each row's recent history) and ``grpotui prompts NAME --json`` as a user runs it (when
``--dir`` is a run folder under a GRPOTUI_HOME).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
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
    ap.add_argument("--prompts", type=int, default=7473, help="distinct problems in the dataset")
    ap.add_argument("--dir", default=None, help="where to write the store (default: a temp dir)")
    ap.add_argument("--reads-only", action="store_true",
                    help="only the per-prompt reads, on the store already in --dir")
    a = ap.parse_args()
    if a.reads_only:
        d = Path(a.dir)
        prompt_reads(d / "run.sqlite", d)
        return
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
    # each problem: a solve rate at the start and at the end of the run (learned, never, always, mixed...)
    skill = [(rng.choice((0.0, 0.1, 0.5, 0.9, 1.0)), rng.choice((0.0, 0.5, 0.9, 1.0))) for _ in range(a.prompts)]
    order: list[int] = []
    for step in range(1, a.steps + 1):
        groups = []
        for _g in range(a.groups):
            if not order:  # a new epoch: the dataset shuffled again
                order = list(range(a.prompts))
                rng.shuffle(order)
            k = order.pop()
            p_ok = skill[k][0] + (skill[k][1] - skill[k][0]) * step / a.steps
            comps = []
            for _ in range(a.group_size):
                ok = rng.random() < p_ok
                comps.append({"completion": rng.choice(texts), "answer": "18" if ok else "17",
                              "verdict": "right" if ok else "wrong", "reward": float(ok),
                              "rewards": {"correctness": float(ok), "format": 1.0},
                              "advantage": rng.uniform(-1, 1), "length": a.text // 4})
            question = f"Problem {k}: " + texts[k % len(texts)][:300]
            groups.append({"prompt": "Solve step by step.\n\n" + question, "expected": "18",
                           "question": question, "row": k, "completions": comps})
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
    store.close()
    reader.close()
    prompt_reads(path, d)


def _ms(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def prompt_reads(path: Path, d: Path) -> None:
    """What the prompts view and `grpotui prompts` read, timed on a fresh connection (cold page cache
    for this process, warm OS cache)."""
    print("\n| per-prompt read | time |\n| --- | --- |")
    t_open, r = _ms(lambda: RunStore.open(path))
    t_sum, summary = _ms(r.prompt_summary)
    t_count, n = _ms(r.count_prompts)
    t_page, page = _ms(lambda: r.prompts(limit=50))
    t_hist, _ = _ms(lambda: [r.prompt_history(p["key"], limit=40) for p in page])
    print(f"| open the store | {t_open:.0f} ms |")
    print(f"| summary ({summary['prompts']:,} prompts: {summary['statuses']}) | {t_sum:.0f} ms |")
    print(f"| count | {t_count:.0f} ms |")
    print(f"| first page of 50, sorted by first step | {t_page:.0f} ms |")
    print(f"| each row's last 40 appearances (the sparklines of a page) | {t_hist:.0f} ms |")
    print(f"| the prompts view's reads together | {t_sum + t_count + t_page + t_hist:.0f} ms |")
    t_sorted, _ = _ms(lambda: r.prompts(sort="last_solve_rate", statuses=["learned", "mixed"], limit=50))
    print(f"| a page filtered by status and sorted by last solve rate | {t_sorted:.0f} ms |")
    t_all, rows = _ms(r.prompts)
    print(f"| every prompt ({len(rows):,} rows) | {t_all:.0f} ms |")
    r.close()
    if d.parent.name == "runs":
        env = {**os.environ, "GRPOTUI_HOME": str(d.parent.parent)}
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "grpotui", "prompts", d.name, "--json"], env=env,
                              capture_output=True, text=True, check=True)
        dt = time.perf_counter() - t0
        got = json.loads(proc.stdout)
        print(f"| `grpotui prompts {d.name} --json` (a process, {len(proc.stdout) / 2**20:.1f} MiB of JSON, "
              f"{len(got['prompts']):,} prompts) | {dt * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
