"""LoRA adapters on a shared base model (rules/lora.py): config, exact args per platform and
KServe version, storageUris validated strictly per KServe version, refusals, outputs, gateway list."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from kserve_intel.rules import lora
from offline import validation
from kserve_intel.builders.knative import feature_flags
from kserve_intel.builders.model import inference_service
from kserve_intel.builders.monitoring import alert_rules, dashboard_json
from kserve_intel.builders.traffic import litellm_model_list
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from kserve_intel.catalog.serving_stacks import STACKS
from tests.conftest import raw_config

CRDS = Path(__file__).parent / "data" / "kserve-crds"
BASE = {"xeon": "Qwen/Qwen3-1.7B", "gaudi": "Qwen/Qwen2.5-7B-Instruct", "gaudi3": "Qwen/Qwen2.5-7B-Instruct"}
ADAPTERS = [{"name": "sql", "id": "example/qwen-sql-lora", "rank": 8},
            {"name": "support-chat", "id": "example/qwen-support-lora", "revision": "v1"}]


def model(platform="xeon", adapters=None, **extra):
    return {"id": BASE[platform], "adapters": ADAPTERS if adapters is None else adapters, **extra}


def plan_for(platform="xeon", version="v0.20.0", models=None, **extra):
    kserve = {"version": version, **extra.pop("kserve", {})}
    values = {"platform": platform, "kserve": kserve, "models": models or [model(platform)], "hfToken": "hf_x",
              **extra}
    return build_plan(load_config(raw_config(**values), ["kserve-intel:hfToken"]))


def refusal(**kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        plan_for(**kwargs)
    return str(caught.value)


def isvc(plan, i=0):
    return inference_service(plan, plan.models[i], with_token=True)


def tail(args, flag="--enable-lora"):
    args = list(args)
    return args[args.index(flag):]


# --- exact args -------------------------------------------------------------------------------

MODULES_MOUNTED = [
    '{"name":"sql","path":"/mnt/lora/0-sql","base_model_name":"%s"}',
    '{"name":"support-chat","path":"/mnt/lora/1-support-chat","base_model_name":"%s"}',
]
MODULES_HUB = [
    '{"name":"sql","path":"example/qwen-sql-lora","base_model_name":"%s"}',
    '{"name":"support-chat","path":"example/qwen-support-lora","base_model_name":"%s"}',
]


@pytest.mark.parametrize("platform, max_loras", [("xeon", "2"), ("gaudi", "2"), ("gaudi3", "2")])
def test_kserve_0_16_and_later_download_adapters_with_the_storage_initializer(platform, max_loras):
    for version in ("v0.16.0", "v0.20.0"):
        plan = plan_for(platform, version)
        base = BASE[platform]
        assert tail(plan.models[0].args) == [
            "--enable-lora", "--max-loras", max_loras, "--max-lora-rank", "16", "--max-cpu-loras", "2",
            "--lora-modules", *(m % base for m in MODULES_MOUNTED)]
        predictor = isvc(plan)["spec"]["predictor"]
        assert predictor["storageUris"] == [
            {"uri": "hf://example/qwen-sql-lora", "mountPath": "/mnt/lora/0-sql"},
            {"uri": "hf://example/qwen-support-lora:v1", "mountPath": "/mnt/lora/1-support-chat"},
        ]
        assert "storageUri" not in predictor["model"]


@pytest.mark.parametrize("version", ["v0.13.0", "v0.14.1", "v0.15.2"])
def test_before_0_16_vllm_downloads_the_adapters_from_the_hub(version):
    adapters = [{**a, "revision": None} for a in ADAPTERS]
    adapters = [{k: v for k, v in a.items() if v is not None} for a in adapters]
    plan = plan_for("xeon", version, models=[model("xeon", adapters)])
    assert tail(plan.models[0].args) == [
        "--enable-lora", "--max-loras", "2", "--max-lora-rank", "16", "--max-cpu-loras", "2",
        "--lora-modules", *(m % BASE["xeon"] for m in MODULES_HUB)]
    assert "storageUris" not in isvc(plan)["spec"]["predictor"]


def test_platform_defaults_keep_gaudi_small_and_limits_are_tunable():
    many = [{"name": f"a{i}", "id": f"example/a{i}"} for i in range(6)]
    xeon = plan_for("xeon", models=[model("xeon", many)]).models[0].lora
    gaudi = plan_for("gaudi", models=[model("gaudi", many)]).models[0].lora
    assert (xeon.max_loras, xeon.max_lora_rank, xeon.max_cpu_loras) == (4, 16, 6)
    assert (gaudi.max_loras, gaudi.max_lora_rank, gaudi.max_cpu_loras) == (2, 16, 6)
    tuned = plan_for("gaudi", models=[model("gaudi", many, lora={"maxLoras": 3, "maxLoraRank": 8,
                                                                 "maxCpuLoras": 8})]).models[0]
    assert tail(tuned.args)[:7] == ["--enable-lora", "--max-loras", "3", "--max-lora-rank", "8",
                                    "--max-cpu-loras", "8"]


def test_lora_modules_items_are_json_even_where_a_path_holds_equals():
    # vLLM (0.10.2-0.33.0 LoRAParserAction): an item with "=" and no "," is parsed as name=path.
    plan = plan_for("xeon", "v0.13.0", models=[model("xeon", [{"name": "a", "id": "example/a"}])])
    (item,) = tail(plan.models[0].args, "--lora-modules")[1:]
    assert json.loads(item) == {"name": "a", "path": "example/a", "base_model_name": BASE["xeon"]}
    assert "," in item


def test_no_adapters_no_lora_args():
    plan = plan_for("xeon", models=[BASE["xeon"]])
    assert "--enable-lora" not in plan.models[0].args and plan.models[0].lora is None
    assert "storageUris" not in isvc(plan)["spec"]["predictor"]


def test_storage_uris_only_from_0_16_and_never_beside_model_storage_uri():
    # KServe refuses storageUris beside model.storageUri (a registry source, the local model cache):
    # then vLLM fetches the adapters itself.
    from kserve_intel.catalog.kserve import release

    assert lora.via_storage_uris(release("v0.20.0"), base_has_storage_uri=True) is False
    assert lora.via_storage_uris(release("v0.16.0"), base_has_storage_uri=False) is True
    assert lora.via_storage_uris(release("v0.15.2"), base_has_storage_uri=False) is False


# --- storageUris against each KServe version's own CRD ------------------------------------------


def _reference_validator(version: str):
    docs = list(yaml.load_all(gzip.open(CRDS / f"inferenceservices-{version}.yaml.gz"), Loader=yaml.CSafeLoader))
    (crd,) = [d for d in docs if d and d.get("kind") == "CustomResourceDefinition"]
    served = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    schema = validation._strict_schema(served["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = validation._OBJECT_META_SCHEMA
    return validation._StrictValidator(schema, format_checker=validation._FORMATS)


@pytest.mark.parametrize("platform", ["xeon", "gaudi"])
def test_storage_uris_validate_strictly_per_kserve_version(platform):
    for version in ("v0.16.0", "v0.20.0"):
        obj = isvc(plan_for(platform, version))
        assert validation.validate_object(obj, version) == []
    v016 = isvc(plan_for(platform, "v0.16.0"))
    assert [e.message for e in _reference_validator("v0.16.0").iter_errors(v016)] == []
    # v0.15.2 has no storageUris: what we emit there must not carry it, and the schema says why.
    assert "storageUris" in str([e.message for e in _reference_validator("v0.15.2").iter_errors(v016)])
    adapters = [{"name": "a", "id": "example/a"}]
    for version in ("v0.13.0", "v0.15.2"):
        old = isvc(plan_for(platform, version, models=[model(platform, adapters)]))
        assert validation.validate_object(old, version) == []
    old = isvc(plan_for(platform, "v0.15.2", models=[model(platform, adapters)]))
    assert [e.message for e in _reference_validator("v0.15.2").iter_errors(old)] == []


def test_serverless_enables_knatives_init_container_flag_only_for_storage_uris():
    serverless = {"deploymentMode": "Serverless"}
    with_adapters = plan_for("xeon", "v0.20.0", kserve=serverless)
    assert "kubernetes.podspec-init-containers" in feature_flags(with_adapters)
    without = plan_for("xeon", "v0.20.0", models=[BASE["xeon"]], kserve=serverless)
    assert "kubernetes.podspec-init-containers" not in feature_flags(without)
    old = plan_for("xeon", "v0.13.0", models=[model("xeon", [{"name": "a", "id": "example/a"}])], kserve=serverless)
    assert "kubernetes.podspec-init-containers" not in feature_flags(old)


# --- canary: the same base with a new adapter set --------------------------------------------------


def test_standard_v0_20_canary_with_a_new_adapter_set():
    # KServe v0.20.0 builds a Standard canary's pods with no storage initializer for storageUris
    # (components/predictor.go:913-940): vLLM downloads the canary's adapters from the hub itself.
    new = [{"name": "sql", "id": "example/qwen-sql-lora-v2"}]
    plan = plan_for("gaudi", "v0.20.0", models=[model("gaudi", canary={"trafficPercent": 10, "adapters": new})])
    obj = isvc(plan)
    assert validation.validate_object(obj, "v0.20.0") == []
    assert len(obj["spec"]["predictor"]["storageUris"]) == 2
    (entry,) = obj["spec"]["canary"]
    variant = entry["predictor"]
    assert "storageUris" not in variant
    assert tail(variant["model"]["args"], "--lora-modules")[1:] == [
        '{"name":"sql","path":"example/qwen-sql-lora-v2","base_model_name":"Qwen/Qwen2.5-7B-Instruct"}']


def test_standard_v0_20_canary_cannot_pin_an_adapter_revision():
    new = [{"name": "sql", "id": "example/qwen-sql-lora-v2", "revision": "v2"}]
    with pytest.raises(ConfigError) as error:
        plan_for("gaudi", "v0.20.0", models=[model("gaudi", canary={"trafficPercent": 10, "adapters": new})])
    text = str(error.value)
    assert "models[0].canary.adapters[0].revision" in text
    assert "Standard-mode canary (spec.canary) gets no storage initializer" in text


@pytest.mark.parametrize("version", ["v0.13.0", "v0.20.0"])
def test_serverless_canary_carries_the_new_adapter_set_on_the_predictor(version):
    new = [{"name": "sql", "id": "example/qwen-sql-lora-v2"}]
    plan = plan_for("gaudi", version, models=[model("gaudi", [{"name": "sql", "id": "example/qwen-sql-lora"}],
                                                    canary={"trafficPercent": 25, "adapters": new})],
                    kserve={"deploymentMode": "Serverless"})
    predictor = isvc(plan)["spec"]["predictor"]
    assert validation.validate_object(isvc(plan), version) == []
    assert predictor["canaryTrafficPercent"] == 25
    assert "example/qwen-sql-lora-v2" in json.dumps(predictor)
    assert "example/qwen-sql-lora\"" not in json.dumps(predictor["model"]["args"])


# --- refusals ------------------------------------------------------------------------------------

REFUSALS = [
    # (platform, stack, model overrides, extra config, key path, fragment)
    ("xeon", None, {"adapters": [{"name": "a", "id": "x/a"}, {"name": "a", "id": "x/b"}]}, {},
     "models[0].adapters[1].name", "served names must be unique"),
    ("xeon", None, {"adapters": [{"name": "Qwen/Qwen3-1.7B", "id": "x/a"}]}, {},
     "models[0].adapters[0].name", "is the base model's served name"),
    ("xeon", None, {"adapters": [{"name": "a", "id": "x/a", "rank": 64}]}, {},
     "models[0].adapters[0].rank", "exceeds lora.maxLoraRank (16)"),
    ("xeon", None, {"lora": {"maxLoraRank": 24}}, {}, "models[0].lora.maxLoraRank",
     "allowed: 1, 8, 16, 32, 64, 128, 256, 320, 512"),
    ("xeon", "vllm-0.10", {"lora": {"maxLoraRank": 1}}, {}, "models[0].lora.maxLoraRank",
     "allowed: 8, 16, 32, 64, 128, 256, 320, 512"),
    ("xeon", None, {"lora": {"maxLoras": 4, "maxCpuLoras": 2}}, {}, "models[0].lora.maxCpuLoras",
     "must be at least lora.maxLoras (4)"),
    ("xeon", None, {"adapters": [], "lora": {"maxLoras": 2}}, {}, "models[0].lora", "has no effect without adapters"),
    ("xeon", None, {"adapters": [{"name": "a", "id": "x/a", "baseModel": "other"}]}, {},
     "models[0].adapters[0].baseModel", "must be the model's served name"),
    ("xeon", None, {"adapters": [{"name": "a b", "id": "x/a"}]}, {}, "models[0].adapters[0].name",
     "no spaces"),
    ("xeon", None, {"adapters": [{"name": "a=b", "id": "x/a"}]}, {}, "models[0].adapters[0].name", "'='"),
    ("xeon", None, {"adapters": [{"name": "a", "id": "not-a-repo"}]}, {}, "models[0].adapters[0].id",
     "Hugging Face repository id"),
    ("xeon", None, {"adapters": [{"name": "a", "id": "x/a", "revision": "v1"}]}, {"kserve": {"version": "v0.15.2"}},
     "models[0].adapters[0].revision", "cannot be pinned"),
    ("xeon", None, {"extraArgs": ["--enable-lora"]}, {}, "models[0].extraArgs", "use adapters instead"),
    ("xeon", None, {"extraArgs": ["--max-lora-rank=32"]}, {}, "models[0].extraArgs", "use lora.maxLoraRank"),
    ("xeon", None, {"extraArgs": ["--lora-modules", "a=b"]}, {}, "models[0].extraArgs", "use adapters instead"),
    ("gaudi", "vllm-fork-1.22", {"extraArgs": ["--fully-sharded-loras"]}, {"gaudiSoftware": "1.22"},
     "models[0].extraArgs", "--fully-sharded-loras is not supported by LoRA on serving stack vllm-fork-1.22"),
    ("gaudi", "vllm-fork-1.22", {"extraArgs": ["--enable-lora-bias"]}, {"gaudiSoftware": "1.22"},
     "models[0].extraArgs", "--enable-lora-bias is not supported by LoRA"),
    ("gaudi", "vllm-fork-1.22", {"env": {"VLLM_USE_V1": "1"}}, {"gaudiSoftware": "1.22"},
     "models[0].env", "VLLM_USE_V1=1 rules out LoRA"),
    ("xeon", None, {}, {"networkPolicy": {"egress": {"hub": "none"}}}, "networkPolicy.egress.hub",
     "LoRA adapters downloaded from the Hugging Face hub"),
]


@pytest.mark.parametrize("platform, stack, overrides, extra, key, fragment", REFUSALS,
                         ids=[f"{r[4]}:{r[5][:30]}" for r in REFUSALS])
def test_refusal_table(platform, stack, overrides, extra, key, fragment):
    m = {**model(platform, [{"name": "a", "id": "x/a"}]), **overrides}
    if stack:
        extra = {**extra, "servingStack": stack}
    version = extra.pop("kserve", {}).get("version", "v0.20.0")
    message = refusal(platform=platform, version=version, models=[m], **extra)
    assert f"kserve-intel:{key}" in message, message
    assert fragment in message, message
    assert message.count(f"kserve-intel:{key} ") + message.count(f"kserve-intel:{key} =") >= 1


def test_served_names_collide_across_models_and_adapters_of_the_namespace():
    models = [model("xeon", [{"name": "shared", "id": "x/a"}]),
              {"id": "Qwen/Qwen3-4B-Instruct-2507", "servedModelName": "shared"}]
    message = refusal(platform="xeon", models=models)
    assert "kserve-intel:models[1].servedModelName" in message and "collides with models[0].adapters[0].name" in message
    two = [model("xeon", [{"name": "dup", "id": "x/a"}]),
           {"id": "Qwen/Qwen3-4B-Instruct-2507", "adapters": [{"name": "dup", "id": "x/b"}]}]
    assert "kserve-intel:models[1].adapters[0].name" in refusal(platform="xeon", models=two)


def test_adapters_need_the_vllm_backend(monkeypatch):
    from dataclasses import replace

    from kserve_intel.rules import serving_stacks

    tgi = replace(STACKS["vllm-0.33"], backend="tgi")
    monkeypatch.setattr(serving_stacks, "resolve", lambda config: tgi)
    message = refusal(platform="xeon")
    assert "kserve-intel:models[0].adapters" in message and "need the vLLM backend" in message


def test_gated_adapters_need_the_token_before_0_16():
    m = model("xeon", [{"name": "a", "id": "x/a", "gated": True}], gated=False)
    with pytest.raises(ConfigError) as caught:
        build_plan(load_config(raw_config(platform="xeon", models=[m])))
    assert "kserve-intel:hfToken" in str(caught.value) and "models[0].adapters[0] x/a" in str(caught.value)


def test_gated_adapters_on_storage_uris_give_the_storage_initializer_the_token():
    # KServe v0.16-v0.20: a Secret with HF_TOKEN listed on the predictor's ServiceAccount becomes the
    # storage-initializer's HF_TOKEN env (pkg/credentials); e2e: tests/e2e/test_lora.py.
    from kserve_intel.builders.identity import model_service_account

    gated = model("xeon", [{"name": "a", "id": "x/a", "gated": True}, {"name": "b", "id": "x/b"}])
    plan = plan_for("xeon", "v0.20.0", models=[gated])
    assert plan.models[0].lora.gated_via_storage_uris
    assert model_service_account(plan)["secrets"] == [{"name": "hf-token"}]
    assert validation.validate_object(isvc(plan), "v0.20.0") == []
    # Public adapters, or vLLM downloading them (before v0.16): the account lists nothing.
    assert "secrets" not in model_service_account(plan_for("xeon", "v0.20.0"))
    old = plan_for("xeon", "v0.15.2", models=[gated])
    assert not old.models[0].lora.gated_via_storage_uris and "secrets" not in model_service_account(old)
    # A gated canary adapter counts too (Serverless: the canary is the predictor; a Standard canary's adapters
    # are downloaded by vLLM, which reads HF_TOKEN itself).
    canary = model("xeon", [{"name": "a", "id": "x/a"}],
                   canary={"trafficPercent": 10, "adapters": [{"name": "a", "id": "x/a2", "gated": True}]})
    serverless = {"deploymentMode": "Serverless"}
    assert model_service_account(plan_for("xeon", "v0.20.0", models=[canary], kserve=serverless))["secrets"] == [
        {"name": "hf-token"}]
    assert "secrets" not in model_service_account(plan_for("xeon", "v0.20.0", models=[canary]))
    # The token check of `pulumi up` covers a gated adapter on storageUris as well.
    with pytest.raises(ConfigError) as caught:
        build_plan(load_config(raw_config(platform="xeon", kserve={"version": "v0.20.0"},
                                          models=[{**gated, "gated": False}])))
    assert "kserve-intel:hfToken" in str(caught.value) and "models[0].adapters[0] x/a" in str(caught.value)


@pytest.mark.parametrize("version", ["v0.16.0", "v0.19.0"])
def test_with_a_hub_mirror_vllm_downloads_hub_adapters_and_registry_ones_stay_on_storage_uris(version):
    # Before v0.20 KServe's storage initializer cannot be given HF_ENDPOINT (only HF_TOKEN from the credential
    # builder, and no predictor.storageContainerName): it would bypass the mirror, so vLLM (HF_ENDPOINT in its
    # env) downloads hub adapters there. v0.20: tests/test_downloads_and_clocks.py.
    registry_adapter = {"name": "r", "source": {"registeredModel": "r-lora", "version": 1,
                                                "resolved": {"version": "1", "uri": "gs://models/r-lora/1"}}}
    mirror = {"hfEndpoint": "https://hf-mirror.example.com", "registry": {"resolve": False}}
    plan = plan_for("xeon", version, models=[model("xeon", [{"name": "a", "id": "x/a", "gated": True},
                                                            registry_adapter])], **mirror)
    lora_plan = plan.models[0].lora
    assert [a.path for a in lora_plan.adapters] == ["x/a", "/mnt/lora/1-r"]
    assert isvc(plan)["spec"]["predictor"]["storageUris"] == [{"uri": "gs://models/r-lora/1",
                                                               "mountPath": "/mnt/lora/1-r"}]
    assert lora_plan.via_storage_uris and not lora_plan.gated_via_storage_uris
    env = {e["name"]: e for e in isvc(plan)["spec"]["predictor"]["model"]["env"]}
    assert env["HF_ENDPOINT"]["value"] == "https://hf-mirror.example.com" and "HF_TOKEN" in env
    message = refusal(platform="xeon", models=[model("xeon", [{"name": "a", "id": "x/a", "revision": "v1"}])],
                      hfEndpoint="https://hf-mirror.example.com", kserve={"version": version})
    assert "kserve-intel:models[0].adapters[0].revision" in message and "is a mirror" in message, message
    only_hub = plan_for("xeon", version, models=[model("xeon", [{"name": "a", "id": "x/a"}])],
                        hfEndpoint="https://hf-mirror.example.com")
    assert "storageUris" not in isvc(only_hub)["spec"]["predictor"]
    assert not only_hub.models[0].lora.via_storage_uris


def test_hub_egress_none_is_refused_only_for_hub_adapters():
    # Registry adapters come from the registry's store (recorded resolution: no MLflow call here).
    registry_adapter = {"name": "a", "source": {"registeredModel": "a-lora", "version": 1,
                                                "resolved": {"version": "1", "uri": "gs://models/a-lora/1"}}}
    # Google Cloud Storage has no fixed address either: with hub none the policy opens it only through allowTo
    # (here Private Google Access's range), else the store is refused too (tests/test_downloads_and_clocks.py).
    values = {"networkPolicy": {"egress": {"hub": "none", "allowTo": [{"cidr": "199.36.153.8/30", "port": 443}]}},
              "registry": {"resolve": False}}
    plan = plan_for("xeon", models=[model("xeon", [registry_adapter])], **values)
    assert plan.models[0].lora.adapters[0].storage == {"uri": "gs://models/a-lora/1", "mountPath": "/mnt/lora/0-a"}
    message = refusal(platform="xeon", models=[model("xeon", [registry_adapter, {"name": "b", "id": "x/b"}])],
                      **values)
    assert "kserve-intel:networkPolicy.egress.hub" in message


def test_lora_warnings_name_the_performance_cost():
    assert any("torch.compile off" in w for w in plan_for("xeon").warnings)
    assert any("torch.compile off" in w and "0.10.2" in w
               for w in plan_for("xeon", "v0.13.0", models=[model("xeon", [{"name": "a", "id": "x/a"}])],
                                 servingStack="vllm-0.10").warnings)
    assert any("max_loras x max_lora_rank" in w for w in plan_for("gaudi").warnings)
    assert not any("LoRA" in w for w in plan_for("xeon", models=[BASE["xeon"]]).warnings)


def test_every_stack_declares_its_lora_support():
    assert set(lora.LORA_SUPPORT) == {name for name, stack in STACKS.items() if stack.backend == "vllm"}
    assert not lora.LORA_SUPPORT["vllm-fork-1.22"].fully_sharded


# --- what lists models lists adapters -------------------------------------------------------------


def test_gateway_model_list_has_one_entry_per_adapter_on_the_base_url():
    plan = plan_for("xeon")
    entries = litellm_model_list(plan)
    base = plan.models[0].openai_base_url
    assert [(e["model_name"], e["litellm_params"]["model"], e["litellm_params"]["api_base"]) for e in entries] == [
        (BASE["xeon"], f"hosted_vllm/{BASE['xeon']}", base),
        ("sql", "hosted_vllm/sql", base),
        ("support-chat", "hosted_vllm/support-chat", base),
    ]


def test_adapter_summary_is_what_the_stack_outputs_list():
    plan = plan_for("xeon")
    m = plan.models[0]
    assert [a.summary(m.openai_base_url) for a in m.lora.adapters] == [
        {"servedModelName": "sql", "id": "example/qwen-sql-lora", "baseModel": BASE["xeon"],
         "openaiBaseUrl": m.openai_base_url},
        {"servedModelName": "support-chat", "id": "example/qwen-support-lora", "baseModel": BASE["xeon"],
         "openaiBaseUrl": m.openai_base_url, "revision": "v1"},
    ]


def test_dashboard_and_alerts_add_lora_only_with_adapters():
    monitoring = {"monitoring": {"enabled": True, "prometheusSelector": {"release": "kps"}}}
    with_adapters = plan_for("xeon", **monitoring)
    without = plan_for("xeon", models=[BASE["xeon"]], **monitoring)
    assert "vllm:lora_requests_info" in dashboard_json(with_adapters)
    assert "vllm:lora_requests_info" not in dashboard_json(without)
    names = [r["alert"] for r in alert_rules(with_adapters)]
    assert "KServeIntelLoraAdaptersWaiting" in names
    assert "KServeIntelLoraAdaptersWaiting" not in [r["alert"] for r in alert_rules(without)]


# --- the example stack through the program (Pulumi mocks) ------------------------------------------


def test_example_stack_outputs_each_adapter_and_validates():
    from offline.engine import _encode, evaluate

    document = yaml.safe_load((Path(__file__).parent.parent / "examples" / "Pulumi.xeon-lora.yaml").read_text())
    config = {k: _encode(v) for k, v in document["config"].items()}
    result = evaluate(config, [], stack="xeon-lora")
    (entry,) = result.outputs["models"]
    assert [(a["servedModelName"], a["openaiBaseUrl"]) for a in entry["adapters"]] == [
        ("qwen-sql", entry["openaiBaseUrl"]), ("qwen-support", entry["openaiBaseUrl"])]
    (isvc_obj,) = [o for o in result.objects() if o.get("kind") == "InferenceService"]
    assert [u["uri"] for u in isvc_obj["spec"]["predictor"]["storageUris"]] == [
        "hf://example-org/qwen2.5-7b-sql-lora:v1.0", "hf://example-org/qwen2.5-7b-support-lora"]
    assert validation.validate_objects(result.objects(), "v0.20.0") == []


def test_an_existing_knative_is_warned_about_init_containers():
    plan = plan_for("xeon", "v0.20.0", kserve={"deploymentMode": "Serverless", "knative": "existing"})
    assert any("kubernetes.podspec-init-containers" in w for w in plan.warnings)


def test_a_canary_adapter_may_reuse_its_models_names_but_not_another_models():
    ok = [model("xeon", [{"name": "sql", "id": "x/a"}],
                canary={"trafficPercent": 10, "adapters": [{"name": "sql", "id": "x/a2"}]})]
    assert plan_for("xeon", models=ok).models[0].canary.lora.adapters[0].id == "x/a2"
    bad = ok + [{"id": "Qwen/Qwen3-4B-Instruct-2507", "canary": {"trafficPercent": 10,
                                                                  "adapters": [{"name": "sql", "id": "x/b"}]},
                 "adapters": [{"name": "other", "id": "x/c"}]}]
    message = refusal(platform="xeon", models=bad)
    assert "kserve-intel:models[1].canary.adapters[0].name" in message and "collides with models[0]" in message
