"""``grpotui serve`` for real: the server as a process, a real headless Chromium (Debian's package)
driven by Playwright loading the printed URL, and the runs screen arriving over the app's websocket.

Chromium is a system package: CI installs it (.ci/run) and sets GRPOTUI_REQUIRE_BROWSER=1 so the
test cannot skip there; elsewhere it skips with the command that installs it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from recorded import write_recorded_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]


def _need_browser() -> None:
    missing = []
    if not CHROMIUM:
        missing.append("chromium (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        if os.environ.get("GRPOTUI_REQUIRE_BROWSER") == "1":
            pytest.fail("the browser test needs " + " and ".join(missing))
        pytest.skip("needs " + " and ".join(missing))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(home: Path):
    """``grpotui serve`` on a free port; yields (url with token, port)."""
    port = _free_port()
    env = {**os.environ, "GRPOTUI_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "grpotui", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = None
    end = time.time() + 30
    lines = []
    while time.time() < end and url is None:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"open (http://\S+)", line)
        if m:
            url = m.group(1)
    assert url, "serve printed no URL:\n" + "".join(lines)
    for _ in range(100):  # listening?
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    try:
        yield url, port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    return _get(url, headers)[0]


def test_serve_listens_on_loopback_with_a_token(home: Path, server) -> None:
    url, port = server
    assert url.startswith(f"http://127.0.0.1:{port}/?token=")
    assert _status(f"http://127.0.0.1:{port}/") == 403  # no token: no app
    assert _status(f"http://127.0.0.1:{port}/?token=wrong") == 403
    assert _status(f"http://127.0.0.1:{port}/ws") == 403
    assert _status(url) == 200
    # a page of another site (another port counts) cannot drive the app, token or not
    assert _status(url, {"Origin": "http://127.0.0.1:1"}) == 403
    assert _status(url, {"Origin": f"http://127.0.0.1:{port}"}) == 200
    # the page sends its websocket back where it came from (through `ssh -L 9000:...`: localhost:9000)
    status, page = _get(url, {"Host": "localhost:9000"})
    assert status == 200 and "ws://localhost:9000/ws" in page
    with pytest.raises(OSError):  # not on the machine's other addresses
        other = [a for a in socket.gethostbyname_ex(socket.gethostname())[2] if not a.startswith("127.")]
        if not other:
            raise OSError("no other address here")
        socket.create_connection((other[0], port), timeout=1).close()


def test_a_browser_shows_the_runs_screen(home: Path, server, tmp_path: Path) -> None:
    _need_browser()
    write_recorded_run(home, "served-run", steps=5)
    url, _port = server
    from playwright.async_api import async_playwright

    async def browse() -> tuple[str, bytes, bytes]:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 720})
                frames: list[str] = []

                def on_ws(ws) -> None:
                    ws.on("framereceived", lambda f: frames.append(f if isinstance(f, str)
                                                                   else f.decode("utf-8", "replace")))

                page.on("websocket", on_ws)
                response = await page.goto(url)
                assert response is not None and response.status == 200
                text = ""
                for _ in range(300):  # the app starts in its own process: up to a minute on a busy box
                    text = "".join(frames)
                    if "served-run" in text and "runs in" in text:
                        break
                    await asyncio.sleep(0.2)
                await asyncio.sleep(0.5)
                shot = await page.screenshot(path=str(tmp_path / "serve.png"))
                await page.set_content("<body style='margin:0;background:#0c181f'></body>")
                blank = await page.screenshot()  # the same page size with nothing drawn
                return text, shot, blank
            finally:
                await browser.close()

    text, shot, blank = asyncio.run(browse())
    # what the app sent the page's terminal: the runs screen with the run and its status
    assert "runs in" in text and "served-run" in text and "finished" in text
    # and the page drew it: its screenshot holds far more than an empty page of the same size
    assert len(shot) > 3 * len(blank)


def test_a_port_in_use_is_one_line_and_no_url(home: Path) -> None:
    from conftest import run_cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli("serve", "--port", str(port), home=home, timeout=60)
    assert proc.returncode == 2 and "http://" not in proc.stdout
    assert proc.stderr.strip().count("\n") == 0 and f"127.0.0.1:{port}" in proc.stderr
