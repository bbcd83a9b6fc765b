"""`images`: how the images a stack runs are found, pinned and pulled (rules/images.py).

    images:
      mirrors: {docker.io: registry.local:5000/dockerhub, "*": registry.local:5000/mirror}
      credentials: {registry.local:5000: {username: robot, password: <secret>}}

Every image the stack runs (`make images STACK=...`) is resolved to its digest during `pulumi preview` and
`pulumi up` and applied as `repo:tag@sha256:...`; `mirrors` rewrites each one first (chart images included).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from .values import Strict

DEFAULT_TIMEOUT_SECONDS = 10.0


class RegistryCredentials(Strict):
    """Basic credentials for one registry host (also the nodes' pull secret)."""

    username: str = Field(min_length=1, max_length=256)
    """User name (a robot account, or `_json_key`/`oauth2accesstoken` style names as the registry wants)."""
    password: SecretStr
    """Password or token, **secret** (`pulumi config set --secret --path 'kserve-intel:images.credentials.<host>.password'`)."""


class ImagesConfig(Strict):
    """Resolution of every image to its digest, registry mirrors and pull credentials."""

    resolve: bool = True
    """Resolve every image's tag to its digest during `preview` and `up` (the registries' distribution API) and
    apply `repo:tag@sha256:...`; a tag that does not exist stops the update before any resource. `false`:
    no registry is asked, tags are kept (or pinned from `digests`), with one warning. Offline renders never resolve.
    """
    mirrors: dict[str, str] = Field(default_factory=dict)
    """`{<registry host>: <mirror prefix>}`: every image from that registry (`docker.io`, `ghcr.io`, `quay.io`,
    `gcr.io`, `vault.habana.ai`, `public.ecr.aws`...; `*` for every other) is pulled as `<prefix>/<repository>`,
    repository path kept whole (Docker Hub's `library/` too), as containerd's `hosts.toml` with `override_path` and
    `skopeo copy`/`crane copy` lay a mirror out. Applied to the charts' images through their values. See
    [air-gapped.md](air-gapped.md).
    """
    credentials: dict[str, RegistryCredentials] = Field(default_factory=dict)
    """`{<registry host>: {username, password}}`: used to resolve private images and, as the Secret
    `kserve-intel-image-pull` (`kubernetes.io/dockerconfigjson`) in every namespace the stack runs pods in, as
    `imagePullSecrets` of those pods (where the chart allows it). Key the host the nodes pull from (the mirror's).
    """
    plain_http: list[str] = Field(default_factory=list)
    """Registry hosts (`host[:port]`) the resolver speaks plain HTTP to (an in-cluster or local mirror without TLS).
    """
    digests: dict[str, str] = Field(default_factory=dict)
    """`{<image as the stack runs it>: sha256:<64 hex>}`: the digest to apply without asking the registry (with
    `resolve: false`, e.g. copied from the stack output `images`). Keys are the references before mirroring.
    """
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=300)
    """Per registry request while resolving."""


# Fields whose values are never echoed in messages (see config.SECRET_FIELDS).
SECRET_FIELDS = frozenset({"password"})
