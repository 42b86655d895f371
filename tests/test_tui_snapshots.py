"""SVG snapshots of the dashboard replaying a recorded run (fixed data and clock), small and big."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import compare_loaded as _compare_loaded
from recorded import write_recorded_run

from grpotui.tui.app import make_app


async def _loaded(pilot) -> None:
    """Until the dashboard has read the run and drawn it: groups shown, curves drawn, nothing pending."""
    from grpotui.tui.screens.dashboard import DashboardScreen

    for _ in range(200):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        screen = pilot.app.screen
        if isinstance(screen, DashboardScreen) and screen.loaded:
            break
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_dashboard_snapshot(size: tuple[int, int], home: Path, snap_compare) -> None:
    write_recorded_run(home, "gsm8k-qwen", steps=40)
    assert snap_compare(make_app(run_name="gsm8k-qwen"), terminal_size=size, run_before=_loaded)


def test_dashboard_completions_tab_snapshot(home: Path, snap_compare) -> None:
    write_recorded_run(home, "gsm8k-qwen", steps=40)

    async def completions(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("3")
        await pilot.pause(0.1)

    assert snap_compare(make_app(run_name="gsm8k-qwen"), terminal_size=(80, 24), run_before=completions)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_comparison_snapshot(size: tuple[int, int], home: Path, snap_compare) -> None:
    write_recorded_run(home, "lr-5e-6", steps=40, lr=5e-6, skill=0.6)
    write_recorded_run(home, "lr-2e-5", steps=40, lr=2e-5, skill=0.2, seed=8, alerts=False)
    assert snap_compare(make_app(compare=["lr-5e-6", "lr-2e-5"]), terminal_size=size, run_before=_compare_loaded)


def test_comparison_groups_tab_snapshot(home: Path, snap_compare) -> None:
    write_recorded_run(home, "lr-5e-6", steps=40, lr=5e-6, skill=0.6)
    write_recorded_run(home, "lr-2e-5", steps=40, lr=2e-5, skill=0.2, seed=8, alerts=False)

    async def groups(pilot) -> None:
        await _compare_loaded(pilot)
        await pilot.press("3")
        await pilot.pause(0.1)

    assert snap_compare(make_app(compare=["lr-5e-6", "lr-2e-5"]), terminal_size=(80, 24), run_before=groups)


async def _prompts(pilot) -> None:
    """The dashboard loaded, then its prompts view opened (w) and its first page drawn."""
    from grpotui.tui.widgets.prompts import PromptsView

    await _loaded(pilot)
    await pilot.press("w")
    view = pilot.app.screen.query_one(PromptsView)
    for _ in range(200):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        if view.page is not None and view.table.has_focus:
            break
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_prompts_view_snapshot(size: tuple[int, int], home: Path, snap_compare) -> None:
    write_recorded_run(home, "gsm8k-qwen", steps=40)
    assert snap_compare(make_app(run_name="gsm8k-qwen"), terminal_size=size, run_before=_prompts)


def test_prompt_history_snapshot(home: Path, snap_compare) -> None:
    write_recorded_run(home, "gsm8k-qwen", steps=40)

    async def history(pilot) -> None:
        from grpotui.tui.widgets.prompts import PromptsView

        await _prompts(pilot)
        await pilot.press("enter", "left")
        view = pilot.app.screen.query_one(PromptsView)
        for _ in range(200):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.05)
            h = view.history.history
            if h is not None and h.index == len(h.appearances) - 2:
                break
        await pilot.pause(0.2)

    assert snap_compare(make_app(run_name="gsm8k-qwen"), terminal_size=(160, 45), run_before=history)
