"""Notifications (issue 19): real runs post to a real HTTP server on 127.0.0.1; a hanging or refusing
webhook never holds training; a runner killed with -9 is reported by its supervisor; the command
notifier runs without a shell; webhook URLs are shown masked."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import pytest
from conftest import run_cli, status_of, wait_for
from webhook import Hook

from grpotui import notify
from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE


def _settings(home: Path, **table: object) -> None:
    lines = ["[notify]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    (home / "settings.toml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def test_each_format_reaches_a_real_server(hook: Hook) -> None:
    ev = notify.event("r1", "alert", status="stopping", message="80% of groups collapsed", rule="mode_collapse",
                      severity="critical", step=29)
    for fmt in notify.FORMATS:
        [(channel, ok, detail)] = notify.deliver({"webhook": hook.url, "format": fmt}, ev)
        assert ok and detail == "HTTP 200" and "SECRET" not in channel
    plain, slack, discord, ntfy = hook.posts
    assert {k: plain["json"][k] for k in ("run", "event", "status", "rule", "severity", "step", "message")} == {
        "run": "r1", "event": "alert", "status": "stopping", "rule": "mode_collapse", "severity": "critical",
        "step": 29, "message": "80% of groups collapsed"}
    assert plain["json"]["host"] == socket.gethostname()
    assert "mode_collapse" in slack["json"]["text"] and slack["json"]["run"] == "r1"
    assert "mode_collapse" in discord["json"]["content"]
    assert b"mode_collapse" in ntfy["body"] and ntfy["headers"]["Priority"] == "high" and ntfy["json"] is None


def test_a_refused_webhook_is_retried_then_recorded_as_failed() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [(channel, ok, detail)] = notify.deliver({"webhook": f"http://127.0.0.1:{port}/x"},
                                             notify.event("r", "end", status="finished", message="done"),
                                             retries=2)
    assert not ok and "refused" in detail.lower() and channel == f"webhook http://127.0.0.1:{port}/***"


def test_command_notifier_fills_placeholders_without_a_shell(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    script = f"import sys, json; open({str(out)!r}, 'w').write(json.dumps(sys.argv[1:]))"
    _settings(home, command=[sys.executable, "-c", script, "{run}", "{message}", "$HOME;echo hi"])
    proc = run_cli("notify-test", home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sent" in proc.stdout
    run, message, literal = json.loads(out.read_text())
    assert run == "notify-test" and message == "a test notification from grpotui"
    assert literal == "$HOME;echo hi"  # one argument, as written: no shell expanded it


def test_bad_notify_settings_are_one_line_naming_the_key(home: Path) -> None:
    _settings(home, webhook="ftp://example.com", min_severity="loud")
    proc = run_cli("notify-test", home=home)
    assert proc.returncode == 2
    assert "notify.webhook: expected an http(s):// URL" in proc.stderr
    assert "notify.min_severity: 'loud' is not one of info, warning, critical" in proc.stderr
    (home / "settings.toml").unlink()
    proc = run_cli("notify-test", home=home)
    assert proc.returncode == 2 and "no [notify] webhook or command" in proc.stderr


def test_a_hanging_webhook_never_holds_training(home: Path) -> None:
    """Every step trips a warning (a KL ceiling of 0) and the webhook never answers: the run still
    trains every step and ends; the alert is in the store."""
    hang = Hook("hang")
    try:
        _settings(home, webhook=hang.url)
        proc = run_cli("demo", "--headless", "--steps", "12", "--name", "h", "--set", "health.kl_blowup.ceiling=0",
                       "--set", "health.kl_blowup.action='warn'", home=home)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        st = status_of(home, "h")
        assert st["status"] == "finished" and st["step"] == 12
        assert [a["rule"] for a in st["alerts"]] == ["kl_blowup"]
        assert hang.hanging >= 1  # the alert's post reached the server, which still holds it
    finally:
        hang.close()


@pytest.mark.slow
def test_a_runner_killed_with_sigkill_is_reported(home: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPOTUI_SUPERVISE_INTERVAL", "0.5")
    _settings(home, webhook=hook.url, on=["end"])
    run_cli("demo", "--steps", "100000", "--name", "k9", home=home, check=True)  # detached
    wait_for(lambda: status_of(home, "k9")["step"] >= 3, what="training")
    os.kill(status_of(home, "k9")["pid"], signal.SIGKILL)
    posts = hook.wait(lambda ps: any(p["json"] and p["json"]["event"] == "end" for p in ps), timeout=60)
    [end] = [p["json"] for p in posts]
    assert end["run"] == "k9" and end["status"] == "lost" and "kill -9" in end["message"]
    assert status_of(home, "k9")["status"] == "lost"
    with RunStore.open(home / "runs" / "k9" / STORE_FILE) as s:
        wait_for(lambda: s.notifications(), what="the outcome recorded")
        [n] = s.notifications()
        assert n["event"] == "end" and n["ok"] and "SECRET" not in n["channel"]


def test_webhooks_are_masked_where_configs_are_shown(home: Path) -> None:
    from recorded import write_recorded_run

    for name in ("a", "b"):
        write_recorded_run(home, name, steps=5)
    con = sqlite3.connect(home / "runs" / "a" / STORE_FILE)
    cfg = json.loads(con.execute("SELECT config FROM run").fetchone()[0])
    cfg["notify"] = {"webhook": "https://hooks.slack.com/services/T000/B000/SECRET"}
    con.execute("UPDATE run SET config=?", (json.dumps(cfg),))
    con.commit()
    con.close()
    for args in (("diff", "a", "b"), ("diff", "a", "b", "--json")):
        out = run_cli(*args, home=home, check=True).stdout
        assert "notify.webhook" in out and "https://hooks.slack.com/***" in out and "SECRET" not in out
