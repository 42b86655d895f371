"""Surviving logout: where systemd-logind kills a user's processes at logout, detaching is not enough."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

LOGIND_CONF = [Path("/etc/systemd/logind.conf"), Path("/etc/systemd/logind.conf.d"),
               Path("/run/systemd/logind.conf.d"), Path("/usr/lib/systemd/logind.conf.d")]


def _conf_value(paths: list[Path], key: str) -> str | None:
    """The last ``key=value`` in logind's config files, in systemd's order (drop-ins override)."""
    files: list[Path] = []
    for p in paths:
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files.extend(sorted(p.glob("*.conf")))
    value = None
    for f in files:
        try:
            for line in f.read_text().splitlines():
                line = line.strip()
                if line.startswith(f"{key}="):
                    value = line.split("=", 1)[1].strip()
        except OSError:
            continue
    return value


def kills_user_processes(conf: list[Path] | None = None, linger_dir: Path = Path("/var/lib/systemd/linger"),
                         user: str | None = None) -> bool:
    """True when logind kills this user's processes at logout: ``KillUserProcesses=yes``, no lingering."""
    value = _conf_value(conf or LOGIND_CONF, "KillUserProcesses")
    if value is None or value.lower() not in ("yes", "true", "1", "on"):
        return False
    user = user or pwd.getpwuid(os.getuid()).pw_name
    excluded = (_conf_value(conf or LOGIND_CONF, "KillExcludeUsers") or "root").split()
    if user in excluded:
        return False
    return not (linger_dir / user).exists()


def survive_logout_prefix() -> tuple[list[str], str | None]:
    """A command prefix that keeps the runner alive past logout, and a warning when none works."""
    if not os.environ.get("XDG_SESSION_ID") or not kills_user_processes():
        return [], None
    if shutil.which("systemd-run"):
        probe = subprocess.run(["systemd-run", "--user", "--scope", "--quiet", "--collect", "true"],
                               capture_output=True, text=True, timeout=20)
        if probe.returncode == 0:
            return ["systemd-run", "--user", "--scope", "--quiet", "--collect", "--"], None
    return [], ("systemd-logind kills your processes at logout (KillUserProcesses=yes) and "
                "`systemd-run --user` does not work here: run `loginctl enable-linger` once, or keep the "
                "session open (tmux), or the run ends when you log out")
