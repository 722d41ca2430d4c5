"""Local web pages that only their user can drive (the scoring page, the play page).

Binding 127.0.0.1 keeps other machines out, but not other *web pages*: any site the user
visits can ``fetch("http://127.0.0.1:PORT/…", {mode: "no-cors"})`` with a ``text/plain`` body
(no CORS preflight), open a WebSocket to it, and read it through DNS rebinding. So every page
served here goes through :class:`Guard`, an ASGI middleware that checks, in order:

1. **Host** — Starlette's ``TrustedHostMiddleware`` with the loopback names and the bound
   address (DNS rebinding sends ``Host: attacker.example``: refused with 400);
2. **token** — a per-launch secret (:func:`new_token`) in the URL the CLI prints, as Jupyter
   does (``http://127.0.0.1:8765/?token=…``); every request and the WebSocket handshake must
   carry it as ``?token=`` or the ``X-Almost-Token`` header, or get 403;
3. **Origin** — a request or handshake that names an Origin must come from the page's own
   origin (``http://`` + its Host); a foreign page gets 403 even where it knows the token;
4. **size** — request bodies above ``max_body`` bytes get 413 before the app sees them.

:func:`loads_strict` parses JSON the strict way (NaN and Infinity are refused; nesting that
is too deep is a ValueError, not a crash), and :func:`json_object` reads a request body with
it. :class:`LocalServer` runs uvicorn with the guard in a thread (``start``/``stop``) or in
the foreground (``serve``), prints the page's URL with its token, and prints one warning
line when the address is not a loopback one (``--host 0.0.0.0``: then the Host check allows
any name and the token alone keeps strangers out).

Starlette and uvicorn come with ``almost-core[web]`` and are imported only when used.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any
from urllib.parse import parse_qs, quote

TOKEN_HEADER = "x-almost-token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 1 << 20
"""Largest request body accepted (bytes): a scores.json for thousands of images fits."""
MAX_WS_FRAME = 1 << 20
"""Largest WebSocket message the server reads at all; bigger ones close the socket (1009)."""


class BadRequest(ValueError):
    """A malformed request body or message; its text is safe to send back to the client."""


# -- strict JSON ------------------------------------------------------------------------------
def _no_constant(name: str):
    raise BadRequest(f"{name} is not a JSON number; send a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise BadRequest(f"{text[:40]} does not fit a finite number")
    return value


def loads_strict(data: bytes | str) -> Any:
    """``json.loads`` that refuses NaN, Infinity, bad UTF-8 and runaway nesting (BadRequest)."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the body is not UTF-8 text") from None
    if not isinstance(data, str):
        raise BadRequest("the message is not text")
    try:
        return json.loads(data, parse_constant=_no_constant, parse_float=_finite_float)
    except BadRequest:
        raise
    except RecursionError:
        raise BadRequest("the JSON is nested too deeply") from None
    except json.JSONDecodeError as e:
        raise BadRequest(f"the body is not JSON ({e.msg} at character {e.pos})") from None
    except ValueError:  # e.g. an integer of more digits than Python converts
        raise BadRequest("the JSON holds a number too long to read") from None


async def json_object(request) -> dict:
    """The body of a Starlette request as a JSON object, or BadRequest."""
    body = loads_strict(await request.body())
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def dumps(obj: Any) -> str:
    """JSON text for replies; refuses NaN and Infinity rather than sending them."""
    return json.dumps(obj, allow_nan=False)


# -- the guard --------------------------------------------------------------------------------
def new_token() -> str:
    """A fresh secret for one launch of a page (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host.strip("[]") in ("0.0.0.0", "::", "")


def allowed_hosts(bind_host: str) -> list[str]:
    """Host names a request may name: loopback names and the bound address (any for 0.0.0.0)."""
    if is_wildcard(bind_host):
        return ["*"]
    hosts = list(LOOPBACK_NAMES) + ["[::1]"]
    h = bind_host.strip("[]").lower()
    if h not in hosts:
        hosts.append(h)
    return hosts


class Guard:
    """ASGI middleware: Host allow-list, per-launch token, Origin check, body-size limit."""

    def __init__(self, app, *, token: str, hosts: Sequence[str] = LOOPBACK_NAMES,
                 max_body: int = MAX_BODY) -> None:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        if not token:
            raise ValueError("a local page needs a token")
        self.inner = app
        self.token = token.encode()
        self.max_body = int(max_body)
        self.app = TrustedHostMiddleware(self._checked, allowed_hosts=list(hosts), www_redirect=False)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.inner(scope, receive, send)
            return
        await self.app(scope, receive, send)

    # the checks after the Host one
    async def _checked(self, scope, receive, send) -> None:
        from starlette.datastructures import Headers

        headers = Headers(scope=scope)
        if not self._token_ok(scope, headers):
            return await self._deny(scope, receive, send, 403, "this page needs the token from the link "
                                    "printed in the terminal (…/?token=…); open that link")
        origin = headers.get("origin")
        if origin is not None and origin.lower() != "http://" + headers.get("host", "").lower():
            return await self._deny(scope, receive, send, 403, f"requests from {origin} are not allowed; "
                                    "use the page itself")
        if scope["type"] == "http":
            receive = await self._limited_body(scope, receive, send, headers)
            if receive is None:
                return
        await self.inner(scope, receive, _with_headers(send) if scope["type"] == "http" else send)

    def _token_ok(self, scope, headers) -> bool:
        given = headers.get(TOKEN_HEADER)
        if given is None:
            values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
            given = values[0] if values else None
        if not given:
            return False
        return secrets.compare_digest(given.encode("utf-8", "replace"), self.token)

    async def _limited_body(self, scope, receive, send, headers):
        """Read the whole body (at most ``max_body`` bytes) and hand it on; None after a 413."""
        length = headers.get("content-length")
        too_big = f"the request body is larger than {self.max_body} bytes"
        if length is not None:
            try:
                if int(length) > self.max_body:
                    await self._deny(scope, receive, send, 413, too_big)
                    return None
            except ValueError:
                await self._deny(scope, receive, send, 400, "the Content-Length header is not a number")
                return None
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return _replay(receive, b"", disconnected=True)
            body = msg.get("body", b"")
            size += len(body)
            if size > self.max_body:
                await self._deny(scope, receive, send, 413, too_big)
                return None
            chunks.append(body)
            if not msg.get("more_body", False):
                return _replay(receive, b"".join(chunks))

    async def _deny(self, scope, receive, send, code: int, message: str) -> None:
        from starlette.responses import JSONResponse, PlainTextResponse

        wants_page = scope["type"] == "http" and scope.get("path") == "/"
        resp = PlainTextResponse(message, code) if wants_page else JSONResponse({"error": message}, code)
        await resp(scope, receive, send)


def _replay(receive, body: bytes, disconnected: bool = False):
    """A ``receive`` that gives the buffered body once, then waits on the real one (disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if disconnected:
            return {"type": "http.disconnect"}
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


_SECURITY_HEADERS = [(b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                     (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]


def _with_headers(send):
    async def wrapped(message):
        if message["type"] == "http.response.start":
            message = {**message, "headers": list(message.get("headers", [])) + _SECURITY_HEADERS}
        await send(message)

    return wrapped


# -- connection limits ------------------------------------------------------------------------
HEADER_TIMEOUT = 10.0
"""Seconds a connection may take to send a request's headers (from opening it, or from the end
of its previous response): a half-open or slow connection is closed after this."""
KEEP_ALIVE_TIMEOUT = 5
"""Seconds an idle keep-alive connection is kept after a response."""


def default_max_connections() -> int:
    """Connections held at once: well under this process's open-file limit, so a flood of
    half-open connections can never exhaust it (``accept`` failing with EMFILE)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft == resource.RLIM_INFINITY or soft > 1 << 20:
            soft = 1 << 20
    except (ImportError, OSError, ValueError):  # no resource module (Windows)
        soft = 1024
    return max(16, min(1000, (soft - 64) // 2))


ACCEPT_BATCH = 64
"""Connections asyncio accepts per turn of the event loop (its ``backlog``): few enough that
the cap closes the excess before the open-file limit is reached. The kernel's queue of waiting
connections is made :data:`LISTEN_QUEUE` long after the start, so a burst is not refused."""
LISTEN_QUEUE = 4096


def _listen_queue(server, n: int = LISTEN_QUEUE) -> None:
    import socket

    for srv in getattr(server, "servers", []) or []:
        for s in srv.sockets:
            try:
                dup = socket.socket(fileno=os.dup(s.fileno()))
            except OSError:
                continue
            try:
                dup.listen(n)  # the same socket: only its queue length changes
            except OSError:
                pass
            finally:
                dup.close()


class _Limits:
    """Shared by every connection of one server: the cap, the header timeout and the one-line-a-
    second log when a limit is hit (never a traceback per connection)."""

    def __init__(self, max_connections: int, header_timeout: float, what: str, say: Callable[[str], None]) -> None:
        self.max_connections = int(max_connections)
        self.header_timeout = float(header_timeout)
        self.what = what
        self.say = say
        self._last_log = 0.0
        self.evicted = 0  # connections closed to stay under the cap
        self.timed_out = 0  # connections closed for sending no request in time
        self._logged = (0, 0, 0)
        self.open: dict[Any, None] = {}  # this server's HTTP connections, oldest first
        self.fd_exhausted = 0  # accepts that failed for want of file descriptors
        self._handler_on = None

    def watch(self, loop) -> None:
        """Route the event loop's "accept failed: too many open files" reports to :meth:`note`
        (asyncio logs a traceback for each otherwise)."""
        if self._handler_on is loop:
            return
        self._handler_on = loop

        def handler(lp, context):
            exc = context.get("exception")
            if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self.fd_exhausted += 1
                self.note()
                return
            lp.default_exception_handler(context)

        loop.set_exception_handler(handler)

    def note(self) -> None:
        """At most one line a second, saying what was closed since the last line."""
        now = time.monotonic()
        if now - self._last_log < 1.0:
            return
        self._last_log = now
        ev, to = self.evicted - self._logged[0], self.timed_out - self._logged[1]
        fd = self.fd_exhausted - self._logged[2]
        self._logged = (self.evicted, self.timed_out, self.fd_exhausted)
        parts = []
        if fd:
            parts.append(f"{fd} connection(s) refused: out of file descriptors")
        if ev:
            parts.append(f"{ev} idle connection(s) closed to stay under {self.max_connections} at once")
        if to:
            parts.append(f"{to} closed for sending no request within {self.header_timeout:g} s")
        if parts:
            self.say(f"warning: {self.what}: {'; '.join(parts)} (a client opening many connections?)")


def _limited_protocol(base: type, limits: _Limits) -> type:
    """uvicorn's HTTP protocol with a header timeout and a connection cap: when a new connection
    would pass the cap, the oldest connections with no request in progress are closed (a flood of
    half-open connections cannot lock the user out of the page)."""

    class Limited(base):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            limits.watch(self.loop)
            self._opened = time.monotonic()
            self._header_timer = None
            self._arm()
            limits.open[self] = None  # oldest first (dicts keep insertion order)
            if len(self.connections) > limits.max_connections:
                # the oldest HTTP connections with no request in progress go first (a WebSocket,
                # the play page's, is never closed for a flood); every one busy: this one goes
                excess = len(self.connections) - limits.max_connections
                victims = list(islice((c for c in limits.open if c is not self and _idle(c)), max(excess, 0)))
                for c in victims or [self]:
                    limits.open.pop(c, None)
                    c.transport.close()
                    limits.evicted += 1
                limits.note()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if _idle(self):  # between requests, or headers not complete: the clock runs
                self._arm()

        def connection_lost(self, exc) -> None:
            limits.open.pop(self, None)
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(limits.header_timeout, self._deadline, self.cycle)

        def _deadline(self, cycle) -> None:
            self._header_timer = None
            if self.transport.is_closing() or self.transport.get_protocol() is not self:  # closed, or a WebSocket now
                return
            if self.cycle is cycle and _idle(self):  # no new request's headers since the clock started
                self.transport.close()
                limits.timed_out += 1
                limits.note()
            elif _idle(self):
                self._arm()

    Limited.__name__ = f"Limited{base.__name__}"
    return Limited


def _idle(proto) -> bool:
    cycle = getattr(proto, "cycle", None)
    return cycle is None or cycle.response_complete


# -- serving ----------------------------------------------------------------------------------
class LocalServer:
    """Serve ``app`` behind a :class:`Guard` with uvicorn; ``url`` carries the token.

    ``start()`` runs it in a background thread (returns the URL), ``stop()`` ends it;
    ``serve()`` runs it in the foreground until Ctrl-C. ``what`` names the page in messages.
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None,
                 max_body: int = MAX_BODY, ws_max_size: int = MAX_WS_FRAME, what: str = "the page",
                 say: Callable[[str], None] | None = None, max_connections: int | None = None,
                 header_timeout: float = HEADER_TIMEOUT) -> None:
        import uvicorn
        from uvicorn.protocols.http.h11_impl import H11Protocol

        self.host, self.what = host, what
        self.token = token or new_token()
        self.guarded = Guard(app, token=self.token, hosts=allowed_hosts(host), max_body=max_body)
        self.limits = _Limits(max_connections or default_max_connections(), header_timeout, what,
                              lambda line: self._print(line))
        self.server = uvicorn.Server(uvicorn.Config(
            self.guarded, host=host, port=port, log_level="warning", lifespan="off",
            ws_max_size=ws_max_size, server_header=False, http=_limited_protocol(H11Protocol, self.limits),
            timeout_keep_alive=KEEP_ALIVE_TIMEOUT, backlog=ACCEPT_BATCH))
        self.thread: threading.Thread | None = None
        self.port: int | None = None
        self.url = ""
        self._say = say

    @property
    def base_url(self) -> str:
        shown = "127.0.0.1" if is_wildcard(self.host) else self.host
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}"

    def page_url(self, path: str = "/") -> str:
        return f"{self.base_url}{path}?token={quote(self.token)}"

    def warning(self) -> str | None:
        """The one line printed when the page is reachable from other machines."""
        if is_loopback(self.host):
            return None
        return (f"warning: {self.what} listens on {self.host}, so other machines can reach it; anyone "
                "with the link (its token) can use it")

    def _print(self, line: str) -> None:
        say = self._say
        if say is None:
            from almost.observe.console import console

            say = console.print
        say(line)

    def _announce(self) -> None:
        line = self.warning()
        if line:
            self._print(line)

    def start(self) -> str:
        from almost.errors import UserError

        self._announce()
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise UserError(f"{self.what} could not start on {self.host} (is the port in use?); "
                                "choose a free port")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        _listen_queue(self.server)
        self.url = self.page_url()
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve(self, on_start: Callable[[str], None] | None = None) -> None:
        """Run until Ctrl-C (or ``stop()`` from another thread); ``on_start(url)`` once listening."""
        url = self.start()
        if on_start is not None:
            on_start(url)
        try:
            while self.thread is not None and self.thread.is_alive():
                self.thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
