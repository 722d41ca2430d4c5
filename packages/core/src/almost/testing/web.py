"""Helpers for testing local web pages against other sites: :func:`raw_request` sends a local
web UI a request with exactly the headers given (to test its
:class:`almost.web.localserver.Guard`), :func:`attacker_site` serves a page from another origin
to run a browser script against it, :func:`free_port` picks a port to start a server on, and
:func:`launch_chromium` starts the real headless Chromium that page tests drive (skipping the
test where Debian's ``chromium`` or playwright is missing)."""

from __future__ import annotations

import contextlib
import http.client
import shutil
import socket
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any


def raw_request(port: int | str, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None, host: str | None = None) -> tuple[int, bytes, dict]:
    """Send ``127.0.0.1:port`` one request with exactly these headers, as curl would (no
    automatic ``Accept-Encoding``; ``Host`` is ``host`` or ``127.0.0.1:port``). ``port`` may
    also be a URL of the server (``http://127.0.0.1:PORT/?token=...``): its port is used.
    Returns ``(status, body, response_headers)``."""
    if isinstance(port, str):
        url, port = port, urllib.parse.urlsplit(port).port
        if port is None:
            raise ValueError(f"{url} names no port")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{port}" if host is None else host)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now (the system picks it), to start a server or a
    ``torch.distributed`` rendezvous on. Another process could take it before you bind it."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


ATTACKER_PAGE = b"<!doctype html><title>a page on another site</title><p>hello</p>"


@contextlib.contextmanager
def attacker_site(page: bytes = ATTACKER_PAGE) -> Iterator[str]:
    """Serve ``page`` from another origin, ``http://127.0.0.2:PORT/`` (as any site the user
    visits), for the length of the ``with`` block, and yield its URL::

        with attacker_site() as foreign:
            tab = browser.new_page()
            tab.goto(foreign)
            tab.evaluate("fetch('http://127.0.0.1:8000/api/...', {method: 'POST'})")

    A script run in that tab sends the requests a hostile page would (its own ``Origin``,
    no token unless it was leaked): the local server's :class:`almost.web.localserver.Guard`
    must refuse them. (127.0.0.2 is a loopback address on Linux, so nothing leaves the machine.)"""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.2", 0), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.2:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


#: the flags every page test launches Chromium with (no GPU, no sandbox in containers, no
#: background traffic: a test page must not reach the network)
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")


def chromium_executable() -> str | None:
    """Debian's ``chromium`` (``apt-get install chromium``), or ``None`` where it is missing."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright: Any) -> Any:
    """A headless Debian Chromium from a ``sync_playwright()`` context, launched with
    :data:`CHROMIUM_ARGS`. The calling test is skipped (with the install command) where the
    browser is missing. The caller closes it."""
    import pytest

    path = chromium_executable()
    if path is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
