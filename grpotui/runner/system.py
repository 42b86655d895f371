"""System figures: CPU and RAM through psutil, per-GPU figures through NVML (``nvidia-ml-py``) when present."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import psutil


class SystemSampler:
    """Takes one sample of the machine and of this process (and its children) per call."""

    def __init__(self, pid: int | None = None) -> None:
        self._proc = psutil.Process(pid or os.getpid())
        self._proc.cpu_percent(None)
        psutil.cpu_percent(None)
        self.nvml_error: str | None = None
        self._nvml: Any = None
        self._handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
            self._nvml = pynvml
        except Exception as e:  # no library, no driver, or no GPU: say which
            self.nvml_error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__

    def _pids(self) -> set[int]:
        pids = {self._proc.pid}
        with contextlib.suppress(psutil.Error):
            pids |= {c.pid for c in self._proc.children(recursive=True)}
        return pids

    def _gpus(self) -> list[dict[str, Any]]:
        nv = self._nvml
        out = []
        pids = self._pids()
        for i, h in enumerate(self._handles):
            g: dict[str, Any] = {"index": i}
            for key, fn in (
                ("name", lambda h=h: nv.nvmlDeviceGetName(h)),
                ("util", lambda h=h: nv.nvmlDeviceGetUtilizationRates(h).gpu),
                ("mem_used", lambda h=h: nv.nvmlDeviceGetMemoryInfo(h).used),
                ("mem_total", lambda h=h: nv.nvmlDeviceGetMemoryInfo(h).total),
                ("temp_c", lambda h=h: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU)),
                ("power_w", lambda h=h: nv.nvmlDeviceGetPowerUsage(h) / 1000.0),
            ):
                try:
                    v = fn()
                    g[key] = v.decode() if isinstance(v, bytes) else v
                except Exception:
                    g[key] = None
            try:
                procs = nv.nvmlDeviceGetComputeRunningProcesses(h)
                g["proc_mem"] = sum((p.usedGpuMemory or 0) for p in procs if p.pid in pids)
            except Exception:
                g["proc_mem"] = None
            out.append(g)
        return out

    def sample(self) -> dict[str, Any]:
        vm = psutil.virtual_memory()
        s: dict[str, Any] = {
            "cpu_percent": psutil.cpu_percent(None),
            "cpu_count": psutil.cpu_count(),
            "ram_used": vm.total - vm.available,
            "ram_total": vm.total,
        }
        try:
            with self._proc.oneshot():
                rss = self._proc.memory_info().rss
                s["proc_cpu_percent"] = self._proc.cpu_percent(None)
            for child in self._proc.children(recursive=True):  # every rank, every worker
                with contextlib.suppress(psutil.Error):
                    rss += child.memory_info().rss
            s["proc_rss"] = rss
        except psutil.Error:
            pass
        if self._nvml is not None:
            s["gpus"] = self._gpus()
            s["gpu_source"] = "nvml"
        else:
            s["gpus"] = []
            s["gpu_source"] = f"none ({self.nvml_error})"
        return s
