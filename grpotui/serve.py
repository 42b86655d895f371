"""``grpotui serve``: the same Textual app in a browser tab, through textual-serve.

Each browser tab runs its own ``grpotui`` process (textual-serve starts it with its web driver), so the
tab is exactly the terminal app. It listens on 127.0.0.1 by default: from a laptop, ``ssh -L
8000:127.0.0.1:8000 gpu-box`` and open the printed URL. Whoever opens the app can pause, stop and kill
runs, and on a shared machine every user can reach 127.0.0.1, so the URL carries a secret token (as
Jupyter's does): the first page load with it sets a cookie that the app's websocket must present.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import shlex
import sys
from typing import Any
from urllib.parse import urlsplit

COOKIE = "grpotui_token"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(*, host: str = "127.0.0.1", port: int = 8000, theme: str | None = None,
                token: str | None = None, public_url: str | None = None) -> Any:
    """A textual-serve server for ``grpotui`` (``token``: the secret the URL must carry; None: none)."""
    from aiohttp import web
    from textual_serve.server import Server

    command = [sys.executable, "-m", "grpotui"]
    if theme:
        command += ["--theme", theme]

    class GrpotuiServer(Server):
        def __init__(self) -> None:
            url_host = f"[{host}]" if ":" in host else host
            super().__init__(shlex.join(command), host=host, port=port, title="grpotui",
                             public_url=public_url or f"http://{url_host}:{port}")
            self.token = token

        @property
        def url(self) -> str:
            return f"{self.public_url}/?token={self.token}" if self.token else f"{self.public_url}/"

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(self._check_token)
            return app

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            # the page's websocket goes back to where the page came from: through `ssh -L 9000:...`
            # that is localhost:9000, not the host and port the server listens on
            if not public_url:
                self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        @web.middleware
        async def _check_token(self, request: web.Request, handler: Any) -> web.StreamResponse:
            if request.path.startswith("/static/"):
                return await handler(request)
            origin = request.headers.get("Origin")
            if origin and urlsplit(origin).netloc != request.host:
                # another site's page in the same browser (websockets are not bound by CORS)
                raise web.HTTPForbidden(text="grpotui: cross-origin request refused")
            cookie = f"{COOKIE}_{port}"  # one per server: two servers on one host keep theirs apart
            if not self.token:
                return await handler(request)
            given = request.query.get("token") or request.cookies.get(cookie) or ""
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                raise web.HTTPForbidden(text="grpotui: open the URL that `grpotui serve` printed (with its token)")
            response = await handler(request)
            if request.path == "/" and not response.prepared:
                response.set_cookie(cookie, self.token, httponly=True, samesite="Strict",
                                    secure=self.public_url.startswith("https"))
            return response

        async def on_startup(self, app: web.Application) -> None:
            print(f"grpotui serve: open {self.url}", flush=True)
            if _loopback(host):
                print(f"  from another machine: ssh -L {port}:127.0.0.1:{port} THIS-HOST, then the URL above",
                      flush=True)
            else:
                print(f"  listening on {host}: anyone who can reach this port"
                      + (" and has the token" if self.token else "") + " controls your runs", flush=True)
            print("  each browser tab runs its own grpotui; ctrl+c stops serving (runs go on)", flush=True)

    return GrpotuiServer()


def serve(*, host: str = "127.0.0.1", port: int = 8000, theme: str | None = None, token: bool = True,
          public_url: str | None = None) -> int:
    import socket

    # say "in use" before printing a URL that leads nowhere (aiohttp binds after its startup hooks)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    server = make_server(host=host, port=port, theme=theme, public_url=public_url,
                         token=secrets.token_urlsafe(18) if token else None)
    server.serve()
    return 0
