"""kserve_intel.online.images without a registry: reference parsing as Docker does it, mirrors, challenges.

Valid/invalid names and ParseDockerRef expectations are those of github.com/distribution/reference v0.6.0
(normalize_test.go TestValidateReferenceName l.10-73, TestParseDockerRef l.662-740). The resolver against a
real registry with token auth: tests/e2e/test_oci_registry.py.
"""

from __future__ import annotations

import socket

import pytest

from kserve_intel.online.images import (
    ImageRef, ImageResolutionError, InvalidReference, RegistryUnreachable, Resolved, Resolver, apply_mirrors,
    parse_challenge, parse_reference,
)

DIGEST = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"


@pytest.mark.parametrize("ref, expected", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:latest", "docker.io/library/busybox:latest"),
    (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/busybox:1.36", "docker.io/library/busybox:1.36"),
    ("gcr.io/library/busybox", "gcr.io/library/busybox:latest"),
    # both tag and digest: kept (the digest is what is pulled; ParseDockerRef would drop the tag)
    (f"gcr.io/library/busybox:latest@{DIGEST}", f"gcr.io/library/busybox:latest@{DIGEST}"),
    ("vllm/vllm-openai-cpu:v0.33.0-x86_64", "docker.io/vllm/vllm-openai-cpu:v0.33.0-x86_64"),
    ("openvino/model_server:2026.3", "docker.io/openvino/model_server:2026.3"),
    ("ghcr.io/huggingface/text-generation-inference:3.3.7-intel-cpu",
     "ghcr.io/huggingface/text-generation-inference:3.3.7-intel-cpu"),
    ("vault.habana.ai/gaudi-docker/1.24.1/ubuntu24.04/habanalabs/vllm-0.26.0-ptupstream-2.11.0:1.24.1",
     "vault.habana.ai/gaudi-docker/1.24.1/ubuntu24.04/habanalabs/vllm-0.26.0-ptupstream-2.11.0:1.24.1"),
    ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest"),
    ("localhost/debian", "localhost/debian:latest"),
    ("localhost:5000/debian:12", "localhost:5000/debian:12"),
    ("[fc00::1]:5000/docker/docker:v1", "[fc00::1]:5000/docker/docker:v1"),
    ("LOCALDOMAIN/debian", "LOCALDOMAIN/debian:latest"),
    ("quay.io/jetstack/cert-manager-controller:v1.19.2", "quay.io/jetstack/cert-manager-controller:v1.19.2"),
])
def test_parse_reference_as_docker(ref, expected):
    assert str(parse_reference(ref)) == expected


@pytest.mark.parametrize("ref", [
    "docker/docker", "library/debian", "debian", "localhost/library/debian", "LOCALDOMAIN/library/debian",
    "docker.io/docker/docker", "index.docker.io/debian", "127.0.0.1:5000/debian", "192.168.0.1", "192.168.0.1:80",
    "192.168.0.1:8/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian", "Docker/docker", "DOCKER/docker",
    "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
])
def test_valid_names_of_distribution_reference(ref):
    parse_reference(ref)


@pytest.mark.parametrize("ref", [
    "https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker", "-docker.io/docker/docker",
    "docker///docker", "docker.io/docker/Docker", "docker.io/docker///docker", "[fc00::1]", "[fc00::1]:5000",
    "fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian", "[2001:db8:3:4::192.0.2.33]:5000/debian",
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "", " busybox", "busybox:", "busybox:-bad", "busybox@sha256:abc", f"busybox@sha256:{'A' * 64}",
    "busybox@md5:" + "0" * 32, "a" * 256 + "/x",
])
def test_invalid_references(ref):
    with pytest.raises(InvalidReference):
        parse_reference(ref)


def test_image_ref_parts():
    ref = parse_reference("busybox:1.36")
    assert ref == ImageRef("docker.io", "library/busybox", "1.36", None)
    assert ref.api_host == "registry-1.docker.io" and ref.reference == "1.36"
    assert ref.familiar() == "busybox:1.36"
    assert parse_reference("vllm/vllm-openai:v0.9.0").familiar() == "vllm/vllm-openai:v0.9.0"
    pinned = parse_reference(f"ghcr.io/a/b:1@{DIGEST}")
    assert pinned.reference == DIGEST and pinned.api_host == "ghcr.io"
    assert str(parse_reference("ghcr.io/a/b:1").with_digest(DIGEST)) == f"ghcr.io/a/b:1@{DIGEST}"


MIRRORS = {"docker.io": "registry.local:5000/dockerhub", "GHCR.IO": "registry.local:5000/ghcr/",
           "quay.io": "mirror.corp", "vault.habana.ai": "https://registry.local:5000/habana"}


@pytest.mark.parametrize("ref, expected", [
    ("busybox", "registry.local:5000/dockerhub/library/busybox:latest"),
    ("index.docker.io/vllm/vllm-openai-cpu:v0.33.0-x86_64",
     "registry.local:5000/dockerhub/vllm/vllm-openai-cpu:v0.33.0-x86_64"),
    ("ghcr.io/huggingface/text-generation-inference:3.3.7-gaudi",
     "registry.local:5000/ghcr/huggingface/text-generation-inference:3.3.7-gaudi"),
    (f"quay.io/jetstack/cert-manager-controller:v1.19.2@{DIGEST}",
     f"mirror.corp/jetstack/cert-manager-controller:v1.19.2@{DIGEST}"),
    (f"quay.io/jetstack/cert-manager-webhook@{DIGEST}", f"mirror.corp/jetstack/cert-manager-webhook@{DIGEST}"),
    ("vault.habana.ai/gaudi-docker/1.24.1/ubuntu24.04/habanalabs/vllm:latest",
     "registry.local:5000/habana/gaudi-docker/1.24.1/ubuntu24.04/habanalabs/vllm:latest"),
    ("gcr.io/other/image:1", "gcr.io/other/image:1"),  # no mirror for gcr.io: unchanged (normalized)
])
def test_apply_mirrors(ref, expected):
    assert apply_mirrors(ref, MIRRORS) == expected


def test_apply_mirrors_default_entry_and_bad_prefix():
    assert apply_mirrors("gcr.io/other/image:1", {"*": "registry.local:5000/all"}) == \
        "registry.local:5000/all/other/image:1"
    assert apply_mirrors("busybox", {"*": "m:1/all", "docker.io": "m:1/hub"}) == "m:1/hub/library/busybox:latest"
    with pytest.raises(InvalidReference, match="no registry host"):
        apply_mirrors("busybox", {"docker.io": "myorg"})
    assert apply_mirrors("busybox", {"docker.io": "docker.io/myorg"}) == "docker.io/myorg/library/busybox:latest"


@pytest.mark.parametrize("header, scheme, params", [
    ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
     "bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                "scope": "repository:library/busybox:pull"}),
    ('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push"',
     "bearer", {"realm": "https://ghcr.io/token", "service": "ghcr.io", "scope": "repository:a/b:pull,push"}),
    ('bearer realm=https://r/token, service=svc, error="insufficient_scope"',
     "bearer", {"realm": "https://r/token", "service": "svc", "error": "insufficient_scope"}),
    ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
    ('Bearer realm="a\\"b"', "bearer", {"realm": 'a"b'}),
    ("", "", {}),
])
def test_parse_challenge(header, scheme, params):
    assert parse_challenge(header) == (scheme, params)


def test_resolved_pinned_keeps_the_reference_as_written():
    image = parse_reference("vllm/vllm-openai-cpu:v0.33.0-x86_64")
    assert Resolved("vllm/vllm-openai-cpu:v0.33.0-x86_64", image, DIGEST).pinned == \
        f"vllm/vllm-openai-cpu:v0.33.0-x86_64@{DIGEST}"
    assert Resolved(f"busybox@{DIGEST}", parse_reference(f"busybox@{DIGEST}"), DIGEST).pinned == f"busybox@{DIGEST}"


def test_digest_pinned_reference_needs_no_request():
    with Resolver(plain_http=["127.0.0.1:1"]) as resolver:
        got = resolver.resolve(f"127.0.0.1:1/team/app:1.0@{DIGEST}")
    assert got.digest == DIGEST and got.pinned == f"127.0.0.1:1/team/app:1.0@{DIGEST}"


def test_unreachable_registry_is_classified():
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Resolver(plain_http=[f"127.0.0.1:{port}"], timeout=2) as resolver:
        with pytest.raises(RegistryUnreachable) as info:
            resolver.resolve(f"127.0.0.1:{port}/team/app:1.0")
    assert info.value.kind == "unreachable" and f"127.0.0.1:{port}" in str(info.value)


def test_invalid_reference_is_a_resolution_error():
    with Resolver() as resolver, pytest.raises(ImageResolutionError, match="must be lowercase"):
        resolver.resolve("docker.io/Team/App:1")
