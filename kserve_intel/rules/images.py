"""Images that exist: every image a stack runs, mirrored, resolved to its digest and pinned (issue 23).

What a stack runs is listed by builders/images.py (`stack_images`: runtimes, canaries, Jobs, the charts'
images). Here: the `images` config rules, and `pin`, which turns that list into `ImagePins`, the one map
builders read every image through (`ImagePins.applied`):

- mirrors first (`images.mirrors`): nodes pull from the mirror, so that is what is resolved;
- then the digest: from `images.digests`, or asked of the registry (online/images.py) during `preview` and
  `up`; what is applied is `<mirrored repo>:<tag>@sha256:...`, so a moved tag is a diff in the preview;
- a reference the registry does not serve stops the update before any resource, naming the config key (or the
  serving stack / chart that brings the image), the image and the registry's answer.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Protocol

from ..config.images import ImagesConfig
from ..errors import ConfigError, ConfigIssue
from ..online.images import (DOCKER_HUB, ImageResolutionError, InvalidReference, Resolved, apply_mirrors,
                             normalize_host, parse_reference)

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+|\[[0-9a-f:]+\]"
                   r"|[a-z0-9]([a-z0-9-]*[a-z0-9])?)(:[0-9]{1,5})?$")
# The Secret holding `images.credentials` as a `kubernetes.io/dockerconfigjson`, in every namespace with our pods.
PULL_SECRET = "kserve-intel-image-pull"
RESOLVE_FALSE_WARNING = (
    "images.resolve is false: images are applied by tag (or by the digests in images.digests) without asking the "
    "registries; a tag that does not exist shows up only as ImagePullBackOff, and a moved tag is not seen."
)
# Tags that name whatever was pushed last (the policy pack's `images-pinned` refuses them without a digest).
MOVING_TAGS = frozenset({"latest", "stable", "nightly", "main", "master", "edge", "dev"})


def moving_tag(image: str) -> bool:
    ref = parse_reference(image)
    tag = (ref.tag or "").lower()
    return ref.digest is None and (tag in MOVING_TAGS or tag.endswith("-latest"))


@dataclass(frozen=True)
class ImageUse:
    """One image the stack runs, and what brings it: the config key (with its value) or the catalogue."""

    image: str
    # Config key path that selects the image (`runtimes.image`, `models[0].canary.image`, `servingStack`,
    # `kserve.version`...) and the value shown beside it.
    key: str
    value: Any
    # What runs it, in words: "runtime intel-vllm-xeon (serving stack vllm-0.33)", "chart kserve v0.13.0: controller".
    what: str


class ResolverLike(Protocol):
    def resolve(self, ref: str) -> Resolved: ...


@dataclass(frozen=True)
class ImagePins:
    """How each image is applied: mirrored, then pinned by digest when one is known."""

    mirrors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Digest per image as the program writes it (before mirroring).
    digests: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Whether the registries were asked (preview/up online); False: config digests only.
    resolved: bool = False

    def mirrored(self, image: str) -> str:
        """`image` as the nodes pull it: rewritten to its mirror, else unchanged (as written)."""
        if not self.mirrors:
            return image
        rewritten = apply_mirrors(image, self.mirrors)
        return image if rewritten == str(parse_reference(image)) else rewritten

    def applied(self, image: str) -> str:
        """What goes into the object: the mirrored reference, with `@sha256:...` when the digest is known."""
        mirrored = self.mirrored(image)
        digest = self.digests.get(image)
        if digest is None or "@" in mirrored:
            return mirrored
        return f"{mirrored}@{digest}"

    def parts(self, image: str) -> tuple[str, str | None, str | None]:
        """(repository as written, tag, digest) of the applied reference, for charts that take them apart."""
        applied = self.applied(image)
        rest, _, digest = applied.partition("@")
        last_slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > last_slash:
            return rest[:colon], rest[colon + 1:], digest or None
        return rest, None, digest or None


def unresolved(config: Any) -> ImagePins:
    """The pins without asking any registry: mirrors and `images.digests` (the offline render, resolve false)."""
    images: ImagesConfig = config.images
    return ImagePins(MappingProxyType(dict(images.mirrors)), MappingProxyType(dict(images.digests)))


def resolve_false_warning(uses: Iterable[ImageUse], pins: ImagePins) -> str:
    """The one warning of `images.resolve: false`, naming moving tags that go out without a digest."""
    moving = [image for image in dict.fromkeys(u.image for u in uses)
              if "@" not in pins.applied(image) and moving_tag(image)]
    if not moving:
        return RESOLVE_FALSE_WARNING
    return (f"{RESOLVE_FALSE_WARNING} Moving tags go out unpinned: {', '.join(moving)}; give their digests in "
            "images.digests (the stack output `images` of an online preview lists them).")


def pin(uses: Iterable[ImageUse], config: Any, resolver: ResolverLike) -> ImagePins:
    """Resolve every image (after mirroring) once; raise `ConfigError` naming each one the registry refuses."""
    base = unresolved(config)
    digests = dict(base.digests)
    issues: list[ConfigIssue] = []
    answers: dict[str, Resolved | ImageResolutionError] = {}
    for use in uses:
        if use.image in digests:
            continue
        pulled = base.mirrored(use.image)
        if pulled not in answers:
            try:
                answers[pulled] = resolver.resolve(pulled)
            except ImageResolutionError as error:
                answers[pulled] = error
        answer = answers[pulled]
        if isinstance(answer, ImageResolutionError):
            issues.append(refusal(use, pulled, answer, config.images))
        elif "@" not in pulled:
            digests[use.image] = answer.digest
    if issues:
        raise ConfigError(issues)
    return ImagePins(base.mirrors, MappingProxyType(digests), resolved=True)


def refusal(use: ImageUse, pulled: str, error: ImageResolutionError, images: ImagesConfig) -> ConfigIssue:
    """One message: the key (or what brings the image), the image, the registry's answer, what to do."""
    via = f" (pulled as {pulled})" if pulled != use.image else ""
    if error.kind == "not-found":
        hint = "pick a tag the registry serves (or copy it to the mirror), or pin a digest in images.digests"
    elif error.kind == "unauthorized":
        host = parse_reference(pulled).registry
        hint = (f"give images.credentials.{host} (username and a secret password) for the registry"
                if host not in {normalize_host(h) for h in images.credentials} else
                f"the credentials in images.credentials.{host} do not grant pull")
    elif error.kind == "unreachable":
        hint = ("check the network (HTTPS_PROXY / NO_PROXY) or set images.mirrors; for an air-gapped preview set "
                "images.resolve false (and images.digests)")
    else:
        hint = "retry later, or set images.resolve false with images.digests"
    return ConfigIssue(use.key, f"{use.what} runs image {use.image}{via}, which cannot be pulled: {error}; {hint}",
                       use.value)


def unused_issues(uses: Iterable[ImageUse], config: Any) -> list[ConfigIssue]:
    """`images.digests` keys and `images.mirrors` hosts that no image of the stack uses: they would be ignored."""
    images: ImagesConfig = config.images
    listed = list(dict.fromkeys(u.image for u in uses))
    issues = [ConfigIssue(f"images.digests.{ref}", "has no effect: the stack runs no such image (keys are the "
                          "images as `make images` prints them)", digest)
              for ref, digest in images.digests.items() if ref not in listed]
    hosts = {parse_reference(image).registry for image in listed}
    for host, prefix in images.mirrors.items():
        if host != "*" and _host_ok(host) and normalize_host(host) not in hosts:
            issues.append(ConfigIssue(f"images.mirrors.{host}", "has no effect: no image of this stack comes from "
                                      f"{host} (`make images` lists them); remove it", prefix))
    return issues


# ------------------------------------------------------------------------------------------------ config rules

def _host_ok(host: str) -> bool:
    return bool(_HOST.match(host.strip().lower()))


def images_checks(config: Any, secret_keys: set[str]) -> Iterable[ConfigIssue]:
    """The `images` keys on their own (`secret_keys` without the prefix)."""
    images: ImagesConfig = config.images
    for host, prefix in images.mirrors.items():
        if host != "*" and not _host_ok(host):
            yield ConfigIssue(f"images.mirrors.{host}", "the key must be a registry host such as docker.io, ghcr.io, "
                              "quay.io or registry.local:5000 (or * for every other registry)", prefix)
            continue
        try:
            apply_mirrors("docker.io/library/busybox:1", {"docker.io": prefix})
        except InvalidReference as error:
            yield ConfigIssue(f"images.mirrors.{host}", f"must be a mirror prefix host[:port][/path] such as "
                              f"registry.local:5000/dockerhub ({error})", prefix)
    for ref, digest in images.digests.items():
        try:
            parsed = parse_reference(ref)
        except InvalidReference as error:
            yield ConfigIssue(f"images.digests.{ref}", f"the key must be an image reference as the stack runs it "
                              f"(`make images`): {error}", digest)
            continue
        if parsed.digest:
            yield ConfigIssue(f"images.digests.{ref}", "the key is already pinned by digest; list the tag form", digest)
        if not DIGEST.match(digest):
            yield ConfigIssue(f"images.digests.{ref}", "must be a digest sha256:<64 lowercase hex digits>", digest)
    for host in images.credentials:
        if not _host_ok(host):
            yield ConfigIssue(f"images.credentials.{host}", "the key must be a registry host such as ghcr.io or "
                              "registry.local:5000")
    if images.credentials and "images" not in secret_keys:
        yield ConfigIssue("images.credentials", "must be stored encrypted: run `pulumi config set --secret --path "
                          "'kserve-intel:images.credentials.<host>.password' <password>`")
    for host in images.plain_http:
        if not _host_ok(host):
            yield ConfigIssue("images.plainHttp", "must list registry hosts (host[:port]) such as "
                              "registry.local:5000", host)


def docker_config(images: ImagesConfig) -> dict[str, Any]:
    """`.dockerconfigjson` of the pull Secret: `auths` per host (Docker Hub under its index URL)."""
    auths = {}
    for host, creds in sorted(images.credentials.items()):
        key = "https://index.docker.io/v1/" if normalize_host(host) == DOCKER_HUB else normalize_host(host)
        password = creds.password.get_secret_value()
        token = base64.b64encode(f"{creds.username}:{password}".encode()).decode()
        auths[key] = {"username": creds.username, "password": password, "auth": token}
    return {"auths": auths}
