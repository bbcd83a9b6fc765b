"""The real registry (engine/registry: distribution v3.1.2) with token auth, and the resolver against it.

No cluster: these start `registry serve` on 127.0.0.1 and the test's own token server (tests/e2e/oci_registry.py),
push images the test makes, and resolve them through kserve_intel.online.images exactly as at deploy time.
Environment: E2E_REGISTRY_BIN (the binary) or E2E_BIN_DIR (a folder holding `registry`); else engine/build.sh
registry builds it (about 2 minutes the first time on 2 cores).
"""

from __future__ import annotations

import hashlib

import pytest
import requests

from kserve_intel.online.images import (
    RegistryError, RegistryUnreachable, Resolver, TagNotFound, Unauthorized, apply_mirrors,
)
from tests.e2e.oci_registry import MANIFEST_ACCEPT, OCI_INDEX, OCI_MANIFEST, OciRegistry, registry_binary


@pytest.fixture(scope="module")
def binary():
    return registry_binary()


@pytest.fixture(scope="module")
def registry(binary):
    with OciRegistry(binary=binary, private=["team/private"]) as reg:
        yield reg


def resolver_for(reg: OciRegistry, **kwargs) -> Resolver:
    return Resolver(plain_http=[reg.host], timeout=5, **kwargs)


def test_anonymous_head_is_challenged(registry):
    resp = requests.head(f"{registry.url}/v2/team/app/manifests/1.0", headers={"Accept": MANIFEST_ACCEPT}, timeout=5)
    assert resp.status_code == 401
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'realm="{registry.token_server.realm}"' in challenge
    assert 'service="kserve-intel-e2e-registry"' in challenge
    assert 'scope="repository:team/app:pull"' in challenge


def test_token_flow_and_digest(registry):
    digest = registry.push_image("team/app", "1.0")
    # by hand: anonymous token from the realm, then HEAD with it
    token = requests.get(registry.token_server.realm, params={"service": "kserve-intel-e2e-registry",
                                                             "scope": "repository:team/app:pull"}, timeout=5).json()["token"]
    head = requests.head(f"{registry.url}/v2/team/app/manifests/1.0", timeout=5,
                         headers={"Accept": MANIFEST_ACCEPT, "Authorization": f"Bearer {token}"})
    assert head.status_code == 200 and head.headers["Docker-Content-Digest"] == digest
    body = requests.get(f"{registry.url}/v2/team/app/manifests/1.0", timeout=5,
                        headers={"Accept": MANIFEST_ACCEPT, "Authorization": f"Bearer {token}"}).content
    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
    # anonymous tokens do not grant push
    put = requests.put(f"{registry.url}/v2/team/app/manifests/2.0", data=body, timeout=5,
                       headers={"Content-Type": OCI_MANIFEST, "Authorization": f"Bearer {token}"})
    assert put.status_code == 401 and 'error="insufficient_scope"' in put.headers["WWW-Authenticate"]
    # and the resolver finds the same digest anonymously
    with resolver_for(registry) as resolver:
        got = resolver.resolve(f"{registry.host}/team/app:1.0")
    assert got.digest == digest and got.media_type == OCI_MANIFEST
    assert got.pinned == f"{registry.host}/team/app:1.0@{digest}"


def test_kid_header_is_accepted_too(binary):
    with OciRegistry(binary=binary, header_mode="kid") as reg:
        digest = reg.push_image("team/kid", "v1")
        with resolver_for(reg) as resolver:
            assert resolver.resolve(f"{reg.host}/team/kid:v1").digest == digest


def test_index_resolves_to_the_index_digest(registry):
    digest = registry.push_image("team/multi", "v1", index=True)
    with resolver_for(registry) as resolver:
        got = resolver.resolve(f"{registry.host}/team/multi:v1")
    assert got.digest == digest and got.media_type == OCI_INDEX


def test_missing_tag_and_repository(registry):
    registry.push_image("team/app", "1.0")
    with resolver_for(registry) as resolver:
        with pytest.raises(TagNotFound) as missing_tag:
            resolver.resolve(f"{registry.host}/team/app:9.9")
        with pytest.raises(TagNotFound) as missing_repo:
            resolver.resolve(f"{registry.host}/team/nothing:1.0")
    assert "MANIFEST_UNKNOWN" in missing_tag.value.detail and "'9.9'" in missing_tag.value.message
    assert "UNKNOWN" in missing_repo.value.detail  # NAME_UNKNOWN or MANIFEST_UNKNOWN, as the registry says


def test_private_repository_needs_credentials(registry):
    digest = registry.push_image("team/private", "1.0")
    user, password = registry.admin
    with resolver_for(registry) as resolver, pytest.raises(Unauthorized) as anonymous:
        resolver.resolve(f"{registry.host}/team/private:1.0")
    assert "UNAUTHORIZED" in anonymous.value.detail and "anonymous" in anonymous.value.message
    with resolver_for(registry, credentials={registry.host: (user, password)}) as resolver:
        assert resolver.resolve(f"{registry.host}/team/private:1.0").digest == digest
    with resolver_for(registry, credentials={registry.host: (user, "wrong")}) as resolver, \
            pytest.raises(Unauthorized) as wrong:
        resolver.resolve(f"{registry.host}/team/private:1.0")
    assert "refused the credentials" in wrong.value.message and "incorrect username or password" in wrong.value.detail


def test_moved_and_deleted_tags(registry):
    first = registry.push_image("team/moving", "stable")
    second = registry.move_tag("team/moving", "stable")
    assert first != second
    with resolver_for(registry) as resolver:
        assert resolver.resolve(f"{registry.host}/team/moving:stable").digest == second
    registry.move_tag("team/moving", "stable", first)
    with resolver_for(registry) as resolver:  # a new resolver: answers are cached per resolver
        assert resolver.resolve(f"{registry.host}/team/moving:stable").digest == first
    registry.delete_tag("team/moving", "stable")
    with resolver_for(registry) as resolver, pytest.raises(TagNotFound):
        resolver.resolve(f"{registry.host}/team/moving:stable")


def test_mirror_rewrite_resolves_on_the_mirror(registry):
    digest = registry.push_image("dockerhub/library/busybox", "1.36")
    mirrored = apply_mirrors("busybox:1.36", {"docker.io": f"{registry.host}/dockerhub"})
    assert mirrored == f"{registry.host}/dockerhub/library/busybox:1.36"
    with resolver_for(registry) as resolver:
        assert resolver.resolve(mirrored).digest == digest


def test_stopped_registry_is_unreachable(binary):
    reg = OciRegistry(binary=binary).start()
    host = reg.host
    reg.stop()
    with Resolver(plain_http=[host], timeout=2) as resolver, pytest.raises(RegistryUnreachable):
        resolver.resolve(f"{host}/team/app:1.0")


def test_plain_http_registry_spoken_to_over_https_is_unreachable(registry):
    with Resolver(timeout=2) as resolver, pytest.raises((RegistryUnreachable, RegistryError)) as info:
        resolver.resolve(f"{registry.host}/team/app:1.0")
    assert info.value.kind in ("unreachable", "registry-error")
