"""Training overhead of recording: the same tiny GRPO run without and with each logger.

    python benchmarks/bench_overhead.py [--steps 150] [--rounds 5] [--loggers grpotui,tensorboard,wandb,trackio]

The worst case for a recorder: the embedded demo model, whose steps take milliseconds on a CPU, so
any per-step cost shows. In one process, each round trains a fresh trainer once per variant, in
alternating order (A B C ... then reversed next round), and the overhead of a variant is the median over
rounds of its time divided by the plain run's time in the same round. grpotui records every completion
with its group, metrics, system samples and health rules; the others log TRL's scalars only
(TensorBoard, W&B offline, trackio, through ``report_to``). Loggers that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loggers", default="grpotui,tensorboard,wandb,trackio")
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="grpotui-bench-"))
    os.environ["GRPOTUI_HOME"] = str(work / "home")
    os.environ["TRACKIO_DIR"] = str(work / "trackio")
    os.environ["WANDB_DIR"] = str(work)
    from datasets import load_dataset
    from trl import GRPOConfig, GRPOTrainer

    from grpotui import GRPOTUICallback
    from grpotui.rewards import correctness
    from grpotui.runner.demo import DEMO_TRAINING, demo_assets

    model_dir, data_file = demo_assets(work / "cache")
    dataset = load_dataset("json", data_files=str(data_file), split="train")
    wanted = [x for x in a.loggers.split(",") if x]
    available = {"grpotui": True, "tensorboard": importlib.util.find_spec("tensorboard") is not None,
                 "wandb": importlib.util.find_spec("wandb") is not None,
                 "trackio": importlib.util.find_spec("trackio") is not None}
    variants = ["none"] + [v for v in wanted if available.get(v)]
    skipped = [v for v in wanted if not available.get(v)]

    def train(variant: str, i: int) -> float:
        training = {**DEMO_TRAINING, "max_steps": a.steps, "report_to": "none", "disable_tqdm": True}
        callbacks = []
        if variant == "grpotui":
            callbacks = [GRPOTUICallback(name=f"bench-{i}-{time.time_ns()}")]
        elif variant != "none":
            training["report_to"] = variant
            training["run_name"] = f"bench-{variant}-{i}"
        args = GRPOConfig(output_dir=str(work / "out" / f"{variant}-{i}"), **training)
        trainer = GRPOTrainer(model=str(model_dir), reward_funcs=correctness, args=args, train_dataset=dataset,
                              callbacks=callbacks)
        t0 = time.perf_counter()
        trainer.train()
        dt = time.perf_counter() - t0
        if variant == "wandb":
            import wandb

            wandb.finish()
        return dt

    train("none", -1)  # warm-up: imports, caches, allocator
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(a.rounds):
        order = variants if r % 2 == 0 else list(reversed(variants))
        for v in order:
            times[v].append(train(v, r))
        print(f"round {r + 1}/{a.rounds}: " + "  ".join(f"{v} {times[v][-1]:.2f}s" for v in variants), flush=True)

    print()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    import torch
    import transformers
    import trl

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}")
    print(f"command: python benchmarks/bench_overhead.py --steps {a.steps} --rounds {a.rounds}")
    print(f"run: tiny demo model, {a.steps} steps x 16 completions, {a.rounds} rounds, alternating order")
    print()
    print("| logger | median time | overhead (median of per-round ratios) | records |")
    print("| --- | --- | --- | --- |")
    records = {"none": "-", "grpotui": "metrics + every completion with its group + system + health",
               "tensorboard": "scalars", "wandb": "scalars (offline)", "trackio": "scalars"}
    for v in variants:
        ratio = statistics.median(t / n for t, n in zip(times[v], times["none"]))
        print(f"| {v} | {statistics.median(times[v]):.2f}s | {ratio:.3f}x | {records[v]} |")
    if skipped:
        print(f"\nnot installed, skipped: {', '.join(skipped)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
