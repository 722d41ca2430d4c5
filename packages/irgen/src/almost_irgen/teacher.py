"""A teacher model behind any OpenAI-compatible chat endpoint (Ollama, LM Studio, vLLM, APIs).

:class:`TeacherClient` POSTs to ``{base_url}/chat/completions`` with ``httpx``; it spaces
requests to ``requests_per_min``, retries timeouts, connection errors, HTTP 429 (honouring
``Retry-After``) and 5xx with exponential backoff, and turns everything else into a
:class:`TeacherError` with one plain sentence. :meth:`TeacherClient.triplet` asks for a JSON
object ``{"ir": ..., "code": ...}`` and validates the IR before returning it; the caller
compiles the code. :meth:`TeacherClient.paraphrase` rewrites a generated request the way a
person would type it (``synth.teacher_paraphrase``).
"""

from __future__ import annotations

import json
import re
import time

from almost.errors import UserError

from .ir import IR_VERSION, SCHEMA, IRError, validate

INSTRUCTIONS = (
    "You turn requests for Unity behaviours into a JSON object with two keys: \"ir\", a spec that "
    f"follows this JSON Schema (ir_version {IR_VERSION}): {json.dumps(SCHEMA, separators=(',', ':'))}; "
    "and \"code\", the C# 7.3 MonoBehaviour implementing it (one file, `using UnityEngine;`). "
    "Answer with the JSON object only."
)


PARAPHRASE = (
    "Rewrite this request for a Unity script the way a game developer would type it to an assistant: "
    "one short casual sentence, any word order, no class name unless it matters. Keep every number, key, "
    "tag, axis and direction it gives, and say names like hitSound in words if you like. Answer with the "
    "sentence only."
)


class TeacherError(Exception):
    """One teacher answer could not be used (the run goes on with the next prompt)."""


class TeacherClient:
    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 60.0,
                 retries: int = 4, requests_per_min: float = 30.0, backoff_s: float = 1.0) -> None:
        import httpx

        if not base_url.startswith(("http://", "https://")):
            raise UserError(f"synth.teacher_url {base_url!r} must start with http:// or https://")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=timeout_s, headers=headers)
        self.model, self.retries, self.backoff_s = model, retries, backoff_s
        self.min_interval = 60.0 / requests_per_min if requests_per_min > 0 else 0.0
        self._last = 0.0

    def _wait_turn(self) -> None:
        delay = self._last + self.min_interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._last = time.monotonic()

    def chat(self, messages: list[dict], temperature: float = 0.2) -> str:
        """The assistant text for ``messages``; retries transient failures."""
        import httpx

        body = {"model": self.model, "messages": messages, "temperature": temperature}
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(wait if (wait := self._retry_after) is not None else self.backoff_s * 2 ** (attempt - 1))
            self._retry_after = None
            self._wait_turn()
            try:
                resp = self.client.post("chat/completions", json=body)
            except httpx.TimeoutException:
                last = "the request timed out"
                continue
            except httpx.TransportError as e:
                last = f"could not connect ({e.__class__.__name__})"
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last = f"HTTP {resp.status_code}"
                ra = resp.headers.get("retry-after")
                self._retry_after = float(ra) if ra and ra.replace(".", "", 1).isdigit() else None
                continue
            if resp.status_code in (401, 403):
                raise UserError(f"the teacher at {self.client.base_url} refused the API key (HTTP {resp.status_code}); "
                                "set the environment variable named by synth.teacher_key_env")
            if resp.status_code >= 400:
                raise TeacherError(f"HTTP {resp.status_code}: {resp.text[:200]}")
            try:
                return resp.json()["choices"][0]["message"]["content"]
            except (ValueError, KeyError, IndexError, TypeError):
                raise TeacherError(f"malformed answer (not an OpenAI chat completion): {resp.text[:200]}") from None
        raise TeacherError(f"gave up after {self.retries + 1} attempts: {last}")

    _retry_after: float | None = None

    def triplet(self, prompt: str) -> tuple[dict, str]:
        """``(ir, code)`` for a request; TeacherError if the answer is not usable."""
        text = self.chat([{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": prompt}])
        m = re.search(r"\{.*\}", text, re.S)
        try:
            data = json.loads(m.group(0) if m else text)
        except json.JSONDecodeError as e:
            raise TeacherError(f"answer is not JSON ({e.msg})") from None
        if not isinstance(data, dict) or not isinstance(data.get("code"), str) or "ir" not in data:
            raise TeacherError("answer lacks 'ir' and 'code'")
        try:
            ir = validate(data["ir"], "teacher IR")
        except IRError as e:
            raise TeacherError(str(e)) from None
        return ir, data["code"]

    def paraphrase(self, request: str) -> str:
        """The request rewritten as a person would type it (one line); TeacherError if unusable."""
        text = self.chat([{"role": "system", "content": PARAPHRASE}, {"role": "user", "content": request}],
                         temperature=0.9)
        line = next((x.strip() for x in text.strip().splitlines() if x.strip()), "").strip("\"'` ")
        if not line or len(line) > 400:
            raise TeacherError("empty paraphrase" if not line else "paraphrase longer than 400 characters")
        return line

    def close(self) -> None:
        self.client.close()
