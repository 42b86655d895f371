"""The light modules stay light: no torch/transformers/trl in the UI, no textual in the store and CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "trl", "datasets", "accelerate", "unsloth")
ON_DEMAND = ("pyarrow", "aiohttp", "textual_serve", "pandas")  # export --format parquet, serve only
UI = ("textual", "rich", "plotext")


def _loaded(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {m.split(".")[0] for m in json.loads(out)}


@pytest.mark.parametrize("module", ["grpotui", "grpotui.store", "grpotui.config", "grpotui.cli", "grpotui.export",
                                    "grpotui.report", "grpotui.rewards", "grpotui.runner.launch",
                                    "grpotui.compare", "grpotui.serve"])
def test_store_config_and_cli_import_neither_training_nor_ui(module: str) -> None:
    loaded = _loaded(module)
    assert not loaded & set(HEAVY), f"{module} imports {loaded & set(HEAVY)}"
    assert not loaded & set(UI), f"{module} imports {loaded & set(UI)}"
    assert not loaded & set(ON_DEMAND), f"{module} imports {loaded & set(ON_DEMAND)}"


@pytest.mark.parametrize("module", ["grpotui.tui.app", "grpotui.tui.screens.dashboard", "grpotui.tui.screens.runs",
                                    "grpotui.tui.screens.compare"])
def test_the_ui_never_imports_the_training_stack(module: str) -> None:
    loaded = _loaded(module)
    assert "textual" in loaded
    assert not loaded & set(HEAVY), f"{module} imports {loaded & set(HEAVY)}"
    assert not loaded & set(ON_DEMAND), f"{module} imports {loaded & set(ON_DEMAND)}"
