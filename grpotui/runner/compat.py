"""The TRL versions grpotui is tested with, and the metric names that moved between them.

Users' scripts pin their own TRL (Unsloth's notebooks: 0.18 to 1.15; scripts in the wild 0.18, 0.22,
0.24). grpotui records what it can from any of them: outside the tested range it says so once, plainly,
and goes on. Metrics logged under an older name are recorded under today's, so the curves and the health
rules read the same keys whatever the version. Nothing here imports TRL at module level.
"""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Any

TESTED_TRL = ("0.24.0", "1.16.99")  # CI runs the recorder, watch and runner tests at both ends
_told = False

# older name -> today's (TRL 0.14-0.18 logged these; 0.19 on log the ones on the right)
LEGACY_KEYS = {
    "completion_length": "completions/mean_length",
    "clip_ratio": "clip_ratio/region_mean",
    "policy_loss": "loss",
}


def _parse(v: str) -> tuple[int, ...]:
    parts = []
    for p in v.split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (3 - len(parts)))


def trl_outside_range(version: str | None = None) -> str | None:
    """A one-line note when the installed TRL is outside the tested range (None inside it, or without TRL)."""
    if version is None:
        try:
            version = metadata.version("trl")
        except metadata.PackageNotFoundError:
            return None
    lo, hi = TESTED_TRL
    if _parse(lo) <= _parse(version) <= _parse(hi):
        return None
    return (f"grpotui: note: trl {version} is outside the versions grpotui is tested with ({lo} to "
            f"{hi.rsplit('.', 1)[0]}.x); it records what it can and leaves your run alone")


def tell_once(version: str | None = None) -> None:
    """Print :func:`trl_outside_range`'s note once per process (to stderr)."""
    global _told
    if _told:
        return
    _told = True
    note = trl_outside_range(version)
    if note:
        print(note, file=sys.stderr, flush=True)


def normalize(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics under today's TRL names: ``completion_length`` -> ``completions/mean_length``, a reward
    function's ``rewards/NAME`` -> ``rewards/NAME/mean``, ``clip_ratio`` -> ``clip_ratio/region_mean``,
    ``policy_loss`` -> ``loss`` (a key already logged under today's name wins)."""
    out = dict(metrics)
    for old, new in LEGACY_KEYS.items():
        if old in out and new not in out:
            out[new] = out.pop(old)
    for key in [k for k in out if k.startswith("rewards/") and k.count("/") == 1]:
        if f"{key}/mean" not in out:
            out[f"{key}/mean"] = out.pop(key)
    return out
