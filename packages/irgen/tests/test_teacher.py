"""The teacher client against a local fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from almost.errors import UserError
from almost_irgen.rules import generate
from almost_irgen.teacher import TeacherClient, TeacherError

IR = {"ir_version": "1.0", "class_name": "Lamp", "behaviours": [
    {"trigger": {"event": "start"}, "actions": [{"op": "log", "message": "on"}]}]}
GOOD_ANSWER = json.dumps({"ir": IR, "code": generate(IR)})


class FakeServer:
    """Answers /v1/chat/completions with a scripted list of (status, body, delay_s) replies."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body, self.headers.get("Authorization")))
                status, content, delay = outer.replies.pop(0) if outer.replies else (200, GOOD_ANSWER, 0)
                time.sleep(delay)
                if status == 200 and not content.startswith("RAW:"):
                    payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
                else:
                    payload = content.removeprefix("RAW:")
                try:
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", "0.05")
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def client(url, **kw):
    kw = {"timeout_s": 0.5, "retries": 2, "requests_per_min": 0, "backoff_s": 0.01, **kw}
    return TeacherClient(url, "fake-model", api_key="sk-test", **kw)


def test_good_answer_gives_a_valid_triplet_and_sends_key_and_model():
    with FakeServer([]) as srv:
        ir, code = client(srv.url).triplet("a lamp that logs on at start")
    assert ir == IR and "class Lamp" in code
    path, body, auth = srv.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "fake-model" and auth == "Bearer sk-test"


def test_http_429_and_500_are_retried():
    with FakeServer([(429, "{}", 0), (503, "{}", 0)]) as srv:
        ir, _ = client(srv.url).triplet("x")
    assert ir["class_name"] == "Lamp" and len(srv.requests) == 3


def test_timeouts_are_retried_then_reported():
    with FakeServer([(200, GOOD_ANSWER, 1.0)]) as srv:
        assert client(srv.url).triplet("x")[0] == IR  # first one timed out, second answered
    with FakeServer([(200, GOOD_ANSWER, 1.0)] * 3) as srv, pytest.raises(TeacherError, match="timed out"):
        client(srv.url).triplet("x")


@pytest.mark.parametrize("reply, message", [
    ((200, "RAW:<html>oops</html>", 0), "malformed answer"),
    ((200, 'RAW:{"choices": []}', 0), "malformed answer"),
    ((200, "Sure! Here is your script.", 0), "not JSON"),
    ((200, json.dumps({"code": "class X {}"}), 0), "lacks"),
    ((200, json.dumps({"ir": {**IR, "class_name": "lamp"}, "code": "x"}), 0), "class_name"),
    ((400, "bad request", 0), "HTTP 400"),
])
def test_malformed_answers_are_rejected_with_a_reason(reply, message):
    with FakeServer([reply]) as srv, pytest.raises(TeacherError, match=message):
        client(srv.url).triplet("x")


def test_refused_key_is_a_user_error_and_rate_limit_spaces_requests():
    with FakeServer([(401, "{}", 0)]) as srv, pytest.raises(UserError, match="teacher_key_env"):
        client(srv.url).triplet("x")
    with FakeServer([]) as srv:
        c = client(srv.url, requests_per_min=600)  # one request per 0.1 s
        t0 = time.monotonic()
        for _ in range(3):
            c.chat([{"role": "user", "content": "hi"}])
        assert time.monotonic() - t0 >= 0.2


def test_synth_stage_with_teacher_keeps_only_valid_answers_and_resumes(tmp_path):
    from almost.testing import run_cli

    bad = json.dumps({"ir": IR, "code": "public class Lamp : MonoBehaviour { void Start() { int x = ; } }"})
    with FakeServer([(200, bad, 0)]) as srv:
        args = ["run", "--plugin", "irgen", "synth", "--out", str(tmp_path), "--set", "synth.source=teacher",
                "--set", f"synth.teacher_url={srv.url}", "--set", "synth.count=3",
                "--set", "synth.teacher_requests_per_min=0", "--set", "evaluate.compiler=syntax"]
        code, out, err = run_cli(args)
    assert code == 0, out + err
    rows = [json.loads(line) for line in (tmp_path / "synth" / "triplets.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and "rejected" in rows[0] and all("code" in r for r in rows[1:])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["synth"]["triplets"] == 2


def test_interrupted_teacher_synth_resumes_after_the_last_complete_line(tmp_path):
    from almost.testing import run_cli

    first = {"i": 0, "prompt": "p", "source": "teacher", "ir": IR, "code": generate(IR)}
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / "triplets.jsonl").write_text(json.dumps(first) + "\n" + '{"i": 1, "pro')  # torn line
    with FakeServer([]) as srv:
        code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "--out", str(tmp_path),
                                  "--set", "synth.source=teacher", "--set", f"synth.teacher_url={srv.url}",
                                  "--set", "synth.count=3", "--set", "synth.teacher_requests_per_min=0",
                                  "--set", "evaluate.compiler=syntax"])
    assert code == 0, out + err
    assert "resuming: 1 of 3" in out and len(srv.requests) == 2
    rows = [json.loads(x) for x in (tmp_path / "synth" / "triplets.jsonl").read_text().splitlines()]
    assert [r["i"] for r in rows] == [0, 1, 2]
