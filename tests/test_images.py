"""Issue 23: every image a stack runs, in one list; mirrored and pinned by digest everywhere it is applied;
a missing tag refused before any resource; pull credentials on every pod the program configures.

The program runs under Pulumi's mocks (`run_stack`); `PreviewResolver` (tests/conftest.py) stands in for the
registries as a preview would ask them. The real registry with token auth is tests/e2e/test_images.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from pulumi import RunError

from kserve_intel.builders.images import distinct, stack_images
from kserve_intel.catalog import chart_images as catalog
from kserve_intel.catalog.serving_stacks import STACKS as SERVING_STACKS
from kserve_intel.errors import ConfigError
from kserve_intel.load import load_config
from kserve_intel.plan import build_plan
from kserve_intel.rules.images import PULL_SECRET, moving_tag, pin, unresolved
from offline.engine import evaluate, is_secret, stack_config
from tests.conftest import CSR, ISVC, RELEASE, SECRET, STACKS, TOKEN, PreviewResolver, raw_config, run_stack
from tools import images as images_tool

ROOT = Path(__file__).resolve().parent.parent
GAUDI_IMAGE = "vault.habana.ai/gaudi-docker/1.24.1/ubuntu24.04/habanalabs/vllm-0.26.0-ptupstream-2.11.0:latest"
MIRRORS = {"*": "mirror.local:5000/all"}
DIGEST = "sha256:" + "c" * 64
SERVING = "kubernetes:operator.knative.dev/v1beta1:KnativeServing"
SA = "kubernetes:core/v1:ServiceAccount"
KEDA = {"enabled": True, "engine": "keda", "maxReplicas": 2}


def plan_of(**values):
    values = {"platform": "xeon", "models": ["Qwen/Qwen3-1.7B"], **values}
    secret = [f"kserve-intel:{k}" for k in ("hfToken", "images") if k in values]
    return build_plan(load_config(raw_config(**values), secret))


def image_strings(value, path=""):
    """Every (path, image) in a registered object: container `image` fields, KnativeServing overrides, and chart
    values as the charts render them (`image`+`tag`; `registry`/`repository`/`tag`/`digest`)."""
    if isinstance(value, dict):
        if isinstance(value.get("image"), str) and isinstance(value.get("tag"), str):
            yield path + ".image+tag", f"{value['image']}:{value['tag']}"
            value = {k: v for k, v in value.items() if k not in ("image", "tag")}
        if isinstance(value.get("repository"), str):
            ref = (f"{value['registry']}/" if value.get("registry") else "") + value["repository"]
            ref += (f":{value['tag']}" if value.get("tag") else "") + (f"@{value['digest']}" if value.get("digest") else "")
            yield path + ".repository", ref
            value = {k: v for k, v in value.items() if k not in ("registry", "repository", "tag", "digest")}
        for key, item in value.items():
            if key == "image" and isinstance(item, str):
                yield path + ".image", item
            elif key == "override" and isinstance(item, dict):
                yield from ((f"{path}.override.{k}", v) for k, v in item.items())
            elif key == "queue-sidecar-image":
                yield path + "." + key, item
            else:
                yield from image_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from image_strings(item, f"{path}[{index}]")


# ------------------------------------------------------------------------------------------------ the list

def test_make_images_lists_every_image_of_each_committed_stack(capsys):
    expected = {
        "xeon": ["vllm/vllm-openai-cpu:v0.33.0-x86_64", "quay.io/jetstack/cert-manager-controller:v1.15.1",
                 "quay.io/jetstack/cert-manager-webhook:v1.15.1", "quay.io/jetstack/cert-manager-cainjector:v1.15.1",
                 "quay.io/jetstack/cert-manager-startupapicheck:v1.15.1", "kserve/kserve-controller:v0.13.0",
                 "quay.io/brancz/kube-rbac-proxy:v0.18.0", "kserve/storage-initializer:v0.13.0"],
        "gaudi3": [GAUDI_IMAGE, "quay.io/jetstack/cert-manager-controller:v1.17.0",
                   "quay.io/jetstack/cert-manager-webhook:v1.17.0", "quay.io/jetstack/cert-manager-cainjector:v1.17.0",
                   "quay.io/jetstack/cert-manager-startupapicheck:v1.17.0", "kserve/kserve-controller:v0.20.0",
                   "quay.io/brancz/kube-rbac-proxy:v0.18.0", "kserve/storage-initializer:v0.20.0"],
    }
    for stack, images in expected.items():
        assert images_tool.main(["--stack", stack]) == 0
        assert capsys.readouterr().out.splitlines() == images


def test_make_images_pairs_each_image_with_where_the_nodes_pull_it(capsys, tmp_path, monkeypatch):
    stack = yaml.safe_load((ROOT / "Pulumi.xeon.yaml").read_text())
    stack["config"]["kserve-intel:images"] = {"mirrors": {"docker.io": "registry.local:5000/docker.io",
                                                          "quay.io": "registry.local:5000/quay.io"}}
    (tmp_path / "Pulumi.mirrored.yaml").write_text(yaml.safe_dump(stack))
    monkeypatch.setattr(images_tool, "ROOT", tmp_path)
    assert images_tool.main(["--stack", "mirrored", "--pairs"]) == 0
    pairs = dict(line.split(" ") for line in capsys.readouterr().out.splitlines())
    assert pairs["vllm/vllm-openai-cpu:v0.33.0-x86_64"] == "registry.local:5000/docker.io/vllm/vllm-openai-cpu:v0.33.0-x86_64"
    assert pairs["quay.io/brancz/kube-rbac-proxy:v0.18.0"] == "registry.local:5000/quay.io/brancz/kube-rbac-proxy:v0.18.0"
    assert len(pairs) == 8


def test_the_gone_gcr_kube_rbac_proxy_of_kserve_v0_13_is_replaced():
    # gcr.io/kubebuilder/kube-rbac-proxy went away with gcr.io; KServe v0.14's chart runs the quay.io image
    # with the same arguments.
    plan = plan_of(kserve={"version": "v0.13.1"})
    images = distinct(stack_images(plan))
    assert "gcr.io/kubebuilder/kube-rbac-proxy:v0.13.1" not in images
    assert "quay.io/brancz/kube-rbac-proxy:v0.18.0" in images


def test_the_list_follows_what_the_stack_installs_and_runs():
    plan = plan_of(
        kserve={"version": "v0.20.0", "deploymentMode": "Serverless"},
        models=[{"id": "Qwen/Qwen3-1.7B", "canary": {"trafficPercent": 10, "image": "registry.local/vllm:9.9"}}],
    )
    uses = stack_images(plan)
    by_image = {u.image: u for u in uses}
    assert by_image["registry.local/vllm:9.9"].key == "models[0].canary.image"
    assert by_image["vllm/vllm-openai-cpu:v0.33.0-x86_64"].key == "servingStack"
    images = distinct(uses)
    assert "gcr.io/knative-releases/knative.dev/operator/cmd/operator:v1.21.1" in images
    assert any(i.startswith("gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:") for i in images)
    assert "docker.io/envoyproxy/envoy:v1.36-latest" in images  # Kourier's gateway (a moving tag: pinned)
    keda = distinct(stack_images(plan_of(kserve={"version": "v0.20.0"}, autoscaling=KEDA)))
    assert {"ghcr.io/kedacore/keda:2.18.0", "ghcr.io/kedacore/keda-metrics-apiserver:2.18.0"} <= set(keda)
    # Images for features the program never turns on are not pulled: not listed.
    assert not any(i.startswith(("kserve/agent", "kserve/router", "quay.io/jetstack/cert-manager-acmesolver"))
                   for i in images)
    custom = plan_of(backend="own", models=[{"id": "Qwen/Qwen3-1.7B", "gated": False}],
                     runtimes={"custom": [{"name": "own", "image": "ghcr.io/me/own-server:1.0", "platforms": ["xeon"],
                                          "healthPath": "/healthz"}]})
    (use,) = [u for u in stack_images(custom) if u.image == "ghcr.io/me/own-server:1.0"]
    assert use.key == "runtimes.custom[0].image"


def test_local_model_cache_lists_its_download_image_and_the_localmodel_charts():
    plan = plan_of(kserve={"version": "v0.17.1"}, localModelCache={"enabled": True},
                   models=[{"id": "Qwen/Qwen3-1.7B", "localCache": {"size": "20Gi"}}])
    images = distinct(stack_images(plan))
    assert {"kserve/storage-initializer:v0.17.1", "kserve/kserve-localmodel-controller:v0.17.1",
            "kserve/kserve-localmodelnode-agent:v0.17.1"} <= set(images)


def test_every_image_the_program_applies_is_in_the_list_mirrored_and_pinned():
    """The list and the objects agree: each image field of every object (charts' values included) is a listed
    image as the stack applies it: mirrored, then pinned by digest."""
    resolver = PreviewResolver()
    cases = {
        "xeon": {},
        "gaudi3": {"kserve": {"version": "v0.20.0", "deploymentMode": "Serverless"},
                   "models": [{"id": "Qwen/Qwen2.5-32B-Instruct", "canary": {"trafficPercent": 10,
                                                                              "image": "opea/vllm-gaudi:1.23.0"}}]},
        "gaudi": {"kserve": {"version": "v0.16.0"}, "autoscaling": KEDA},
    }
    for stack, overrides in cases.items():
        evaluation = run_stack(stack, hfToken=TOKEN, image_resolver=resolver, images={"mirrors": MIRRORS},
                               **overrides)
        listed = {entry["pulled"] for entry in evaluation.outputs["images"]}
        assert all(p.startswith("mirror.local:5000/all/") and "@sha256:" in p for p in listed), listed
        found = [(r.name, path, image) for r in evaluation.registrations if r.type.startswith("kubernetes:")
                 for path, image in image_strings(r.inputs)]
        assert found
        for name, path, image in found:
            assert image in listed, (stack, name, path, image)
        # Every chart image with a values key reached its release's values (repository + tag@digest).
        for release in evaluation.of_type(RELEASE):
            values = json.dumps(release.inputs.get("values", {}))
            for image in catalog.images(release.inputs["name"], release.inputs["version"]) or ():
                if image.runs is True and image.values:
                    assert "mirror.local:5000/all/" in values and "sha256:" in values, (release.name, image.role)


def test_chart_values_carry_repository_and_pinned_tag_per_chart_convention():
    resolver = PreviewResolver()
    evaluation = run_stack("xeon", hfToken=TOKEN, image_resolver=resolver)
    releases = {r.inputs["name"]: r.inputs["values"] for r in evaluation.of_type(RELEASE)}
    digest = {e["image"]: e["pulled"].split("@")[1] for e in evaluation.outputs["images"]}
    controller = releases["kserve"]["kserve"]["controller"]
    assert controller["image"] == "kserve/kserve-controller"
    assert controller["tag"] == "v0.13.0@" + digest["kserve/kserve-controller:v0.13.0"]
    assert controller["rbacProxyImage"] == "quay.io/brancz/kube-rbac-proxy:v0.18.0@" + digest[
        "quay.io/brancz/kube-rbac-proxy:v0.18.0"]
    assert releases["kserve"]["kserve"]["storage"]["tag"].startswith("v0.13.0@sha256:")
    # cert-manager: its own digest key replaces the tag (templates/_helpers.tpl define "image").
    assert releases["cert-manager"]["image"]["digest"] == digest["quay.io/jetstack/cert-manager-controller:v1.15.1"]
    assert releases["cert-manager"]["startupapicheck"]["image"]["digest"].startswith("sha256:")
    (runtime,) = evaluation.of_type(CSR)
    assert runtime.inputs["spec"]["containers"][0]["image"] == (
        "vllm/vllm-openai-cpu:v0.33.0-x86_64@" + digest["vllm/vllm-openai-cpu:v0.33.0-x86_64"])


def test_keda_and_knative_take_mirrors_their_own_way():
    keda_stack = run_stack("gaudi3", hfToken=TOKEN, image_resolver=PreviewResolver(), images={"mirrors": MIRRORS},
                           kserve={"version": "v0.20.0", "deploymentMode": "Standard"}, autoscaling=KEDA)
    keda = next(r for r in keda_stack.of_type(RELEASE) if r.inputs["name"] == "keda").inputs["values"]
    # KEDA 2.18: <registry>/<repository> when a registry is set; the program gives the whole repository.
    assert keda["image"]["keda"]["registry"] == ""
    assert keda["image"]["keda"]["repository"] == "mirror.local:5000/all/kedacore/keda"
    assert keda["image"]["keda"]["tag"].startswith("2.18.0@sha256:")
    evaluation = run_stack("gaudi3", hfToken=TOKEN, image_resolver=PreviewResolver(), images={"mirrors": MIRRORS},
                           kserve={"version": "v0.20.0", "deploymentMode": "Serverless"})
    (serving,) = evaluation.of_type(SERVING)
    spec = serving.inputs["spec"]
    override = spec["registry"]["override"]
    assert override["activator/activator"].startswith(
        "mirror.local:5000/all/knative-releases/knative.dev/serving/cmd/activator@sha256:")
    assert override["3scale-kourier-gateway/kourier-gateway"].startswith(
        "mirror.local:5000/all/envoyproxy/envoy:v1.36-latest@sha256:")
    assert spec["config"]["deployment"]["queue-sidecar-image"].startswith(
        "mirror.local:5000/all/knative-releases/knative.dev/serving/cmd/queue@sha256:")


# ------------------------------------------------------------------------------------------------ resolution

def test_offline_render_asks_no_registry_and_warns_nothing(committed):
    for stack in STACKS:
        evaluation = committed[stack]
        assert not any("images." in w for w in evaluation.warnings)
        assert all(e["pulled"] == e["image"] for e in evaluation.outputs["images"])
        (runtime,) = evaluation.of_type(CSR)
        assert "@" not in runtime.inputs["spec"]["containers"][0]["image"]


def test_a_moved_tag_changes_what_is_applied():
    before = run_stack("gaudi", hfToken=TOKEN, image_resolver=PreviewResolver())
    after = run_stack("gaudi", hfToken=TOKEN, image_resolver=PreviewResolver(salt="moved"))
    image = lambda e: e.of_type(CSR)[0].inputs["spec"]["containers"][0]["image"]  # noqa: E731
    assert image(before).startswith(GAUDI_IMAGE + "@sha256:")
    assert image(before) != image(after)


def test_a_missing_tag_is_refused_before_any_resource_naming_key_image_and_answer():
    missing = "registry.local/vllm:9.9"
    config, secrets = stack_config("gaudi3", {
        "hfToken": TOKEN, "kserve": json.dumps({"version": "v0.20.0", "deploymentMode": "Standard"}),
        "models": json.dumps([{"id": "Qwen/Qwen2.5-32B-Instruct", "canary": {"trafficPercent": 10, "image": missing}}]),
    })
    resolver = PreviewResolver(missing=(missing, "kserve/kserve-controller:v0.20.0"))
    evaluation = evaluate(config, secrets, stack="gaudi3", raise_errors=False, image_resolver=resolver)
    assert isinstance(evaluation.error, RunError)
    message = str(evaluation.error)
    assert evaluation.registrations == []
    assert "(2 problems)" in message
    assert (f'kserve-intel:models[0].canary.image = "{missing}": canary of model qwen2-5-32b-instruct runs image '
            f"{missing}, which cannot be pulled: {missing}: tag '9.9' not found in registry.local/vllm "
            "(registry said: MANIFEST_UNKNOWN: manifest unknown)") in message
    assert ('kserve-intel:kserve.version = "v0.20.0": chart kserve-resources v0.20.0: controller runs image '
            "kserve/kserve-controller:v0.20.0") in message


def test_mirrors_are_resolved_where_the_nodes_pull():
    resolver = PreviewResolver()
    run_stack("xeon", hfToken=TOKEN, image_resolver=resolver, images={"mirrors": {"docker.io": "mirror.local/hub"}})
    assert "mirror.local/hub/vllm/vllm-openai-cpu:v0.33.0-x86_64" in resolver.asked
    assert "quay.io/jetstack/cert-manager-controller:v1.15.1" in resolver.asked  # no mirror for quay.io
    assert not any(ref.startswith("vllm/") for ref in resolver.asked)


def test_resolve_false_keeps_tags_takes_config_digests_and_warns_once():
    resolver = PreviewResolver()
    evaluation = run_stack("gaudi", hfToken=TOKEN, image_resolver=resolver,
                           images={"resolve": False, "digests": {"kserve/kserve-controller:v0.13.0": DIGEST}})
    assert resolver.asked == []
    warnings = [w for w in evaluation.warnings if "images.resolve is false" in w]
    assert len(warnings) == 1
    assert f"Moving tags go out unpinned: {GAUDI_IMAGE}" in warnings[0]
    controller = next(r for r in evaluation.of_type(RELEASE) if r.inputs["name"] == "kserve").inputs["values"]
    assert controller["kserve"]["controller"]["tag"] == f"v0.13.0@{DIGEST}"
    (runtime,) = evaluation.of_type(CSR)
    assert runtime.inputs["spec"]["containers"][0]["image"] == GAUDI_IMAGE


def test_pin_resolves_each_pulled_reference_once():
    plan = plan_of(models=["Qwen/Qwen3-1.7B", "Qwen/Qwen3-4B-Instruct-2507"])
    resolver = PreviewResolver()
    pins = pin(stack_images(plan), plan.config, resolver)
    assert len(resolver.asked) == len(set(resolver.asked)) == len(distinct(stack_images(plan)))
    pinned = replace(plan, images=pins)
    assert pinned.applied_image("vllm/vllm-openai-cpu:v0.33.0-x86_64").startswith(
        "vllm/vllm-openai-cpu:v0.33.0-x86_64@sha256:")
    assert unresolved(plan.config).applied("vllm/vllm-openai-cpu:v0.33.0-x86_64") == "vllm/vllm-openai-cpu:v0.33.0-x86_64"


# ------------------------------------------------------------------------------------------------ config

@pytest.mark.parametrize("images,fragment", [
    ({"mirrors": {"not a host": "mirror.local/x"}}, "images.mirrors.not a host"),
    ({"mirrors": {"docker.io": "myorg"}}, "has no registry host"),
    ({"digests": {"vllm/vllm-openai-cpu:v0.33.0-x86_64": "sha256:abc"}}, "sha256:<64 lowercase hex digits>"),
    ({"digests": {"Bad Ref": DIGEST}}, "the key must be an image reference"),
    ({"plainHttp": ["http://x y"]}, "images.plainHttp"),
])
def test_bad_images_config_is_refused(images, fragment):
    with pytest.raises(ConfigError) as caught:
        plan_of(images=images)
    assert fragment in str(caught.value)


def test_digests_and_mirrors_the_stack_does_not_use_are_refused_before_any_resource():
    evaluation = run_stack("xeon", hfToken=TOKEN, raise_errors=False, images={
        "mirrors": {"ghcr.io": "mirror.local/ghcr"}, "digests": {"opea/vllm-gaudi:1.22.0": DIGEST}})
    assert isinstance(evaluation.error, RunError) and evaluation.registrations == []
    assert "kserve-intel:images.digests.opea/vllm-gaudi:1.22.0" in str(evaluation.error)
    assert "kserve-intel:images.mirrors.ghcr.io = \"mirror.local/ghcr\": has no effect" in str(evaluation.error)


def test_credentials_must_be_secret():
    values = {"platform": "xeon", "models": ["Qwen/Qwen3-1.7B"],
              "images": {"credentials": {"ghcr.io": {"username": "u", "password": "p"}}}}
    with pytest.raises(ConfigError) as caught:
        load_config(raw_config(**values), [])
    assert "images.credentials: must be stored encrypted" in str(caught.value)
    assert "\"p\"" not in str(caught.value)


def test_pull_credentials_reach_every_pod_the_program_configures():
    credentials = {"credentials": {"registry.local:5000": {"username": "robot", "password": "s3cr3t-pull"}},
                   "mirrors": MIRRORS}
    standard = run_stack("gaudi3", hfToken=TOKEN, images=credentials, autoscaling=KEDA,
                         kserve={"version": "v0.20.0", "deploymentMode": "Standard"})
    multinode = run_stack("gaudi3", hfToken=TOKEN, images=credentials,
                          kserve={"version": "v0.15.2", "deploymentMode": "Standard"},
                          models=[{"id": "Qwen/Qwen2.5-32B-Instruct", "nodes": 2}], storage={"accessMode": "ReadWriteMany"})
    serverless = run_stack("gaudi3", hfToken=TOKEN, images=credentials,
                           kserve={"version": "v0.20.0", "deploymentMode": "Serverless"})
    namespaces = set()
    for evaluation in (standard, multinode, serverless):
        for secret in evaluation.of_type(SECRET):
            if secret.inputs["metadata"]["name"] != PULL_SECRET:
                continue
            namespaces.add(secret.inputs["metadata"]["namespace"])
            assert secret.inputs["type"] == "kubernetes.io/dockerconfigjson"
            data = secret.inputs["stringData"]
            assert is_secret(data)
            assert json.loads(data["value"][".dockerconfigjson"])["auths"]["registry.local:5000"]["username"] == "robot"
        assert "s3cr3t-pull" not in json.dumps([r.inputs for r in evaluation.registrations if r.type != SECRET])
        (account,) = [r for r in evaluation.of_type(SA) if r.inputs["metadata"]["name"] == "kserve-intel-vllm"]
        assert account.inputs["imagePullSecrets"] == [{"name": PULL_SECRET}]
    assert namespaces == {"intel-inference", "kserve", "cert-manager", "keda", "knative-serving"}
    values = {r.inputs["name"]: r.inputs["values"] for r in standard.of_type(RELEASE)}
    assert values["cert-manager"]["global"]["imagePullSecrets"] == [{"name": PULL_SECRET}]
    assert values["keda"]["imagePullSecrets"] == [{"name": PULL_SECRET}]
    assert values["kserve-resources"]["kserve"]["controller"]["imagePullSecrets"] == [{"name": PULL_SECRET}]
    (job,) = multinode.of_type("kubernetes:batch/v1:Job")  # the multi-node weights download
    assert job.inputs["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": PULL_SECRET}]
    (serving,) = serverless.of_type(SERVING)
    assert serving.inputs["spec"]["registry"]["imagePullSecrets"] == [{"name": PULL_SECRET}]


# ------------------------------------------------------------------------------------------------ evidence

def test_every_built_in_image_has_its_evidence_beside_it_and_in_the_docs():
    evidence = yaml.safe_load((ROOT / "kserve_intel/catalog/data/image_evidence.yaml").read_text())
    recorded = {(e["image"], str(e["tag"])) for e in evidence["images"]}
    docs = (ROOT / "docs/serving-stacks.md").read_text()
    for stack in SERVING_STACKS.values():
        assert stack.image_evidence is not None, stack.name
        assert stack.image_evidence.verdict in ("confirmed-by-use", "documented-pattern", "upstream-tag")
        repository, _, tag = stack.image.rpartition(":")
        assert (repository, tag) in recorded, stack.image
        assert f"`{stack.image}`" in docs and stack.image_evidence.verdict in docs, stack.name
        # A moving tag is never the default unless the evidence says it is the only one upstream gives.
        assert moving_tag(stack.image) == (stack.image_evidence.verdict == "upstream-tag"), stack.name
