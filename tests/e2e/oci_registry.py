"""A real OCI registry on 127.0.0.1 with token auth, and images the tests make and push themselves.

The registry is the CNCF distribution server built by `engine/build.sh registry` (engine/registry,
github.com/distribution/distribution/v3 v3.1.2). It runs with `auth: token:` exactly as Docker Hub,
ghcr.io, quay.io and vault.habana.ai front theirs: a request without a bearer token gets
`401` + `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; the client fetches a token from the
realm (anonymously, or with basic credentials) and retries.

The token server is this module's `TokenServer`: a threaded HTTP server issuing JWTs (ES256) signed by a key
whose self-signed certificate is the registry's `rootcertbundle`. How distribution v3.1.2 verifies them
(registry/auth/token/token.go, `Token.VerifySigningKey` l.165-196 and `Token.Verify` l.118-162):
  - the JOSE header's `x5c` chain must verify against the rootcertbundle (default here), or else the header's
    `kid` must be the RFC 7638 JWK thumbprint of a root certificate's key (util.go `GetJWKThumbprint`,
    accesscontroller.go l.351-358: `trustedKeys`), or the header carries a `jwk`;
  - `alg` in {EdDSA, HS*, RS*, ES*, PS*} (token.go l.26-56, all accepted unless `signingalgorithms` narrows them);
  - `iss` == the configured issuer, `aud` contains the configured service, `exp`/`nbf` within 60 s leeway;
  - `access` lists {type, name, actions} that must cover what the request needs (app.go `appendAccessRecords`:
    GET/HEAD -> pull, POST/PUT/PATCH -> pull+push, DELETE -> delete). A token lacking a scope gets `401` with
    `error="insufficient_scope"` (accesscontroller.go l.138-143), never 403.

Policy of this token server: anonymous tokens grant `pull` on every repository except `private`; valid basic
credentials grant everything asked for; wrong credentials get 401 from the token endpoint itself.

Nothing is downloaded: `push_image` builds a config blob and one gzip layer in memory, an OCI image manifest,
and optionally an OCI image index over several platforms, and pushes them through the distribution API
(blob upload POST + PUT, manifest PUT).
"""

from __future__ import annotations

import base64
import datetime
import gzip
import hashlib
import http.server
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import requests

ROOT = Path(__file__).resolve().parents[2]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))

SERVICE = "kserve-intel-e2e-registry"
ISSUER = "kserve-intel-e2e-token-server"


class RegistryError(RuntimeError):
    pass


def registry_binary() -> Path:
    """The `registry` binary: $E2E_REGISTRY_BIN, else $E2E_BIN_DIR/registry, else engine/build.sh registry."""
    if os.environ.get("E2E_REGISTRY_BIN"):
        return Path(os.environ["E2E_REGISTRY_BIN"])
    if os.environ.get("E2E_BIN_DIR") and (Path(os.environ["E2E_BIN_DIR"]) / "registry").exists():
        return Path(os.environ["E2E_BIN_DIR"]) / "registry"
    out = subprocess.run([str(ROOT / "engine" / "build.sh"), "registry"], stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise RegistryError(f"engine/build.sh registry failed (exit {out.returncode})")
    return Path(out.stdout.strip().splitlines()[-1]) / "registry"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------ signing key

class SigningKey:
    """A P-256 key and its self-signed certificate (the registry's rootcertbundle); signs ES256 JWTs."""

    def __init__(self, common_name: str = ISSUER) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self._hashes, self._ec = hashes, ec
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.cert_der = self.cert.public_bytes(serialization.Encoding.DER)

    def thumbprint(self) -> str:
        """RFC 7638 thumbprint as distribution computes it (util.go getJWKThumbprint: x and y are the minimal
        big-endian bytes of the coordinates, not left-padded to 32 bytes)."""
        numbers = self.key.public_key().public_numbers()
        def minimal(n: int) -> bytes:
            return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
        payload = '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' % (_b64url(minimal(numbers.x)), _b64url(minimal(numbers.y)))
        return _b64url(hashlib.sha256(payload.encode()).digest())

    def sign_jwt(self, claims: dict, header_mode: str = "x5c") -> str:
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        header: dict = {"typ": "JWT", "alg": "ES256"}
        if header_mode == "x5c":
            header["x5c"] = [base64.b64encode(self.cert_der).decode()]  # RFC 7515 4.1.6: standard base64
        elif header_mode == "kid":
            header["kid"] = self.thumbprint()
        else:
            raise ValueError(f"header_mode must be x5c or kid, not {header_mode!r}")
        signing_input = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            _b64url(json.dumps(claims, separators=(",", ":")).encode())
        der = self.key.sign(signing_input.encode(), self._ec.ECDSA(self._hashes.SHA256()))
        r, s = decode_dss_signature(der)  # JWS ES256 wants r || s, 32 bytes each (RFC 7518 3.4)
        return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


# ------------------------------------------------------------------------------------------ token server

def parse_scope(scope: str) -> list[tuple[str, str, list[str]]]:
    """`repository:ns/name:pull,push repository:other:pull` -> [(type, name, actions)]."""
    out = []
    for item in scope.split():
        rtype, _, rest = item.partition(":")
        name, _, actions = rest.rpartition(":")
        if rtype and name:
            out.append((rtype, name, [a for a in actions.split(",") if a]))
    return out


class TokenServer:
    """The realm: GET /token?service=...&scope=... with optional basic auth, answering {token, access_token}."""

    def __init__(self, key: SigningKey, users: dict[str, str], *, private: Iterable[str] = (),
                 header_mode: str = "x5c", ttl: int = 300) -> None:
        self.key, self.users, self.private = key, dict(users), set(private)
        self.header_mode, self.ttl = header_mode, ttl
        self.requests: list[dict] = []  # {"user": str|None, "scope": [...], "status": int}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server._handle(self)

            def log_message(self, fmt, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _user(self, handler) -> tuple[str | None, bool]:
        """(user, ok): (None, True) anonymous; (name, True) valid basic credentials; (name, False) wrong ones."""
        auth = handler.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None, True
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except ValueError:
            return "?", False
        return user, self.users.get(user) == password and password != ""

    def grant(self, user: str | None, scopes: list[tuple[str, str, list[str]]]) -> list[dict]:
        access = []
        for rtype, name, actions in scopes:
            if user is not None:
                allowed = actions
            elif rtype == "repository" and name not in self.private:
                allowed = [a for a in actions if a == "pull"]
            else:
                allowed = []
            access.append({"type": rtype, "name": name, "actions": allowed})
        return access

    def issue(self, user: str | None, scopes: list[tuple[str, str, list[str]]], service: str = SERVICE) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": user or "", "aud": service, "exp": now + self.ttl, "nbf": now - 1,
                  "iat": now, "jti": secrets.token_hex(8), "access": self.grant(user, scopes)}
        return self.key.sign_jwt(claims, self.header_mode)

    def _handle(self, handler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = [s for raw in query.get("scope", []) for s in parse_scope(raw)]
        user, ok = self._user(handler)
        if url.path != "/token":
            status, body = 404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]}
        elif not ok:
            status, body = 401, {"errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password"}]}
        else:
            token = self.issue(user, scopes, query.get("service", [SERVICE])[0])
            status = 200
            body = {"token": token, "access_token": token, "expires_in": self.ttl,
                    "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        self.requests.append({"user": user, "scope": scopes, "status": status})
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        if status == 401:
            handler.send_header("WWW-Authenticate", 'Basic realm="kserve-intel-e2e"')
        handler.end_headers()
        handler.wfile.write(data)


# ------------------------------------------------------------------------------------------ images

@dataclass
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    def descriptor(self, **extra) -> dict:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data), **extra}


@dataclass
class Image:
    config: Blob
    layers: list[Blob]
    manifest: bytes = field(default=b"")

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)


def make_image(content: bytes, *, architecture: str = "amd64", os_name: str = "linux",
               annotations: dict[str, str] | None = None) -> Image:
    """One gzip layer holding /kserve-intel-e2e.txt = content, its config, and an OCI image manifest."""
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("kserve-intel-e2e.txt")
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = tar_buf.getvalue()
    layer = Blob(OCI_LAYER_GZIP, gzip.compress(tar_bytes, mtime=0))
    config = Blob(OCI_CONFIG, json.dumps({
        "architecture": architecture, "os": os_name, "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(tar_bytes)]},
    }, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(),
                "layers": [layer.descriptor()]}
    if annotations:
        manifest["annotations"] = annotations
    return Image(config, [layer], json.dumps(manifest, sort_keys=True).encode())


def make_index(images: dict[tuple[str, str], Image]) -> bytes:
    """An OCI image index over {(os, architecture): image}."""
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": len(img.manifest),
         "platform": {"os": os_name, "architecture": arch}} for (os_name, arch), img in images.items()
    ]}, sort_keys=True).encode()


# ------------------------------------------------------------------------------------------ registry

class OciRegistry:
    """`registry serve` on 127.0.0.1:<free port> with token auth; a TokenServer as its realm.

    Usage:  with OciRegistry() as reg: digest = reg.push_image("team/app", "1.0")
    `reg.host` ("127.0.0.1:PORT") is the registry part of image references (`f"{reg.host}/team/app:1.0"`).
    The registry speaks plain HTTP; a client must be told so (the resolver's `insecure` hosts).
    """

    def __init__(self, *, storage: str = "inmemory", binary: Path | None = None, workdir: Path | None = None,
                 users: dict[str, str] | None = None, private: Iterable[str] = (), header_mode: str = "x5c",
                 keep: bool = False) -> None:
        if storage not in ("inmemory", "filesystem"):
            raise ValueError("storage must be inmemory or filesystem")
        self.storage, self.binary, self.keep = storage, binary, keep
        self.users = users if users is not None else {"pusher": secrets.token_hex(8)}
        self.admin = next(iter(self.users.items()))
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="kserve-intel-registry-"))
        self.key = SigningKey()
        self.token_server = TokenServer(self.key, self.users, private=private, header_mode=header_mode)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self._tokens: dict[str, str] = {}
        self.session = requests.Session()

    # ---------------------------------------------------------------- lifecycle
    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def config(self) -> dict:
        storage: dict = {"delete": {"enabled": True}, "maintenance": {"uploadpurging": {"enabled": False}}}
        if self.storage == "filesystem":
            storage["filesystem"] = {"rootdirectory": str(self.workdir / "data")}
        else:
            storage["inmemory"] = {}
        return {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": storage,
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
            "auth": {"token": {"realm": self.token_server.realm, "service": SERVICE, "issuer": ISSUER,
                               "rootcertbundle": str(self.workdir / "token-root.pem")}},
        }

    def start(self, timeout: float = 30.0) -> "OciRegistry":
        binary = self.binary or registry_binary()
        (self.workdir / "token-root.pem").write_bytes(self.key.cert_pem)
        self.token_server.start()
        env = {**os.environ, "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
               "OTEL_LOGS_EXPORTER": "none"}
        for attempt in range(3):  # a free port can be taken between the probe and the bind
            self.port = _free_port()
            cfg = self.workdir / "config.yml"
            cfg.write_text(json.dumps(self.config(), indent=1))  # YAML is a superset of JSON
            self.log_path = self.workdir / "registry.log"
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen([str(binary), "serve", str(cfg)], stdout=log, stderr=subprocess.STDOUT,
                                         env=env, cwd=self.workdir)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    r = self.session.get(f"{self.url}/v2/", timeout=1)
                    if r.status_code == 401 and "Bearer" in r.headers.get("WWW-Authenticate", ""):
                        return self
                except requests.ConnectionError:
                    pass
                time.sleep(0.1)
            self._kill()
        raise RegistryError(f"registry did not start; log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AttributeError):
            return "(no log)"

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def stop(self) -> None:
        self._kill()
        self.token_server.stop()
        self.session.close()
        if self._own_workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "OciRegistry":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---------------------------------------------------------------- HTTP with the bearer flow
    def request(self, method: str, path_or_url: str, *, scope: str, auth: tuple[str, str] | None | str = "admin",
                **kwargs) -> requests.Response:
        """A request that follows the real challenge: 401 -> token from the realm (as `auth`) -> retry once.

        auth: "admin" (the first user), None (anonymous), or (user, password)."""
        creds = self.admin if auth == "admin" else auth
        url = path_or_url if path_or_url.startswith("http") else self.url + path_or_url
        cache_key = f"{creds[0] if creds else ''}|{scope}"
        headers = dict(kwargs.pop("headers", {}) or {})
        if cache_key in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[cache_key]}"
        resp = self.session.request(method, url, headers=headers, timeout=30, allow_redirects=False, **kwargs)
        if resp.status_code != 401:
            return resp
        challenge = parse_bearer_challenge(resp.headers.get("WWW-Authenticate", ""))
        if not challenge:
            return resp
        params = {"service": challenge.get("service", ""), "scope": challenge.get("scope", scope)}
        tr = self.session.get(challenge["realm"], params=params, auth=creds, timeout=30)
        if tr.status_code != 200:
            return tr
        self._tokens[cache_key] = tr.json()["token"]
        headers["Authorization"] = f"Bearer {self._tokens[cache_key]}"
        return self.session.request(method, url, headers=headers, timeout=30, allow_redirects=False, **kwargs)

    @staticmethod
    def _check(resp: requests.Response, *ok: int) -> requests.Response:
        if resp.status_code not in ok:
            raise RegistryError(f"{resp.request.method} {resp.url}: {resp.status_code} {resp.text[:500]}")
        return resp

    # ---------------------------------------------------------------- distribution API
    def push_blob(self, repo: str, blob: Blob) -> str:
        scope = f"repository:{repo}:pull,push"
        head = self.request("HEAD", f"/v2/{repo}/blobs/{blob.digest}", scope=scope)
        if head.status_code == 200:
            return blob.digest
        start = self._check(self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope), 202)
        location = urllib.parse.urljoin(self.url + "/", start.headers["Location"])
        sep = "&" if "?" in location else "?"
        put = self.request("PUT", f"{location}{sep}digest={urllib.parse.quote(blob.digest)}", scope=scope,
                           data=blob.data, headers={"Content-Type": "application/octet-stream"})
        self._check(put, 201)
        if put.headers.get("Docker-Content-Digest", blob.digest) != blob.digest:
            raise RegistryError(f"blob digest mismatch: {put.headers['Docker-Content-Digest']} != {blob.digest}")
        return blob.digest

    def push_manifest(self, repo: str, reference: str, manifest: bytes, media_type: str) -> str:
        resp = self._check(self.request("PUT", f"/v2/{repo}/manifests/{reference}",
                                        scope=f"repository:{repo}:pull,push", data=manifest,
                                        headers={"Content-Type": media_type}), 201)
        digest = sha256_digest(manifest)
        if resp.headers.get("Docker-Content-Digest") != digest:
            raise RegistryError(f"manifest digest mismatch: {resp.headers.get('Docker-Content-Digest')} != {digest}")
        return digest

    def push(self, repo: str, reference: str, image: Image) -> str:
        self.push_blob(repo, image.config)
        for layer in image.layers:
            self.push_blob(repo, layer)
        return self.push_manifest(repo, reference, image.manifest, OCI_MANIFEST)

    def push_image(self, repo: str, tag: str, *, content: bytes | None = None, index: bool = False,
                   platforms: Iterable[tuple[str, str]] = (("linux", "amd64"), ("linux", "arm64"))) -> str:
        """Make a tiny image (unique unless `content` is given) and push it as repo:tag; return its digest.

        index=True pushes one image per platform by digest and an OCI image index under the tag (the digest
        returned is then the index's, as `docker buildx imagetools inspect` shows it)."""
        content = content if content is not None else f"{repo}:{tag} {secrets.token_hex(8)}\n".encode()
        if not index:
            return self.push(repo, tag, make_image(content))
        images = {}
        for os_name, arch in platforms:
            img = make_image(content + f"{os_name}/{arch}\n".encode(), architecture=arch, os_name=os_name)
            self.push(repo, img.digest, img)
            images[(os_name, arch)] = img
        return self.push_manifest(repo, tag, make_index(images), OCI_INDEX)

    def manifest(self, repo: str, reference: str, *, auth="admin") -> requests.Response:
        return self.request("GET", f"/v2/{repo}/manifests/{reference}", scope=f"repository:{repo}:pull",
                            auth=auth, headers={"Accept": MANIFEST_ACCEPT})

    def move_tag(self, repo: str, tag: str, to: str | None = None) -> str:
        """Point `tag` at the manifest `to` (a digest or another tag of the repo), or at a fresh image."""
        if to is None:
            return self.push_image(repo, tag)
        resp = self._check(self.manifest(repo, to), 200)
        media_type = resp.headers.get("Content-Type", OCI_MANIFEST).split(";")[0]
        return self.push_manifest(repo, tag, resp.content, media_type)

    def delete_tag(self, repo: str, tag: str) -> None:
        """DELETE /v2/<repo>/manifests/<tag>: distribution v3 untags (handlers/manifests.go DeleteManifest)."""
        self._check(self.request("DELETE", f"/v2/{repo}/manifests/{tag}", scope=f"repository:{repo}:delete"), 202)


def parse_bearer_challenge(header: str) -> dict[str, str]:
    """`Bearer realm="...",service="...",scope="..."` -> {realm, service, scope} ({} if not Bearer).

    Enough for the registries' own headers (quoted values, commas inside quotes as in multi-action scopes)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return {}
    out, i = {}, 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lstrip(",").strip().lower()
        if eq + 1 < len(rest) and rest[eq + 1] == '"':
            end = eq + 2
            buf = []
            while end < len(rest) and rest[end] != '"':
                if rest[end] == "\\" and end + 1 < len(rest):
                    end += 1
                buf.append(rest[end])
                end += 1
            out[key] = "".join(buf)
            i = end + 1
        else:
            end = rest.find(",", eq + 1)
            end = len(rest) if end < 0 else end
            out[key] = rest[eq + 1:end].strip()
            i = end
        while i < len(rest) and rest[i] in ", ":
            i += 1
    return out
