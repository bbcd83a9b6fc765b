"""The smoke test against a local OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools import smoke

MODELS = ("Qwen/Qwen2.5-7B-Instruct", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B")


class FakeOpenAI:
    """vLLM's OpenAI routes, with switches to misbehave."""

    def __init__(self, models=MODELS, token=None, fail_first=0, broken_model=None, slow_model=None, base_paths=None):
        self.models = set(models)
        # model -> the OpenAI base path its server answers under (vLLM, TGI, OVMS: /v1; a custom runtime: e.g. /v3)
        self.base_paths = dict(base_paths or {})
        self.token = token
        self.fail_first = fail_first  # answer 503 to this many requests first
        self.broken_model = broken_model
        self.slow_model = slow_model
        self.release = threading.Event()  # the slow model answers once this is set
        self.requests: list[tuple[str, dict, dict]] = []
        self.lock = threading.Lock()

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _send(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.requests.append((self.path, dict(self.headers), body))
                    fail = fake.fail_first > 0
                    fake.fail_first -= 1 if fail else 0
                if fail:
                    return self._send(503, {"error": "warming up"})
                if fake.token and self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"error": "missing or bad token"})
                model = body.get("model")
                if model not in fake.models:
                    return self._send(404, {"object": "error", "message": f"The model `{model}` does not exist."})
                if model == fake.broken_model:
                    return self._send(500, {"object": "error", "message": "engine dead"})
                if model == fake.slow_model:
                    fake.release.wait(10)
                usage = {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}
                base = fake.base_paths.get(model, "/v1")
                if self.path == f"{base}/chat/completions":
                    choice = {"index": 0, "message": {"role": "assistant", "content": "KServe serves models."}, "finish_reason": "length"}
                    return self._send(200, {"object": "chat.completion", "model": model, "choices": [choice], "usage": usage})
                if self.path == f"{base}/completions":
                    choice = {"index": 0, "text": " KServe serves models.", "finish_reason": "length"}
                    return self._send(200, {"object": "text_completion", "model": model, "choices": [choice], "usage": usage})
                return self._send(404, {"detail": "Not Found"})

        return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is expected here


@contextmanager
def serve(fake: FakeOpenAI):
    server = _QuietServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def outputs_for(url: str, models=MODELS) -> dict:
    return {"platform": "gaudi", "models": [
        {"id": m, "name": m.split("/")[1].lower(), "servedModelName": m, "namespace": "intel-inference",
         "openaiBaseUrl": url, "inClusterUrl": url[:-3], "externalUrl": "http://x"} for m in models]}


def run_main(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return smoke.main(list(args), out=out), out.getvalue()


def test_every_model_answers_a_chat_and_a_completion(tmp_path):
    fake = FakeOpenAI()
    with serve(fake) as url:
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs_for(url)))
        code, text = run_main("--outputs-file", str(path), "--max-tokens", "8")
    assert code == 0, text
    assert [(p, b["model"]) for p, _, b in fake.requests] == [
        ("/v1/chat/completions", MODELS[0]), ("/v1/completions", MODELS[0]),
        ("/v1/chat/completions", MODELS[1]), ("/v1/completions", MODELS[1]),
    ]
    chat = fake.requests[0][2]
    assert chat["messages"][0]["role"] == "user" and chat["max_tokens"] == 8
    lines = text.strip().splitlines()
    assert lines[0].split()[:6] == ["model", "request", "status", "latency", "tokens", "tokens/s"]
    rows = [line.split() for line in lines[1:-1]]
    assert [(r[0], r[1], r[2], r[4], r[-1]) for r in rows] == [
        ("qwen2.5-7b-instruct", "chat", "200", "8", "ok"), ("qwen2.5-7b-instruct", "completion", "200", "8", "ok"),
        ("deepseek-r1-distill-qwen-32b", "chat", "200", "8", "ok"),
        ("deepseek-r1-distill-qwen-32b", "completion", "200", "8", "ok"),
    ]
    assert all(r[3].endswith("s") and float(r[5]) > 0 for r in rows)
    assert lines[-1] == "smoke: 4 requests ok, 0 failed"


def test_each_model_is_asked_at_its_own_openai_base_path(tmp_path):
    # Model 1 runs on a server whose OpenAI API is under /v3 (its openaiBaseUrl says so).
    fake = FakeOpenAI(base_paths={MODELS[1]: "/v3"})
    with serve(fake) as url:
        outputs = outputs_for(url)
        outputs["models"][1]["openaiBaseUrl"] = url[: -len("/v1")] + "/v3"
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs))
        code, text = run_main("--outputs-file", str(path))
        assert code == 0, text
        assert [p for p, _, _ in fake.requests] == [
            "/v1/chat/completions", "/v1/completions", "/v3/chat/completions", "/v3/completions"]
        # Asked at /v1, that server answers 404: the check would catch a smoke test that ignored the base path.
        outputs["models"][1]["openaiBaseUrl"] = url
        path.write_text(json.dumps(outputs))
        code, text = run_main("--outputs-file", str(path), "--retries", "0")
    assert code == 1 and "HTTP 404" in text


def test_a_failing_model_makes_the_exit_code_non_zero(tmp_path):
    fake = FakeOpenAI(broken_model=MODELS[1])
    with serve(fake) as url:
        code, text = run_main("--url", url, "--model", MODELS[0], "--model", MODELS[1], "--retries", "0")
    assert code == 1
    assert "FAILED HTTP 500" in text and "engine dead" in text
    assert text.strip().endswith("smoke: 2 requests ok, 2 failed")


def test_an_unknown_model_fails():
    with serve(FakeOpenAI()) as url:
        code, text = run_main("--url", url, "--model", "nobody/nothing")
    assert code == 1 and "HTTP 404" in text


def test_token_is_sent_as_bearer_and_never_printed(monkeypatch):
    fake = FakeOpenAI(token="s3cret-token")
    with serve(fake) as url:
        code, text = run_main("--url", url, "--model", MODELS[0])
        assert code == 1 and "HTTP 401" in text
        code, text = run_main("--url", url, "--model", MODELS[0], "--token", "s3cret-token")
        assert code == 0, text
        monkeypatch.setenv("SMOKE_TOKEN", "s3cret-token")
        code, text2 = run_main("--url", url, "--model", MODELS[0], "--json")
        assert code == 0
    assert fake.requests[-1][1]["Authorization"] == "Bearer s3cret-token"
    assert "s3cret-token" not in text + text2
    results = json.loads(text2)
    assert [(r["kind"], r["status"], r["completion_tokens"], r["ok"]) for r in results] == [
        ("chat", 200, 8, True), ("completion", 200, 8, True)]


def test_unavailable_answers_are_retried(monkeypatch):
    monkeypatch.setattr(smoke, "BACKOFF_FACTOR", 0.01)
    fake = FakeOpenAI(fail_first=2)
    with serve(fake) as url:
        code, text = run_main("--url", url, "--model", MODELS[0], "--retries", "3")
    assert code == 0, text
    assert len(fake.requests) == 4  # two 503s, then chat and completion


def test_retries_are_bounded():
    fake = FakeOpenAI(fail_first=100)
    with serve(fake) as url:
        code, text = run_main("--url", url, "--model", MODELS[0], "--retries", "1")
    assert code == 1 and "HTTP 503" in text
    assert len(fake.requests) == 4  # two tries per request


def test_a_request_that_exceeds_the_timeout_fails():
    fake = FakeOpenAI(slow_model=MODELS[0])
    with serve(fake) as url:
        code, text = run_main("--url", url, "--model", MODELS[0], "--timeout", "0.2", "--retries", "0")
    assert code == 1
    assert "Timeout" in text


def test_nothing_listening_fails_without_hanging():
    with serve(FakeOpenAI()) as url:
        pass  # the port is closed again
    code, text = run_main("--url", url, "--model", MODELS[0], "--retries", "0", "--timeout", "2")
    assert code == 1 and "ConnectionError" in text


def _fake_pulumi(tmp_path, stdout: str, code: int = 0) -> None:
    script = tmp_path / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(tmp_path / 'args.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"sys.stdout.write({stdout!r})\n"
        f"sys.exit({code})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_reads_the_stack_outputs_through_the_pulumi_cli(tmp_path, monkeypatch):
    fake = FakeOpenAI()
    with serve(fake) as url:
        _fake_pulumi(tmp_path, json.dumps(outputs_for(url, MODELS[:1])))
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
        code, text = run_main("--stack", "gaudi")
    assert code == 0, text
    assert json.loads((tmp_path / "args.json").read_text()) == ["stack", "output", "--json", "--stack", "gaudi"]
    assert len(fake.requests) == 2


def test_url_overrides_the_in_cluster_urls_of_the_outputs(tmp_path):
    fake = FakeOpenAI()
    with serve(fake) as url:
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs_for("http://qwen-predictor.intel-inference.svc.cluster.local/v1")))
        code, text = run_main("--outputs-file", str(path), "--url", url + "/")
    assert code == 0, text
    assert len(fake.requests) == 4


@pytest.mark.parametrize("args,message", [
    (["--model", "m"], "--model needs --url"),
    (["--url", "http://127.0.0.1:9/v1", "--model", "m", "--stack", "x"], "do not combine it"),
    (["--url", "http://127.0.0.1:9/v1", "--model", "m", "--timeout", "0"], "--timeout must be > 0"),
])
def test_bad_usage_exits_2(args, message, capsys):
    code, _ = run_main(*args)
    assert code == 2 and message in capsys.readouterr().err


def test_stack_without_models_or_failing_pulumi_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    _fake_pulumi(tmp_path, json.dumps({"models": []}))
    assert run_main("--stack", "x")[0] == 2
    assert "list no models" in capsys.readouterr().err
    _fake_pulumi(tmp_path, "", code=255)
    assert run_main("--stack", "x")[0] == 2
    assert "failed" in capsys.readouterr().err


def test_every_lora_adapter_is_asked_by_its_served_name(tmp_path):
    """One vLLM serving a base and two adapters: the smoke test asks all three through the base URL."""
    base = MODELS[0]
    fake = FakeOpenAI(models=(base, "sql-lora", "chat-lora"))
    with serve(fake) as url:
        outputs = outputs_for(url, models=(base,))
        outputs["models"][0]["adapters"] = [
            {"servedModelName": "sql-lora", "id": "org/sql-lora", "baseModel": base, "openaiBaseUrl": url},
            # A registry adapter's entry: `source` instead of `id` (rules/lora.py AdapterPlan.summary).
            {"servedModelName": "chat-lora", "baseModel": base, "openaiBaseUrl": url,
             "source": {"registeredModel": "chat-lora", "alias": "champion",
                        "resolved": {"version": "2", "uri": "s3://mlflow/0/models/m-1/artifacts/peft"}}},
        ]
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs))
        code, text = run_main("--outputs-file", str(path), "--max-tokens", "8")
    assert code == 0, text
    assert [b["model"] for _, _, b in fake.requests] == [base, base, "sql-lora", "sql-lora", "chat-lora", "chat-lora"]
    rows = [line.split() for line in text.strip().splitlines()[1:-1]]
    assert [r[0] for r in rows][2:] == ["qwen2.5-7b-instruct/sql-lora"] * 2 + ["qwen2.5-7b-instruct/chat-lora"] * 2
    assert text.strip().splitlines()[-1] == "smoke: 6 requests ok, 0 failed"


def test_an_adapter_the_server_does_not_hold_fails_the_smoke_test(tmp_path):
    base = MODELS[0]
    fake = FakeOpenAI(models=(base, "sql-lora"))
    with serve(fake) as url:
        outputs = outputs_for(url, models=(base,))
        outputs["models"][0]["adapters"] = [{"servedModelName": "sql-lora"}, {"servedModelName": "gone-lora"}]
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs))
        code, text = run_main("--outputs-file", str(path), "--max-tokens", "8")
    assert code == 1
    assert "smoke: 4 requests ok, 2 failed" in text
