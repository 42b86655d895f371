"""Realistic math completions for benchmarks: LaTeX solutions of 300-2,000 characters, mostly wrong.

Built from the GSM8K test solutions (``../shared/data/gsm8k_test.jsonl``: real problems, real worked
answers) rewritten as a model early in GRPO training writes them (LaTeX arithmetic, a final
``\\boxed{}`` that is usually wrong), and MATH-style endings written here (fractions, tuples, intervals,
roots, polynomials), including ones math-verify is slow on. Deterministic for a seed.

Also a byte-level tokenizer (every character encodes) and a tiny Qwen2 whose ``generate`` returns these
texts, so that TRL's forward, backward, rewards and advantages stay real while the texts are realistic.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k_test.jsonl"

MATH_ENDINGS = [
    r"\left( 3, \frac{\pi}{2} \right)",
    r"\frac{7}{12}",
    r"[2, 5)",
    r"\sqrt{13}",
    r"x^2 - 4x + 4",
    r"\frac{\sqrt{3}}{2}",
    r"(-\infty, -1] \cup [3, \infty)",
    r"2\sqrt{2} + 1",
    r"\dfrac{15}{4}",
    r"\{1, 2, 3\}",
    r"12\pi",
    r"p - q",
]


def gsm8k(path: Path = DATA) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _latexify(solution: str, rng: random.Random) -> str:
    """A GSM8K worked solution as LaTeX math: annotations removed, operators and fractions typeset."""
    text = re.sub(r"<<[^>]*>>", "", solution.split("####")[0]).strip()

    def math(m: re.Match[str]) -> str:
        expr = m.group(0).strip()
        expr = re.sub(r"(\d+)\s*/\s*(\d+)", r"\\frac{\1}{\2}", expr)
        expr = expr.replace("*", r" \times ").replace("  ", " ")
        return f" ${expr}$ "

    text = re.sub(r"[\d.]+(?:\s*[-+*/x]\s*[\d.]+)+\s*=\s*[\d.]+", math, text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    steps = [f"Step {i + 1}: {ln}" for i, ln in enumerate(lines)]
    if rng.random() < 0.5:
        steps.insert(0, "Let's think step by step. We are given the quantities in the problem, so we set up the "
                        r"computation carefully, writing $n$ for the unknown.")
    return "\n".join(steps)


def completions(n: int = 400, seed: int = 0, rows: list[dict[str, str]] | None = None) -> list[str]:
    """``n`` completions of 300-2,000 characters, about 80% with a wrong final answer."""
    rng = random.Random(seed)
    rows = rows or gsm8k()
    out = []
    while len(out) < n:
        row = rng.choice(rows)
        gold = row["answer"].split("####")[-1].strip().replace(",", "")
        body = _latexify(row["answer"], rng)
        target = rng.randint(300, 2000)
        while len(body) < target - 60:  # long reasoning: more worked steps, as a rambling model writes
            body += "\n" + _latexify(rng.choice(rows)["answer"], rng)
        body = body[: target - 60]
        roll = rng.random()
        if roll < 0.2:
            final = gold
        elif roll < 0.6:
            final = str(int(float(gold)) + rng.randint(1, 50)) if re.fullmatch(r"-?[\d.]+", gold) else "0"
        elif roll < 0.9:
            final = rng.choice(MATH_ENDINGS)
        else:
            final = None  # no final answer: unparseable or a stray number
        ending = f"\n\nTherefore the answer is $\\boxed{{{final}}}$." if final else "\n\nI am not sure."
        out.append(body + ending)
    return out


def dataset_rows(n: int = 256, seed: int = 1) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = gsm8k()
    return [{"prompt": r["question"], "answer": r["answer"]} for r in rng.sample(rows, n)]


# ------------------------------------------------------------------------------------- model and tokenizer
def byte_tokenizer(texts: list[str] | None = None, vocab_size: int = 2048) -> Any:
    """A byte-level BPE: every character encodes (any UTF-8 byte is a token) and decodes back. Trained on
    ``texts`` it merges frequent pieces (about 3-4 characters a token on these solutions, as real
    tokenizers do), so the tiny model sees realistic sequence lengths; without texts, one token a byte."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|pad|>", "<|endoftext|>"]
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size if texts else 0, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts or [""], trainer=trainer)
    t = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", eos_token="<|endoftext|>",
                                padding_side="left", model_max_length=4096)
    t.model_input_names = ["input_ids", "attention_mask"]
    return t


def build_model(dest: Path, tok: Any) -> Path:
    """A tiny Qwen2 (the demo's shape) over tokenizer ``tok``, both saved to ``dest``."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id,
                      tie_word_embeddings=True)
    Qwen2ForCausalLM(cfg).save_pretrained(dest)
    tok.save_pretrained(dest)
    return dest


def scripted(model: Any, tokenizer: Any, texts: list[str], max_len: int, seed: int = 0) -> Any:
    """Make ``model.generate`` return prepared ``texts`` (cycled in a seeded order) as completions."""
    import types

    import torch

    rng = random.Random(seed)
    encoded = [tokenizer(t, add_special_tokens=False)["input_ids"][: max_len - 1] + [tokenizer.eos_token_id]
               for t in texts]

    def generate(self: Any, input_ids: Any = None, attention_mask: Any = None, **_: Any) -> Any:
        picks = [encoded[rng.randrange(len(encoded))] for _ in range(input_ids.shape[0])]
        width = max(len(p) for p in picks)
        comp = torch.full((len(picks), width), tokenizer.pad_token_id, dtype=input_ids.dtype)
        for i, p in enumerate(picks):
            comp[i, : len(p)] = torch.tensor(p, dtype=input_ids.dtype)
        return torch.cat([input_ids, comp.to(input_ids.device)], dim=1)

    model.generate = types.MethodType(generate, model)
    return model


def cheap_reward(completions: list[Any], **_: Any) -> list[float]:
    """A user's own cheap reward (no math-verify): a stated final answer, and a little for brevity."""
    return [float("\\boxed" in c) + (2000 - min(len(c), 2000)) / 4000 for c in completions]
