"""almost.web.localserver: a local page answers only its own user (Host, token, Origin, size)."""

from __future__ import annotations

import http.client
import json

import pytest

from almost.testing import raw_request
from almost.web.localserver import MAX_BODY, BadRequest, LocalServer, allowed_hosts, loads_strict

TOKEN = "s3cret-token-for-tests"


def _app():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute

    from almost.web.localserver import json_object

    async def read(request):
        return JSONResponse({"ok": True})

    async def write(request):
        try:
            body = await json_object(request)
        except BadRequest as e:
            return JSONResponse({"error": str(e)}, 400)
        return JSONResponse({"got": body})

    async def ws(socket):
        await socket.accept()
        await socket.send_json({"hello": True})
        await socket.close()

    return Starlette(routes=[Route("/", read), Route("/api/read", read), Route("/api/write", write, methods=["POST"]),
                             WebSocketRoute("/ws", ws)])


@pytest.fixture(scope="module")
def server():
    srv = LocalServer(_app(), "127.0.0.1", 0, token=TOKEN, say=lambda line: None)
    url = srv.start()
    try:
        yield srv, url
    finally:
        srv.stop()


def request(srv, method, path, body=None, headers=None, host=None):
    return raw_request(srv.port, method, path, body, headers, host)


def test_strict_json_refuses_nan_infinity_and_runaway_nesting():
    assert loads_strict(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    for bad in (b'{"a": NaN}', b'{"a": Infinity}', b'[-Infinity]', b'{"a": 1e400}', b"\xff\xfe",
                b"[" * 200_000, b"{", b"", b'{"a": 1} x', b"[1" + b"0" * 5000 + b"]"):
        with pytest.raises(BadRequest):
            loads_strict(bad)


def test_url_carries_the_token_and_only_loopback_hosts_are_allowed(server):
    srv, url = server
    assert url == f"http://127.0.0.1:{srv.port}/?token={TOKEN}"
    assert allowed_hosts("127.0.0.1")[:3] == ["127.0.0.1", "localhost", "::1"]
    assert allowed_hosts("0.0.0.0") == ["*"]


def test_token_is_required_everywhere(server):
    srv, _ = server
    assert request(srv, "GET", "/")[0] == 403
    assert request(srv, "GET", "/api/read")[0] == 403
    assert request(srv, "GET", "/api/read?token=wrong")[0] == 403
    assert request(srv, "GET", "/api/read", headers={"X-Almost-Token": "wrong"})[0] == 403
    assert request(srv, "POST", "/api/write", b'{"a": 1}')[0] == 403
    code, body, headers = request(srv, "GET", f"/api/read?token={TOKEN}")
    assert code == 200 and headers["referrer-policy"] == "no-referrer"
    assert request(srv, "GET", "/api/read", headers={"X-Almost-Token": TOKEN})[0] == 200
    code, body, _ = request(srv, "POST", "/api/write", b'{"a": 1}', {"X-Almost-Token": TOKEN})
    assert code == 200 and json.loads(body) == {"got": {"a": 1}}


def test_foreign_host_is_refused_even_with_the_token(server):
    srv, _ = server
    for host in ("attacker.example", f"attacker.example:{srv.port}", "127.0.0.1.nip.io", ""):
        code, _, _ = request(srv, "GET", f"/api/read?token={TOKEN}", host=host)
        assert code == 400, host
    assert request(srv, "GET", f"/api/read?token={TOKEN}", host=f"localhost:{srv.port}")[0] == 200


def test_foreign_origin_is_refused_even_with_the_token(server):
    srv, _ = server
    auth = {"X-Almost-Token": TOKEN}
    for origin in ("http://127.0.0.2:9911", "http://evil.example", "null", f"http://127.0.0.1:{srv.port + 1}"):
        code, body, _ = request(srv, "POST", "/api/write", b'{"a": 1}', {**auth, "Origin": origin})
        assert code == 403 and "not allowed" in json.loads(body)["error"], origin
    own = {**auth, "Origin": f"http://127.0.0.1:{srv.port}"}
    assert request(srv, "POST", "/api/write", b'{"a": 1}', own)[0] == 200


def test_body_size_is_limited_and_the_server_lives_on(server):
    srv, _ = server
    auth = {"X-Almost-Token": TOKEN}
    big = b'{"a": "' + b"x" * (MAX_BODY + 10) + b'"}'
    assert request(srv, "POST", "/api/write", big, auth)[0] == 413
    # a lying Content-Length that announces a huge body is refused before reading it
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.putrequest("POST", "/api/write")
    conn.putheader("X-Almost-Token", TOKEN)
    conn.putheader("Content-Length", str(300 * 1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()
    # chunked (no Content-Length) is counted as it arrives
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("POST", "/api/write", body=iter([b"[" + b"1," * (MAX_BODY // 2)] + [b"1]"]),
                 headers={"X-Almost-Token": TOKEN}, encode_chunked=True)
    assert conn.getresponse().status == 413
    conn.close()
    for bad in (b'{"a": NaN}', b"[1, Infinity]", b"not json", b"[" * 100_000, b"\xff"):
        code, body, _ = request(srv, "POST", "/api/write", bad, auth)
        assert code == 400 and json.loads(body)["error"], bad[:20]
    assert request(srv, "GET", f"/api/read?token={TOKEN}")[0] == 200


def test_websocket_handshake_needs_token_host_and_origin(server):
    import asyncio

    import websockets

    srv, _ = server
    ws = f"ws://127.0.0.1:{srv.port}/ws"

    async def status(uri, **kw):
        try:
            async with websockets.connect(uri, **kw) as sock:
                return json.loads(await sock.recv())
        except websockets.exceptions.InvalidStatus as e:
            return e.response.status_code

    assert asyncio.run(status(ws)) == 403
    assert asyncio.run(status(ws + "?token=nope")) == 403
    assert asyncio.run(status(f"{ws}?token={TOKEN}", origin="http://evil.example")) == 403
    assert asyncio.run(status(f"{ws}?token={TOKEN}", origin=f"http://127.0.0.1:{srv.port}")) == {"hello": True}
    assert asyncio.run(status(f"{ws}?token={TOKEN}")) == {"hello": True}
    # a rebinding page's handshake names its own host
    handshake = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    assert request(srv, "GET", f"/ws?token={TOKEN}", headers=handshake, host="attacker.example")[0] == 400
    assert request(srv, "GET", f"/ws?token={TOKEN}", headers=handshake)[0] == 101


def test_any_address_warns_once_and_still_needs_the_token():
    lines = []
    srv = LocalServer(_app(), "0.0.0.0", 0, token=TOKEN, what="the test page", say=lines.append)
    srv.start()
    try:
        assert len(lines) == 1 and "0.0.0.0" in lines[0] and "token" in lines[0]
        assert request(srv, "GET", "/api/read", host="my-laptop.lan")[0] == 403
        assert request(srv, "GET", f"/api/read?token={TOKEN}", host="my-laptop.lan")[0] == 200
    finally:
        srv.stop()
    quiet = []
    LocalServer(_app(), "127.0.0.1", 0, say=quiet.append)._announce()
    assert quiet == []
