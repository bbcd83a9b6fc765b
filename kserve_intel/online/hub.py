"""Check, before any model is deployed, that the Hugging Face token works.

Called during `pulumi up` only (never during preview; `validateToken: false`
turns it off for air-gapped clusters). Uses `requests`, which honours
HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment, like the pods'
hub client does.

1. `GET <endpoint>/api/whoami-v2` with the token: 401 means the token is not valid.
2. For each gated model, `HEAD <endpoint>/<id>/resolve/main/config.json`
   (the file vLLM downloads first): 401/403 means the token's account may not
   read that model (licence not accepted), 404 means no such model.

Messages never contain the token. This module must not import Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import requests

DEFAULT_TIMEOUT_SECONDS = 10.0
_PROXY_HINT = (
    "if this machine reaches the internet through a proxy, set HTTPS_PROXY (and NO_PROXY for in-cluster hosts); "
    "on an air-gapped cluster set `kserve-intel:validateToken false`"
)


@dataclass(frozen=True)
class TokenProblem:
    """One reason the token cannot serve the stack; `model` is None for the token itself."""

    model: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.model}: {self.message}" if self.model else self.message


class HubUnreachable(Exception):
    """The hub (or mirror) could not be asked at all."""


def _request(session: requests.Session, method: str, url: str, token: str, timeout: float) -> requests.Response:
    try:
        return session.request(
            method, url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout, allow_redirects=False,
        )
    except requests.exceptions.ProxyError as error:
        raise HubUnreachable(f"the proxy refused or failed the request to {url} ({type(error).__name__}); {_PROXY_HINT}") from None
    except requests.exceptions.Timeout:
        raise HubUnreachable(f"no answer from {url} within {timeout:g} s; {_PROXY_HINT}") from None
    except requests.exceptions.RequestException as error:
        raise HubUnreachable(f"cannot connect to {url} ({type(error).__name__}); {_PROXY_HINT}") from None


def check_token(
    token: str,
    gated_models: Iterable[str],
    endpoint: str = "https://huggingface.co",
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    gated_adapters: Iterable[str] = (),
) -> list[TokenProblem]:
    """Problems with `token` for these gated models and LoRA adapters (empty list: all good).

    An adapter repository holds `adapter_config.json` (vLLM's first read) instead of `config.json`.

    Raises `HubUnreachable` when the endpoint cannot be reached at all.
    """
    endpoint = endpoint.rstrip("/")
    with requests.Session() as session:  # trust_env: proxies from the environment
        whoami = _request(session, "GET", f"{endpoint}/api/whoami-v2", token, timeout)
        if whoami.status_code == 401:
            return [TokenProblem(None, f"hfToken is not a valid Hugging Face token (401 from {endpoint}/api/whoami-v2); "
                                       "create a read token at https://huggingface.co/settings/tokens")]
        if whoami.status_code != 200:
            return [TokenProblem(None, f"unexpected HTTP {whoami.status_code} from {endpoint}/api/whoami-v2")]
        problems = []
        wanted = [(m, "config.json") for m in gated_models] + [(a, "adapter_config.json") for a in gated_adapters]
        for model, first_file in wanted:
            url = f"{endpoint}/{model}/resolve/main/{first_file}"
            status = _request(session, "HEAD", url, token, timeout).status_code
            if status in (200, 302, 303, 307, 308):
                continue
            if status in (401, 403):
                problems.append(TokenProblem(model, f"the token cannot read this gated model (HTTP {status}); accept its "
                                                    f"licence on {endpoint}/{model} with the token's account"))
            elif status == 404:
                problems.append(TokenProblem(model, f"not found on {endpoint} (HTTP 404); check the model id"))
            else:
                problems.append(TokenProblem(model, f"unexpected HTTP {status} from {url}"))
        return problems
