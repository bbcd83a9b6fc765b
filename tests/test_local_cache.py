"""Local model cache (KServe LocalModelCache, v0.15+): version rules, refusals, exact
fields, schema validation against the vendored v0.20.0 CRDs, and the program's
registrations and dependency order."""

from __future__ import annotations

import itertools

import pytest

from kserve_intel.builders import kserve as kserve_builders
from kserve_intel.builders import local_model_cache as local_cache
from kserve_intel.builders.model import inference_service
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.config.values import quantity_bytes
from kserve_intel.plan import build_plan
from offline.validation import validate_object
from kserve_intel.catalog.kserve import SUPPORTED_TAGS, KServeRelease
from offline.engine import is_secret
from tests.test_uninstall import deleted_before
from tests.conftest import TOKEN, PreviewResolver, raw_config, run_stack

COMMIT = "a09a35458c702b33eeacc393d103063234e8bc28"
MODEL = {"xeon": "Qwen/Qwen3-4B-Instruct-2507", "gaudi": "Qwen/Qwen2.5-7B-Instruct", "gaudi3": "Qwen/Qwen2.5-32B-Instruct"}
ENABLED = {"enabled": True}
CACHED_VERSIONS = [t for t in SUPPORTED_TAGS if KServeRelease(t).supports_local_model_cache]
RELEASE = "kubernetes:helm.sh/v3:Release"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
LMC = "kubernetes:serving.kserve.io/v1alpha1:LocalModelCache"
LMNG = "kubernetes:serving.kserve.io/v1alpha1:LocalModelNodeGroup"
CSC = "kubernetes:serving.kserve.io/v1alpha1:ClusterStorageContainer"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"


def cached(model_id, size="16Gi", **extra):
    return {"id": model_id, "localCache": {"size": size}, **extra}


def make_plan(platform="gaudi", version="v0.20.0", models=None, cache=None, **extra):
    values = {
        "platform": platform, "kserve": {"version": version}, "hfToken": "hf_x",
        "models": models or [cached(MODEL[platform])], "localModelCache": cache or ENABLED, **extra,
    }
    return build_plan(load_config(raw_config(**values), ["kserve-intel:hfToken"]))


def valid(obj, version):
    problems = validate_object(obj, kserve_version=version)
    assert problems == [], problems
    return obj


# --- versions ---------------------------------------------------------------------------


@pytest.mark.parametrize("tag,separate,creates_ns,labels", [
    ("v0.15.0", False, True, {}),
    ("v0.16.0", False, True, {}),
    ("v0.17.0", True, False, {"kserve/localmodel": "worker"}),
    ("v0.20.0", True, False, {"kserve/localmodel": "worker"}),
])
def test_release_knows_how_localmodel_is_installed(tag, separate, creates_ns, labels):
    release = KServeRelease(tag)
    assert release.localmodel_separate_charts is separate
    assert release.localmodel_chart_creates_job_namespace is creates_ns
    assert release.localmodel_agent_node_labels == labels
    assert release.storage_initializer_image == f"kserve/storage-initializer:{tag}"


def test_quantities_compare_by_value():
    assert quantity_bytes("1Ti") == 2**40
    assert quantity_bytes("1700G") == 1.7e12
    assert quantity_bytes("500m") == 0.5
    assert quantity_bytes("1e3") == 1000
    assert quantity_bytes("70Gi") < quantity_bytes("1Ti") < quantity_bytes("1.2T")


# --- config: defaults and refusals ------------------------------------------------------


def test_off_by_default_and_nothing_changes():
    plan = build_plan(load_config(raw_config(platform="gaudi", models=[MODEL["gaudi"]], hfToken="hf_x"),
                                  ["kserve-intel:hfToken"]))
    assert plan.local_model_cache is None
    assert not plan.models[0].local_cache
    isvc = inference_service(plan, plan.models[0], with_token=True)
    assert "storageUri" not in isvc["spec"]["predictor"]["model"]
    assert "localmodel" not in kserve_builders.controller_release(plan).values["kserve"]


def test_defaults_of_the_node_group():
    group = make_plan("gaudi", "v0.15.2").local_model_cache
    assert (group.name, group.local_path, group.size, group.storage_class, group.job_namespace) == (
        "kserve-intel", "/mnt/models", "1Ti", "local-storage", "kserve-localmodel-jobs")
    assert dict(group.node_selector) == {"feature.node.kubernetes.io/pci-1200_1da3.present": "true"}
    assert [dict(t) for t in group.tolerations] == [{"key": "habana.ai/gaudi", "operator": "Exists", "effect": "NoSchedule"}]
    xeon = make_plan("xeon", "v0.20.0").local_model_cache
    assert dict(xeon.node_selector) == {"feature.node.kubernetes.io/cpu-cpuid.AVX512VNNI": "true", "kserve/localmodel": "worker"}
    assert xeon.tolerations == ()


RWX = {"storage": {"accessMode": "ReadWriteMany"}}
BAD = [
    ({"kserve": {"version": "v0.14.1"}}, ["localModelCache.enabled = true", "exists from v0.15", "v0.14.1"]),
    ({"kserve": {"version": "v0.13.0"}}, ["localModelCache.enabled", "exists from v0.15"]),
    ({"kserve": {"version": "v0.20.0", "install": False}}, ["localModelCache.enabled", "kserve.install is false"]),
    ({"models": [MODEL["gaudi"]]}, ["localModelCache.enabled = true", "no model sets localCache"]),
    ({"localModelCache": {"enabled": False}}, ["models[0].localCache", "needs localModelCache.enabled true"]),
    ({"localModelCache": {"nodeGroup": {"size": "2Ti"}}, "models": [MODEL["gaudi"]]},
     ["localModelCache.nodeGroup", "no effect unless localModelCache.enabled is true"]),
    ({"localModelCache": {"jobNamespace": "jobs"}, "models": [MODEL["gaudi"]]},
     ["localModelCache.jobNamespace = \"jobs\"", "no effect unless localModelCache.enabled"]),
    ({"localModelCache": {"enabled": True, "jobNamespace": "intel-inference"}},
     ["localModelCache.jobNamespace = \"intel-inference\"", "namespace of its own"]),
    ({"localModelCache": {"enabled": True, "jobNamespace": "kserve"}}, ["localModelCache.jobNamespace", "namespace of its own"]),
    ({"models": [cached(MODEL["gaudi"], "2Ti")]}, ["models[0].localCache.size = \"2Ti\"", "exceeds the node group's disk", "1Ti"]),
    ({"localModelCache": {"enabled": True, "nodeGroup": {"size": "100Gi"}},
      "models": [cached(MODEL["gaudi"], "60Gi"), cached("Qwen/Qwen2.5-32B-Instruct", "70Gi")]},
     ["localModelCache.nodeGroup.size = \"100Gi\"", "smaller than the cached models together", "models[0] 60Gi, models[1] 70Gi"]),
    ({**RWX, "models": [cached("meta-llama/Llama-3.1-405B-Instruct", "800Gi")]}, ["models[0].localCache", "multi-node model"]),
    ({"models": [cached(MODEL["gaudi"], canary={"trafficPercent": 10, "image": "a/b:1"})]},
     ["models[0].localCache", "cannot have a canary"]),
    ({"models": [cached(MODEL["gaudi"], revision="release/v2")]}, ["models[0].revision = \"release/v2\"", "splits at '/'"]),
    ({"kserve": {"version": "v0.15.2"}, "runtimes": {"nodeSelector": {}}},
     ["localModelCache.nodeGroup.nodeSelector", "must name at least one label", "runtimes.nodeSelector is empty"]),
    ({"localModelCache": {"enabled": True, "nodeGroup": {"localPath": "models"}}},
     ["localModelCache.nodeGroup.localPath = \"models\"", "absolute directory path"]),
    ({"localModelCache": {"enabled": True, "nodeGroup": {"localPath": "/"}}}, ["localModelCache.nodeGroup.localPath", "not /"]),
    ({"localModelCache": {"enabled": True, "nodeGroup": {"localPath": "/mnt/../etc"}}}, ["localModelCache.nodeGroup.localPath"]),
    ({"localModelCache": {"enabled": True, "nodeGroup": {"size": "1TB"}}}, ["localModelCache.nodeGroup.size = \"1TB\"", "Kubernetes quantity"]),
    ({"localModelCache": {"enabled": True, "nodeGroup": {"name": "Workers"}}}, ["localModelCache.nodeGroup.name", "DNS-1123 label"]),
    ({"localModelCache": {"enabled": True, "nodeGroup": {"storageClass": "Local_Storage"}}}, ["localModelCache.nodeGroup.storageClass"]),
    ({"localModelCache": {"enabled": True, "nodeGroup": {"nodeSelector": {"bad key!": "x"}}}}, ["localModelCache.nodeGroup.nodeSelector", "label key"]),
    ({"localModelCache": {"enabled": True, "nodes": 2}}, ["localModelCache.nodes", "unknown key; allowed keys: enabled, jobNamespace, nodeGroup"]),
    ({"models": [{"id": MODEL["gaudi"], "localCache": {}}]}, ["models[0].localCache.size: is required"]),
    ({"models": [{"id": MODEL["gaudi"], "localCache": True}]}, ["models[0].localCache"]),
]


@pytest.mark.parametrize("values,fragments", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_local_cache_config_is_refused_with_a_clear_message(values, fragments):
    config = {"platform": "gaudi", "hfToken": "hf_x", "kserve": {"version": "v0.20.0"},
              "localModelCache": ENABLED, "models": [cached(MODEL["gaudi"])], **values}
    with pytest.raises(ConfigError) as caught:
        build_plan(load_config(raw_config(**config), ["kserve-intel:hfToken"]))
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message


# --- builders: exact fields -------------------------------------------------------------


def test_cached_model_loads_from_the_mounted_copy_at_its_revision():
    plan = make_plan("gaudi", "v0.15.2", models=[cached(MODEL["gaudi"], revision=COMMIT), MODEL["gaudi3"]])
    model, plain = plan.models
    assert model.source_uri == f"hf://Qwen/Qwen2.5-7B-Instruct:{COMMIT}"
    container = inference_service(plan, model, with_token=True)["spec"]["predictor"]["model"]
    assert container["storageUri"] == f"hf://Qwen/Qwen2.5-7B-Instruct:{COMMIT}"
    args = container["args"]
    assert args[:3] == ["/mnt/models", "--served-model-name", "Qwen/Qwen2.5-7B-Instruct"]
    assert "--revision" not in args and "--tokenizer-revision" not in args and COMMIT not in args
    # The other model still loads from the hub inside vLLM.
    other = inference_service(plan, plain, with_token=True)["spec"]["predictor"]["model"]
    assert "storageUri" not in other and other["args"][0] == "Qwen/Qwen2.5-32B-Instruct"


def test_served_model_name_is_kept_for_clients():
    plan = make_plan(models=[cached(MODEL["gaudi"], servedModelName="qwen")])
    args = inference_service(plan, plan.models[0], with_token=True)["spec"]["predictor"]["model"]["args"]
    assert args[args.index("--served-model-name") + 1] == "qwen"
    assert plan.models[0].source_uri == "hf://Qwen/Qwen2.5-7B-Instruct"


def test_local_model_cache_fields():
    plan = make_plan(models=[cached(MODEL["gaudi"], "20Gi", revision="v1.0")])
    cache = local_cache.model_cache(plan, plan.models[0])
    assert cache["apiVersion"] == "serving.kserve.io/v1alpha1" and cache["kind"] == "LocalModelCache"
    assert cache["metadata"]["name"] == "qwen2-5-7b-instruct-intel-inference"
    assert "namespace" not in cache["metadata"]  # cluster-scoped
    assert cache["spec"] == {"sourceModelUri": "hf://Qwen/Qwen2.5-7B-Instruct:v1.0", "modelSize": "20Gi",
                             "nodeGroups": ["kserve-intel"]}


def test_cache_names_are_unique_per_namespace_and_fit():
    # The longest model name a namespace allows leaves room for "-<namespace>" (KServe's host label is tighter).
    plan = make_plan(models=[cached(MODEL["gaudi"], name="m" * 22)], namespace="n" * 30)
    name = local_cache.cache_name(plan, plan.models[0])
    assert name == "m" * 22 + "-" + "n" * 30 and len(name) <= 63


def test_node_group_fields_v0_15():
    plan = make_plan("gaudi", "v0.15.2", cache={"enabled": True, "nodeGroup": {
        "name": "gaudi-nvme", "localPath": "/mnt/nvme/models/", "size": "3Ti", "storageClass": "nvme",
        "nodeSelector": {"node-role/inference": "true", "disk": "nvme"}}})
    group = local_cache.node_group(plan)
    assert group["metadata"]["name"] == "gaudi-nvme" and "namespace" not in group["metadata"]
    assert group["spec"] == {
        "storageLimit": "3Ti",
        "persistentVolumeSpec": {
            "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem", "capacity": {"storage": "3Ti"},
            "local": {"path": "/mnt/nvme/models"}, "storageClassName": "nvme", "persistentVolumeReclaimPolicy": "Retain",
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "disk", "operator": "In", "values": ["nvme"]},
                {"key": "node-role/inference", "operator": "In", "values": ["true"]},
            ]}]}},
        },
        "persistentVolumeClaimSpec": {
            "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": "3Ti"}}, "storageClassName": "nvme",
        },
    }


def test_node_group_v0_17_plus_selects_the_agents_label():
    plan = make_plan("gaudi3", "v0.17.0")
    terms = local_cache.node_group(plan)["spec"]["persistentVolumeSpec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert {e["key"] for e in terms[0]["matchExpressions"]} == {
        "feature.node.kubernetes.io/pci-1200_1da3.present", "kserve/localmodel"}


def test_download_container_carries_the_token_by_reference():
    plan = make_plan("gaudi", "v0.16.0")
    csc = local_cache.download_container(plan)
    spec = csc["spec"]
    assert spec["workloadType"] == "localModelDownloadJob"
    assert spec["supportedUriFormats"] == [{"prefix": "hf://"}]
    container = spec["container"]
    assert container["image"] == "kserve/storage-initializer:v0.16.0"
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}} in container["env"]
    assert all("value" not in e or "hf_" not in e["value"] for e in container["env"])
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    secret = local_cache.job_token_secret(plan)
    assert secret["metadata"]["namespace"] == "kserve-localmodel-jobs" and "stringData" not in secret


def test_controller_values_v0_15_run_the_agent_on_the_group():
    plan = make_plan("gaudi", "v0.15.2", cache={"enabled": True, "jobNamespace": "model-downloads",
                                                "nodeGroup": {"localPath": "/data/models"}})
    values = kserve_builders.controller_release(plan).values["kserve"]
    assert values["localmodel"] == {
        "enabled": True, "jobNamespace": "model-downloads",
        "agent": {"hostPath": "/data/models",
                  "nodeSelector": {"feature.node.kubernetes.io/pci-1200_1da3.present": "true"},
                  "tolerations": [{"key": "habana.ai/gaudi", "operator": "Exists", "effect": "NoSchedule"}]},
    }
    assert values["modelmesh"] == {"enabled": False}


def test_v0_17_plus_installs_the_localmodel_charts():
    plan = make_plan("xeon", "v0.20.0")
    assert kserve_builders.controller_release(plan).values["kserve"]["localmodel"] == {
        "enabled": True, "jobNamespace": "kserve-localmodel-jobs"}
    crds = local_cache.localmodel_crd_release(plan)
    assert (crds.name, crds.chart, crds.version, crds.namespace) == (
        "kserve-localmodel-crd", "oci://ghcr.io/kserve/charts/kserve-localmodel-crd", "v0.20.0", "kserve")
    release = local_cache.localmodel_release(plan)
    assert (release.chart, release.version) == ("oci://ghcr.io/kserve/charts/kserve-localmodel-resources", "v0.20.0")
    agent = {"hostPath": "/mnt/models",
             "nodeSelector": {"feature.node.kubernetes.io/cpu-cpuid.AVX512VNNI": "true", "kserve/localmodel": "worker"}}
    assert release.values == {"kserve": {
        "version": "v0.20.0", "createSharedResources": False,
        "localmodel": {"enabled": True, "jobNamespace": "kserve-localmodel-jobs", "agent": agent},
        "localmodelnode": {"controller": agent},
    }}


# --- schema validation ------------------------------------------------------------------


@pytest.mark.parametrize("platform,version", list(itertools.product(("xeon", "gaudi", "gaudi3"), CACHED_VERSIONS)))
def test_every_cache_object_is_valid_against_the_crds(platform, version):
    plan = make_plan(platform, version, models=[cached(MODEL[platform], revision=COMMIT)])
    schemas = plan.release.schema_tag
    assert schemas.startswith(f"v0.{plan.release.minor}.")
    valid(local_cache.node_group(plan), schemas)
    valid(local_cache.model_cache(plan, plan.models[0]), schemas)
    valid(local_cache.download_container(plan), schemas)
    valid(local_cache.job_namespace(plan), schemas)
    valid({**local_cache.job_token_secret(plan), "stringData": {"HF_TOKEN": "x"}}, schemas)
    valid(inference_service(plan, plan.models[0], with_token=True), schemas)


def test_serverless_cached_model_is_valid():
    plan = make_plan("gaudi", "v0.20.0", kserve={"version": "v0.20.0", "deploymentMode": "Serverless"})
    isvc = valid(inference_service(plan, plan.models[0], with_token=True), "v0.20.0")
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "hf://Qwen/Qwen2.5-7B-Instruct"


def test_node_group_is_schema_checked_against_its_own_minor():
    # The LocalModelNodeGroup CRD of every minor from v0.14 is vendored (schemas/crds/SOURCES.md).
    from offline.validation import not_schema_checked

    group = local_cache.node_group(make_plan())
    assert not not_schema_checked(group)
    assert validate_object(group, kserve_version="v0.15.2") == []
    group["spec"]["storageLimits"] = "1Ti"
    assert any("storageLimits" in p for p in validate_object(group, kserve_version="v0.20.0"))
    # v0.13 has no local model cache at all: no schema, an error rather than a silent pass.
    assert validate_object(local_cache.node_group(make_plan()), kserve_version="v0.13.0")


# --- the program ------------------------------------------------------------------------


def _by_name(evaluation, type_):
    return {r.inputs["metadata"]["name"]: r for r in evaluation.of_type(type_)}


def test_program_v0_20_registers_caches_after_the_localmodel_controller():
    evaluation = run_stack("gaudi3", hfToken=TOKEN, localModelCache=ENABLED,
                           models=[cached("Qwen/Qwen2.5-32B-Instruct", "70Gi"), "deepseek-ai/DeepSeek-R1-Distill-Llama-70B"])
    releases = {r.inputs["name"]: r for r in evaluation.of_type(RELEASE)}
    assert {"kserve-localmodel-crd", "kserve-localmodel-resources"} <= set(releases)
    localmodel = releases["kserve-localmodel-resources"]
    assert releases["kserve-localmodel-crd"].urn in localmodel.dependencies
    assert releases["kserve-resources"].urn in localmodel.dependencies
    (group,) = evaluation.of_type(LMNG)
    (cache,) = evaluation.of_type(LMC)
    (csc,) = evaluation.of_type(CSC)
    namespaces = _by_name(evaluation, NAMESPACE)
    jobs_ns = namespaces["kserve-localmodel-jobs"]
    secrets = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r for r in evaluation.of_type(SECRET)}
    token = secrets[("kserve-localmodel-jobs", "hf-token")]
    assert is_secret(token.inputs["stringData"])
    assert token.inputs["stringData"]["value"] == {"HF_TOKEN": TOKEN}
    assert localmodel.urn in jobs_ns.dependencies
    # The token waits for the namespace through its guard (deleted first on destroy: components/namespace_guard.py).
    assert deleted_before(evaluation, token.urn, jobs_ns.urn)
    assert token.urn in csc.dependencies
    for obj in (group, cache):
        assert localmodel.urn in obj.dependencies
        assert csc.urn in obj.dependencies
    assert group.urn in cache.dependencies
    assert cache.parent == group.parent and "LocalModelCaches" in cache.parent
    isvcs = _by_name(evaluation, ISVC)
    assert cache.urn in isvcs["qwen2-5-32b-instruct"].dependencies
    assert cache.urn not in isvcs["deepseek-r1-distill-llama-70b"].dependencies
    assert isvcs["qwen2-5-32b-instruct"].inputs["spec"]["predictor"]["model"]["storageUri"] == "hf://Qwen/Qwen2.5-32B-Instruct"
    for registration in (group, cache, csc):
        assert validate_object(registration.manifest, kserve_version="v0.20.0") == []


def test_program_v0_15_uses_the_kserve_chart_and_its_job_namespace():
    evaluation = run_stack("gaudi", hfToken=TOKEN, kserve={"version": "v0.15.2"}, localModelCache=ENABLED,
                           models=[cached("Qwen/Qwen2.5-7B-Instruct")])
    releases = {r.inputs["name"]: r for r in evaluation.of_type(RELEASE)}
    assert set(releases) == {"cert-manager", "kserve-crd", "kserve"}
    assert releases["kserve"].inputs["values"]["kserve"]["localmodel"]["enabled"] is True
    assert "kserve-localmodel-jobs" not in _by_name(evaluation, NAMESPACE)  # the chart creates it
    (cache,) = evaluation.of_type(LMC)
    (group,) = evaluation.of_type(LMNG)
    (token,) = [r for r in evaluation.of_type(SECRET) if r.inputs["metadata"]["namespace"] == "kserve-localmodel-jobs"]
    for obj in (cache, group, token):
        assert releases["kserve"].urn in obj.dependencies
    (isvc,) = evaluation.of_type(ISVC)
    assert cache.urn in isvc.dependencies


def test_program_without_token_creates_no_download_credentials():
    evaluation = run_stack("xeon", kserve={"version": "v0.20.0"}, localModelCache=ENABLED,
                           models=[cached("Qwen/Qwen3-4B-Instruct-2507", gated=False)])
    assert evaluation.of_type(CSC) == []
    assert evaluation.of_type(SECRET) == []
    assert len(evaluation.of_type(LMC)) == 1


def test_committed_stacks_have_no_cache(committed):
    for evaluation in committed.values():
        assert evaluation.of_type(LMC) == evaluation.of_type(LMNG) == evaluation.of_type(CSC) == []


@pytest.mark.parametrize("platform,version", [("gaudi", "v0.15.2"), ("gaudi3", "v0.20.0"), ("xeon", "v0.17.1")])
def test_cache_enabled_stacks_pass_the_policy_pack(platform, version):
    from tests.test_policy import _stack_violations

    evaluation = run_stack(platform, hfToken=TOKEN, kserve={"version": version}, localModelCache=ENABLED,
                           models=[cached(MODEL[platform])], image_resolver=PreviewResolver())
    assert evaluation.of_type(LMC) and evaluation.of_type(CSC)
    assert _stack_violations(evaluation, platform) == {}
