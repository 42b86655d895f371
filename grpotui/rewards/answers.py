"""Answer extraction and checking for math completions.

Everything here is pure Python except the equivalence check, which imports `math_verify` (and with it
sympy, ~0.3 s) lazily on first use, so importing this module stays cheap.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

__all__ = [
    "EXPLICIT_HOWS",
    "Judgement",
    "completion_text",
    "extract_answer",
    "gold_answer",
    "judge",
    "judged_any",
    "known_judgement",
    "use_own_time_limit",
]

How = Literal["boxed", "hashes", "answer_is", "answer_tag", "last_number", "none"]
Verdict = Literal["right", "wrong", "unparseable"]

#: Extraction methods that mean the model stated its final answer explicitly.
EXPLICIT_HOWS: frozenset[str] = frozenset({"boxed", "hashes", "answer_is", "answer_tag"})

# ------------------------------------------------------------------------------------------------------------
# Completions
# ------------------------------------------------------------------------------------------------------------


def _content_text(content: Any) -> str:
    """Text of a message's content: a string, or a list of parts such as ``{"type": "text", "text": ...}``."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        if "text" in content:
            return _content_text(content["text"])
        return _content_text(content.get("content"))
    if isinstance(content, Sequence):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and part.get("type", "text") == "text":
                parts.append(_content_text(part.get("text", part.get("content"))))
        return "".join(parts)
    return str(content)


def completion_text(c: Any) -> str:
    """Plain text of a completion: a string, one message dict, or a conversation (list of message dicts).

    For a conversation the last assistant message is used (or the last message if none has a role).
    """
    if c is None:
        return ""
    if isinstance(c, str):
        return c
    if isinstance(c, Mapping):
        return _content_text(c.get("content"))
    if isinstance(c, Sequence):
        messages = [m for m in c if isinstance(m, Mapping)]
        if not messages:
            return "".join(x for x in c if isinstance(x, str))
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"]
        return _content_text((assistant or messages)[-1].get("content"))
    return str(c)


# ------------------------------------------------------------------------------------------------------------
# Extraction
# ------------------------------------------------------------------------------------------------------------

# A number as written in prose: -3, 2.5, .5, 1,234, 1,234.5, 3/4, $18.
_NUM = r"-?\\?\$?\s?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:\s?/\s?\d+(?:\.\d+)?)?|-?\.\d+"
_NUM_RE = re.compile(rf"(?<![\w.])(?:{_NUM})")
_NUM_FULL_RE = re.compile(rf"(?:{_NUM})")

_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\b(\s*)")
_HASHES_RE = re.compile(r"####[ \t]*([^\n]*)")
_ANSWER_IS_RE = re.compile(
    r"(?:final\s+answer|\banswer)\**\s*(?:(?:is|was|would\s+be|will\s+be|should\s+be)\b|[:=])\s*(?:[:=]\s*)?",
    re.IGNORECASE,
)
_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)

# Units after a number ("18 dollars", "18 \text{ cm}") are dropped; "18%" is kept (it changes the value).
_UNIT_TAIL_RE = re.compile(r"^(?P<num>" + _NUM + r")\s*(?P<pct>\\?%|\s?percent\b)?(?P<rest>.*)$", re.DOTALL)
_TEXT_CMD_RE = re.compile(r"\\(?:text|textbf|mathrm|mbox|mathbf|textrm|operatorname)\s*\{([^{}]*)\}")
_LEADING_NUM_RE = re.compile(r"^[\s*_]*(" + _NUM + r")[\s*_]+(?:\\text\s*\{\s*)?[A-Za-z]{2,}")
_WORD_RE = re.compile(r"[A-Za-z]{2,}")
_LATEX_CMD_RE = re.compile(r"\\[A-Za-z]+")
_SENTENCE_END_RE = re.compile(r"(?<!\d)\.(?!\d)|\.(?=\s|$)|[;!?]|,\s+(?:so|and|which|because|since)\b|\n")


def _match_brace(text: str, start: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``start``, or None if unbalanced."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            i += 2  # escaped brace: \{ or \}
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _last_boxed(text: str) -> str | None:
    """Content of the last properly closed ``\\boxed{...}`` / ``\\fbox{...}`` (or ``\\boxed 5``)."""
    found: str | None = None
    for m in _BOXED_RE.finditer(text):
        i = m.end()
        if text.startswith("{", i):
            end = _match_brace(text, i)
            if end is not None:
                found = text[i + 1 : end]
        elif m.group(1):
            bare = re.match(r"[^\s$\\]+", text[i:])
            if bare:
                found = bare.group(0).rstrip(".,;")
    return found


def _strip_delims(s: str) -> str:
    """Remove markdown emphasis, math delimiters and trailing punctuation around an answer."""
    s = s.strip()
    prev = None
    while s != prev:
        prev = s
        s = s.strip().strip("*_`").strip()
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("(", ")")):
            if s.startswith(left) and s.endswith(right) and len(s) > len(left) + len(right):
                inner = s[len(left) : -len(right)]
                if left == "(" and ("," in inner or not _match_paren_outer(s)):
                    continue  # a tuple or interval, or "(1)+(2)": not a wrapper
                s = inner
        s = re.sub(r"[\s.;:,]+$", "", s)  # not "!": 5! is a factorial
        s = re.sub(r"^[\s:=]+", "", s)
        if s.startswith("$") and s.count("$") == 1:
            s = s[1:]
        elif s.endswith("$") and s.count("$") == 1 and not s.endswith("\\$"):
            s = s[:-1]
    return s.strip()


def _match_paren_outer(s: str) -> bool:
    """True when the opening ``(`` of ``s`` closes at the very end."""
    depth = 0
    for i, ch in enumerate(s):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i == len(s) - 1
    return False


def _clean_number(num: str) -> str:
    """``$1,234.`` -> ``1234``; ``- 3`` -> ``-3``."""
    num = num.replace("\\$", "").replace("$", "").replace(",", "").replace(" ", "")
    return num.rstrip(".")


def _clean(raw: str) -> str | None:
    """Normalise an extracted answer span: drop delimiters, currency, units; None if nothing is left."""
    s = _strip_delims(raw)
    if not s:
        return None
    s = re.sub(r"^\\\$\s*|^\$\s*", "", s)  # leading currency: $18, \$18
    m = _UNIT_TAIL_RE.match(s)
    if m and _is_unit_tail(m.group("rest")):
        # A number followed by nothing or by units ("18 dollars", "18 \\text{ cm}", "30^\\circ"): keep the
        # number (and its percent sign, which changes the value).
        return _clean_number(m.group("num")) + ("%" if m.group("pct") else "")
    s = s.replace("\\!", "").strip()
    return s or None


def _is_unit_tail(rest: str) -> bool:
    """Whether what follows a number is only units: words or ``\\text{...}``, degrees, a dollar sign."""
    rest = rest.strip()
    if not rest or rest in {"\\$", "$"}:
        return True
    rest = re.sub(r"^(?:\^\s*\{?\\circ\}?|\\circ|°)", "", rest).strip()
    if not rest:
        return True
    texted = _TEXT_CMD_RE.sub(r" \1 ", rest).strip()
    words_only = re.fullmatch(r"[A-Za-z][A-Za-z\s./'-]*", texted) is not None
    # "2x" is algebra, "2 \\text{ m}" and "18 dollars" are units.
    return words_only and (texted != rest or re.match(r"[A-Za-z]{2,}", texted) is not None)


def _plausible(s: str) -> bool:
    """Whether a cleaned span looks like a bare answer rather than a sentence."""
    if len(s) > 80:
        return False
    bare = _TEXT_CMD_RE.sub(r"\1", s)
    bare = _LATEX_CMD_RE.sub(" ", bare)
    return len(_WORD_RE.findall(bare)) <= 1


def _numbers(text: str) -> list[str]:
    """All numbers in prose, cleaned."""
    return [_clean_number(m.group(0)) for m in _NUM_RE.finditer(text)]


def _from_span(span: str, prefer: Literal["first", "last"]) -> str | None:
    """An answer from a short span of text: the whole span if it looks like one, else a number in it."""
    lead = _LEADING_NUM_RE.match(span) if prefer == "first" else None
    if lead:  # "18 because 9*2=18", "18 apples and 3 pears": the number that opens the span
        return _clean_number(lead.group(1))
    cleaned = _clean(span)
    if cleaned is not None and _plausible(cleaned):
        return cleaned
    nums = _numbers(span)
    if nums:
        return nums[0] if prefer == "first" else nums[-1]
    return None


def _sentence(text: str) -> str:
    """``text`` up to the end of its first sentence (a full stop that is not a decimal point, a newline)."""
    m = _SENTENCE_END_RE.search(text)
    return text[: m.start()] if m else text


def extract_answer(text: str) -> tuple[str | None, How]:
    """Extract the final answer from a completion: ``(answer, how)``.

    Priority: the last ``\\boxed{}``/``\\fbox{}``, a GSM8K ``#### n`` line, "the answer is X" /
    "final answer: X", ``<answer>...</answer>``, the last number in the text. ``(None, "none")`` otherwise.
    """
    text = completion_text(text).replace("\u2212", "-")
    if not text.strip():
        return None, "none"

    boxed = _last_boxed(text)
    if boxed is not None:
        ans = _clean(boxed)
        if ans is not None:
            return ans, "boxed"

    hashes = _HASHES_RE.findall(text)
    for span in reversed(hashes):
        ans = _from_span(_sentence(span) or span, "first")
        if ans is not None:
            return ans, "hashes"

    for m in reversed(list(_ANSWER_IS_RE.finditer(text))):
        ans = _answer_after(text[m.end() :])
        if ans is not None:
            return ans, "answer_is"

    for span in reversed(_ANSWER_TAG_RE.findall(text)):
        inner = span.strip()
        ans = _answer_is_in(inner) or _from_span(inner, "last")
        if ans is not None:
            return ans, "answer_tag"

    nums = _numbers(text)
    if nums:
        return nums[-1], "last_number"
    return None, "none"


def _answer_after(rest: str) -> str | None:
    """The answer stated right after an "answer is" phrase."""
    rest = rest.lstrip()
    # Keep inline math whole: "$\frac{1}{2}$." must not be cut at a full stop inside it.
    m = re.match(r"(\$\$?|\\\(|\\\[)(.+?)(?<!\\)(\$\$?|\\\)|\\\])", rest, re.DOTALL)
    if m and "\n" not in m.group(2) and ". " not in m.group(2):
        ans = _clean(m.group(2))
        if ans is not None and _plausible(ans):
            return ans
    return _from_span(_sentence(rest), "first")


def _answer_is_in(span: str) -> str | None:
    """The answer in an "answer is ..." phrase inside ``span``, if any."""
    for m in reversed(list(_ANSWER_IS_RE.finditer(span))):
        ans = _answer_after(span[m.end() :])
        if ans is not None:
            return ans
    return None


# ------------------------------------------------------------------------------------------------------------
# Gold answers
# ------------------------------------------------------------------------------------------------------------


def gold_answer(raw: Any) -> str:
    """Normalise a gold answer: bare (``"18"``, ``18.0``), GSM8K (``#### 18``) or MATH (``\\boxed{}``).

    Cached: the same gold answers come back every step (once per completion of their group).
    """
    if isinstance(raw, (str, int, float)):
        return _gold_answer_cached(type(raw), raw)
    return _gold_answer(raw)


@functools.lru_cache(maxsize=65536)
def _gold_answer_cached(_kind: type, raw: Any) -> str:
    return _gold_answer(raw)


def _gold_answer(raw: Any) -> str:
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, Fraction):
        return str(raw)
    text = (raw if isinstance(raw, str) else completion_text(raw)).replace("\u2212", "-")
    if "####" in text:
        tail = text.rsplit("####", 1)[1].strip()
        span = tail.splitlines()[0] if tail else ""
        ans = _from_span(span, "first") if span else None
        return ans if ans is not None else span
    boxed = _last_boxed(text)
    if boxed is not None:
        ans = _clean(boxed)
        if ans is not None:
            return ans
    ans = _clean(text)
    return ans if ans is not None else text.strip()


# ------------------------------------------------------------------------------------------------------------
# Equivalence
# ------------------------------------------------------------------------------------------------------------


def _norm(s: str) -> str:
    """Canonical string form for the string-equality fallback."""
    s = _strip_delims(s)
    s = _TEXT_CMD_RE.sub(r"\1", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = re.sub(r"\\left|\\right|\\[,;!: ]|\{,\}|~", "", s)
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"(\d+\.\d*?)0+(?!\d)", r"\1", s)
    s = re.sub(r"(\d+)\.(?!\d)", r"\1", s)
    return s.lower()


def _as_number(s: str) -> tuple[Fraction, bool] | None:
    """``(value, is_percent)`` for a plain number (``1,000``, ``-2.50``, ``3/4``, ``25%``), else None."""
    s = s.strip().replace("\\%", "%")
    pct = s.endswith("%")
    s = s.rstrip("%").strip()
    if not _NUM_FULL_RE.fullmatch(s) or "$" in s:
        return None
    try:
        return Fraction(s.replace(",", "").replace(" ", "")), pct
    except (ValueError, ZeroDivisionError):
        return None


_MV_LOCK = threading.Lock()
_MV: tuple[Any, Any, Any] | None = None


class _DropTimeoutWarning(logging.Filter):
    """Drops math_verify's one-off "Timeout is disabled" warning: timeouts are off on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


def _math_verify() -> tuple[Any, Any, Any]:
    """``(parse, verify, extraction_config)`` from math_verify, imported on first use."""
    global _MV
    if _MV is None:
        with _MV_LOCK:
            if _MV is None:
                from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

                for name in ("math_verify.parser", "math_verify.grader"):
                    logging.getLogger(name).addFilter(_DropTimeoutWarning())
                _MV = (parse, verify, (LatexExtractionConfig(), ExprExtractionConfig()))
    return _MV


def _signal_timeout() -> int | None:
    """math_verify's signal-based timeout, as a backstop where signals work (the main thread), else None.

    ``signal.alarm`` fails outside the main thread, so there the timeout is off and `_too_big` is the guard.
    """
    return _MV_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def use_own_time_limit() -> None:
    """Turn math_verify's own timeouts off: the caller limits each check itself (the judge process's
    timer), and math_verify's ``signal.alarm`` would replace that timer."""
    global _MV_TIMEOUT_S
    _MV_TIMEOUT_S = None


_MV_TIMEOUT_S: int | None = 5
_MAX_MV_CHARS = 1000  # longer "answers" are compared as strings only
_MAX_DIGITS = 1e5  # numbers with more digits than this are not evaluated (10^{10^{10}} would never finish)


@functools.lru_cache(maxsize=16384)
def _mv_parse(s: str) -> tuple[Any, ...]:
    """math_verify's parse of a bare answer, wrapped in ``$...$`` (bare LaTeX is not extracted otherwise)."""
    if len(s) > _MAX_MV_CHARS:
        return ()
    parse, _, config = _math_verify()
    wrapped = s if re.search(r"(?<!\\)\$|\\\(|\\\[", s) else f"${s}$"
    try:
        parsed = tuple(parse(wrapped, extraction_config=config, parsing_timeout=_signal_timeout()))
    except Exception:  # noqa: BLE001 - a parse failure just means "fall back to strings"
        return ()
    return () if any(_too_big(p) for p in parsed) else parsed


def _log10_size(expr: Any, depth: int = 0) -> float:
    """A rough upper bound on log10 of the size of an expression's numbers, to avoid evaluating towers."""
    if depth > 200:
        return math.inf
    if getattr(expr, "is_Number", False):
        try:
            return math.log10(abs(float(expr))) if expr != 0 else 0.0
        except (OverflowError, ValueError, TypeError):
            return math.inf
    args = getattr(expr, "args", ())
    if not isinstance(args, tuple) or not args:
        return 0.0
    sizes = [max(_log10_size(a, depth + 1), 0.0) for a in args]
    name = type(expr).__name__
    if getattr(expr, "is_Pow", False) or name == "exp":
        base, exponent = (sizes[0], sizes[1]) if len(sizes) == 2 else (math.log10(math.e), sizes[0])
        return base * 10**exponent if exponent < 300 else math.inf
    if name in {
        "factorial",
        "factorial2",
        "subfactorial",
        "binomial",
        "RisingFactorial",
        "FallingFactorial",
        "gamma",
    }:
        n = 10 ** sizes[0] if sizes[0] < 300 else math.inf
        return n * max(sizes[0], 1.0)
    if getattr(expr, "is_Mul", False):
        return sum(sizes)
    return max(sizes) + math.log10(len(sizes))


def _too_big(expr: Any) -> bool:
    """Whether comparing ``expr`` could mean evaluating astronomically large numbers."""
    try:
        return _log10_size(expr) > _MAX_DIGITS
    except RecursionError:
        return True


@functools.lru_cache(maxsize=65536)
def _equivalent(answer: str, expected: str) -> bool:
    """Whether ``answer`` equals ``expected``: exact numbers first, then math_verify, then strings."""
    a, e = _as_number(answer), _as_number(expected)
    if a is not None and e is not None:
        (av, apct), (ev, epct) = a, e
        if av == ev or (apct and av / 100 == ev) or (epct and ev / 100 == av):
            return True
        if "/" not in answer + expected:
            return False  # two plain decimals that differ: no need for sympy
    if _norm(answer) == _norm(expected):
        return True
    gold_parsed, answer_parsed = _mv_parse(expected), _mv_parse(answer)
    if gold_parsed and answer_parsed:
        _, verify, _ = _math_verify()
        try:
            return bool(verify(list(gold_parsed), list(answer_parsed), timeout_seconds=_signal_timeout()))
        except Exception:  # noqa: BLE001
            return False
    return False


# ------------------------------------------------------------------------------------------------------------
# Judging
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdict on one completion: extracted answer, normalised gold, and right/wrong/unparseable."""

    answer: str | None
    expected: str
    verdict: Verdict

    @property
    def right(self) -> bool:
        return self.verdict == "right"


@functools.lru_cache(maxsize=65536)
def _judge_text(text: str, expected: str) -> Judgement:
    answer, _ = extract_answer(text)
    if answer is None:
        return Judgement(None, expected, "unparseable")
    return Judgement(answer, expected, "right" if _equivalent(answer, expected) else "wrong")


def judge(completion: Any, gold: Any) -> Judgement:
    """Judge a completion (string or conversation) against a gold answer (bare, GSM8K or MATH style).

    Cached on ``(completion text, normalised gold)``, and the equivalence check on ``(extracted answer,
    gold)``, so the pairs repeated inside a group are checked once; safe to call from any thread.
    """
    text, expected = completion_text(completion), gold_answer(gold)
    j = _judge_text(text, expected)
    if len(_SEEN) >= _SEEN_MAX:
        _SEEN.clear()
    _SEEN[(text, expected)] = j
    return j


# What judge() has decided in this process (for instance inside the ``correctness`` reward), for
# known_judgement(): the recorder reuses it instead of judging again, without computing anything.
_SEEN: dict[tuple[str, str], Judgement] = {}
_SEEN_MAX = 8192


def known_judgement(text: str, expected: str) -> Judgement | None:
    """The verdict already reached in this process on ``(completion text, normalised gold)``, or None."""
    return _SEEN.get((text, expected))


def judged_any() -> bool:
    """Whether judge() has run in this process at all (else nothing can be reused: skip looking)."""
    return bool(_SEEN)


judge.cache_clear = _judge_text.cache_clear  # type: ignore[attr-defined]
judge.cache_info = _judge_text.cache_info  # type: ignore[attr-defined]
