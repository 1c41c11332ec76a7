"""Start the page's server (uvicorn) on the loopback interface, and open the browser."""

from __future__ import annotations

import errno
import socket
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from panelsel.errors import BadInputError

if TYPE_CHECKING:
    from panelsel.web.workspace import Earlier

LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""The addresses served without ``--allow-remote``: only this computer can reach them."""
DEFAULT_PORT = 8765
MAX_PORT = 65535
DEFAULT_FOLDER = "panelsel-web"


def _bound(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BadInputError(
                f"port {port} is in use (another panelsel serve, or another program)",
                hint="pass another --port, or --port 0 for any free one",
            ) from None
        raise BadInputError(
            f"cannot listen on {host} port {port}: {exc.strerror or exc}",
            hint="pass --host 127.0.0.1 and another --port",
        ) from None
    sock.listen(64)
    return sock


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    folder: str | Path = DEFAULT_FOLDER,
    open_browser: bool = True,
    allow_remote: bool = False,
    ready: Callable[[str, list[Earlier]], None] = lambda url, earlier: None,
) -> None:
    """Serve the page until interrupted (Ctrl-C).

    ``folder`` holds every tab's workspace (made private).  ``host`` must be a loopback
    address unless ``allow_remote``: the page shows registrants' data, and anyone who can
    reach the address can see it.  ``ready`` is called with the address once the server
    listens, with the workspaces kept in ``folder`` from earlier starts (the CLI prints
    their addresses)."""
    if not 0 <= port <= MAX_PORT:
        raise BadInputError(
            f"--port must be from 0 to {MAX_PORT}, not {port}",
            hint=f"pass a port such as {DEFAULT_PORT}, or 0 for any free one",
        )
    if host not in LOOPBACK and not allow_remote:
        raise BadInputError(
            f"--host {host} would let other computers reach the page and the registrants' "
            "data; panelsel serve listens on this computer only (127.0.0.1)",
            hint="drop --host, or add --allow-remote if you really mean to share it",
        )
    import uvicorn

    from panelsel.web.app import make_app

    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise BadInputError("the serve folder exists and is not a folder", file=str(root))
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    sock = _bound(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    app = make_app(root, any_host=allow_remote)
    # no lifespan events (the app has none): on Ctrl-C, uvicorn re-raises the signal while
    # the lifespan task is cancelled, and that task logged a traceback
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    ready(url, app.state.spaces.earlier())
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
