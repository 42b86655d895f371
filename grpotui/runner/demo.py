"""Assets for the embedded demo: a tiny model, a character tokenizer and a sums dataset.

Everything is built locally from a config (nothing is downloaded), written atomically (build into a temp
directory next to the destination, then ``os.replace``) and cached: a complete build carries a marker
file written last, so a second call, or a second process racing the first, reuses it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

DEMO_VERSION = 2  # bump when the assets change: names and markers carry it (2: model_input_names)
MARKER_NAME = "grpotui-demo.json"
MODEL_DIRNAME = f"demo-model-v{DEMO_VERSION}"
DATASET_FILENAME = f"demo-data-v{DEMO_VERSION}.jsonl"

PAD_TOKEN = "<pad>"
EOS_TOKEN = "<eos>"
UNK_TOKEN = "<unk>"
SPECIAL_TOKENS = (PAD_TOKEN, EOS_TOKEN, UNK_TOKEN)
# Every character the tokenizer knows: digits, the arithmetic signs and a space. Kept small on purpose:
# with ~20 tokens a random policy already hits the right digit now and then, so GRPO gets signal early
# (a 48-token vocabulary with the lowercase letters started at 0.045 mean reward instead of 0.08).
CHARACTERS = "0123456789+-=*/(). "

DEMO_MODEL_CONFIG: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 1024,
    "tie_word_embeddings": True,
}

# GRPOConfig keyword arguments for the demo (pass with output_dir and max_steps; DEMO_STEPS is the default).
# Measured on 2 CPU cores (mean reward over the first / last 100 steps of 800, seeds 42, 0, 1, 2, 3):
# linear 0.08-0.12 -> 0.54-0.83 (mean 0.67); constant -> 0.54-0.73 (mean 0.63). max_completion_length 3
# learns slower (0.38-0.45 vs 0.51-0.62 at 600 steps) and does not make completions end with EOS (the
# reward ignores what follows the digit), so 2 it is: the answer digit plus one token.
DEMO_TRAINING: dict[str, Any] = {
    "per_device_train_batch_size": 16,
    "num_generations": 8,
    "learning_rate": 1e-3,
    "lr_scheduler_type": "linear",
    "beta": 0.02,
    "max_completion_length": 2,
    "temperature": 1.0,
    "logging_steps": 1,
    "seed": 42,
    "save_strategy": "no",
    "report_to": "none",
    "bf16": False,
    "fp16": False,
    "use_cpu": True,
}
DEMO_STEPS = 800


def _marker_ok(marker: Path, kind: str) -> bool:
    """True when ``marker`` is a readable marker for a complete build of ``kind`` at this version."""
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("kind") == kind and data.get("version") == DEMO_VERSION


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fix_modes(path: Path) -> None:
    """Give ``path`` (and what is in it) the usual umask-derived modes: mkdtemp/mkstemp use 0700/0600."""
    mask = _umask()
    if path.is_dir():
        for child in path.rglob("*"):
            child.chmod((0o777 if child.is_dir() else 0o666) & ~mask)
        path.chmod(0o777 & ~mask)
    else:
        path.chmod(0o666 & ~mask)


def _marker_payload(kind: str, **extra: Any) -> str:
    return json.dumps({"kind": kind, "version": DEMO_VERSION, **extra}, indent=2) + "\n"


def _byte_level_char(ch: str) -> str:
    """The byte-level (GPT-2 style) symbol of a single ASCII character, e.g. ``" "`` -> ``"Ġ"``."""
    b = ord(ch)
    if 33 <= b <= 126:  # printable ASCII maps to itself
        return ch
    shifted = [n for n in range(256) if not (33 <= n <= 126 or 161 <= n <= 172 or 174 <= n <= 255)]
    return chr(256 + shifted.index(b))


def demo_vocab() -> dict[str, int]:
    """Token -> id: the special tokens first, then one byte-level symbol per character of ``CHARACTERS``."""
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for ch in CHARACTERS:
        vocab.setdefault(_byte_level_char(ch), len(vocab))
    return vocab


def build_demo_tokenizer() -> Any:
    """A character-level tokenizer for the demo model: one token per character, left padding.

    It is a byte-level BPE with no merges over a one-symbol-per-character vocabulary, i.e. exactly the
    pipeline ``Qwen2Tokenizer`` builds from a vocabulary. transformers 5 forces ``Qwen2Tokenizer`` on every
    ``model_type: qwen2`` checkpoint loaded with ``AutoTokenizer`` (whatever ``tokenizer_class`` says) and
    rebuilds the pipeline from the saved vocabulary, so a WordLevel tokenizer would silently become a
    different one on reload (spaces dropped); this one loads back identical under any loader. Characters
    outside the vocabulary are dropped, as Qwen2's BPE has no unknown token.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tok = Tokenizer(
        models.BPE(
            vocab=demo_vocab(),
            merges=[],
            dropout=None,
            unk_token=None,
            continuing_subword_prefix="",
            end_of_word_suffix="",
            fuse_unk=False,
            byte_fallback=False,
        )
    )
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD_TOKEN,
        eos_token=EOS_TOKEN,
        bos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        padding_side="left",
        model_max_length=DEMO_MODEL_CONFIG["max_position_embeddings"],
        # as real models' tokenizers say: no token_type_ids, which TRL before 1.0 passes on to generate()
        model_input_names=["input_ids", "attention_mask"],
    )


def _write_model(out: Path) -> None:
    """Build the tiny Qwen2 model and its tokenizer and save both into ``out``."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = build_demo_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **DEMO_MODEL_CONFIG,
    )
    # Seed the init without disturbing the caller's global RNG state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Qwen2ForCausalLM(config).to(torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / MARKER_NAME).write_text(
        _marker_payload("model", vocab_size=len(tokenizer), **DEMO_MODEL_CONFIG), encoding="utf-8"
    )


def build_demo_model(dest: Path) -> Path:
    """Build the demo model + tokenizer into directory ``dest`` (reused if already complete)."""
    dest = Path(dest)
    if _marker_ok(dest / MARKER_NAME, "model"):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        _write_model(tmp)
        _fix_modes(tmp)
        if _marker_ok(dest / MARKER_NAME, "model"):  # another process finished first
            return dest
        if dest.exists():  # an incomplete leftover: move it aside, then drop it
            stale = Path(tempfile.mkdtemp(prefix=f".{dest.name}.stale.", dir=dest.parent))
            with contextlib.suppress(OSError):
                os.replace(dest, stale / "old")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(tmp, dest)
        except OSError:
            # A racing process put a directory there in between: fine if it is complete.
            if not _marker_ok(dest / MARKER_NAME, "model"):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def demo_examples(n: int = 4000, seed: int = 0) -> list[dict[str, str]]:
    """``n`` single-digit sums ``a+b`` with a, b in 0..4, as ``{"prompt": "3+4=", "answer": "7"}``."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.randint(0, 4), rng.randint(0, 4)
        rows.append({"prompt": f"{a}+{b}=", "answer": str(a + b)})
    return rows


def build_demo_dataset(dest_file: Path, n: int = 4000, seed: int = 0) -> Path:
    """Write the sums dataset as JSONL to ``dest_file`` (reused if already complete)."""
    dest_file = Path(dest_file)
    marker = dest_file.with_name(dest_file.name + ".done")
    kind = f"dataset-n{n}-s{seed}"
    if dest_file.is_file() and _marker_ok(marker, kind):
        return dest_file
    dest_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest_file.name}.", dir=dest_file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in demo_examples(n, seed):
                fh.write(json.dumps(row) + "\n")
        _fix_modes(Path(tmp_name))
        os.replace(tmp_name, dest_file)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fd, tmp_name = tempfile.mkstemp(prefix=f".{marker.name}.", dir=dest_file.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(_marker_payload(kind, n=n, seed=seed))
    _fix_modes(Path(tmp_name))
    os.replace(tmp_name, marker)
    return dest_file


def demo_assets(cache_dir: Path) -> tuple[Path, Path]:
    """Return ``(model_dir, dataset_file)`` under ``cache_dir``, building whatever is missing."""
    cache_dir = Path(cache_dir)
    model_dir = build_demo_model(cache_dir / MODEL_DIRNAME)
    dataset_file = build_demo_dataset(cache_dir / DATASET_FILENAME)
    return model_dir, dataset_file


def demo_reward(completions: list[Any], answer: list[str], **_: Any) -> list[float]:
    """1.0 when a completion, stripped of whitespace and EOS, starts with the right sum."""
    out = []
    for completion, ans in zip(completions, answer, strict=False):
        text = completion if isinstance(completion, str) else completion[-1]["content"]
        text = text.replace(EOS_TOKEN, "").strip()
        out.append(1.0 if text.startswith(str(ans).strip()) else 0.0)
    return out
