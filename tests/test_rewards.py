"""Tests for grpotui.rewards: answer extraction, gold normalisation, judging and the reward functions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grpotui.rewards import (
    BUILTIN_REWARDS,
    Judgement,
    completion_text,
    correctness,
    extract_answer,
    gold_answer,
    judge,
)
from grpotui.rewards import format as format_reward

# ------------------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------------------


def _data_dir() -> Path:
    env = os.environ.get("GRPOTUI_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def gsm8k() -> list[dict[str, str]]:
    path = _data_dir() / "gsm8k_test.jsonl"
    if not path.is_file():
        pytest.skip(f"GSM8K test data not found at {path} (set GRPOTUI_DATA_DIR to the folder holding it)")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


# ------------------------------------------------------------------------------------------------------------
# GSM8K
# ------------------------------------------------------------------------------------------------------------


def test_gsm8k_has_all_problems(gsm8k: list[dict[str, str]]) -> None:
    assert len(gsm8k) == 1319


def test_gold_answer_on_all_gsm8k(gsm8k: list[dict[str, str]]) -> None:
    for row in gsm8k:
        gold = gold_answer(row["answer"])
        assert gold.lstrip("-").isdigit(), (gold, row["answer"][-80:])
        assert gold == row["answer"].rsplit("####", 1)[1].strip().replace(",", "")


def test_gsm8k_solutions_judge_right_against_their_own_gold(gsm8k: list[dict[str, str]]) -> None:
    for row in gsm8k:
        j = judge(row["answer"], row["answer"])
        assert j.verdict == "right", (j, row["answer"][-80:])
        assert extract_answer(row["answer"])[1] == "hashes"


def test_gsm8k_plausible_completion_styles(gsm8k: list[dict[str, str]]) -> None:
    for row in gsm8k[:200]:
        gold = gold_answer(row["answer"])
        n = int(gold)
        for text in (
            f"Let me think step by step. The answer is {gold}.",
            f"So the final answer is $\\boxed{{{n:,}}}$",
            f"Working it out we get {n} dollars",
            f"<answer>{gold}</answer>",
            f"Reasoning...\n#### {n:,}",
        ):
            assert judge(text, row["answer"]).verdict == "right", text
            assert judge(_assistant(text), n).verdict == "right", text
        assert judge(f"The answer is {n + 1}.", row["answer"]).verdict == "wrong"


def test_gsm8k_against_bare_int_and_float_gold(gsm8k: list[dict[str, str]]) -> None:
    for row in gsm8k[:100]:
        n = int(gold_answer(row["answer"]))
        assert judge(f"\\boxed{{{n}}}", n).verdict == "right"
        assert judge(f"\\boxed{{{n}}}", float(n)).verdict == "right"
        assert judge(f"\\boxed{{{n}.00}}", str(n)).verdict == "right"


# ------------------------------------------------------------------------------------------------------------
# Extraction
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer", "how"),
    [
        ("\\boxed{18}", "18", "boxed"),
        ("first \\boxed{3} then \\boxed{18}", "18", "boxed"),
        ("The final answer is $\\boxed{18}$.", "18", "boxed"),
        ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{\\sqrt{2}}{2}", "boxed"),
        ("\\boxed{\\frac{a}{\\frac{b}{c}}}", "\\frac{a}{\\frac{b}{c}}", "boxed"),
        ("\\boxed{7} and then a truncated \\boxed{\\frac{1}{", "7", "boxed"),
        ("\\fbox{7}", "7", "boxed"),
        ("\\boxed{1,000}", "1000", "boxed"),
        ("\\boxed{18 \\text{ dollars}}", "18", "boxed"),
        ("\\boxed{\\$18}", "18", "boxed"),
        ("\\boxed{30^\\circ}", "30", "boxed"),
        ("\\boxed{25\\%}", "25%", "boxed"),
        ("\\boxed{2x}", "2x", "boxed"),
        ("She makes $18.\n#### 18", "18", "hashes"),
        ("#### 1,234", "1234", "hashes"),
        ("#### $18.", "18", "hashes"),
        ("The answer is 18.", "18", "answer_is"),
        ("the answer is -3", "-3", "answer_is"),
        ("The answer is 18 because 9*2=18.", "18", "answer_is"),
        ("The answer is that she has 18 apples left.", "18", "answer_is"),
        ("The answer is $18. She earned $5 more.", "18", "answer_is"),
        ("The answer is $\\$18$.", "18", "answer_is"),
        ("Final answer: 42", "42", "answer_is"),
        ("**Final Answer**: 42", "42", "answer_is"),
        ("So the answer is: **18**", "18", "answer_is"),
        ("Answer: $\\frac{1}{2}$.", "\\frac{1}{2}", "answer_is"),
        ("The answer is \\(\\dfrac{3}{4}\\).", "\\dfrac{3}{4}", "answer_is"),
        ("The answer is 2.5 hours.", "2.5", "answer_is"),
        ("<answer>7</answer>", "7", "answer_tag"),
        ("<answer>The total is 7 apples</answer>", "7", "answer_tag"),
        ("So she earns 18 dollars", "18", "last_number"),
        ("it costs $1,234.50 in total.", "1234.50", "last_number"),
        ("She has -3 left", "-3", "last_number"),
        ("3/4 of them", "3/4", "last_number"),
        ("x = 2.5.", "2.5", "last_number"),
        ("I have no idea.", None, "none"),
        ("", None, "none"),
    ],
)
def test_extract_answer(text: str, answer: str | None, how: str) -> None:
    assert extract_answer(text) == (answer, how)


# ------------------------------------------------------------------------------------------------------------
# Gold answers
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "gold"),
    [
        ("18", "18"),
        (" 18 ", "18"),
        (18, "18"),
        (18.0, "18"),
        (2.5, "2.5"),
        ("She makes 9 * 2 = $<<9*2=18>>18.\n#### 18", "18"),
        ("#### 1,000", "1000"),
        ("#### -5", "-5"),
        ("Thus the probability is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("\\frac{1}{3}", "\\frac{1}{3}"),
        ("$\\frac{1}{3}$", "\\frac{1}{3}"),
    ],
)
def test_gold_answer(raw: Any, gold: str) -> None:
    assert gold_answer(raw) == gold


# ------------------------------------------------------------------------------------------------------------
# Judging
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "gold"),
    [
        ("The answer is 18.", "18"),
        ("\\boxed{18}", "18"),
        ("18 dollars", "18"),
        ("\\boxed{18.00}", "18"),
        ("\\boxed{1,000}", "1000"),
        ("\\boxed{1000}", "1,000"),
        ("\\boxed{\\frac{1}{2}}", "0.5"),
        ("\\boxed{0.5}", "\\frac{1}{2}"),
        ("\\boxed{\\dfrac12}", "\\frac{1}{2}"),
        ("The answer is 1/2.", "\\frac{1}{2}"),
        ("\\boxed{\\dfrac{3}{4}}", "0.75"),
        ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}"),
        ("\\boxed{\\sqrt{12}}", "2\\sqrt{3}"),
        ("\\boxed{\\frac{a}{\\frac{b}{c}}}", "\\frac{ac}{b}"),
        ("\\boxed{18 \\text{ dollars}}", "18"),
        ("\\boxed{\\text{Tuesday}}", "Tuesday"),
        ("\\boxed{-3}", "-3"),
        ("The answer is -3.", "-3"),
        ("\\boxed{25\\%}", "25"),
        ("\\boxed{25\\%}", "0.25"),
        ("The answer is 25%.", "25"),
        ("\\boxed{x = 5}", "5"),
        ("\\boxed{30^\\circ}", "30"),
        ("Thus \\boxed{(1, 2)}", "(1,2)"),
        ("#### 18", "She makes $18.\n#### 18"),
        ("The answer is 18.", "Therefore \\boxed{18}."),
    ],
)
def test_judge_right(completion: str, gold: str) -> None:
    j = judge(completion, gold)
    assert j.verdict == "right", j
    assert j.right


@pytest.mark.parametrize(
    ("completion", "gold"),
    [
        ("The answer is 17.", "18"),
        ("\\boxed{-18}", "18"),
        ("\\boxed{\\frac{1}{3}}", "0.5"),
        ("The answer is 0.333.", "\\frac{1}{3}"),
        ("\\boxed{180}", "18"),
        ("\\boxed{1.8}", "18"),
        ("\\boxed{2x}", "2"),
        ("\\boxed{\\text{Monday}}", "Tuesday"),
        ("18 apples, no wait, 19", "18"),
        ("\\boxed{18!}", "18"),
    ],
)
def test_judge_wrong(completion: str, gold: str) -> None:
    assert judge(completion, gold).verdict == "wrong"


@pytest.mark.parametrize(
    "completion", ["", "I don't know.", "Let me think about this problem carefully.", []]
)
def test_judge_unparseable(completion: Any) -> None:
    j = judge(completion, "18")
    assert j == Judgement(None, "18", "unparseable")
    assert not j.right


def test_judgement_is_frozen() -> None:
    j = judge("\\boxed{18}", 18)
    assert j == Judgement("18", "18", "right")
    with pytest.raises(AttributeError):
        j.verdict = "wrong"  # type: ignore[misc]


def test_judge_is_cached() -> None:
    text = "A cached completion: \\boxed{\\frac{7}{9}}"
    first = judge(text, "\\frac{7}{9}")
    hits = judge.cache_info().hits  # type: ignore[attr-defined]
    assert judge(_assistant(text), "$\\frac{7}{9}$") is first
    assert judge.cache_info().hits == hits + 1  # type: ignore[attr-defined]


def test_judge_from_worker_threads() -> None:
    errors: list[BaseException] = []
    results: list[Judgement] = []

    def work() -> None:
        try:
            # Fresh strings, so math_verify (not the cache or the number fast path) runs in this thread.
            results.append(judge("thread: \\boxed{\\frac{\\sqrt{3}}{3}}", "\\frac{1}{\\sqrt{3}}"))
            results.append(judge("thread: \\boxed{\\dfrac{5}{10}}", "0.5"))
            results.append(judge("thread: The answer is \\frac{2}{7}.", "\\frac{3}{7}"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert not errors, errors
    assert [r.verdict for r in results] == ["right", "right", "wrong"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(
            pool.map(
                lambda k: judge(f"pool: \\boxed{{\\frac{{{k}}}{{{2 * k}}}}}", "\\frac{1}{2}").verdict,
                range(1, 17),
            )
        )
    assert verdicts == ["right"] * 16


@pytest.mark.parametrize(
    "huge",
    ["9^{9^{9^{9}}}", "10^{10^{10}}", "2^{2^{30}}", "7^{10000000}", "(10^{8})!", "\\binom{10^{9}}{10^{5}}"],
)
def test_judge_huge_numbers_do_not_hang_in_a_worker_thread(huge: str) -> None:
    # Without signal timeouts (off outside the main thread) math_verify would evaluate these forever.
    results: list[Judgement] = []
    worker = threading.Thread(target=lambda: results.append(judge(f"\\boxed{{{huge}}}", "18")), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), f"judging \\boxed{{{huge}}} hung"
    assert [r.verdict for r in results] == ["wrong"]


def test_judge_small_powers_and_factorials_still_evaluate() -> None:
    assert judge("\\boxed{2^{2^{2}}}", "16").verdict == "right"
    assert judge("\\boxed{\\frac{18!}{17!}}", "18").verdict == "right"
    assert judge("\\boxed{10^{5}}", "100000").verdict == "right"


# ------------------------------------------------------------------------------------------------------------
# Completions
# ------------------------------------------------------------------------------------------------------------


def test_completion_text_forms() -> None:
    assert completion_text("plain") == "plain"
    assert completion_text(_assistant("hello")) == "hello"
    assert completion_text({"role": "assistant", "content": "one"}) == "one"
    convo = [
        {"role": "user", "content": "question"},
        {"role": "assistant", "content": "first"},
        {"role": "tool", "content": "tool output"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "The answer is "}, {"type": "text", "text": "18"}],
        },
    ]
    assert completion_text(convo) == "The answer is 18"
    assert (
        completion_text(
            [{"role": "assistant", "content": [{"type": "image"}, {"type": "text", "text": "x"}]}]
        )
        == "x"
    )
    assert completion_text([{"role": "assistant", "content": None}]) == ""
    assert completion_text([]) == ""
    assert judge(convo, 18).verdict == "right"


# ------------------------------------------------------------------------------------------------------------
# Reward functions
# ------------------------------------------------------------------------------------------------------------


def test_reward_names_and_registry() -> None:
    assert correctness.__name__ == "correctness"
    assert format_reward.__name__ == "format"
    assert {"correctness": correctness, "format": format_reward} == BUILTIN_REWARDS
    import grpotui.rewards as rewards

    assert rewards.format is format_reward


def test_correctness_reward() -> None:
    completions = [
        "The answer is 18.",
        _assistant("\\boxed{17}"),
        "no idea",
        _assistant("#### 1,000"),
        "\\boxed{\\frac{1}{2}}",
    ]
    golds = ["She makes $18.\n#### 18", "18", "18", 1000, "0.5"]
    prompts = ["q"] * len(completions)
    expected = [1.0, 0.0, 0.0, 1.0, 1.0]
    assert correctness(prompts, completions, answer=golds) == expected
    assert correctness(prompts=prompts, completions=completions, solution=golds) == expected
    for column in ("ground_truth", "gold", "target"):
        assert correctness(prompts, completions, **{column: golds}) == expected
    # `answer` wins over later columns.
    assert correctness(prompts, ["\\boxed{5}"], answer=["5"], solution=["6"]) == [1.0]


def test_correctness_without_gold_column_names_the_columns() -> None:
    with pytest.raises(ValueError) as info:
        correctness(["q"], ["\\boxed{1}"], question=["q"], completion_ids=[[1]])
    message = str(info.value)
    for column in ("answer", "solution", "ground_truth", "gold", "target"):
        assert column in message
    assert "question" in message
    assert "completion_ids" not in message


def test_format_reward() -> None:
    completions = [
        "\\boxed{18}",
        "work\n#### 18",
        "The answer is 18.",
        "<answer>18</answer>",
        "so it is 18",
        "nothing here",
        _assistant("Final answer: 3"),
    ]
    assert format_reward(["q"] * len(completions), completions) == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]


# ------------------------------------------------------------------------------------------------------------
# Comparison with TRL's accuracy_reward
# ------------------------------------------------------------------------------------------------------------

# (completion, bare gold solution): TRL's reward needs LaTeX/boxed answers.
_TRL_CASES: list[tuple[str, str]] = [
    ("So the answer is $\\boxed{18}$.", "18"),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("\\boxed{0.5}", "\\frac{1}{2}"),
    ("\\boxed{\\dfrac{3}{4}}", "0.75"),
    ("The final answer is $\\boxed{\\frac{\\sqrt{2}}{2}}$", "\\frac{1}{\\sqrt{2}}"),
    ("\\boxed{1,000}", "1000"),
    ("\\boxed{18 \\text{ dollars}}", "18"),
    ("\\boxed{-7}", "-7"),
    ("We get $x = 4$, so \\boxed{4}", "4"),
    ("\\boxed{\\sqrt{12}}", "2\\sqrt{3}"),
    ("\\boxed{17}", "18"),
    ("\\boxed{\\frac{1}{3}}", "\\frac{1}{2}"),
    # Plain-text answers that TRL's reward does not read.
    ("She makes 9 * 2 = 18 dollars.\n#### 18", "18"),
    ("Adding them up, the answer is 42.", "42"),
    ("Final answer: 1,250", "1250"),
    ("<answer>12</answer>", "12"),
    ("The answer is 17.", "18"),
    ("I am not sure.", "18"),
]


def test_at_least_as_good_as_trl_accuracy_reward() -> None:
    accuracy_reward = pytest.importorskip("trl.rewards").accuracy_reward
    completions = [_assistant(c) for c, _ in _TRL_CASES]
    solutions = [g for _, g in _TRL_CASES]
    theirs = accuracy_reward(completions=completions, solution=solutions)
    ours = correctness(prompts=[""] * len(completions), completions=completions, solution=solutions)
    for (text, gold), t, o in zip(_TRL_CASES, theirs, ours, strict=True):
        if t == 1.0:
            assert o == 1.0, f"TRL judges {text!r} vs {gold!r} right, we do not"
    # The plain-text forms: TRL misses them, we get them.
    plain = {text: (t, o) for (text, _), t, o in zip(_TRL_CASES, theirs, ours, strict=True)}
    for text in (
        "She makes 9 * 2 = 18 dollars.\n#### 18",
        "Adding them up, the answer is 42.",
        "Final answer: 1,250",
    ):
        assert plain[text] == (0.0, 1.0), text
    # Nobody rewards a wrong or missing answer.
    for text in ("\\boxed{17}", "\\boxed{\\frac{1}{3}}", "The answer is 17.", "I am not sure."):
        assert plain[text][1] == 0.0
    assert sum(ours) > sum(t or 0.0 for t in theirs)


# ------------------------------------------------------------------------------------------------------------
# Import weight
# ------------------------------------------------------------------------------------------------------------


def test_import_is_light() -> None:
    code = (
        "import sys, grpotui.rewards\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'sympy', 'math_verify') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
