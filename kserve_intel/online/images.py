"""Resolve image references to digests through the registries' distribution API, and rewrite them to mirrors.

Called at deploy time (`pulumi preview` and `up`) for every image a stack runs, so what is applied is
`repo:tag@sha256:...` and a tag that does not exist is refused before any resource. Offline renders never
call it. Plain Python with `requests` (proxies from the environment); no Pulumi.

Reference parsing follows Docker's (github.com/distribution/reference v0.6.0, normalize.go
`ParseNormalizedNamed` / `splitDockerDomain` l.126-170, regexp.go): a first path element is a registry host
only if it contains "." or ":" or is "localhost" (or has uppercase letters); otherwise the image is on Docker
Hub (`docker.io`), and a single-element Docker Hub name gets `library/`. No tag and no digest means `latest`.

Resolution (the distribution spec's "pull manifest" with the token flow Docker Hub, ghcr.io, quay.io and
vault.habana.ai use):
  1. `HEAD /v2/<name>/manifests/<tag>` with Accept for OCI index/manifest and Docker manifest list/v2
     (so a multi-arch tag resolves to its index, as `docker buildx imagetools inspect` and the kubelet see it);
  2. on 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`: GET the realm with service and
     scope, anonymously or with the basic credentials the caller gives for that registry host; retry with
     `Authorization: Bearer <token>` (a `Basic` challenge is answered with the credentials directly);
  3. the digest is the `Docker-Content-Digest` header; without it, GET the manifest and hash its bytes.
Errors are `TagNotFound` (404 / MANIFEST_UNKNOWN / NAME_UNKNOWN), `Unauthorized` (401/403 after auth, or
the token endpoint refusing the credentials), `RegistryUnreachable` (connection error, TLS error, timeout)
and `RegistryError` (anything else, e.g. 429 or 5xx), each carrying the registry's own error text.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

import requests

DEFAULT_TIMEOUT_SECONDS = 10.0
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"  # where docker.io's /v2/ API answers (Docker's config.go IndexHostname)
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))

# distribution/reference v0.6.0 regexp.go
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_REMOTE_NAME = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_IDENTIFIER = re.compile(r"[a-f0-9]{64}")
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}  # opencontainers/go-digest algorithms
REPOSITORY_NAME_MAX = 255


class InvalidReference(ValueError):
    """Not an image reference Docker would accept."""


# --------------------------------------------------------------------------------------------- references

@dataclass(frozen=True)
class ImageRef:
    """A normalized reference: registry host, repository path, tag and/or digest.

    `str(ref)` is the fully qualified form (`docker.io/library/nginx:latest`); `familiar()` the short one
    Docker prints (`nginx:latest`)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What goes into /v2/<name>/manifests/<reference>: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar(self) -> str:
        if self.registry != DOCKER_HUB:
            return str(self)
        repo = self.repository.removeprefix("library/") if self.repository.count("/") == 1 else self.repository
        return repo + self._suffix()

    def with_digest(self, digest: str) -> "ImageRef":
        return replace(self, digest=digest)


def parse_reference(ref: str) -> ImageRef:
    """Parse as `docker pull` does (ParseDockerRef): docker.io default, `library/` for single names, tag
    `latest` unless a tag or digest is given. A `name:tag@digest` keeps both (the digest is what is pulled)."""
    if not isinstance(ref, str) or not ref or ref != ref.strip():
        raise InvalidReference(f"invalid reference format: {ref!r}")
    if _IDENTIFIER.fullmatch(ref):
        raise InvalidReference(f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings")
    rest, at, digest = ref.partition("@")
    if at:
        if not _DIGEST.fullmatch(digest):
            raise InvalidReference(f"invalid reference format: {ref!r} (bad digest {digest!r})")
        algorithm, _, hex_part = digest.partition(":")
        if _DIGEST_HEX_LENGTH.get(algorithm) != len(hex_part) or hex_part != hex_part.lower():
            raise InvalidReference(f"invalid digest {digest!r} in {ref!r} (sha256 wants 64 lowercase hex digits)")
    # splitDockerDomain
    first, slash, remainder = rest.partition("/")
    if not slash:
        registry, remote = DOCKER_HUB, rest
    elif first == "localhost" or any(c in first for c in ".:") or first.lower() != first:
        registry, remote = first, remainder
    else:
        registry, remote = DOCKER_HUB, rest
    if registry == "index.docker.io":
        registry = DOCKER_HUB
    # the tag is after the last ':' of the remote name (the host's port is already split off)
    name, colon, tag = remote.rpartition(":") if ":" in remote else (remote, "", "")
    if colon and not _TAG.fullmatch(tag):
        raise InvalidReference(f"invalid reference format: {ref!r} (bad tag {tag!r})")
    if name.lower() != name:
        raise InvalidReference(f"invalid reference format: repository name ({name}) must be lowercase")
    if registry == DOCKER_HUB and "/" not in name:
        name = "library/" + name
    if not _DOMAIN.fullmatch(registry) or not _REMOTE_NAME.fullmatch(name):
        raise InvalidReference(f"invalid reference format: {ref!r}")
    if len(name) > REPOSITORY_NAME_MAX:
        raise InvalidReference(f"repository name must not be more than {REPOSITORY_NAME_MAX} characters: {ref!r}")
    if not colon and not at:
        tag = "latest"
    return ImageRef(registry, name, tag or None, digest or None)


def normalize_host(host: str) -> str:
    host = host.strip().rstrip("/").lower()
    host = host.removeprefix("https://").removeprefix("http://")
    return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def apply_mirrors(ref: str | ImageRef, mirrors: Mapping[str, str]) -> str:
    """Rewrite `ref` to its mirror: {registry host: mirror prefix}, e.g. {"docker.io": "registry.local:5000/dockerhub"}.

    As containerd's hosts.toml (`[host."https://registry.local:5000/v2/dockerhub"]` with `override_path`)
    and air-gap copy tools lay mirrors out: `<prefix>/<repository>` with the repository path kept whole
    (Docker Hub's `library/` included), tag and digest unchanged. A prefix may be a bare host
    (`"ghcr.io": "mirror.corp:5000"`). Host keys match case-insensitively; `docker.io`, `index.docker.io` and
    `registry-1.docker.io` are one. The key `*` applies to every registry without its own entry.
    Returns the fully qualified reference (unchanged but normalized when no mirror applies)."""
    image = ref if isinstance(ref, ImageRef) else parse_reference(ref)
    table = {("*" if k.strip() == "*" else normalize_host(k)): v.strip().rstrip("/") for k, v in mirrors.items()}
    prefix = table.get(image.registry, table.get("*"))
    if not prefix:
        return str(image)
    prefix = prefix.removeprefix("https://").removeprefix("http://")
    mirrored = parse_reference(f"{prefix}/{image.repository}:{image.tag or 'latest'}")
    if mirrored.registry == DOCKER_HUB and normalize_host(prefix.split("/", 1)[0]) != DOCKER_HUB:
        # a prefix without a host part (e.g. "myorg") would silently land on Docker Hub
        raise InvalidReference(f"mirror prefix {prefix!r} has no registry host (write host[:port][/path])")
    return str(replace(mirrored, tag=image.tag, digest=image.digest))


# --------------------------------------------------------------------------------------------- errors

class ImageResolutionError(Exception):
    """Base of the resolution errors; `image` is the reference as given, `detail` the registry's own text."""

    kind = "error"
    detail_label = "registry said"

    def __init__(self, image: str, message: str, detail: str = "") -> None:
        self.image, self.message, self.detail = image, message, detail
        super().__init__(f"{image}: {message}" + (f" ({self.detail_label}: {detail})" if detail else ""))


class TagNotFound(ImageResolutionError):
    kind = "not-found"


class Unauthorized(ImageResolutionError):
    kind = "unauthorized"


class RegistryUnreachable(ImageResolutionError):
    kind = "unreachable"
    detail_label = "cause"


class RegistryError(ImageResolutionError):
    kind = "registry-error"


def registry_error_text(resp: requests.Response) -> str:
    """`CODE: message; ...` from a distribution error body ({"errors": [{code, message, detail}]}), else the
    start of the body, else the HTTP reason."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        parts = []
        for err in body["errors"]:
            if isinstance(err, dict):
                code, message = err.get("code", ""), err.get("message", "")
                parts.append(f"{code}: {message}" if code and message else str(code or message))
        if parts:
            return "; ".join(parts)
    if isinstance(body, dict) and body.get("details"):  # some token endpoints
        return str(body["details"])
    text = (resp.text or "").strip()
    return text[:300] if text else f"HTTP {resp.status_code} {resp.reason or ''}".strip()


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="...",scope="a b"` -> ("bearer", {realm, service, scope}).

    Values may be quoted (with commas and backslash escapes inside) or bare tokens (RFC 7235 auth-param)."""
    header = (header or "").strip()
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    for match in re.finditer(r'\s*,?\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))', rest):
        value = match.group(2)
        value = re.sub(r"\\(.)", r"\1", value) if value is not None else match.group(3)
        params[match.group(1).lower()] = value
    return scheme.lower(), params


# --------------------------------------------------------------------------------------------- resolver

@dataclass(frozen=True)
class Resolved:
    """The answer for one reference: `digest` of what the tag points at now and the `pinned` reference."""

    requested: str
    image: ImageRef
    digest: str
    media_type: str = ""

    @property
    def pinned(self) -> str:
        """The reference as given with `@digest` appended (`repo:tag@sha256:...`); a digest-pinned input as is."""
        return self.requested if "@" in self.requested else f"{self.requested}@{self.digest}"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


class Resolver:
    """Resolves references to digests; tokens are cached per (registry, scope, user) for its lifetime.

    credentials: {registry host: (username, password) or Credentials} (`docker.io` covers Docker Hub);
    plain_http: registry hosts spoken to over http:// (local test registries, in-cluster mirrors);
    verify: passed to requests (True, False or a CA bundle path)."""

    def __init__(self, credentials: Mapping[str, Credentials | tuple[str, str]] | None = None, *,
                 plain_http: Iterable[str] = (), timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 verify: bool | str = True, session: requests.Session | None = None,
                 user_agent: str = "kserve-intel-image-resolver") -> None:
        self.credentials = {normalize_host(h): (c if isinstance(c, Credentials) else Credentials(*c))
                            for h, c in (credentials or {}).items()}
        self.plain_http = {normalize_host(h) for h in plain_http}
        self.timeout, self.verify, self.user_agent = timeout, verify, user_agent
        self.session = session or requests.Session()  # trust_env: HTTPS_PROXY / NO_PROXY from the environment
        self._tokens: dict[tuple[str, str, str], str] = {}
        self._cache: dict[str, Resolved] = {}

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "Resolver":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ HTTP
    def _base(self, image: ImageRef) -> str:
        scheme = "http" if image.registry in self.plain_http else "https"
        return f"{scheme}://{image.api_host}"

    def _send(self, requested: str, method: str, url: str, headers: dict[str, str], **kwargs) -> requests.Response:
        try:
            return self.session.request(method, url, headers={"User-Agent": self.user_agent, **headers},
                                        timeout=self.timeout, verify=self.verify, **kwargs)
        except requests.exceptions.SSLError as error:
            raise RegistryUnreachable(requested, f"TLS handshake with {url.split('/')[2]} failed "
                                      "(a plain-HTTP registry must be listed as such; a private CA needs its bundle)",
                                      _short(error)) from None
        except requests.exceptions.Timeout:
            raise RegistryUnreachable(requested, f"no answer from {url.split('/')[2]} within {self.timeout:g} s") from None
        except requests.exceptions.RequestException as error:
            raise RegistryUnreachable(requested, f"cannot connect to {url.split('/')[2]} ({type(error).__name__})",
                                      _short(error)) from None

    def _authorize(self, requested: str, image: ImageRef, challenge: str, scope: str) -> str | None:
        """The Authorization header value answering a 401 challenge, or None if there is nothing to answer."""
        scheme, params = parse_challenge(challenge)
        creds = self.credentials.get(image.registry)
        if scheme == "basic":
            if not creds:
                return None
            return "Basic " + base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        if scheme != "bearer" or not params.get("realm"):
            return None
        scope = params.get("scope") or scope
        key = (image.registry, scope, creds.username if creds else "")
        if key in self._tokens:
            return f"Bearer {self._tokens[key]}"
        query = {"scope": scope}
        if params.get("service"):
            query["service"] = params["service"]
        resp = self._send(requested, "GET", params["realm"], {"Accept": "application/json"}, params=query,
                          auth=(creds.username, creds.password) if creds else None)
        if resp.status_code in (401, 403):
            who = f"the credentials for {image.registry}" if creds else "anonymous access"
            raise Unauthorized(requested, f"the token service {params['realm']} refused {who} "
                               f"(HTTP {resp.status_code})", registry_error_text(resp))
        if resp.status_code != 200:
            raise RegistryError(requested, f"the token service {params['realm']} answered HTTP {resp.status_code}",
                                registry_error_text(resp))
        try:
            body = resp.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise RegistryError(requested, f"the token service {params['realm']} returned no token")
        self._tokens[key] = token
        return f"Bearer {token}"

    def _manifest_request(self, requested: str, image: ImageRef, method: str) -> requests.Response:
        url = f"{self._base(image)}/v2/{image.repository}/manifests/{image.reference}"
        headers = {"Accept": MANIFEST_ACCEPT}
        scope = f"repository:{image.repository}:pull"
        creds = self.credentials.get(image.registry)
        cached = self._tokens.get((image.registry, scope, creds.username if creds else ""))
        if cached:
            headers["Authorization"] = f"Bearer {cached}"
        resp = self._send(requested, method, url, headers, allow_redirects=True)
        if resp.status_code == 401:
            challenge = resp.headers.get("WWW-Authenticate", "")
            if cached:  # an expired cached token: forget it and ask again
                self._tokens = {k: v for k, v in self._tokens.items() if v != cached}
            authorization = self._authorize(requested, image, challenge, scope)
            if authorization:
                resp = self._send(requested, method, url, {**headers, "Authorization": authorization},
                                  allow_redirects=True)
        return resp

    # ------------------------------------------------------------------ API
    def resolve(self, ref: str) -> Resolved:
        """Digest of what `ref` points at now; a digest-pinned `ref` is returned as is (no request)."""
        if ref in self._cache:
            return self._cache[ref]
        try:
            image = parse_reference(ref)
        except InvalidReference as error:
            raise ImageResolutionError(ref, str(error)) from None
        if image.digest:
            return Resolved(ref, image, image.digest)
        resp = self._manifest_request(ref, image, "HEAD")
        if resp.status_code == 200 and not _valid_digest(resp.headers.get("Docker-Content-Digest", "")):
            resp = self._manifest_request(ref, image, "GET")  # no digest header: hash the bytes
            if resp.status_code == 200:
                digest = resp.headers.get("Docker-Content-Digest", "")
                if not _valid_digest(digest):
                    digest = "sha256:" + hashlib.sha256(resp.content).hexdigest()
                return self._remember(ref, Resolved(ref, image, digest, _media_type(resp)))
        if resp.status_code == 200:
            return self._remember(ref, Resolved(ref, image, resp.headers["Docker-Content-Digest"], _media_type(resp)))
        if resp.request.method == "HEAD" and resp.status_code in (401, 403, 404):
            # HEAD answers carry no body: GET once for the registry's own error code and message
            resp = self._manifest_request(ref, image, "GET")
            if resp.status_code == 200:  # a registry whose HEAD is broken
                return self._remember(ref, Resolved(ref, image, resp.headers.get("Docker-Content-Digest")
                                                    or "sha256:" + hashlib.sha256(resp.content).hexdigest(),
                                                    _media_type(resp)))
        raise self._classify(ref, image, resp)

    def resolve_all(self, refs: Iterable[str]) -> dict[str, Resolved | ImageResolutionError]:
        """Each distinct reference once; errors are returned beside the answers, not raised."""
        out: dict[str, Resolved | ImageResolutionError] = {}
        for ref in refs:
            if ref not in out:
                try:
                    out[ref] = self.resolve(ref)
                except ImageResolutionError as error:
                    out[ref] = error
        return out

    def _remember(self, ref: str, resolved: Resolved) -> Resolved:
        self._cache[ref] = resolved
        return resolved

    def _classify(self, ref: str, image: ImageRef, resp: requests.Response) -> ImageResolutionError:
        text = registry_error_text(resp)
        where = f"{image.registry}/{image.repository}"
        if resp.status_code == 404 or any(code in text for code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN")):
            what = "repository" if "NAME_UNKNOWN" in text else f"tag {image.tag!r}"
            return TagNotFound(ref, f"{what} not found in {where}", text)
        if resp.status_code in (401, 403):
            creds = self.credentials.get(image.registry)
            hint = (f"the credentials for {image.registry} do not grant pull" if creds else
                    f"anonymous pull refused; the repository may be private or not exist (give credentials for "
                    f"{image.registry})")
            return Unauthorized(ref, f"HTTP {resp.status_code} from {where}: {hint}", text)
        return RegistryError(ref, f"HTTP {resp.status_code} from {where}", text)


def _valid_digest(value: str) -> bool:
    algorithm, _, hex_part = value.partition(":")
    return _DIGEST_HEX_LENGTH.get(algorithm) == len(hex_part) and re.fullmatch("[0-9a-f]+", hex_part) is not None


def _media_type(resp: requests.Response) -> str:
    return resp.headers.get("Content-Type", "").split(";")[0].strip()


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) <= 300 else text[:297] + "..."
