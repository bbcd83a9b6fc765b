"""Check, before any model is deployed, that the Hugging Face token works.

Called during `pulumi up` only (never during preview; `validateToken: false`
turns it off for air-gapped clusters). Uses `requests`, which honours
HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment, like the pods'
hub client does.

1. `GET <endpoint>/api/whoami-v2` with the token: 401 means the token is not valid.
2. For each gated model, `HEAD <endpoint>/<id>/resolve/main/config.json`
   (the file vLLM downloads first): 401/403 means the token's account may not
   read that model (licence not accepted), 404 means no such model.

3. `read_model_config`: `GET <endpoint>/<id>/resolve/<revision>/config.json` (with the token when there is
   one): the shape of a model the catalogue does not know (catalog/model_shapes.py parses it), during
   `pulumi preview` and `up` (rules/hub.py `read_shapes`, called from components/hub_access.py).

Messages never contain the token. This module must not import Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

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


class ConfigNotReadable(Exception):
    """The hub answered, but not with the model's config.json (HTTP status in the message)."""


def _request(session: requests.Session, method: str, url: str, token: str | None, timeout: float,
             allow_redirects: bool = False) -> requests.Response:
    try:
        return session.request(
            method, url, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=timeout,
            allow_redirects=allow_redirects,
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


def read_model_config(model_id: str, token: str | None = None, endpoint: str = "https://huggingface.co",
                      revision: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> dict[str, Any]:
    """The model's config.json from the hub (or mirror), as vLLM downloads it first.

    Raises `HubUnreachable` when the endpoint cannot be reached, `ConfigNotReadable` when it answers otherwise
    (gated without access, no such model, not JSON).
    """
    url = f"{endpoint.rstrip('/')}/{model_id}/resolve/{revision or 'main'}/config.json"
    with requests.Session() as session:
        # The hub redirects resolve/ to its CDN (or a LFS host); follow, as vLLM's downloader does.
        answer = _request(session, "GET", url, token, timeout, allow_redirects=True)
    if answer.status_code != 200:
        reason = {401: "gated: the token cannot read it", 403: "gated: the token cannot read it",
                  404: "not found"}.get(answer.status_code, "unexpected answer")
        raise ConfigNotReadable(f"HTTP {answer.status_code} from {url} ({reason})")
    try:
        config = answer.json()
    except ValueError:
        raise ConfigNotReadable(f"{url} is not JSON") from None
    if not isinstance(config, dict):
        raise ConfigNotReadable(f"{url} is not a JSON object")
    return config
