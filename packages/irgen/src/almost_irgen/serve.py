"""The OpenAI-compatible API of ``almost irgen serve RUN`` (the verb: :func:`almost_irgen.cli.serve`).

The run's model (:meth:`Generator.from_run`) behind it on 127.0.0.1.

``GET /v1/models`` lists two models: ``irgen`` (the last user message, a sentence or IR JSON,
→ IR → C#, checked and repaired: the answer is the C# file) and ``irgen-ir`` (sentence → IR
JSON, decoded under the schema). ``POST /v1/chat/completions`` takes the usual body
(``model``, ``messages``, ``max_tokens``, ``stream``) plus ``repair_rounds`` (send it with the
openai client's ``extra_body``); the answer's ``almost`` field carries the IR, the verdict and
the repair count, so a tool can show them. Any OpenAI client or the seed's ``LLM_URL`` works::

    almost irgen serve runs/irgen/tiny        # prints the base URL and the key
    LLM_URL=http://127.0.0.1:8000/v1 LLM_API_KEY=... your-tool

Security: the server binds 127.0.0.1 and goes through :class:`almost.web.localserver.Guard` (Host
allow-list against DNS rebinding, Origin check, body-size limit). An API client has no browser
token in a URL, so the key is the OpenAI way, ``Authorization: Bearer KEY``: ``--api-key`` or
``$ALMOST_API_KEY``, else a fresh one printed at start. A wrong or missing key gets 401 in
OpenAI's error shape. One request generates at a time (the model is not thread-safe).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from .generator import Generator

MODEL, MODEL_IR = "irgen", "irgen-ir"


def _error(status: int, message: str, kind: str = "invalid_request_error"):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status)


class BearerKey:
    """ASGI middleware: ``Authorization: Bearer KEY`` must carry the key; it is then handed to the Guard."""

    def __init__(self, app, key: str) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope, receive, send) -> None:
        import secrets

        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not given or not secrets.compare_digest(given.encode(), self.key.encode()):
            return await _error(401, "send the key printed by `almost irgen serve` as 'Authorization: Bearer KEY'",
                                "invalid_api_key")(scope, receive, send)
        scope = {**scope, "headers": [*scope["headers"], (b"x-almost-token", self.key.encode())]}
        await self.app(scope, receive, send)


def make_app(gen: Generator, name: str = MODEL):
    """The Starlette app around ``gen`` (one request generates at a time)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    from almost.web.localserver import BadRequest, json_object

    from .generator import describe
    from .ir import IRError, loads

    lock = threading.Lock()
    created = int(time.time())
    names = {name: "code", f"{name}-ir": "ir"}

    async def models(request):
        return JSONResponse({"object": "list", "data": [
            {"id": n, "object": "model", "created": created, "owned_by": "almost"} for n in names]})

    def answer(task: str, text: str, repair: int) -> tuple[str, dict]:
        with lock:
            gen.repair_rounds = repair
            if task == "ir":
                r = gen.text_to_ir([text])[0]
                if r.ir is None:
                    return "", {"verdict": "no valid IR", "problems": r.ir_problems}
                return json.dumps(r.ir), {"verdict": "valid IR", "repairs": r.ir_rounds}
            request: str | dict = text
            if text.lstrip().startswith("{"):
                try:
                    request = loads(text, "the IR in the message")
                except IRError as e:
                    raise BadRequest(str(e)) from None
            r = gen.generate(request)
            return r.code, {"ir": r.ir, "verdict": r.verdict, "describe": describe(r), "repairs": r.repairs}

    async def chat(request):
        try:
            body = await json_object(request)
            model = body.get("model") or name
            if model not in names:
                return _error(404, f"the model {model!r} does not exist; models: {', '.join(names)}",
                              "model_not_found")
            msgs = body.get("messages")
            users = [m for m in msgs if isinstance(m, dict) and m.get("role") == "user"] if isinstance(msgs, list) else []
            if not users:
                raise BadRequest("messages needs at least one user message holding the request")
            text = users[-1].get("content")
            if isinstance(text, list):  # content parts
                text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
            if not isinstance(text, str) or not text.strip():
                raise BadRequest("the last user message is empty; say what the script should do")
            repair = body.get("repair_rounds", default_repair)
            if not isinstance(repair, int) or isinstance(repair, bool) or not 0 <= repair <= 10:
                raise BadRequest("repair_rounds must be a whole number from 0 to 10")
            content, info = await run_in_threadpool(answer, names[model], text, repair)
        except BadRequest as e:
            return _error(400, str(e))
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        now = int(time.time())
        if body.get("stream"):
            def events():
                head = {"id": ident, "object": "chat.completion.chunk", "created": now, "model": model}
                yield "data: " + json.dumps({**head, "choices": [{"index": 0, "delta": {"role": "assistant",
                                             "content": content}, "finish_reason": None}]}) + "\n\n"
                yield "data: " + json.dumps({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                                             "almost": info}) + "\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        return JSONResponse({
            "id": ident, "object": "chat.completion", "created": now, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, "almost": info})

    default_repair = gen.repair_rounds
    return Starlette(routes=[Route("/v1/models", models), Route("/v1/chat/completions", chat, methods=["POST"])])


def server(gen: Generator, host: str = "127.0.0.1", port: int = 0, key: str | None = None, say=None):
    """A :class:`almost.web.localserver.LocalServer` for ``gen`` whose clients send ``Bearer KEY``."""
    from almost.web.localserver import LocalServer, new_token

    srv = LocalServer(make_app(gen), host, port, token=key or new_token(), what="the irgen API", say=say)
    srv.server.config.app = BearerKey(srv.guarded, srv.token)  # before the Guard: the bearer key is its token
    return srv


def client_kwargs(srv: Any) -> dict:
    """``openai.OpenAI(**client_kwargs(srv))`` for a started server."""
    return {"base_url": f"{srv.base_url}/v1", "api_key": srv.token}
