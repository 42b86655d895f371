"""Notifications: a run's alerts and its end, sent to a webhook or a command, from the process that
records the run (standard library only: ``urllib`` and ``subprocess``).

Settings come from ``[notify]`` in ``$GRPOTUI_HOME/settings.toml`` (every run) and in a run's config
(its keys override the settings' one by one)::

    [notify]
    webhook = "https://hooks.slack.com/services/..."   # a POST of JSON
    format = "slack"                    # json (default), slack, discord or ntfy
    command = ["notify-send", "{run}", "{message}"]   # run without a shell, placeholders filled in
    on = ["alert", "end"]               # which events
    min_severity = "warning"            # alerts below it are not sent

Delivery happens on a thread of its own (:class:`Notifier`), never on the training thread: a slow,
failing or refused webhook costs training nothing (a short timeout, a few retries); at the run's end
it waits a few seconds at most. Each outcome is recorded in the run's store (``notifications``) and as
one line in the runner's log. A webhook URL is a secret: it is shown masked (:func:`mask`).
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

FORMATS = ("json", "slack", "discord", "ntfy")
EVENTS = ("alert", "end")
SEVERITIES = ("info", "warning", "critical")
PLACEHOLDERS = ("run", "event", "status", "rule", "severity", "step", "message", "host")
DEFAULTS: dict[str, Any] = {"webhook": None, "format": "json", "command": None, "on": list(EVENTS),
                            "min_severity": "warning"}
TIMEOUT = 5.0  # seconds, one attempt
RETRIES = 3
END_WAIT = 5.0  # seconds the run's end waits for its notifications, at most


def _is_url(v: Any) -> bool:
    parts = urlsplit(v) if isinstance(v, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


# Each key: whether a value fits, and what was expected instead.
_CHECKS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], str]]] = {
    "webhook": (_is_url, lambda v: "expected an http(s):// URL"),
    "format": (lambda v: v in FORMATS, lambda v: f"{v!r} is not one of {', '.join(FORMATS)}"),
    "command": (lambda v: isinstance(v, list) and bool(v) and all(isinstance(x, str) for x in v),
                lambda v: "expected a list of strings (the program, then its arguments)"),
    "on": (lambda v: isinstance(v, list) and all(e in EVENTS for e in v),
           lambda v: f"expected a list of {', '.join(map(repr, EVENTS))}"),
    "min_severity": (lambda v: v in SEVERITIES, lambda v: f"{v!r} is not one of {', '.join(SEVERITIES)}"),
}


class NotifyConfigError(ValueError):
    """A bad ``[notify]`` table; one line per problem, each naming its key."""


def check(table: Any, where: str = "notify") -> dict[str, Any]:
    """The keys of one ``[notify]`` table, checked (only those it sets)."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise NotifyConfigError(f"[{where}]: must be a table")
    problems, out = [], {}
    for key, value in table.items():
        if key not in DEFAULTS:
            problems.append(f"{where}.{key}: unknown key (one of {', '.join(DEFAULTS)})")
            continue
        ok, expected = _CHECKS[key]
        if value is None or ok(value):
            out[key] = value
        else:
            problems.append(f"{where}.{key}: {expected(value)}")
    if problems:
        raise NotifyConfigError("\n".join(problems))
    return out


def merged(settings_table: Any, run_table: Any) -> dict[str, Any]:
    """The settings' ``[notify]``, then the run's keys over it, one by one."""
    return {**DEFAULTS, **check(settings_table, "settings.toml notify"), **check(run_table)}


def from_settings(run_table: Any = None) -> dict[str, Any]:
    """The notification settings for a run: ``$GRPOTUI_HOME/settings.toml`` and the run's own table."""
    from grpotui import settings

    data, _problems = settings.load()  # an unreadable settings file means no settings (the app says so)
    return merged(data.get("notify"), run_table)


def enabled(cfg: dict[str, Any]) -> bool:
    return bool(cfg.get("webhook") or cfg.get("command"))


def mask(url: Any) -> Any:
    """A webhook URL with its secret part hidden: scheme and host only."""
    if not isinstance(url, str) or not url:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/***" if parts.netloc else "***"


def event(run: str, kind: str, *, status: str, message: str, rule: str | None = None,
          severity: str | None = None, step: int | None = None) -> dict[str, Any]:
    return {"run": run, "event": kind, "status": status, "rule": rule, "severity": severity, "step": step,
            "message": message, "host": socket.gethostname(), "t": time.time()}


def wanted(cfg: dict[str, Any], ev: dict[str, Any]) -> bool:
    if not enabled(cfg) or ev["event"] not in (cfg.get("on") or ()):
        return False
    if ev["event"] == "alert" and ev.get("severity") in SEVERITIES:
        return SEVERITIES.index(ev["severity"]) >= SEVERITIES.index(cfg.get("min_severity") or "warning")
    return True


def headline(ev: dict[str, Any]) -> str:
    """One line for a person."""
    if ev["event"] == "alert":
        return (f"grpotui: {ev['run']} {ev.get('severity') or ''} alert {ev.get('rule')} at step {ev.get('step')}:"
                f" {ev['message']} ({ev['host']})")
    if ev["event"] == "test":
        return f"grpotui: a test notification for {ev['run']} ({ev['host']})"
    return f"grpotui: {ev['run']} {ev['status']} at step {ev.get('step')}: {ev['message']} ({ev['host']})"


def request(url: str, fmt: str, ev: dict[str, Any]) -> urllib.request.Request:
    """The HTTP request for one event, shaped for the service."""
    text = headline(ev)
    headers = {"User-Agent": "grpotui"}
    if fmt == "slack":
        body, headers["Content-Type"] = json.dumps({"text": text, **_fields(ev)}).encode(), "application/json"
    elif fmt == "discord":
        body, headers["Content-Type"] = json.dumps({"content": text[:2000]}).encode(), "application/json"
    elif fmt == "ntfy":  # ntfy.sh: the message as the body, the rest in headers
        body = text.encode()
        headers.update({"Title": f"grpotui: {ev['run']} {ev['event']}", "Tags": "grpotui",
                        "Priority": "high" if ev.get("severity") == "critical" or ev["status"] in (
                            "failed", "killed", "lost") else "default"})
    else:
        body, headers["Content-Type"] = json.dumps(_fields(ev)).encode(), "application/json"
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


def _fields(ev: dict[str, Any]) -> dict[str, Any]:
    return {k: ev.get(k) for k in (*PLACEHOLDERS, "t")}


def command_args(command: list[str], ev: dict[str, Any]) -> list[str]:
    """The command with ``{run}``, ``{message}``, ... filled in (each argument stays one argument)."""
    values = {k: "" if ev.get(k) is None else str(ev[k]) for k in PLACEHOLDERS}
    out = []
    for arg in command:
        for k, v in values.items():
            arg = arg.replace("{" + k + "}", v)
        out.append(arg)
    return out


def deliver(cfg: dict[str, Any], ev: dict[str, Any], *, timeout: float = TIMEOUT, retries: int = RETRIES,
            should_stop: Callable[[], bool] = lambda: False) -> list[tuple[str, bool, str]]:
    """Send one event everywhere it goes; ``[(channel, ok, detail)]``, one per channel."""
    out = []
    if cfg.get("webhook"):
        detail, ok = "", False
        for attempt in range(retries):
            try:
                with urllib.request.urlopen(request(cfg["webhook"], cfg.get("format") or "json", ev),
                                            timeout=timeout) as resp:
                    ok, detail = True, f"HTTP {resp.status}"
                    break
            except urllib.error.HTTPError as e:
                detail = f"HTTP {e.code}"
                if 400 <= e.code < 500 and e.code != 429:
                    break  # refused: trying again will not help
            except (OSError, ValueError) as e:  # timeouts, refused connections, bad hosts
                detail = str(getattr(e, "reason", None) or e) or type(e).__name__
            if should_stop() or attempt == retries - 1:
                break
            time.sleep(min(2.0**attempt, 4.0))
        out.append((f"webhook {mask(cfg['webhook'])}", ok, detail))
    if cfg.get("command"):
        args = command_args(cfg["command"], ev)
        try:
            proc = subprocess.run(args, capture_output=True, timeout=timeout * 2, stdin=subprocess.DEVNULL)
            ok = proc.returncode == 0
            detail = f"exit {proc.returncode}" + (
                f": {proc.stderr.decode(errors='replace').strip()[:200]}" if not ok else "")
        except (OSError, subprocess.SubprocessError) as e:
            ok, detail = False, str(e)
        out.append((f"command {args[0]}", ok, detail))
    return out


class Notifier:
    """Sends a run's notifications from a thread of its own; ``record(event, channel, ok, detail)`` is
    called with each outcome (the store's row and the log's line)."""

    def __init__(self, cfg: dict[str, Any], record: Callable[[dict[str, Any], str, bool, str], None]) -> None:
        self.cfg = cfg
        self._record = record
        self._q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._closing = False
        self._thread: threading.Thread | None = None

    def send(self, ev: dict[str, Any]) -> None:
        """Queue an event (returns at once); events the settings do not want are dropped here."""
        if not wanted(self.cfg, ev):
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="grpotui-notify", daemon=True)
            self._thread.start()
        self._q.put(ev)

    def close(self, wait: float = END_WAIT) -> None:
        """Let what is queued go out, waiting ``wait`` seconds at most (retries are cut short)."""
        if self._thread is None:
            return
        self._q.put(None)
        self._thread.join(wait)
        self._closing = True

    def _loop(self) -> None:
        while True:
            ev = self._q.get()
            if ev is None:
                return
            for channel, ok, detail in deliver(self.cfg, ev, should_stop=lambda: self._closing):
                with contextlib.suppress(Exception):  # a notification's record never ends the run
                    self._record(ev, channel, ok, detail)


# ----------------------------------------------------------------------------- with a run's store
def recorder_for(store: Any) -> Callable[[dict[str, Any], str, bool, str], None]:
    """Each outcome as a row of the run's ``notifications`` and one line of the runner's log."""

    def record(ev: dict[str, Any], channel: str, ok: bool, detail: str) -> None:
        print(f"grpotui: notification ({ev['event']}{' ' + ev['rule'] if ev.get('rule') else ''}) to {channel}: "
              f"{'sent' if ok else 'failed'} ({detail})", flush=True)
        store.record_notification(event=ev["event"], rule=ev.get("rule"), step=ev.get("step"), channel=channel,
                                  ok=ok, detail=detail)

    return record


def for_run(store: Any, run_table: Any = None) -> Notifier | None:
    """The notifier of a run (None when nothing is to be sent, or the settings are bad: said once in the
    log, training goes on)."""
    try:
        cfg = from_settings(run_table)
    except NotifyConfigError as e:
        print(f"grpotui: warning: notifications off: {e}", flush=True)
        return None
    return Notifier(cfg, recorder_for(store)) if enabled(cfg) else None


def end_event(store: Any) -> dict[str, Any]:
    """The ``end`` event of a run that has ended, from its store."""
    info = store.run_info()
    return event(info["name"], "end", status=info["status"], message=info.get("status_reason") or info["status"],
                 step=store.last_step())


def send_end(store: Any, run_table: Any = None, *, wait: float = END_WAIT) -> None:
    """Send a run's end (its status as recorded) and wait for it ``wait`` seconds at most."""
    n = for_run(store, run_table)
    if n is not None:
        n.send(end_event(store))
        n.close(wait)
