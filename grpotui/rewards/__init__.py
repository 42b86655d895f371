"""Built-in GRPO reward functions, with TRL's reward-function signature.

``correctness`` scores 1.0 when a completion's final answer equals the gold answer (math_verify equivalence,
so ``\\frac{1}{2}``, ``0.5`` and ``1/2`` agree), ``format`` scores 1.0 when the final answer is stated
explicitly (``\\boxed{}``, ``#### n``, "the answer is", ``<answer>``). TRL logs them as
``rewards/correctness/mean`` and ``rewards/format/mean``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from grpotui.rewards.answers import (
    EXPLICIT_HOWS,
    Judgement,
    completion_text,
    extract_answer,
    gold_answer,
    judge,
    judged_any,
    known_judgement,
    use_own_time_limit,
)

__all__ = [
    "BUILTIN_REWARDS",
    "GOLD_COLUMNS",
    "Judgement",
    "completion_text",
    "correctness",
    "extract_answer",
    "find_gold",
    "format",
    "gold_answer",
    "judge",
    "judged_any",
    "known_judgement",
    "use_own_time_limit",
]

#: Dataset columns that may hold the gold answer, in the order they are looked for.
GOLD_COLUMNS: tuple[str, ...] = ("answer", "solution", "ground_truth", "gold", "target", "expected")

# Keyword arguments GRPOTrainer adds that are not dataset columns.
_TRAINER_KWARGS = frozenset({"completion_ids", "trainer_state", "log_extra", "log_metric", "environments"})


def find_gold(kwargs: dict[str, Any]) -> Sequence[Any]:
    """The gold answers among a reward function's keyword arguments (the dataset's extra columns)."""
    for name in GOLD_COLUMNS:
        if kwargs.get(name) is not None:
            return kwargs[name]
    present = (
        ", ".join(sorted(k for k in kwargs if k not in _TRAINER_KWARGS and not k.startswith("_"))) or "none"
    )
    raise ValueError(
        f"the correctness reward needs a gold-answer column; looked for {', '.join(GOLD_COLUMNS)} "
        f"(in that order) but the batch has only: {present}"
    )


def correctness(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 for each completion whose final answer equals the gold answer, 0.0 if wrong or unparseable."""
    golds = find_gold(kwargs)
    if len(golds) != len(completions):
        raise ValueError(f"{len(completions)} completions but {len(golds)} gold answers")
    return [1.0 if judge(c, g).verdict == "right" else 0.0 for c, g in zip(completions, golds, strict=True)]


def format(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:  # noqa: A001
    """1.0 for each completion stating its final answer explicitly (boxed, ####, "the answer is", tags)."""
    return [1.0 if extract_answer(completion_text(c))[1] in EXPLICIT_HOWS else 0.0 for c in completions]


RewardFunc = Callable[..., list[float]]

#: Reward functions selectable by name in a run's config.
BUILTIN_REWARDS: dict[str, RewardFunc] = {"correctness": correctness, "format": format}
