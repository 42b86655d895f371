"""Run configuration: TOML plus ``--set`` overrides, every key checked before anything starts.

Light on purpose (the standard library and grpotui's own light modules, no torch): ``[training]`` is
checked against the fields of the installed TRL's ``GRPOConfig``, read once in a subprocess and cached
(see ``runner/schema.py``).
"""

from __future__ import annotations

import ast
import copy
import difflib
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from grpotui.rewards import BUILTIN_REWARDS as _BUILTIN_FUNCS  # light: math-verify loads on first use
from grpotui.store.paths import BadRunName, cache_dir, check_run_name

BUILTIN_REWARDS = tuple(_BUILTIN_FUNCS)
BACKENDS = ("auto", "transformers", "unsloth")
DATA_FILE_SUFFIXES = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
# GRPOConfig fields that grpotui sets itself.
OWNED_TRAINING_KEYS = {
    "output_dir": "checkpoints go to the run directory",
    "logging_dir": "logs go to the run directory",
    "log_completions": "grpotui records every completion itself (TRL's would print tables to the log)",
}


class ConfigError(ValueError):
    """One or more problems with a config; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


# A spec of the sections grpotui owns: key -> (kinds, default, choices / range, help).
_S = dict[str, tuple[tuple[str, ...], Any, Any, str]]
RUN_SPEC: _S = {
    "name": (("str",), None, None, "run name (default: config file name + time)"),
    "note": (("str",), "", None, "why this run was started"),
    "judge_timeout": (("float", "int"), 1.0, (0.01, 600), "seconds one verdict's check may take (then unparseable)"),
}
MODEL_SPEC: _S = {
    "name_or_path": (("str",), None, None, "hub id or local directory of the model"),
    "backend": (("str",), "auto", BACKENDS, "auto: unsloth when CUDA and unsloth are there"),
    "load_in_4bit": (("bool",), True, None, "4-bit weights (unsloth, or bitsandbytes on CUDA)"),
    "max_seq_length": (("int",), 2048, (16, None), "unsloth's max_seq_length"),
    "dtype": (("str",), "auto", ("auto", "bfloat16", "float16", "float32"), "weights dtype"),
    "trust_remote_code": (("bool",), False, None, "passed to from_pretrained"),
    "gpu_memory_utilization": (("float",), 0.6, (0.05, 1.0), "unsloth fast_inference share"),
    "fast_inference": (("bool",), False, None, "unsloth's vLLM generation"),
}
LORA_SPEC: _S = {
    "enabled": (("bool",), None, None, "default: on with unsloth, off with transformers"),
    "r": (("int",), 16, (1, 4096), "LoRA rank"),
    "alpha": (("int", "float"), 32, (0, None), "LoRA alpha"),
    "dropout": (("float", "int"), 0.0, (0.0, 1.0), "LoRA dropout"),
    "target_modules": (
        ("list", "str"),
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        None,
        "module names, or 'all-linear'",
    ),
}
DATA_SPEC: _S = {
    "source": (("str",), None, None, "hub dataset id, or a local .jsonl/.json/.parquet/.csv file"),
    "subset": (("str",), None, None, "hub dataset config name (e.g. 'main' for openai/gsm8k)"),
    "split": (("str",), "train", None, "dataset split"),
    "prompt_field": (("str",), "prompt", None, "column holding the question"),
    "answer_field": (("str",), "answer", None, "column holding the gold answer"),
    "system_prompt": (("str",), None, None, "system message (chat models)"),
    "prompt_template": (("str",), "{prompt}", None, "format string over the row's columns"),
    "chat_template": (("str", "bool"), "auto", ("auto", True, False), "wrap prompts as chat messages"),
    "max_samples": (("int",), None, (1, None), "use only the first N rows"),
    "shuffle": (("bool",), True, None, "shuffle rows (seeded by training.seed)"),
}
EVAL_SPEC: _S = {
    "source": (("str",), None, None, "held-out problems: a hub dataset id or a local .jsonl/.json/.parquet/.csv file"),
    "subset": (("str",), None, None, "hub dataset config name"),
    "split": (("str",), "test", None, "dataset split of source"),
    "prompt_field": (("str",), None, None, "column holding the question (default: data.prompt_field)"),
    "answer_field": (("str",), None, None, "column holding the gold answer (default: data.answer_field)"),
    "holdout": (("int",), None, (1, None), "instead of source: N problems of [data] never trained on"),
    "every": (("int",), 100, (1, None), "evaluate every N steps (and before the first, and at the last)"),
    "max_samples": (("int",), 64, (1, None), "problems per evaluation"),
    "num_generations": (("int",), None, (1, None), "samples per problem, k of pass@k (default: training's)"),
}
# GRPOConfig fields that [eval] sets (TRL's evaluation machinery runs it).
EVAL_TRAINING_KEYS = ("eval_strategy", "eval_steps", "num_generations_eval", "eval_on_start", "do_eval")
LAUNCH_SPEC: _S = {
    "num_processes": (("int",), 1, (1, 4096), "processes (GPUs) in all, every machine's together (as accelerate "
                      "counts them); more than 1 starts the runner with accelerate launch"),
    "num_machines": (("int",), 1, (1, 4096), "machines the run's processes are spread over (num_processes / "
                     "num_machines on each)"),
    "machine_rank": (("int",), 0, (0, 4095), "this machine's rank: 0 holds the run and its store; any other "
                     "starts this machine's processes as followers of it, in the foreground"),
    "main_process_ip": (("str",), None, None, "the address of the machine with rank 0 (several machines)"),
    "cpu": (("bool",), None, None, "force the CPU (default: when no CUDA GPU is visible)"),
    "mixed_precision": (("str",), None, ("no", "fp16", "bf16", "fp8"), "accelerate's mixed precision"),
    "config_file": (("str",), None, None, "an accelerate config (DDP, DeepSpeed, FSDP)"),
    "main_process_port": (("int",), None, (1, 65535), "the rendezvous port"),
    "extra_args": (("list",), [], None, "more `accelerate launch` arguments, passed as they are"),
    "cpu_threads": (("int",), None, (1, 4096), "CPU threads per run (default: a fair share of the cores)"),
    "timeout": (("int",), None, (5, None), "seconds a process waits for the others at a collective before it "
                "gives up (default: 300 over several machines, else transformers' 1800)"),
}
TOP_SPEC: _S = {
    "rewards": (("list",), ["correctness"], None, "reward functions"),
}
SECTIONS = ("run", "model", "data", "eval", "training", "rewards", "health", "launch", "notify")


# ----------------------------------------------------------------------------- loading
def parse_set(item: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with a TOML value; a bare word or path is taken as a string."""
    if "=" not in item:
        raise ConfigError([f"--set {item}: expected KEY=VALUE (e.g. training.learning_rate=1e-5)"])
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise ConfigError([f"--set {item}: {key!r} is not a dotted key"])
    try:
        return key, tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError as e:
        if re.fullmatch(r"[A-Za-z_./~][A-Za-z0-9_./:~+@-]*", raw) and raw not in ("true", "false"):
            return key, raw
        raise ConfigError([f"--set {item}: the value is not TOML ({e}); quote strings: {key}='...'"]) from e


def apply_overrides(cfg: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg)
    for item in overrides:
        key, value = parse_set(item)
        parts = key.split(".")
        node = cfg
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise ConfigError([f"--set {item}: {p!r} is not a section"])
            node = nxt
        node[parts[-1]] = value
    return cfg


def load_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such config file"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path}: cannot read ({e})"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: TOML syntax error: {e}"]) from None


# ----------------------------------------------------------------------------- the TRL schema
def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def training_schema() -> dict[str, Any] | None:
    """GRPOConfig's fields for the installed trl/transformers (cached); None without trl."""
    trl_v, tf_v = _dist_version("trl"), _dist_version("transformers")
    if not trl_v or not tf_v:
        return None
    path = cache_dir() / f"grpo-config-schema-trl{trl_v}-tf{tf_v}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        proc = subprocess.run(
            [sys.executable, "-m", "grpotui.runner.schema", str(path)],
            capture_output=True, text=True, timeout=300,
        )
        if proc.returncode != 0 or not path.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ConfigError([f"cannot read TRL's GRPOConfig fields: {tail[0]}"])
    return json.loads(path.read_text())["fields"]


# ----------------------------------------------------------------------------- checking
def _kind_of(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "dict"
    return type(v).__name__


def _closest(key: str, valid: list[str]) -> str:
    m = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f" (did you mean {m[0]!r}?)" if m else ""


def _check_section(
    name: str, section: Any, spec: _S, problems: list[str], *, extra_ok: tuple[str, ...] = ()
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(section, dict):
        problems.append(f"[{name}]: must be a table, got {_kind_of(section)}")
        return out
    for key, value in section.items():
        if key in extra_ok:
            continue
        if key not in spec:
            problems.append(f"{name}.{key}: unknown key{_closest(key, list(spec))}")
            continue
        kinds, default, limits, _help = spec[key]
        kind = _kind_of(value)
        if value is None and default is None:  # unset, as a resolved config writes it
            out[key] = None
            continue
        if kind not in kinds and not (kind == "int" and "float" in kinds):
            problems.append(f"{name}.{key}: expected {' or '.join(kinds)}, got {kind} {value!r}")
            continue
        if isinstance(limits, tuple) and len(limits) == 2 and all(x is None or isinstance(x, (int, float))
                                                                    for x in limits) and kind in ("int", "float"):
            lo, hi = limits
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
                problems.append(f"{name}.{key}: {value!r} out of range (must be {rng})")
                continue
        elif isinstance(limits, tuple) and value not in limits:
            problems.append(f"{name}.{key}: {value!r} is not one of {', '.join(map(repr, limits))}")
            continue
        out[key] = value
    for key, (_k, default, _l, _h) in spec.items():
        out.setdefault(key, copy.deepcopy(default))
    return out


def _check_training(section: Any, problems: list[str]) -> dict[str, Any]:
    if not isinstance(section, dict):
        problems.append(f"[training]: must be a table, got {_kind_of(section)}")
        return {}
    schema = training_schema()
    out: dict[str, Any] = {}
    for key, value in section.items():
        if key in OWNED_TRAINING_KEYS:
            problems.append(f"training.{key}: set by grpotui ({OWNED_TRAINING_KEYS[key]})")
            continue
        if schema is None:
            out[key] = value
            continue
        if key not in schema:
            problems.append(f"training.{key}: not a GRPOConfig field{_closest(key, list(schema))}")
            continue
        kinds, choices = set(schema[key]["kinds"]), schema[key]["choices"]
        kind = _kind_of(value)
        ok = "any" in kinds or kind in kinds or (kind == "int" and "float" in kinds)
        if not ok:
            problems.append(f"training.{key}: expected {' or '.join(sorted(kinds))}, got {kind} {value!r}")
            continue
        if choices and value not in choices and not isinstance(value, (list, dict)):
            problems.append(f"training.{key}: {value!r} is not one of {', '.join(map(repr, choices))}")
            continue
        if kind in ("int", "float") and value < 0 and key in _NON_NEGATIVE:
            problems.append(f"training.{key}: {value!r} out of range (must be >= 0)")
            continue
        if kind in ("int", "float") and value <= 0 and key in _POSITIVE:
            problems.append(f"training.{key}: {value!r} out of range (must be > 0)")
            continue
        out[key] = value
    _check_batches(out, schema, problems)
    return out


_POSITIVE = {
    "learning_rate", "per_device_train_batch_size", "num_generations", "gradient_accumulation_steps",
    "max_completion_length", "logging_steps", "temperature", "num_iterations",
}
_NON_NEGATIVE = {"beta", "weight_decay", "warmup_ratio", "warmup_steps", "max_grad_norm", "epsilon"}


def _check_batches(t: dict[str, Any], schema: dict[str, Any] | None, problems: list[str]) -> None:
    def get(k: str) -> Any:
        return t.get(k, (schema or {}).get(k, {}).get("default"))

    g = get("num_generations")
    bs = get("per_device_train_batch_size")
    spg = get("steps_per_generation") or get("gradient_accumulation_steps") or 1
    if isinstance(g, int) and isinstance(bs, int) and isinstance(spg, int) and g > 0:
        if g < 2:
            problems.append("training.num_generations: GRPO needs groups of at least 2 completions")
        elif (bs * spg) % g:
            problems.append(
                f"training.per_device_train_batch_size: {bs} x steps_per_generation {spg} completions a "
                f"generation must divide by num_generations {g} (e.g. per_device_train_batch_size = {g})"
            )


def _module_file(module: str) -> Path | None:
    """The source file of ``module`` found without importing it (or any parent package)."""
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if len(parts) == 1:
        return Path(spec.origin) if spec.origin and spec.origin not in ("built-in", "frozen") else None
    for base in spec.submodule_search_locations or []:
        p = Path(base).joinpath(*parts[1:])
        for cand in (p.with_suffix(".py"), p / "__init__.py"):
            if cand.exists():
                return cand
    return None


def _defines(path: Path, name: str) -> bool | None:
    """Whether a Python file defines ``name`` at top level (None when it cannot be parsed)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (a.asname or a.name.split(".")[0]) == name for a in node.names):
            return True
    return False


def _check_rewards(value: Any, base: Path, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or not value:
        problems.append(f"rewards: expected a non-empty list of reward names, got {value!r}")
        return []
    out: list[str] = []
    for spec in value:
        if not isinstance(spec, str):
            problems.append(f"rewards: {spec!r} is not a string")
            continue
        if spec in BUILTIN_REWARDS:
            out.append(spec)
            continue
        if ":" not in spec:
            problems.append(
                f"rewards: unknown reward {spec!r}{_closest(spec, list(BUILTIN_REWARDS))}; built-in: "
                f"{', '.join(BUILTIN_REWARDS)}, or 'file.py:function', or 'package.module:function'"
            )
            continue
        target, func = spec.rsplit(":", 1)
        if not func.isidentifier():
            problems.append(f"rewards: {spec!r}: {func!r} is not a function name")
            continue
        if target.endswith(".py"):
            path = Path(target).expanduser()
            path = path if path.is_absolute() else (base / path)
            path = path.resolve()
            if not path.is_file():
                problems.append(f"rewards: {spec!r}: no such file {path}")
                continue
            defined = _defines(path, func)
            if defined is False:
                problems.append(f"rewards: {spec!r}: {path.name} defines no {func!r}")
                continue
            if defined is None:
                problems.append(f"rewards: {spec!r}: {path} is not valid Python")
                continue
            out.append(f"{path}:{func}")
        else:
            path = _module_file(target)
            if path is None:
                problems.append(f"rewards: {spec!r}: no module {target!r} can be found")
                continue
            if path.suffix == ".py" and _defines(path, func) is False:
                problems.append(f"rewards: {spec!r}: module {target!r} defines no {func!r}")
                continue
            out.append(spec)
    # TRL names each function's metrics and rewards by its name: two of one name would merge silently
    names: dict[str, str] = {}
    for spec in out:
        name = spec.rsplit(":", 1)[-1]
        if name in names:
            problems.append(f"rewards: {names[name]!r} and {spec!r} share the name {name!r}; TRL would merge "
                            "their rewards: rename one")
        names[name] = spec
    return out


def _check_template(template: Any, problems: list[str]) -> None:
    """``data.prompt_template`` must be a format string over column names (literal braces doubled)."""
    import string

    if not isinstance(template, str):
        return
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        problems.append(f"data.prompt_template: {e}; write literal braces as {{{{ and }}}}")
        return
    for f in fields:
        name = re.split(r"[.\[!:]", f, maxsplit=1)[0]
        if not name.isidentifier():
            problems.append(f"data.prompt_template: {{{f}}} is not a column name; write literal braces as "
                            "{{ and }} (e.g. \\boxed{{}})")


def eval_batch(cfg: dict[str, Any]) -> tuple[int, int, int]:
    """``(k, per-device eval batch, completions of a training generation)`` of a config with ``[eval]``: k
    samples a problem (``eval.num_generations``, else training's), and a batch of whole problems no larger
    than a training generation (TRL keeps one generation's texts for logging: the recorder reads them)."""
    schema = training_schema() or {}
    t = cfg.get("training", {})

    def get(key: str) -> Any:
        return t.get(key, schema.get(key, {}).get("default"))

    k = (cfg["eval"].get("num_generations") if "num_generations_eval" in schema or not schema else None) \
        or get("num_generations") or 8  # a TRL without num_generations_eval evaluates with training's
    spg = get("steps_per_generation") or get("gradient_accumulation_steps") or 1
    generation = (get("per_device_train_batch_size") or 8) * spg
    bs = t.get("per_device_eval_batch_size") or k * max(1, generation // k)
    return k, bs, generation


def _check_eval(cfg: dict[str, Any], base: Path, problems: list[str]) -> None:
    """``[eval]``: one source of problems, TRL's eval settings left to it, and a batch TRL takes."""
    ev = cfg.get("eval")
    if not ev:
        return
    if ev.get("source") and ev.get("holdout"):
        problems.append("eval.source and eval.holdout: set one (a dataset of held-out problems, or N problems "
                        "kept out of [data])")
        return
    if not ev.get("source") and not ev.get("holdout"):
        problems.append("[eval]: set eval.source (held-out problems) or eval.holdout = N (problems kept out of "
                        "[data])")
        return
    training = cfg.get("training", {})
    for key in EVAL_TRAINING_KEYS:
        if key in training:
            problems.append(f"training.{key}: set by [eval] (every, num_generations); remove one of them")
    if ev.get("source"):
        ev["source"] = _local_source(ev["source"], base, "eval.source", problems)
    schema = training_schema() or {}
    if schema and "num_generations_eval" not in schema and ev.get("num_generations") not in (
            None, training.get("num_generations", schema.get("num_generations", {}).get("default"))):
        problems.append("eval.num_generations: this TRL evaluates with training.num_generations (its GRPOConfig "
                        "has no num_generations_eval, newer ones do); remove it or set it the same")
    k, bs, generation = eval_batch(cfg)
    procs = cfg.get("launch", {}).get("num_processes") or 1
    if (bs * procs) % k:
        problems.append(f"training.per_device_eval_batch_size: {bs} x {procs} process(es) must divide by "
                        f"eval.num_generations {k} (TRL evaluates whole problems)")
    elif bs > generation:
        problems.append(f"training.per_device_eval_batch_size: {bs} is more than a training generation "
                        f"({generation} completions), the most TRL keeps for the recorder to read; lower it or "
                        "eval.num_generations")


def _check_machines(launch: dict[str, Any], problems: list[str]) -> None:
    """Several machines: each needs the same num_processes / num_machines / address, and its own rank."""
    n, rank, procs = launch.get("num_machines"), launch.get("machine_rank"), launch.get("num_processes")
    if not isinstance(n, int) or not isinstance(rank, int) or not isinstance(procs, int):
        return  # already reported
    if rank >= n:
        problems.append(f"launch.machine_rank: {rank} is not below launch.num_machines {n} (ranks count from 0)")
    if n > 1:
        if not launch.get("main_process_ip"):
            problems.append("launch.main_process_ip: missing: the address every machine reaches the one with "
                            "machine_rank 0 at (with launch.num_machines > 1)")
        if procs % n:
            problems.append(f"launch.num_processes: {procs} in all cannot be shared evenly by {n} machines "
                            "(it counts every machine's processes together: processes per machine x machines)")


def _local_source(src: str, base: Path, key: str, problems: list[str]) -> str:
    """A dataset source as given (a hub id), or a local file resolved against the config's folder."""
    if not (Path(src).suffix.lower() in DATA_FILE_SUFFIXES or _looks_local(src)):
        return src
    p = Path(src).expanduser()
    p = p if p.is_absolute() else (base / p)
    if not p.exists():
        problems.append(f"{key}: no such file {p}")
        return src
    return str(p.resolve())


def _looks_local(s: str) -> bool:
    return s.startswith(("/", "./", "../", "~")) or Path(s).expanduser().exists()


def validate(raw: dict[str, Any], *, base: Path) -> dict[str, Any]:
    """Check every key, report every problem at once, and return the config with defaults filled in."""
    problems: list[str] = []
    for key in raw:
        if key not in SECTIONS:
            problems.append(f"{key}: unknown key{_closest(key, list(SECTIONS))}")
    cfg: dict[str, Any] = {}
    cfg["run"] = _check_section("run", raw.get("run", {}), RUN_SPEC, problems)
    model_raw = raw.get("model", {})
    cfg["model"] = _check_section("model", model_raw, MODEL_SPEC, problems, extra_ok=("lora",))
    lora_raw = model_raw.get("lora", {}) if isinstance(model_raw, dict) else {}
    cfg["model"]["lora"] = _check_section("model.lora", lora_raw, LORA_SPEC, problems)
    cfg["data"] = _check_section("data", raw.get("data", {}), DATA_SPEC, problems)
    _check_template(cfg["data"].get("prompt_template"), problems)
    cfg["launch"] = _check_section("launch", raw.get("launch", {}), LAUNCH_SPEC, problems)
    if not all(isinstance(x, str) for x in cfg["launch"].get("extra_args") or []):
        problems.append("launch.extra_args: expected a list of strings")
    _check_machines(cfg["launch"], problems)
    if cfg["launch"].get("config_file"):
        cf = Path(cfg["launch"]["config_file"]).expanduser()
        cf = cf if cf.is_absolute() else base / cf
        if not cf.is_file():
            problems.append(f"launch.config_file: no such file {cf}")
        else:
            cfg["launch"]["config_file"] = str(cf.resolve())
    if raw.get("eval"):  # only what is set (with its defaults): a run without [eval] has none
        cfg["eval"] = {k: v for k, v in _check_section("eval", raw["eval"], EVAL_SPEC, problems).items()
                       if v is not None}
    cfg["rewards"] = _check_rewards(raw.get("rewards", TOP_SPEC["rewards"][1]), base, problems)
    cfg["training"] = _check_training(raw.get("training", {}), problems)
    from grpotui.health import HealthConfigError, resolve

    health = raw.get("health", {})
    if isinstance(health, dict) and isinstance(health.get("rules"), dict):  # an already resolved config
        health = {"enabled": health.get("enabled", True), **health["rules"]}
    if not isinstance(health, dict):
        problems.append(f"[health]: must be a table, got {_kind_of(health)}")
        health = {}
    try:
        cfg["health"] = resolve(health)
    except HealthConfigError as e:
        problems.extend(str(e).splitlines())

    from grpotui.notify import NotifyConfigError, check

    try:
        cfg["notify"] = check(raw.get("notify", {}))
    except NotifyConfigError as e:
        problems.extend(str(e).splitlines())

    _check_eval(cfg, base, problems)
    if cfg["run"].get("name"):
        try:
            check_run_name(cfg["run"]["name"])
        except BadRunName as e:
            problems.append(f"run.name: {e}")
    name = cfg["model"].get("name_or_path")
    if not name:
        problems.append("model.name_or_path: missing (a hub id or a local model directory)")
    elif _looks_local(name):
        p = Path(name).expanduser()
        p = p if p.is_absolute() else (base / p)
        if not p.is_dir():
            problems.append(f"model.name_or_path: no model directory at {p}")
        else:
            cfg["model"]["name_or_path"] = str(p.resolve())
    src = cfg["data"].get("source")
    if not src:
        problems.append("data.source: missing (a hub dataset id or a local .jsonl/.parquet/.csv file)")
    else:
        cfg["data"]["source"] = _local_source(src, base, "data.source", problems)
    if problems:
        raise ConfigError(problems)
    return cfg


def load(path: Path | None, overrides: list[str] = (), *, base_config: dict | None = None) -> dict[str, Any]:
    """Read a TOML config (or start from ``base_config``), apply ``--set`` overrides and validate."""
    raw = load_toml(path) if path is not None else copy.deepcopy(base_config or {})
    raw = apply_overrides(raw, list(overrides))
    base = path.parent.resolve() if path is not None else Path(os.getcwd())
    return validate(raw, base=base)


def max_steps_of(cfg: dict[str, Any]) -> int | None:
    ms = cfg.get("training", {}).get("max_steps")
    return ms if isinstance(ms, int) and ms > 0 else None


def machine_of(cfg: dict[str, Any]) -> tuple[int, int]:
    """``(machine_rank, num_machines)`` of a run's ``[launch]``: ``(0, 1)`` on one machine."""
    launch = cfg.get("launch") or {}
    return int(launch.get("machine_rank") or 0), int(launch.get("num_machines") or 1)
