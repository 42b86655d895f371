"""grpotui: run, watch and control GRPO training from the terminal.

``from grpotui import GRPOTUICallback`` gives the trainer callback; it is loaded on first use, so
``import grpotui`` stays light (no transformers, no textual).
"""

from __future__ import annotations

from typing import Any

__all__ = ["GRPOTUICallback"]


def __getattr__(name: str) -> Any:
    if name == "GRPOTUICallback":
        from grpotui.runner.callback import GRPOTUICallback

        return GRPOTUICallback
    raise AttributeError(f"module 'grpotui' has no attribute {name!r}")
