"""Build a GRPO training from a resolved config: model (Unsloth or transformers), data, rewards, trainer.

This is the heavy side (torch, transformers, trl, datasets); only the runner process imports it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any

from grpotui.store.paths import CHECKPOINT_DIR


class BackendError(RuntimeError):
    """Bad input found by the runner: a backend that cannot run here, settings TRL refuses (exit code 2)."""


# A seam for tests of the unsloth path on machines without a GPU (none of this project's have one):
# with it set, "a CUDA GPU is available" is taken as true. Nothing else reads it.
ASSUME_CUDA_ENV = "GRPOTUI_TEST_ASSUME_CUDA_AVAILABLE"


def cuda_available() -> bool:
    if os.environ.get(ASSUME_CUDA_ENV) == "1":
        return True
    import torch

    return bool(torch.cuda.is_available())


def pick_backend(requested: str) -> str:
    """``auto`` takes unsloth where a CUDA GPU and unsloth are both there, else plain transformers."""
    has_unsloth = importlib.util.find_spec("unsloth") is not None
    if requested == "transformers":
        return "transformers"
    if requested == "unsloth":
        if not has_unsloth:
            raise BackendError(
                "model.backend = 'unsloth' but unsloth is not installed: pip install 'grpotui[unsloth]'"
            )
        if not cuda_available():
            raise BackendError("model.backend = 'unsloth' needs a CUDA GPU, and none is visible")
        return "unsloth"
    return "unsloth" if has_unsloth and cuda_available() else "transformers"


def import_backend(backend: str) -> None:
    """Unsloth patches transformers, trl and peft as it is imported: it must come before any of them.
    The runner calls this right after :func:`pick_backend`, which imports nothing but torch."""
    if backend == "unsloth":
        import unsloth  # noqa: F401


def check_trl() -> None:
    """trl 1.15.0's fused LM-head kernel needs triton and a GPU: say so instead of a deep traceback."""
    import trl

    if trl.__version__ == "1.15.0" and not cuda_available():
        raise BackendError(
            "trl 1.15.0 cannot run GRPO without a GPU (its fused LM-head kernel needs triton): "
            "pip install 'trl>=1.16' (or 'trl==1.14.2')"
        )


# ------------------------------------------------------------------------- rewards
def load_reward(spec: str) -> Any:
    """``correctness`` / ``format``, ``/abs/file.py:func`` or ``package.module:func``."""
    from grpotui import rewards

    if spec in rewards.BUILTIN_REWARDS:
        return rewards.BUILTIN_REWARDS[spec]
    target, func = spec.rsplit(":", 1)
    if target.endswith(".py"):
        path = Path(target)
        mod_name = f"grpotui_user_reward_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
        mspec = importlib.util.spec_from_file_location(mod_name, path)
        if mspec is None or mspec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(mspec)
        import sys

        sys.modules[mod_name] = module
        mspec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    fn = getattr(module, func, None)
    if not callable(fn):
        raise AttributeError(f"reward {spec!r}: {func!r} is not a function")
    return fn


# ------------------------------------------------------------------------- data
# Columns grpotui adds to the training data (TRL hands them to reward functions as keyword arguments, and
# to the recorder with each row): the dataset row's own question and its index in the source split.
QUESTION_COLUMN, ROW_COLUMN = "grpotui_question", "grpotui_row"


def _load_split(src: str, subset: str | None, split: str) -> Any:
    """A local file or saved dataset, or a hub dataset (needs network access to the hub)."""
    import datasets

    path = Path(src)
    if path.is_file():
        fmt = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}.get(path.suffix.lower(), "json")
        return datasets.load_dataset(fmt, data_files=str(path), split="train")
    if path.is_dir():
        try:
            ds = datasets.load_from_disk(str(path))
            return ds[split] if isinstance(ds, datasets.DatasetDict) else ds
        except FileNotFoundError:
            return datasets.load_dataset(str(path), subset, split=split)
    return datasets.load_dataset(src, subset, split=split)


def _check_fields(ds: Any, section: str, src: str, pf: str, af: str) -> None:
    missing = [f for f in (pf, af) if f not in ds.column_names]
    if missing:
        raise ValueError(
            f"{section}: column(s) {', '.join(missing)} not in {src} (columns: {', '.join(ds.column_names)}); "
            f"set {section}.prompt_field / {section}.answer_field"
        )


def split_holdout(ds: Any, pf: str, n: int, seed: int) -> tuple[Any, Any]:
    """``(train, held out)``: ``n`` distinct problems (by their question) drawn with ``seed``, one row each,
    and every other row whose question is none of them (a duplicate left in training would be trained on)."""
    import random

    column = [str(q) for q in ds[pf]]
    questions = list(dict.fromkeys(column))
    if n >= len(questions):
        raise ValueError(f"eval.holdout: {n} problems held out of {len(questions)} distinct ones in [data] "
                         "leaves none to train on")
    held = set(random.Random(seed).sample(questions, n))
    first: dict[str, int] = {}
    keep = []
    for i, q in enumerate(column):
        if q in held:
            first.setdefault(q, i)
        else:
            keep.append(i)
    return ds.select(keep), ds.select(sorted(first.values()))


def load_datasets(cfg: dict[str, Any], *, tokenizer: Any, seed: int) -> tuple[Any, Any]:
    """``(train, eval or None)``, prompts built from ``[data]`` (its template, system prompt and chat
    settings for both); the eval set from ``eval.source`` or held out of ``[data]`` (``eval.holdout``)."""
    d, ev = cfg["data"], cfg.get("eval") or {}
    pf, af = d["prompt_field"], d["answer_field"]
    ds = _load_split(d["source"], d.get("subset"), d["split"])
    _check_fields(ds, "data", d["source"], pf, af)
    ds = ds.add_column(ROW_COLUMN, list(range(len(ds))))  # the source row, for per-prompt statistics
    held = None
    if ev.get("holdout"):
        ds, held = split_holdout(ds, pf, ev["holdout"], seed)
    if d.get("shuffle", True):
        ds = ds.shuffle(seed=seed)
    if d.get("max_samples"):
        ds = ds.select(range(min(d["max_samples"], len(ds))))
    train = _prompts(ds, d, tokenizer, pf, af)
    if not ev:
        return train, None
    if held is None:
        epf, eaf = ev.get("prompt_field") or pf, ev.get("answer_field") or af
        held = _load_split(ev["source"], ev.get("subset"), ev["split"])
        _check_fields(held, "eval", ev["source"], epf, eaf)
        held = held.add_column(ROW_COLUMN, list(range(len(held))))
    else:
        epf, eaf = pf, af
    held = held.select(range(min(ev["max_samples"], len(held))))
    return train, _prompts(held, d, tokenizer, epf, eaf)


def _prompts(ds: Any, d: dict[str, Any], tokenizer: Any, pf: str, af: str) -> Any:
    chat = d.get("chat_template", "auto")
    if chat == "auto":
        chat = bool(getattr(tokenizer, "chat_template", None))
    template, system = d.get("prompt_template") or f"{{{pf}}}", d.get("system_prompt")
    if template in ("{prompt}", f"{{{d['prompt_field']}}}") and pf != "prompt":
        template = f"{{{pf}}}"

    def to_prompt(row: dict[str, Any]) -> dict[str, Any]:
        text = template.format(**row)
        if chat:
            msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
            out: dict[str, Any] = {"prompt": msgs}
        else:
            out = {"prompt": (system + "\n\n" + text) if system else text}
        if af != "answer":
            out["answer"] = row[af]
        out[QUESTION_COLUMN] = str(row[pf])  # the problem itself: runs with other templates share it
        return out

    return ds.map(to_prompt)


# ------------------------------------------------------------------------- model
def _dtype(name: str) -> Any:
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}.get(name, "auto")


def load_model(cfg: dict[str, Any], backend: str, seed: int) -> tuple[Any, Any, Any]:
    """Returns ``(model or path, tokenizer, peft_config or None)`` for ``GRPOTrainer``."""
    m = cfg["model"]
    lora = m["lora"]
    if backend == "unsloth":
        from unsloth import FastLanguageModel  # imported first by import_backend

        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=m["name_or_path"],
            max_seq_length=m["max_seq_length"],
            load_in_4bit=m["load_in_4bit"],
            fast_inference=m["fast_inference"],
            max_lora_rank=lora["r"],
            gpu_memory_utilization=m["gpu_memory_utilization"],
            dtype=None if m["dtype"] == "auto" else _dtype(m["dtype"]),
            trust_remote_code=m["trust_remote_code"],
        )
        if lora["enabled"] is not False:
            model = FastLanguageModel.get_peft_model(
                model,
                r=lora["r"],
                lora_alpha=lora["alpha"],
                lora_dropout=lora["dropout"],
                target_modules=lora["target_modules"],
                use_gradient_checkpointing="unsloth",
                random_state=seed,
            )
        return model, tokenizer, None

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(m["name_or_path"], trust_remote_code=m["trust_remote_code"])
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    peft_config = None
    if lora["enabled"]:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
            target_modules=lora["target_modules"], task_type="CAUSAL_LM",
        )
    # Passed by path: TRL loads it, and reloads the reference model from the same path when beta > 0.
    return m["name_or_path"], tokenizer, peft_config


def model_init_kwargs(cfg: dict[str, Any], backend: str) -> dict[str, Any]:
    m = cfg["model"]
    kw: dict[str, Any] = {"trust_remote_code": m["trust_remote_code"]}
    if m["dtype"] != "auto":
        kw["dtype"] = m["dtype"]
    if backend == "transformers" and m["load_in_4bit"] and cuda_available() \
            and importlib.util.find_spec("bitsandbytes") is not None:
        from transformers import BitsAndBytesConfig

        kw["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")
    return kw


# ------------------------------------------------------------------------- trainer
MACHINES_TIMEOUT = 300
"""Seconds a collective waits over several machines (``launch.timeout``; transformers' own default is 1800)."""

def grpo_args(cfg: dict[str, Any], run_dir: Path, *, backend: str) -> Any:
    """TRL's ``GRPOConfig`` from ``[training]``: built before any model loads, so a bad combination
    of settings fails in seconds as bad input (exit 2), not after loading a 7B model."""
    from trl import GRPOConfig

    training = dict(cfg["training"])
    training.setdefault("logging_steps", 1)
    training.setdefault("report_to", "none")
    training.setdefault("disable_tqdm", True)
    training.setdefault("save_strategy", "no")
    launch = cfg.get("launch") or {}
    if launch.get("cpu"):
        training["use_cpu"] = True
    machines = int(launch.get("num_machines") or 1)
    if launch.get("timeout") or machines > 1:
        # how long a process waits for the others at a collective: over several machines, short enough
        # that a follower whose rank 0 is gone (or frozen) ends by itself instead of hanging half an hour
        training.setdefault("ddp_timeout", int(launch.get("timeout") or MACHINES_TIMEOUT))
    if machines > 1:
        # each machine keeps a whole checkpoint in its own run directory (no shared disk assumed), so
        # `grpotui run --resume` on every machine finds the same step; set false on a shared filesystem
        training.setdefault("save_on_each_node", True)
    if not cuda_available() or training.get("use_cpu"):  # TRL's bf16 default needs a GPU
        training.setdefault("bf16", False)
        training.setdefault("use_cpu", True)
    if cfg.get("eval"):  # TRL's own evaluation runs it: a baseline before the first step, every N, the last
        from grpotui.config import eval_batch

        k, bs, _ = eval_batch(cfg)
        training.update(eval_strategy="steps", eval_steps=cfg["eval"]["every"], eval_on_start=True,
                        per_device_eval_batch_size=bs)
        if "num_generations_eval" in GRPOConfig.__dataclass_fields__:  # older TRL: training's num_generations
            training["num_generations_eval"] = k
    if backend == "transformers":
        training["model_init_kwargs"] = {**model_init_kwargs(cfg, backend), **training.get("model_init_kwargs", {})}
    if training.get("use_cpu") and "ddp_timeout" in training:
        _cpu_process_group(int(training["ddp_timeout"]))
    try:
        return GRPOConfig(output_dir=str(run_dir / CHECKPOINT_DIR), log_completions=False, **training)
    except (ValueError, TypeError) as e:
        raise BackendError(f"[training]: {e}") from e


def _cpu_process_group(timeout: int) -> None:
    """Under a launcher, on the CPU: the process group made here with ``timeout`` (transformers hands
    ``ddp_timeout`` to the process group on GPUs only; accelerate then uses the group that exists)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return
    import datetime

    import torch.distributed as dist

    if dist.is_available() and not dist.is_initialized():
        dist.init_process_group(backend="gloo", timeout=datetime.timedelta(seconds=timeout))


def build_trainer(cfg: dict[str, Any], run_dir: Path, callbacks: list[Any], *, backend: str) -> Any:
    """A ready ``GRPOTrainer``; ``backend`` is the one :func:`pick_backend` chose."""
    check_trl()
    args = grpo_args(cfg, run_dir, backend=backend)
    seed = int(args.seed)
    model, tokenizer, peft_config = load_model(cfg, backend, seed)

    from trl import GRPOTrainer

    kwargs: dict[str, Any] = {}
    train_ds, eval_ds = load_datasets(cfg, tokenizer=tokenizer, seed=seed)
    if eval_ds is not None:
        kwargs["eval_dataset"] = eval_ds
    reward_funcs = [load_reward(spec) for spec in cfg["rewards"]]
    if peft_config is not None:
        kwargs["peft_config"] = peft_config
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=train_ds,
        processing_class=tokenizer,
        callbacks=callbacks,
        **kwargs,
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the recorder prints one line per step instead of a dict
    return trainer


def last_checkpoint(run_dir: Path) -> Path | None:
    from grpotui.runner.launch import last_checkpoint_dir

    return last_checkpoint_dir(run_dir)
