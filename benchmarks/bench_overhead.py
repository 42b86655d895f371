"""Training overhead of recording: the same tiny GRPO run without and with each logger.

    python benchmarks/bench_overhead.py [--steps 150] [--rounds 5] [--loggers grpotui,noop,tensorboard,wandb,trackio]
    python benchmarks/bench_overhead.py --texts long [--steps 30] [--rounds 5]

``--texts long``: realistic math completions instead of the demo's two characters (see
``realistic.py``): LaTeX solutions of 300-2,000 characters built from GSM8K, mostly wrong, returned by
the tiny model's ``generate`` (TRL's forward, backward, rewards and advantages stay real), scored by a
user's own cheap reward, so grpotui's verdicts are all left to its judge process.

The worst case for a recorder: the embedded demo model, whose steps take milliseconds on a CPU, so
any per-step cost shows. In one process, each round trains a fresh trainer once per variant, in
alternating order (A B C ... then reversed next round), and the overhead of a variant is the median over
rounds of its time divided by the plain run's time in the same round. grpotui records every completion
with its group, metrics, system samples and health rules; the others log TRL's scalars only
(TensorBoard, W&B offline, trackio, through ``report_to``). Loggers that are not installed are skipped.
``noop`` is the control: a callback that does nothing, so what the benchmark itself adds to any variant
that is not the plain run (its place in the alternating order, a second trainer's caches) shows as that
variant's figure.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))  # realistic.py


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loggers", default="grpotui,tensorboard,wandb,trackio")
    ap.add_argument("--texts", choices=("demo", "long"), default="demo")
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

    if a.texts == "long":
        import json

        import realistic
        from transformers import AutoModelForCausalLM

        texts = realistic.completions(400)
        rows = realistic.dataset_rows()
        tokenizer = realistic.byte_tokenizer(texts + [r["prompt"] for r in rows])
        model_dir = realistic.build_model(work / "cache" / "long-model", tokenizer)
        data_file = work / "long.jsonl"
        data_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
        reward = realistic.cheap_reward
    else:
        model_dir, data_file = demo_assets(work / "cache")
        reward = correctness
    dataset = load_dataset("json", data_files=str(data_file), split="train")
    wanted = [x for x in a.loggers.split(",") if x]
    available = {"grpotui": True, "noop": True, "tensorboard": importlib.util.find_spec("tensorboard") is not None,
                 "wandb": importlib.util.find_spec("wandb") is not None,
                 "trackio": importlib.util.find_spec("trackio") is not None}
    variants = ["none"] + [v for v in wanted if available.get(v)]
    skipped = [v for v in wanted if not available.get(v)]

    def train(variant: str, i: int) -> float:
        training = {**DEMO_TRAINING, "max_steps": a.steps, "report_to": "none", "disable_tqdm": True}
        callbacks = []
        if variant == "grpotui":
            callbacks = [GRPOTUICallback(name=f"bench-{i}-{time.time_ns()}")]
        elif variant == "noop":  # the control: a callback that does nothing (the benchmark's own noise floor)
            from transformers import TrainerCallback

            callbacks = [TrainerCallback()]
        elif variant not in ("none", "noop"):
            training["report_to"] = variant
            training["run_name"] = f"bench-{variant}-{i}"
        extra: dict = {}
        model: object = str(model_dir)
        if a.texts == "long":
            training["max_completion_length"] = 2048
            model = realistic.scripted(AutoModelForCausalLM.from_pretrained(model_dir), tokenizer, texts, 2048,
                                       seed=i)
            extra["processing_class"] = tokenizer
        args = GRPOConfig(output_dir=str(work / "out" / f"{variant}-{i}"), **training)
        trainer = GRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=dataset,
                              callbacks=callbacks, **extra)
        t0 = time.perf_counter()
        trainer.train()
        dt = time.perf_counter() - t0
        if variant == "grpotui":  # verdicts are judged at idle priority: let the backlog finish here, so it
            store = callbacks[0].store  # is not charged to the next variant, and say how long it took
            t1 = time.perf_counter()
            while store.count_pending():
                time.sleep(0.2)
            drain.append(time.perf_counter() - t1)
        if variant == "wandb":
            import wandb

            wandb.finish()
        return dt

    drain: list[float] = []
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
    print(f"command: python benchmarks/bench_overhead.py --texts {a.texts} --steps {a.steps} --rounds {a.rounds}")
    what = "realistic LaTeX completions of 300-2,000 characters" if a.texts == "long" else "2-character completions"
    print(f"run: tiny model, {a.steps} steps x 16 {what}, {a.rounds} rounds, alternating order")
    print()
    print("| logger | median time | overhead (median of per-round ratios) | records |")
    print("| --- | --- | --- | --- |")
    records = {"noop": "nothing (a TrainerCallback that does nothing: the noise floor)",
               "none": "-", "grpotui": "metrics + every completion with its group + system + health",
               "tensorboard": "scalars", "wandb": "scalars (offline)", "trackio": "scalars"}
    for v in variants:
        ratio = statistics.median(t / n for t, n in zip(times[v], times["none"], strict=False))
        print(f"| {v} | {statistics.median(times[v]):.2f}s | {ratio:.3f}x | {records[v]} |")
    if drain:
        print(f"\ngrpotui's verdicts still pending when training ended were judged {statistics.median(drain):.1f} s "
              f"later (median; idle priority, one core)")
    if skipped:
        print(f"\nnot installed, skipped: {', '.join(skipped)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
