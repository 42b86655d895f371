"""Create a run and start its runner detached (light: no torch here).

The runner gets its own session (``start_new_session``), so closing the terminal or logging out of
SSH does not end it; its stdout and stderr go to ``runner.log`` in the run directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from grpotui.store.db import RunStore
from grpotui.store.paths import CONFIG_FILE, LOG_FILE, STORE_FILE, check_run_name, make_private_dir, runs_dir


class RunExists(FileExistsError):
    """A run of that name exists already."""


def auto_name(prefix: str, home: Path | None = None) -> str:
    """``prefix-YYYYmmdd-HHMMSS``, with a suffix if that is taken."""
    base = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
    name, i = base, 1
    while (runs_dir(home) / name).exists():
        i += 1
        name = f"{base}-{i}"
    return check_run_name(name)


def create_run(
    cfg: dict[str, Any], name: str, *, kind: str = "run", home: Path | None = None, max_steps: int | None = None
) -> Path:
    """Make ``runs/NAME/`` (0700) with the resolved config and a fresh store; refuse an existing name."""
    check_run_name(name)
    from grpotui.store.fs import check_local

    root = make_private_dir(runs_dir(home))
    check_local(root)
    d = root / name
    try:
        d.mkdir(mode=0o700)
    except FileExistsError:
        raise RunExists(f"a run named {name!r} exists already ({d}); pick another --name") from None
    old = os.umask(0o077)
    try:
        (d / CONFIG_FILE).write_text(json.dumps(cfg, indent=2, sort_keys=True))
        RunStore.create(
            d / STORE_FILE, name=name, kind=kind, config=cfg, max_steps=max_steps,
            model=cfg.get("model", {}).get("name_or_path"),
        ).close()
    finally:
        os.umask(old)
    return d


def runner_command(run_dir: Path, module: str, launch: dict[str, Any] | None) -> list[str]:
    """``python -m MODULE RUN_DIR``, or through ``accelerate launch`` for several processes."""
    launch = launch or {}
    n = int(launch.get("num_processes") or 1)
    machines = int(launch.get("num_machines") or 1)
    if n <= 1 and machines <= 1 and not launch.get("config_file"):
        return [sys.executable, "-m", module, str(run_dir)]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(n)]
    if machines > 1:  # torchrun's static rendezvous at rank 0's address; each machine starts its own share
        cmd += ["--num_machines", str(machines), "--machine_rank", str(int(launch.get("machine_rank") or 0)),
                "--main_process_ip", str(launch["main_process_ip"])]
    if (n > 1 or machines > 1) and not launch.get("config_file"):
        # accelerate's distributed launcher (torchrun); on a machine without CUDA, or with
        # launch.cpu, the trainer runs on the CPU (use_cpu) and the processes talk over gloo.
        # (`accelerate launch --cpu` would start a single process.)
        cmd.append("--multi_gpu")
    if launch.get("mixed_precision"):
        cmd += ["--mixed_precision", launch["mixed_precision"]]
    if launch.get("config_file"):
        cmd += ["--config_file", launch["config_file"]]
    if launch.get("main_process_port"):
        cmd += ["--main_process_port", str(launch["main_process_port"])]
    cmd += [*launch.get("extra_args", []), "-m", module, str(run_dir)]
    return cmd


def _runner_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """A runner's environment: this one, unbuffered, saying whether the user chose the CPU threads."""
    from grpotui.runner.threads import USER_CHOSE_ENV, user_chose

    return {**os.environ, "PYTHONUNBUFFERED": "1", USER_CHOSE_ENV: "1" if user_chose() else "0", **(extra_env or {})}


def spawn_runner(run_dir: Path, *, module: str = "grpotui.runner", extra_env: dict[str, str] | None = None) -> int:
    """Start ``python -m grpotui.runner RUN_DIR`` in its own session; returns its pid."""
    env = _runner_env(extra_env)
    from grpotui.runner.session import survive_logout_prefix

    prefix, warning = survive_logout_prefix()
    if warning:
        print(f"grpotui: warning: {warning}", file=sys.stderr)
    old = os.umask(0o077)
    try:
        log = open(run_dir / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child, closed once it started
    finally:
        os.umask(old)
    with log:
        proc = subprocess.Popen(
            [*prefix, *runner_command(run_dir, module, _launch_section(run_dir))],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(run_dir),
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    # Record the pid at once, so a runner that dies before it registers reads `lost`, not `starting`.
    try:
        ct = psutil.Process(proc.pid).create_time()
    except psutil.Error:
        ct = None
    with RunStore.open(run_dir / STORE_FILE, readonly=False) as store:
        info = store.run_info()
        if info["pid"] is None:
            store.set_process(pid=proc.pid, create_time=ct, host=socket.gethostname())
    _spawn_supervisor(run_dir, prefix, env)
    return proc.pid


def _spawn_supervisor(run_dir: Path, prefix: list[str], env: dict[str, str]) -> None:
    """Beside a run that sends notifications: a supervisor that reports its end, however it ends (a
    ``kill -9`` included). Its own session, so a kill of the runner's process group spares it."""
    from grpotui import notify

    try:
        cfg = notify.from_settings(json.loads((run_dir / CONFIG_FILE).read_text()).get("notify"))
    except (OSError, ValueError):
        return
    if not notify.enabled(cfg):
        return
    with open(run_dir / LOG_FILE, "ab") as log:
        subprocess.Popen([*prefix, sys.executable, "-m", "grpotui.runner.supervise", str(run_dir)],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=str(run_dir),
                         env=env, start_new_session=True, close_fds=True)


def _launch_section(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / CONFIG_FILE).read_text()).get("launch") or {}
    except (OSError, ValueError):
        return {}


def prepare(source: str | None, overrides: list[str], *, steps: int | None = None,
            name: str | None = None, scenario: str = "healthy") -> tuple[dict[str, Any], str, str]:
    """Resolve a config (a TOML path, or None / "demo" for the demo) into ``(config, name, kind)``."""
    from grpotui import config

    if source in (None, "", "demo"):
        from grpotui.demo_config import DEMO_STEPS, demo_config

        cfg = config.load(None, overrides, base_config=demo_config(steps=steps or DEMO_STEPS, scenario=scenario))
        kind, prefix = "demo", "demo" if scenario == "healthy" else f"demo-{scenario}"
    else:
        path = Path(source).expanduser()
        cfg = config.load(path, overrides)
        kind, prefix = "run", path.stem
    return cfg, name or cfg["run"].get("name") or auto_name(prefix), kind


def launch(cfg: dict[str, Any], name: str, kind: str) -> tuple[Path, int]:
    """Create the run and start its runner detached: ``(run_dir, pid)``."""
    from grpotui.config import max_steps_of

    run_dir = create_run(cfg, name, kind=kind, max_steps=max_steps_of(cfg))
    return run_dir, spawn_runner(run_dir)


def resume(name: str, overrides: list[str], home: Path | None = None) -> tuple[Path, int, Path]:
    """Continue a stopped, failed, killed or lost run from its last checkpoint, in the same run.

    What was recorded after that checkpoint is replaced, not doubled. Returns ``(run_dir, pid, checkpoint)``.
    """
    from grpotui import config
    from grpotui.store.runs import effective_status, find_run

    d = find_run(name, home)
    with RunStore.open(d / STORE_FILE, readonly=False) as store:
        info = store.run_info()
        status = effective_status(info)
        if info["kind"] not in ("run", "demo"):
            raise ValueError(f"run {name!r} was not started by grpotui run or demo: resume it from its own script")
        if status not in ("stopped", "failed", "killed", "lost"):
            raise ValueError(f"run {name!r} is {status}: only a stopped, failed, killed or lost run can be resumed")
        ck = last_checkpoint_dir(d)
        if ck is None:
            raise ValueError(f"run {name!r} has no checkpoint in {d / 'checkpoints'} to resume from")
        cfg = json.loads((d / CONFIG_FILE).read_text())
        if overrides:
            cfg = config.validate(config.apply_overrides(cfg, overrides), base=Path.cwd())
        (d / CONFIG_FILE).write_text(json.dumps(cfg, indent=2, sort_keys=True))
        step = int(ck.name.rsplit("-", 1)[-1])
        store.update_run(config=cfg, max_steps=config.max_steps_of(cfg))
        store.reopen(f"resuming from {ck.name}", after_step=step)
    pid = spawn_runner(d, extra_env={"GRPOTUI_RESUME_FROM": str(ck)})
    return d, pid, ck


def last_checkpoint_dir(run_dir: Path) -> Path | None:
    """The newest ``checkpoints/checkpoint-N`` that holds a complete trainer state."""
    cks = [p for p in (run_dir / "checkpoints").glob("checkpoint-*")
           if p.name.rsplit("-", 1)[-1].isdigit() and (p / "trainer_state.json").exists()]
    return max(cks, key=lambda p: int(p.name.rsplit("-", 1)[-1])) if cks else None


def follow_run(cfg: dict[str, Any], name: str, *, home: Path | None = None, resume_dir: Path | None = None,
               out: Any = None) -> int:
    """This machine's processes of a run whose rank 0 is on another machine (``launch.machine_rank`` > 0),
    in the foreground (under ``srun`` a detached command would end the job step).

    Rank 0's machine holds the run and its store; here ``runs/NAME`` only lists this machine's part (a
    follower: the run it follows, its step, how it ended) and keeps its checkpoints and its log. Returns
    the exit code: the run's own (0, 4 stopped) as this machine saw it, else 1.
    """
    from grpotui.config import machine_of
    from grpotui.store.db import ACTIVE_STATUSES, EXIT_FAILED
    from grpotui.store.runs import FOLLOWS_KEY

    out = out or sys.stdout
    machine, machines = machine_of(cfg)
    if resume_dir is None:
        run_dir = create_run(cfg, name, kind="follower", home=home)
        ck = None
    else:
        run_dir = resume_dir
        ck = last_checkpoint_dir(run_dir)
        if ck is None:
            raise ValueError(f"follower {name!r} has no checkpoint in {run_dir / 'checkpoints'} to resume from")
        with RunStore.open(run_dir / STORE_FILE, readonly=False) as store:
            store.reopen(f"resuming from {ck.name}", after_step=int(ck.name.rsplit("-", 1)[-1]))
    address = f"{cfg['launch']['main_process_ip']}:{cfg['launch'].get('main_process_port') or 29500}"
    print(f"machine {machine} of {machines}: following the run at {address} as {name!r} in the foreground "
          f"(its log: {run_dir / LOG_FILE}); pause, stop and kill it from rank 0's machine", file=out, flush=True)
    env = _runner_env({"GRPOTUI_RESUME_FROM": str(ck)} if ck is not None else None)
    with open(run_dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(runner_command(run_dir, "grpotui.runner", cfg["launch"]), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, cwd=str(run_dir), env=env,
                                start_new_session=True, close_fds=True)
    with RunStore.open(run_dir / STORE_FILE, readonly=False) as store:
        store.set_process(pid=proc.pid, create_time=psutil.Process(proc.pid).create_time(), host=socket.gethostname())

    def forward(signum: int, _frame: Any) -> None:  # Ctrl-C here, or scancel: this machine's processes end
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    seen = 0
    try:
        with RunStore.open(run_dir / STORE_FILE) as store:
            while True:
                code = proc.poll()
                events = store.events(skip=seen)
                for ev in events:
                    print(f"[{ev['status']}] {ev['reason'] or ''}".rstrip(), file=out, flush=True)
                seen += len(events)
                if code is not None:
                    break
                time.sleep(0.5)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    with RunStore.open(run_dir / STORE_FILE, readonly=False) as store:
        info = store.run_info()
        if info["status"] in ACTIVE_STATUSES:
            follows = store.get_meta(FOLLOWS_KEY)
            where = f"the run's rank 0 ({json.loads(follows).get('host')})" if follows else "the run's rank 0"
            reason = (f"this machine's processes ended with exit code {code}: {where} ended or could not be "
                      f"reached (a kill there, a failure, or longer than launch.timeout); see {run_dir / LOG_FILE}")
            store.set_status("failed", reason, exit_code=EXIT_FAILED)
            print(f"[failed] {reason}", file=out, flush=True)
            return EXIT_FAILED
        return int(info["exit_code"] or 0)


def resume_follower(name: str, overrides: list[str], home: Path | None = None) -> int | None:
    """``grpotui run --resume NAME`` where NAME is a follower on this machine: its processes again, in the
    foreground, from this machine's own last checkpoint (rank 0's machine resumes the run from the same
    step). ``None`` when NAME is not a follower."""
    from grpotui import config
    from grpotui.store.db import ACTIVE_STATUSES
    from grpotui.store.runs import effective_status, find_run

    d = find_run(name, home)
    with RunStore.open(d / STORE_FILE) as store:
        info = store.run_info()
    if info["kind"] != "follower":
        return None
    status = effective_status(info)
    if status in ACTIVE_STATUSES:
        raise ValueError(f"follower {name!r} is {status}: only an ended one can be resumed")
    cfg = json.loads((d / CONFIG_FILE).read_text())
    if overrides:
        cfg = config.validate(config.apply_overrides(cfg, overrides), base=Path.cwd())
        (d / CONFIG_FILE).write_text(json.dumps(cfg, indent=2, sort_keys=True))
    return follow_run(cfg, name, home=home, resume_dir=d)
