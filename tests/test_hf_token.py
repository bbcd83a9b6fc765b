"""The Hugging Face token check against a local server that answers like the hub."""

from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pulumi import RunError

from kserve_intel.online.hub import HubUnreachable, check_token
from offline.engine import evaluate, stack_config

GOOD = "hf_good_token_for_tests"
LIMITED = "hf_token_without_llama_access"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
QWEN = "Qwen/Qwen2.5-7B-Instruct"
KNOWN = {LLAMA, QWEN, "mistralai/Mistral-7B-Instruct-v0.3"}


class FakeHub(BaseHTTPRequestHandler):
    """whoami-v2 and resolve/main like huggingface.co: 401 bad token, 403 no access, 404 unknown."""

    seen: list[tuple[str, str, str | None]] = []
    stall = threading.Event()

    def log_message(self, *args):  # keep test output clean
        pass

    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[len("Bearer "):] if header.startswith("Bearer ") else None

    def _answer(self, status: int, body: dict | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self) -> None:
        token = self._token()
        FakeHub.seen.append((self.command, self.path, token))
        if FakeHub.stall.is_set():
            threading.Event().wait(1)  # longer than the client's timeout
        if self.path == "/api/whoami-v2":
            if token in (GOOD, LIMITED):
                return self._answer(200, {"name": "tester", "type": "user"})
            return self._answer(401, {"error": "Invalid credentials in Authorization header"})
        if self.path.endswith("/resolve/main/config.json"):
            model = self.path[1:-len("/resolve/main/config.json")]
            if model not in KNOWN:
                return self._answer(404, {"error": "Repository not found"})
            if token is None:
                return self._answer(401, {"error": "Access to model is restricted"})
            if token == LIMITED and model.startswith("meta-llama/"):
                return self._answer(403, {"error": "Access to model is restricted and you are not in the authorized list"})
            return self._answer(302)
        return self._answer(404)

    do_GET = _handle
    do_HEAD = _handle


@contextmanager
def fake_hub():
    FakeHub.seen = []
    FakeHub.stall.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def hub(monkeypatch):
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with fake_hub() as url:
        yield url


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: nothing listens there


def test_valid_token_with_access_passes(hub):
    assert check_token(GOOD, [LLAMA, QWEN], endpoint=hub) == []
    assert ("GET", "/api/whoami-v2", GOOD) in FakeHub.seen
    assert ("HEAD", f"/{LLAMA}/resolve/main/config.json", GOOD) in FakeHub.seen


def test_invalid_token_is_reported_once(hub):
    (problem,) = check_token("hf_wrong", [LLAMA, QWEN], endpoint=hub)
    assert problem.model is None
    assert "not a valid Hugging Face token (401" in str(problem)
    assert "hf_wrong" not in str(problem)


def test_gated_model_without_access_is_named(hub):
    problems = check_token(LIMITED, [LLAMA, QWEN], endpoint=hub)
    assert [p.model for p in problems] == [LLAMA]
    assert "HTTP 403" in str(problems[0]) and "accept its licence" in str(problems[0])
    assert LIMITED not in str(problems[0])


def test_unknown_model_is_named(hub):
    (problem,) = check_token(GOOD, ["nobody/no-such-model"], endpoint=hub)
    assert problem.model == "nobody/no-such-model" and "404" in problem.message


def test_timeout_gives_a_clear_message(hub):
    FakeHub.stall.set()
    with pytest.raises(HubUnreachable) as caught:
        check_token(GOOD, [LLAMA], endpoint=hub, timeout=0.3)
    assert "no answer from" in str(caught.value) and "within 0.3 s" in str(caught.value)
    assert "HTTPS_PROXY" in str(caught.value) and "validateToken false" in str(caught.value)


def test_connection_refused_gives_a_clear_message(hub):
    with pytest.raises(HubUnreachable) as caught:
        check_token(GOOD, [LLAMA], endpoint=f"http://127.0.0.1:{_dead_port()}", timeout=2)
    assert "cannot connect to" in str(caught.value)


def test_proxy_environment_is_honoured_and_no_proxy_bypasses_it(hub, monkeypatch):
    dead_proxy = f"http://127.0.0.1:{_dead_port()}"
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    monkeypatch.setenv("HTTPS_PROXY", dead_proxy)
    # NO_PROXY=127.0.0.1 (set by the fixture): the hub is reached directly.
    assert check_token(GOOD, [QWEN], endpoint=hub, timeout=2) == []
    # Without NO_PROXY the request goes to the (dead) proxy and says so.
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(HubUnreachable) as caught:
        check_token(GOOD, [QWEN], endpoint=hub, timeout=2)
    assert "proxy" in str(caught.value)


# --- through the program: `pulumi up` checks, preview does not --------------------


def _run(hub: str, token: str, preview: bool, **extra: str):
    overrides = {"hfToken": token, "hfEndpoint": hub, **extra}
    config, secret_keys = stack_config("xeon", overrides)
    config["kserve-intel:models"] = json.dumps([QWEN, LLAMA])
    return evaluate(config, secret_keys, stack="xeon", preview=preview)


def test_up_stops_before_any_resource_naming_the_model(hub):
    with pytest.raises(RunError) as caught:
        _run(hub, LIMITED, preview=False)
    message = str(caught.value)
    assert f"{LLAMA}: the token cannot read this gated model (HTTP 403)" in message
    assert QWEN not in message and LIMITED not in message


def test_up_with_a_good_token_deploys(hub):
    evaluation = _run(hub, GOOD, preview=False)
    assert any(r.type.endswith("InferenceService") for r in evaluation.registrations)
    assert ("HEAD", f"/{LLAMA}/resolve/main/config.json", GOOD) in FakeHub.seen


def test_preview_never_contacts_the_hub(hub):
    _run(hub, "hf_wrong", preview=True)
    assert FakeHub.seen == []


def test_validate_token_false_skips_the_check_on_up(hub):
    _run(hub, "hf_wrong", preview=False, validateToken="false")
    assert FakeHub.seen == []


def test_unreachable_hub_on_up_is_one_clear_error(hub):
    with pytest.raises(RunError) as caught:
        _run(f"http://127.0.0.1:{_dead_port()}", GOOD, preview=False)
    assert str(caught.value).startswith("cannot validate kserve-intel:hfToken: cannot connect to")


def test_gated_lora_adapters_are_checked_by_their_adapter_config(hub):
    # An adapter repository holds adapter_config.json, not config.json (rules/lora.py).
    problems = check_token(GOOD, [], endpoint=hub, gated_adapters=["example/gated-lora"])
    assert ("HEAD", "/example/gated-lora/resolve/main/adapter_config.json", GOOD) in FakeHub.seen
    (problem,) = problems  # the fake hub knows no adapter: 404 names it
    assert problem.model == "example/gated-lora" and "HTTP 404" in str(problem)
