"""Smoke test: one chat completion and one completion per model (and per LoRA adapter) of a stack.

    python -m tools.smoke --stack gaudi                    # URLs from `pulumi stack output --json`
    python -m tools.smoke --outputs-file outputs.json      # the same JSON, saved earlier
    python -m tools.smoke --url http://127.0.0.1:8080/v1 --model Qwen/Qwen2.5-7B-Instruct
    python -m tools.smoke --stack gaudi --url https://gateway.example.com/v1 --token "$TOKEN"

Per model it prints the HTTP status, latency, completion tokens and tokens per
second of each request, and exits 1 if any request failed (2 on bad usage).
With `--url` every model is asked through that one OpenAI base URL (a
port-forward, an ingress or an authenticating gateway that routes on the
`model` field); without it, each model's `openaiBaseUrl` from the stack
outputs is used, which resolves inside the cluster only and ends in that
model's server's own OpenAI base path (vLLM, TGI, OVMS: /v1; a custom
runtime may declare another, e.g. /v3). The public routes serve every model
at `/<model>/v1` whatever its server's path (README, Traffic).
The token (`--token`, or the SMOKE_TOKEN / OPENAI_API_KEY environment
variables) is sent as `Authorization: Bearer <token>` and never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Sequence, TextIO

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_TIMEOUT = 300.0  # seconds per request: a cold Gaudi graph compiles on first use
DEFAULT_RETRIES = 3
DEFAULT_MAX_TOKENS = 32
PROMPT = "Reply with one short sentence: what is KServe?"
# Retried: the gateway or the model is (re)starting or overloaded.
RETRY_STATUSES = (429, 502, 503, 504)
# Seconds; waits 0, 2x, 4x... this between tries (urllib3's exponential backoff).
BACKOFF_FACTOR = 0.5


class SmokeError(Exception):
    """Bad input (no outputs, no models): exit code 2."""


@dataclass(frozen=True)
class Target:
    """One model to ask: the name clients send as `model`, and where."""

    name: str
    served_model_name: str
    base_url: str


@dataclass
class Result:
    model: str
    kind: str  # "chat" or "completion"
    ok: bool
    status: int | None = None
    latency: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str = ""
    text: str = field(default="", repr=False)

    @property
    def tokens_per_second(self) -> float | None:
        if not self.completion_tokens or self.latency <= 0:
            return None
        return self.completion_tokens / self.latency


# --- where the models are -----------------------------------------------------


def read_stack_outputs(stack: str | None, pulumi: str = "pulumi") -> dict[str, Any]:
    """`pulumi stack output --json` of the stack (the selected one if None)."""
    executable = shutil.which(pulumi)
    if executable is None:
        raise SmokeError(f"'{pulumi}' is not on PATH; pass --url or --outputs-file instead of reading the stack")
    command = [executable, "stack", "output", "--json"]
    if stack:
        command += ["--stack", stack]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise SmokeError(f"`{' '.join(command)}` did not answer within 120 s") from None
    if done.returncode != 0:
        raise SmokeError(f"`{' '.join(command)}` failed: {done.stderr.strip() or done.stdout.strip()}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise SmokeError(f"`{' '.join(command)}` did not print JSON: {error}") from None


def targets_from_outputs(outputs: dict[str, Any], url: str | None = None) -> list[Target]:
    models = outputs.get("models")
    if not isinstance(models, list) or not models:
        raise SmokeError("the stack outputs list no models (output `models` is missing or empty)")
    targets = []
    for entry in models:
        try:
            name, served = entry["name"], entry["servedModelName"]
            base = url or entry["openaiBaseUrl"]
        except (KeyError, TypeError):
            raise SmokeError(f"unexpected entry in output `models`: {entry!r}") from None
        targets.append(Target(name=name, served_model_name=served, base_url=base.rstrip("/")))
        # LoRA adapters: the same server, picked by `model` (rules/lora.py).
        for adapter in entry.get("adapters") or []:
            try:
                adapter_name = adapter["servedModelName"]
                adapter_base = url or adapter.get("openaiBaseUrl") or entry["openaiBaseUrl"]
            except (KeyError, TypeError):
                raise SmokeError(f"unexpected adapter in output `models` ({name}): {adapter!r}") from None
            targets.append(Target(name=f"{name}/{adapter_name}", served_model_name=adapter_name,
                                  base_url=adapter_base.rstrip("/")))
    return targets


# --- asking -----------------------------------------------------------------------


def session(token: str | None, retries: int) -> requests.Session:
    """A session that retries connection errors and 429/502/503/504 with backoff."""
    http = requests.Session()
    retry = Retry(
        total=retries, connect=retries, read=retries, status=retries,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET", "POST"}),
        backoff_factor=BACKOFF_FACTOR, respect_retry_after_header=True, raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    http.headers["Content-Type"] = "application/json"
    if token:
        http.headers["Authorization"] = f"Bearer {token}"
    return http


def _request(http: requests.Session, target: Target, kind: str, max_tokens: int, timeout: float) -> Result:
    if kind == "chat":
        path = "/chat/completions"
        body: dict[str, Any] = {"messages": [{"role": "user", "content": PROMPT}]}
    else:
        path = "/completions"
        body = {"prompt": PROMPT}
    body.update({"model": target.served_model_name, "max_tokens": max_tokens, "temperature": 0})
    result = Result(model=target.name, kind=kind, ok=False)
    started = time.monotonic()
    try:
        response = http.post(target.base_url + path, json=body, timeout=timeout)
    except requests.RequestException as error:
        result.latency = time.monotonic() - started
        result.error = _short(f"{type(error).__name__}: {error}")
        return result
    result.latency = time.monotonic() - started
    result.status = response.status_code
    if response.status_code != 200:
        result.error = _short(f"HTTP {response.status_code}: {response.text.strip()}")
        return result
    try:
        payload = response.json()
        choice = payload["choices"][0]
        result.text = choice["message"]["content"] if kind == "chat" else choice["text"]
    except (ValueError, KeyError, IndexError, TypeError):
        result.error = _short(f"not an OpenAI {kind} response: {response.text.strip()}")
        return result
    usage = payload.get("usage") or {}
    result.prompt_tokens = usage.get("prompt_tokens")
    result.completion_tokens = usage.get("completion_tokens")
    if not result.text and not result.completion_tokens:
        result.error = "empty answer (no text, no completion tokens)"
        return result
    result.ok = True
    return result


def run(targets: Sequence[Target], token: str | None = None, timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES, max_tokens: int = DEFAULT_MAX_TOKENS) -> list[Result]:
    """Ask every model both ways; never raises for a failing model."""
    http = session(token, retries)
    try:
        return [_request(http, t, kind, max_tokens, timeout) for t in targets for kind in ("chat", "completion")]
    finally:
        http.close()


# --- reporting ----------------------------------------------------------------------


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def report(results: Sequence[Result], out: TextIO) -> None:
    header = ("model", "request", "status", "latency", "tokens", "tokens/s", "result")
    rows = [header]
    for r in results:
        tps = r.tokens_per_second
        rows.append((
            r.model, r.kind, str(r.status) if r.status is not None else "-",
            f"{r.latency:.2f}s", str(r.completion_tokens) if r.completion_tokens is not None else "-",
            f"{tps:.1f}" if tps is not None else "-", "ok" if r.ok else f"FAILED {r.error}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] + "\n")
    failed = sum(not r.ok for r in results)
    out.write(f"smoke: {len(results) - failed} requests ok, {failed} failed\n")


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", help="Pulumi stack whose outputs list the models (default: the selected stack)")
    parser.add_argument("--outputs-file", help="JSON of `pulumi stack output --json` instead of calling pulumi")
    parser.add_argument("--url", help="OpenAI base URL (ending in /v1) to ask every model through")
    parser.add_argument("--model", action="append", default=[],
                        help="served model name to ask (repeatable); with --url, instead of the stack's models")
    parser.add_argument("--token", help="bearer token for an authenticating gateway (default: $SMOKE_TOKEN or $OPENAI_API_KEY)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per request (default: %(default)s)")
    parser.add_argument("--retries", type=int, default=DEFAULT_RETRIES, help="retries on connection errors and 429/5xx (default: %(default)s)")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="default: %(default)s")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("SMOKE_TOKEN") or os.environ.get("OPENAI_API_KEY") or None
    try:
        if args.model:
            if not args.url:
                raise SmokeError("--model needs --url (where to send the requests)")
            if args.stack or args.outputs_file:
                raise SmokeError("--model replaces the stack's models; do not combine it with --stack or --outputs-file")
            targets = [Target(m, m, args.url.rstrip("/")) for m in args.model]
        else:
            if args.outputs_file:
                if args.stack:
                    raise SmokeError("give --stack or --outputs-file, not both")
                with open(args.outputs_file, encoding="utf-8") as handle:
                    outputs = json.load(handle)
            else:
                outputs = read_stack_outputs(args.stack)
            targets = targets_from_outputs(outputs, args.url)
        if args.timeout <= 0 or args.retries < 0 or args.max_tokens < 1:
            raise SmokeError("--timeout must be > 0, --retries >= 0 and --max-tokens >= 1")
    except (SmokeError, OSError, json.JSONDecodeError) as error:
        print(f"smoke: {error}", file=sys.stderr)
        return 2
    results = run(targets, token=token, timeout=args.timeout, retries=args.retries, max_tokens=args.max_tokens)
    if args.json:
        json.dump([{**{k: v for k, v in vars(r).items() if k != "text"}, "tokensPerSecond": r.tokens_per_second}
                   for r in results], out, indent=2)
        out.write("\n")
    else:
        report(results, out)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
