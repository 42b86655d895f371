"""What a run over several machines pays for grpotui: the step boundary's exchange.

Two demos of two processes each, on this host: one as one machine (``num_processes = 2``), one as two
machine ranks over loopback (``num_machines = 2``, each with its own GRPOTUI_HOME), where each other
machine's first process sends its system sample to rank 0 with the all-gather that carries rank 0's
pause / stop decision. Prints seconds per 100 steps of both (from the store's step times), the
exchange's median time and largest message as rank 0 logged them, and the size of one other machine's
sample with 8 GPUs as NVML gives them (what a real 8-GPU node sends at most once a second).

    python benchmarks/bench_machines.py [--steps 300]
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cli(home: Path, *args: str, wait: bool = True) -> subprocess.Popen | None:
    env = {**os.environ, "GRPOTUI_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "grpotui", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    if wait:
        proc.wait()
        return None
    return proc


def _seconds_per_100(home: Path, name: str, skip: int = 20) -> float:
    """Seconds per 100 training steps, from the store's metric times (the first ``skip`` left out)."""
    from grpotui.store import RunStore
    from grpotui.store.paths import STORE_FILE

    with RunStore.open(home / "runs" / name / STORE_FILE) as s:
        rows = s._read("SELECT step, t FROM metrics ORDER BY step")
    rows = [r for r in rows if r[0] > skip]
    return (rows[-1][1] - rows[0][1]) / (rows[-1][0] - rows[0][0]) * 100


def _wait_ended(home: Path, name: str) -> None:
    from grpotui.store import RunStore
    from grpotui.store.db import ACTIVE_STATUSES
    from grpotui.store.paths import STORE_FILE
    from grpotui.store.runs import effective_status

    path = home / "runs" / name / STORE_FILE
    while True:
        if path.exists():
            with RunStore.open(path) as s:
                if effective_status(s.run_info()) not in ACTIVE_STATUSES:
                    return
        time.sleep(1.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-machines-"))
    cache = root / "cache"
    cache.mkdir()
    homes = {k: root / k for k in ("one", "m0", "m1")}
    for h in homes.values():
        h.mkdir()
        (h / "cache").symlink_to(cache)
    common = ["--steps", str(a.steps), "--set", "eval={}", "--set", "health.enabled=false"]
    _cli(homes["one"], "demo", "--name", "one", "--set", "launch.num_processes=2", *common)
    _wait_ended(homes["one"], "one")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    machines = ["--set", "launch.num_processes=2", "--set", "launch.num_machines=2", "--set",
                "launch.main_process_ip='127.0.0.1'", "--set", f"launch.main_process_port={port}"]
    _cli(homes["m0"], "demo", "--name", "two", *machines, *common)
    follower = _cli(homes["m1"], "demo", "--name", "two", *machines, "--set", "launch.machine_rank=1", *common,
                    wait=False)
    _wait_ended(homes["m0"], "two")
    follower.wait(timeout=120)
    log = (homes["m0"] / "runs" / "two" / "runner.log").read_text()
    m = re.search(r"exchange over 2 machines: (\d+) exchanges, median ([\d.]+) ms, largest (\d+) bytes", log)
    gpu = {"index": 0, "name": "NVIDIA H100 80GB HBM3", "util": 97, "mem_used": 61 << 30, "mem_total": 80 << 30,
           "temp_c": 64, "power_w": 612.3, "proc_mem": 58 << 30}
    sample = {"kind": "system", "machine": 1, "host": "node002", "t": time.time(), "cpu_percent": 12.5,
              "cpu_count": 128, "ram_used": 300 << 30, "ram_total": 2048 << 30, "proc_cpu_percent": 800.0,
              "proc_rss": 90 << 30, "gpus": [{**gpu, "index": i} for i in range(8)], "gpu_source": "nvml"}
    print(f"# {platform.node()}: {os.cpu_count()} cores, {a.steps}-step demos of 2 processes (gloo, CPU)")
    print(f"one machine, 2 processes:          {_seconds_per_100(homes['one'], 'one'):6.2f} s per 100 steps")
    print(f"two machine ranks over loopback:   {_seconds_per_100(homes['m0'], 'two'):6.2f} s per 100 steps")
    if m:
        print(f"exchange (rank 0's log): {m.group(1)} exchanges, median {m.group(2)} ms, "
              f"largest {m.group(3)} bytes from one process")
    print(f"one other machine's sample with 8 GPUs, pickled: {len(pickle.dumps((None, sample)))} bytes")


if __name__ == "__main__":
    main()
