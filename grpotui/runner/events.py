"""A trainer callback that needs no transformers at import time.

transformers' ``CallbackHandler`` only ever calls ``getattr(callback, "on_<event>")(args, state, control,
**kwargs)`` on each callback; it never checks the class. So grpotui's callbacks need not subclass
``TrainerCallback``, and ``from grpotui import GRPOTUICallback`` imports neither transformers nor trl
(Unsloth must be imported before those for its patches to apply; a script whose imports are sorted
imports grpotui first).
"""

from __future__ import annotations

from typing import Any


def _ignore(*_args: Any, **_kwargs: Any) -> None:
    return None


class LightCallback:
    """Every ``on_*`` event a subclass does not define does nothing (as in ``TrainerCallback``)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("on_"):
            return _ignore
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
