"""A hackable reward for the demo's ``hacking`` scenario (``grpotui demo --scenario hacking``).

The demo's problems are sums of two digits from 0 to 4, so no answer is ever 9. This reward pays a
bonus for a completion that starts with "9": a policy can earn it without solving anything, and GRPO
pushes it there, so correctness falls while the bonus climbs: the reward hacking that the
``reward_hacking`` health rule is there to catch. Nothing is faked: both rewards are computed on what
the model writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grpotui.rewards.answers import completion_text


def nine_bonus(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 for a completion that starts with "9" (never a right answer in the demo), else 0.0."""
    return [1.0 if completion_text(c).lstrip().startswith("9") else 0.0 for c in completions]
