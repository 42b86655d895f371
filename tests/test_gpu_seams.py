"""The GPU path's seams, tested here without a GPU: backend choice, Unsloth refused where it cannot run,
NVML absent, and NVML present (a fake pynvml: the one boundary that cannot exist on this machine)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest


def test_auto_backend_is_transformers_without_cuda() -> None:
    from grpotui.runner.train import BackendError, cuda_available, pick_backend

    if cuda_available():
        pytest.skip("a CUDA GPU is visible here")
    assert pick_backend("auto") == "transformers"
    assert pick_backend("transformers") == "transformers"
    with pytest.raises(BackendError, match="unsloth"):
        pick_backend("unsloth")


def test_forcing_unsloth_where_it_is_missing_is_bad_input(cli, home: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("unsloth") is not None:
        pytest.skip("unsloth is installed here")
    proc = cli("demo", "--set", "model.backend='unsloth'")
    assert proc.returncode == 2 and "pip install 'grpotui[unsloth]'" in proc.stderr
    assert not (home / "runs").exists() or not list((home / "runs").iterdir())


def test_without_nvml_the_sample_says_so() -> None:
    from grpotui.runner.system import SystemSampler

    s = SystemSampler().sample()
    if s["gpu_source"] == "nvml":
        pytest.skip("NVML works here")
    assert s["gpus"] == [] and s["gpu_source"].startswith("none (") and s["ram_total"] > 0


def test_with_nvml_every_gpu_and_the_runs_own_vram(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    GiB = 1024**3
    fake = types.ModuleType("pynvml")
    fake.NVML_TEMPERATURE_GPU = 0
    fake.nvmlInit = lambda: None
    fake.nvmlDeviceGetCount = lambda: 2
    fake.nvmlDeviceGetHandleByIndex = lambda i: i
    fake.nvmlDeviceGetName = lambda h: b"NVIDIA GeForce RTX 4090"
    fake.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=90 - 10 * h)
    fake.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=(20 - h) * GiB, total=24 * GiB)
    fake.nvmlDeviceGetTemperature = lambda h, kind: 70 + h
    fake.nvmlDeviceGetPowerUsage = lambda h: 300_000
    fake.nvmlDeviceGetComputeRunningProcesses = lambda h: [
        types.SimpleNamespace(pid=os.getpid(), usedGpuMemory=18 * GiB), types.SimpleNamespace(pid=1, usedGpuMemory=GiB)]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    from grpotui.runner.system import SystemSampler

    s = SystemSampler().sample()
    assert s["gpu_source"] == "nvml" and len(s["gpus"]) == 2
    g0 = s["gpus"][0]
    assert (g0["name"], g0["util"], g0["mem_used"], g0["mem_total"], g0["temp_c"], g0["power_w"]) == (
        "NVIDIA GeForce RTX 4090", 90, 20 * GiB, 24 * GiB, 70, 300.0)
    assert g0["proc_mem"] == 18 * GiB  # only this process tree's memory, not another user's


async def _system_panel_text(run_name: str, width: int) -> str:
    """The dashboard's system panel of a run, as text ``width`` wide (Pilot, the real app)."""
    import os

    from rich.console import Console

    from grpotui.tui.app import make_app
    from grpotui.tui.widgets.system import SystemPanel

    app = make_app(run_name=run_name)
    async with app.run_test(size=(160, 45)) as pilot:
        for _ in range(5):
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
        panel = app.screen.query_one(SystemPanel)
        with open(os.devnull, "w") as devnull:
            console = Console(width=width, record=True, file=devnull)
            console.print(panel._table(panel.sample))
            return console.export_text()


async def test_dashboard_shows_vram_from_nvml(home: Path) -> None:
    from recorded import write_recorded_run

    write_recorded_run(home, "gpu", steps=3)  # its system sample has one 24 GiB GPU
    text = await _system_panel_text("gpu", 100)
    assert "GPU0" in text and "VRAM" in text and "19.0/24 GiB" in text and "run 18.0" in text


async def test_dashboard_shows_every_machines_gpus(home: Path) -> None:
    """A run over two machines: rank 0's sample carries machine 1's, as the step boundary's exchange
    brings it (its NVML figures are what no machine here can give: written as NVML gives them)."""
    from recorded import write_recorded_run

    from grpotui.store import RunStore
    from grpotui.store.paths import STORE_FILE

    GiB = 1024**3
    d = write_recorded_run(home, "two", steps=3)
    gpu = {"name": "NVIDIA H100 80GB HBM3", "util": 97, "mem_used": 61 * GiB, "mem_total": 80 * GiB}
    with RunStore.open(d / STORE_FILE, readonly=False) as s:
        sample = s.system()[-1][3]
        sample["machines"] = [{"kind": "system", "machine": 1, "host": "node002", "cpu_percent": 12.0,
                               "cpu_count": 64, "ram_used": 100 * GiB, "ram_total": 512 * GiB, "age": 0.4,
                               "gpus": [{"index": i, **gpu} for i in range(8)], "gpu_source": "nvml"}]
        s.record_system(sample, step=3)
    text = await _system_panel_text("two", 70)
    lines = text.splitlines()
    assert lines[0].startswith("machine 0") and "19.0/24 GiB" in text  # rank 0's own, as before
    at = next(i for i, x in enumerate(lines) if x.startswith("machine 1 node002"))
    gpu_lines = [x for x in lines[at:] if x.startswith("GPU")]
    assert len(gpu_lines) == 8 and all("61/80 GiB · 97%" in x for x in gpu_lines)  # one line a GPU


def test_the_runner_imports_unsloth_before_transformers_trl_and_peft(cli, home: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in ``unsloth`` on the path writes down which of transformers, trl and peft were already
    imported when it was; the seam GRPOTUI_TEST_ASSUME_CUDA_AVAILABLE stands in for "a CUDA GPU is
    available", which the unsloth backend needs and this machine does not have."""
    import json

    from grpotui.runner.train import ASSUME_CUDA_ENV

    site = tmp_path / "standin"
    (site / "unsloth").mkdir(parents=True)
    seen = tmp_path / "seen.json"
    (site / "unsloth" / "__init__.py").write_text(
        "import json, sys\n"
        f"json.dump(sorted(m for m in sys.modules if m.split('.')[0] in ('transformers', 'trl', 'peft')),"
        f" open({str(seen)!r}, 'w'))\n"
        "class FastLanguageModel:\n"
        "    @staticmethod\n"
        "    def from_pretrained(**kw):\n"
        "        raise RuntimeError('the stand-in unsloth loads no model')\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv(ASSUME_CUDA_ENV, "1")
    proc = cli("demo", "--headless", "--steps", "5", "--name", "uns", "--set", "model.backend='unsloth'")
    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    assert json.loads(seen.read_text()) == []
