"""The GPU check, stage 1: grpotui on a real GPU, with figures that come back as files.

    python3 benchmarks/gpu/check.py --out DIR [--steps 30] [--rounds 3] [--bench-steps 20]
    python3 benchmarks/gpu/check.py --out DIR --dry-run      # here, on the CPU: the same path, tiny
    python3 benchmarks/gpu/check.py --out DIR --unsloth      # stage 2: the unsloth backend, 4-bit, LoRA

On the GPU machine (no network: HF_HUB_OFFLINE=1; the wheels ``prepare.sh`` gathered installed with
``--target``, see README.md beside this file) it does, each part timed and reported whether it worked:

1. **the machine**: torch, CUDA, the GPU, the versions of trl / transformers / accelerate / grpotui;
2. **a model of a realistic shape** built there with random weights (a Qwen2.5-0.5B-like config: 24
   layers, hidden 896, a 151,936-token embedding; no hub), with the demo's character tokenizer;
3. **``grpotui run``** with the transformers backend on the GPU (bf16) for ``--steps`` steps, as a user
   runs it (a detached runner, followed with ``--headless``), then read back from its store: steps, every
   completion, and the system panel's NVML figures (VRAM used / total, the run's own VRAM, utilisation,
   power) of every sample;
4. **the recorder's overhead against plain TRL** on the GPU: the same GRPO training without and with
   ``GRPOTUICallback``, alternating, ``--rounds`` rounds of ``--bench-steps`` steps.

It writes ``gpu_check.json`` (every figure) and ``gpu_check.md`` (the table for RESULTS.md) into
``--out``, and says in both what did not run and why. ``--dry-run`` takes the tiny demo model on the CPU
and a few steps: the test suite runs it, so the script is known to work before a GPU is there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

# Qwen2.5-0.5B's shape (its config.json), built with random weights: no hub on the GPU machine.
QWEN_05B_LIKE = {
    "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
    "num_key_value_heads": 2, "max_position_embeddings": 32768, "vocab_size": 151936,
    "tie_word_embeddings": True, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
}


class Report:
    """What ran, with its figures, and what did not, with why."""

    def __init__(self) -> None:
        self.parts: dict[str, dict[str, Any]] = {}

    def part(self, name: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            figures = fn(*args)
            self.parts[name] = {"ok": True, "seconds": round(time.perf_counter() - t0, 2), **(figures or {})}
            return figures
        except Exception as e:  # noqa: BLE001 - every part reports, none stops the others
            self.parts[name] = {"ok": False, "seconds": round(time.perf_counter() - t0, 2),
                                "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]}
            print(f"[{name}] did not run: {type(e).__name__}: {e}", flush=True)
            return None


def machine(dry: bool) -> dict[str, Any]:
    import accelerate
    import torch
    import transformers
    import trl

    import grpotui

    out = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
           "trl": trl.__version__, "accelerate": accelerate.__version__, "grpotui": grpotui.__file__,
           "cuda": torch.cuda.is_available(), "dry_run": dry}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
        out["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    elif not dry:
        raise RuntimeError("no CUDA GPU visible to torch")
    return out


def build_model(dest: Path, dry: bool) -> dict[str, Any]:
    """The demo's character tokenizer, and a Qwen2 of Qwen2.5-0.5B's shape (or the demo's tiny one dry)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    from grpotui.runner.demo import DEMO_MODEL_CONFIG, build_demo_tokenizer

    tok = build_demo_tokenizer()
    shape = dict(DEMO_MODEL_CONFIG) if dry else dict(QWEN_05B_LIKE)
    shape.setdefault("vocab_size", len(tok))
    shape["vocab_size"] = max(shape["vocab_size"], len(tok))
    cfg = Qwen2Config(**shape, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                      bos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg)
    model.generation_config = GenerationConfig(pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    model.save_pretrained(dest)
    tok.save_pretrained(dest)
    return {"parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1), "dir": str(dest)}


def _config(model_dir: Path, data: str, steps: int, dry: bool, backend: str = "transformers") -> str:
    training = {"max_steps": steps, "per_device_train_batch_size": 16, "num_generations": 8,
                "max_completion_length": 4 if dry else 64, "learning_rate": 1e-5, "beta": 0.02,
                "logging_steps": 1, "bf16": not dry, "use_cpu": dry, "seed": 0}
    unsloth = backend == "unsloth"  # stage 2: 4-bit loading and LoRA, as Unsloth's users run it
    lines = ['rewards = ["correctness"]', "[model]", f'name_or_path = "{model_dir}"', f'backend = "{backend}"',
             f"load_in_4bit = {'true' if unsloth else 'false'}", "[model.lora]",
             f"enabled = {'true' if unsloth else 'false'}", "[data]", f'source = "{data}"', "chat_template = false",
             "[eval]", "holdout = 3", f"every = {max(1, steps // 2)}", "max_samples = 3", "[training]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in training.items()]
    return "\n".join(lines) + "\n"


def grpotui_run(work: Path, model_dir: Path, steps: int, dry: bool, backend: str = "transformers") -> dict[str, Any]:
    """``grpotui run --headless`` as a user runs it, then what its store says."""
    from grpotui.runner.demo import build_demo_dataset

    data = build_demo_dataset(work / "sums.jsonl")
    cfg = work / "gpu.toml"
    cfg.write_text(_config(model_dir, str(data), steps, dry, backend))
    env = {**os.environ, "GRPOTUI_HOME": str(work / "home"), "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grpotui", "run", str(cfg), "--headless", "--name", "gpu-check"],
                          capture_output=True, text=True, env=env, timeout=480)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"grpotui run exited {proc.returncode}: {(proc.stdout + proc.stderr)[-1500:]}")
    os.environ["GRPOTUI_HOME"] = env["GRPOTUI_HOME"]
    from grpotui.store.runs import open_run

    with open_run("gpu-check") as s:
        info = s.run_info()
        samples = [d for _, _, _, d in s.system()]
        steps_done, completions = s.last_step(), s.count_completions()
        evals = s.evals()
        last = s.latest_metrics()
    gpus = [g for smp in samples for g in smp.get("gpus") or []]
    nvml = {
        "samples": len(samples), "gpu_source": samples[-1].get("gpu_source") if samples else None,
        "gpu_name": next((g.get("name") for g in gpus if g.get("name")), None),
        "vram_used_max_gib": _gib(max((g.get("mem_used") or 0 for g in gpus), default=0)),
        "vram_total_gib": _gib(max((g.get("mem_total") or 0 for g in gpus), default=0)),
        "run_vram_max_gib": _gib(max((g.get("proc_mem") or 0 for g in gpus), default=0)),
        "util_max_percent": max((g.get("util") or 0 for g in gpus), default=None),
        "power_max_w": max((g.get("power_w") or 0 for g in gpus), default=None),
        "samples_with_gpu": sum(1 for smp in samples if smp.get("gpus")),
    }
    if not dry and not nvml["samples_with_gpu"]:
        raise RuntimeError(f"no NVML figures in the store ({nvml['gpu_source']})")
    return {"status": info["status"], "backend": info.get("backend"), "steps": steps_done,
            "completions": completions, "wall_s": round(wall, 1), "evaluations": [e["step"] for e in evals],
            "last_reward": (last[1].get("reward") if last else None), **nvml}


def unsloth_import() -> dict[str, Any]:
    """Stage 2: does ``import unsloth`` work here with what was carried (``--no-deps``), and if not, what
    it lacks (the module named by the ImportError: the next carry's list)."""
    import importlib

    try:
        mod = importlib.import_module("unsloth")
    except ImportError as e:
        raise RuntimeError(f"import unsloth: {type(e).__name__}: {e} (missing module: {e.name})") from e
    import bitsandbytes

    return {"unsloth": getattr(mod, "__version__", "?"), "bitsandbytes": bitsandbytes.__version__}


def _gib(n: float) -> float:
    return round(n / 2**30, 2)


def overhead(work: Path, model_dir: Path, steps: int, rounds: int, dry: bool) -> dict[str, Any]:
    """Plain TRL against the same training with GRPOTUICallback, alternating, in one process."""
    from datasets import load_dataset
    from trl import GRPOConfig, GRPOTrainer

    from grpotui import GRPOTUICallback
    from grpotui.rewards import correctness
    from grpotui.runner.demo import build_demo_dataset

    os.environ["GRPOTUI_HOME"] = str(work / "bench-home")
    data = load_dataset("json", data_files=str(build_demo_dataset(work / "sums.jsonl")), split="train")

    def train(variant: str, i: int) -> float:
        args = GRPOConfig(output_dir=str(work / "out" / f"{variant}-{i}"), max_steps=steps,
                          per_device_train_batch_size=16, num_generations=8,
                          max_completion_length=4 if dry else 64, learning_rate=1e-5, beta=0.02, logging_steps=1,
                          bf16=not dry, use_cpu=dry, report_to="none", disable_tqdm=True, save_strategy="no",
                          seed=max(i, 0))
        cbs = [GRPOTUICallback(name=f"bench-{variant}-{i}-{time.time_ns()}")] if variant == "grpotui" else []
        trainer = GRPOTrainer(model=str(model_dir), reward_funcs=correctness, args=args, train_dataset=data,
                              callbacks=cbs)
        t0 = time.perf_counter()
        trainer.train()
        return time.perf_counter() - t0

    train("none", -1)  # warm-up
    ratios, times = [], {"none": [], "grpotui": []}
    for r in range(rounds):
        order = ("none", "grpotui") if r % 2 == 0 else ("grpotui", "none")
        for v in order:
            times[v].append(train(v, r))
        ratios.append(times["grpotui"][-1] / times["none"][-1])
    return {"steps": steps, "rounds": rounds, "plain_s": [round(t, 2) for t in times["none"]],
            "grpotui_s": [round(t, 2) for t in times["grpotui"]],
            "overhead_median": round(statistics.median(ratios), 3)}


def markdown(report: Report) -> str:
    lines = ["| part | ran | seconds | figures |", "| --- | --- | --- | --- |"]
    for name, p in report.parts.items():
        figs = {k: v for k, v in p.items() if k not in ("ok", "seconds", "traceback", "dir")}
        lines.append(f"| {name} | {'yes' if p['ok'] else 'no'} | {p['seconds']} | "
                     + ", ".join(f"{k}: {v}" for k, v in figs.items()) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--bench-steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dry-run", action="store_true", help="the tiny demo model on the CPU, a few steps")
    ap.add_argument("--unsloth", action="store_true",
                    help="stage 2: import unsloth, then grpotui run with the unsloth backend (4-bit, LoRA)")
    a = ap.parse_args()
    if a.dry_run:
        a.steps, a.bench_steps, a.rounds = min(a.steps, 4), min(a.bench_steps, 3), min(a.rounds, 1)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    a.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="grpotui-gpu-check-"))
    report = Report()
    report.part("machine", machine, a.dry_run)
    if a.unsloth:  # stage 2: unsloth before transformers and trl are imported here, as the runner does
        report.part("unsloth_import", unsloth_import)
    model = report.part("model", build_model, work / "model", a.dry_run)
    if model is not None and a.unsloth:
        report.part("grpotui_run_unsloth", grpotui_run, work, work / "model", a.steps, a.dry_run, "unsloth")
    elif model is not None:
        report.part("grpotui_run", grpotui_run, work, work / "model", a.steps, a.dry_run)
        report.part("overhead", overhead, work, work / "model", a.bench_steps, a.rounds, a.dry_run)
    stem = "gpu_check_unsloth" if a.unsloth else "gpu_check"
    (a.out / f"{stem}.json").write_text(json.dumps(report.parts, indent=1, default=str))
    (a.out / f"{stem}.md").write_text(markdown(report))
    print(markdown(report), flush=True)
    return 0 if all(p["ok"] for p in report.parts.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
