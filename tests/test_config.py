"""Layer 1: every key's default and every bad input's message."""

from __future__ import annotations

import pytest

from kserve_intel.config.stack import StackConfig
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from tests.conftest import raw_config

HF = "kserve-intel:hfToken"


def load(secret: bool = True, **values):
    raw = raw_config(**values)
    return load_config(raw, [HF] if secret and HF in raw else [])


def plan(**values):
    return build_plan(load(**values))


def test_defaults_match_the_documented_contract():
    config = load(platform="xeon")
    # `auto`: use what the cluster has, install what it lacks (docs/shared-clusters.md).
    assert config.kserve.install == "auto"
    assert config.kserve.version == "v0.13.0"
    assert config.kserve.namespace == "kserve"
    assert config.kserve.deployment_mode == "RawDeployment"
    assert config.kserve.cert_manager == "auto"
    assert config.kserve.knative_source == "auto"
    assert (config.adopt, config.ownership.check) == ([], "enforce")
    assert config.kserve.cert_manager_version is None
    assert config.kserve.ingress_domain == "example.com"
    assert config.runtimes.configure_intel is True
    assert config.runtimes.image is None
    assert config.namespace == "intel-inference"
    assert config.models == []
    assert (config.storage.enabled, config.storage.size, config.storage.storage_class, config.storage.access_mode) == (
        True, "100Gi", "", "ReadWriteOnce")
    scaling = config.autoscaling
    assert (scaling.enabled, scaling.engine, scaling.min_replicas, scaling.max_replicas, scaling.metric, scaling.target,
            scaling.keda) == (False, None, 1, 4, None, None, None)
    assert (config.kserve.knative, config.kserve.networking) == (None, None)
    assert config.hf_token is None


def test_model_string_is_shorthand_for_an_object():
    config = load(platform="gaudi", models=["Qwen/Qwen2.5-7B-Instruct", {"id": "Qwen/Qwen2.5-14B-Instruct", "name": "q14"}])
    assert [m.id for m in config.models] == ["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-14B-Instruct"]
    assert config.models[1].name == "q14"


def test_quantities_written_as_yaml_numbers_are_accepted():
    config = load(platform="xeon", models=[{"id": "a/b", "gated": False, "resources": {"limits": {"cpu": 16}, "requests": {"cpu": 16}}}])
    assert config.models[0].resources.limits == {"cpu": "16"}


def test_version_accepts_v_prefix_or_not():
    assert load(platform="xeon", kserve={"version": "0.20.0"}).kserve.version == "v0.20.0"
    assert load(platform="xeon", kserve={"version": "v0.15.2"}).kserve.version == "v0.15.2"


def test_secret_value_is_kept_out_of_repr():
    config = load(platform="xeon", hfToken="hf_abcdef")
    assert "hf_abcdef" not in repr(config)
    assert config.hf_token.get_secret_value() == "hf_abcdef"


BAD_INPUTS = [
    # (config values, expected fragments of the single message)
    ({}, ["kserve-intel:platform: is required; allowed: xeon, gaudi, gaudi3"]),
    ({"platform": "arc"}, ['kserve-intel:platform = "arc"', "'xeon', 'gaudi' or 'gaudi3'"]),
    ({"platform": "xeon", "plaform": "x"}, ["kserve-intel:plaform", "unknown key; allowed keys: platform, kserve"]),
    ({"platform": "xeon", "storage": {"size": "100GB"}}, ['kserve-intel:storage.size = "100GB"', "Kubernetes quantity"]),
    ({"platform": "xeon", "storage": {"sise": "1Gi"}}, ["kserve-intel:storage.sise", "allowed keys: enabled, size, storageClass, accessMode"]),
    ({"platform": "xeon", "storage": {"accessMode": "RWX"}}, ["kserve-intel:storage.accessMode", "'ReadWriteOnce'"]),
    ({"platform": "xeon", "kserve": {"version": "0.12.0"}}, ['kserve-intel:kserve.version = "0.12.0"', "supported: v0.13.0", "v0.20.0"]),
    ({"platform": "xeon", "kserve": {"version": "0.21.0"}}, ["kserve-intel:kserve.version", "unsupported KServe version"]),
    ({"platform": "xeon", "kserve": {"deploymentMode": "Raw"}}, ["kserve-intel:kserve.deploymentMode", "'RawDeployment'"]),
    ({"platform": "xeon", "kserve": {"certManager": "yes"}}, ["kserve-intel:kserve.certManager", "'install', 'existing' or 'auto'"]),
    ({"platform": "xeon", "adopt": ["namespace kserve"]}, ['kserve-intel:adopt[0] = "namespace kserve"', "Kind/name"]),
    ({"platform": "xeon", "ownership": {"check": "never"}}, ["kserve-intel:ownership.check", "'enforce' or 'off'"]),
    ({"platform": "xeon", "kserve": {"install": False, "certManager": "existing"}}, ["kserve-intel:kserve.certManager", "no effect when kserve.install is false"]),
    ({"platform": "xeon", "namespace": "kserve"}, ['kserve-intel:namespace = "kserve"', "KServe control-plane namespace"]),
    ({"platform": "xeon", "kserve": {"namespace": "serving"}, "namespace": "serving"}, ["kserve-intel:namespace", "control-plane"]),
    ({"platform": "xeon", "namespace": "kube-system"}, ["kserve-intel:namespace", "system namespace"]),
    ({"platform": "xeon", "namespace": "Intel_Inference"}, ["kserve-intel:namespace", "DNS-1123 label"]),
    ({"platform": "xeon", "runtimes": {"image": "vllm/vllm-openai:latest"}}, ["kserve-intel:runtimes.image", "other than 'latest'"]),
    ({"platform": "xeon", "runtimes": {"image": "vllm/vllm-openai"}}, ["kserve-intel:runtimes.image", "pinned"]),
    ({"platform": "xeon", "runtimes": {"configureIntel": False, "image": "a/b:1"}}, ["kserve-intel:runtimes.image", "no effect when runtimes.configureIntel is false"]),
    ({"platform": "xeon", "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 2}}, ["kserve-intel:autoscaling.minReplicas = 3", "must not exceed autoscaling.maxReplicas (2)"]),
    ({"platform": "xeon", "autoscaling": {"enabled": True, "maxReplicas": -1}}, ["kserve-intel:autoscaling.maxReplicas = -1", "greater than or equal to 1"]),
    ({"platform": "xeon", "autoscaling": {"enabled": True, "minReplicas": -2}}, ["kserve-intel:autoscaling.minReplicas = -2", "greater than or equal to 0"]),
    ({"platform": "xeon", "autoscaling": {"enabled": True, "minReplicas": 0}}, ["kserve-intel:autoscaling.minReplicas = 0", "scale to zero is not possible with the HPA", "engine keda"]),
    ({"platform": "xeon", "autoscaling": {"enabled": True, "metric": "concurrency"}}, ["kserve-intel:autoscaling.metric", "RawDeployment scales with an HPA on: cpu, memory"]),
    ({"platform": "xeon", "autoscaling": {"maxReplicas": 8}}, ["kserve-intel:autoscaling.maxReplicas = 8", "no effect unless autoscaling.enabled"]),
    ({"platform": "xeon", "storage": {"enabled": False, "storageClass": "fast"}}, ["kserve-intel:storage.storageClass", "no effect when storage.enabled is false"]),
    ({"platform": "xeon", "models": ["llama"]}, ['kserve-intel:models[0].id = "llama"', "<organisation>/<model>"]),
    ({"platform": "xeon", "models": [{"id": "a/b", "tensorParallelSize": 0, "gated": False}]}, ["kserve-intel:models[0].tensorParallelSize = 0"]),
    ({"platform": "xeon", "models": [{"id": "a/b", "name": "Bad_Name", "gated": False}]}, ["kserve-intel:models[0].name", "DNS-1123 label"]),
    ({"platform": "xeon", "models": [{"id": "a/b", "extraArgs": ["--port", "9000"], "gated": False}]}, ["kserve-intel:models[0].extraArgs", "set by the program"]),
    ({"platform": "xeon", "models": [{"id": "a/b", "env": {"HF_TOKEN": "x"}, "gated": False}]}, ["kserve-intel:models[0].env", "use hfToken instead"]),
    ({"platform": "xeon", "models": [{"id": "a/b", "resources": {"limits": {"memory": "8GB"}}, "gated": False}]}, ["kserve-intel:models[0].resources.limits.memory", "Kubernetes quantity"]),
    ({"platform": "xeon", "models": [{"id": "a/b", "replicas": 2}]}, ["kserve-intel:models[0].replicas", "unknown key; allowed keys: id, name"]),
    ({"platform": "xeon", "readyTimeoutMinutes": 0}, ['kserve-intel:readyTimeoutMinutes = "0"', "greater than or equal to 1"]),
    ({"platform": "xeon", "readyTimeoutMinutes": "soon"}, ['kserve-intel:readyTimeoutMinutes = "soon"', "integer"]),
    ({"platform": "xeon", "deleteTimeoutMinutes": 121}, ['kserve-intel:deleteTimeoutMinutes = "121"', "less than or equal to 120"]),
    ({"platform": "xeon", "models": [{"id": "a/b", "readyTimeoutMinutes": 1441, "gated": False}]},
     ["kserve-intel:models[0].readyTimeoutMinutes = 1441", "less than or equal to 1440"]),
]


@pytest.mark.parametrize("values,fragments", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_input_gets_one_message_naming_key_value_and_allowed(values, fragments):
    with pytest.raises(ConfigError) as caught:
        plan(**values)
    message = str(caught.value)
    assert message.startswith("invalid stack configuration")
    for fragment in fragments:
        assert fragment in message, message


PLAN_ERRORS = [
    ({"platform": "gaudi", "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "tensorParallelSize": 16}]},
     ["kserve-intel:models[0].tensorParallelSize = 16", "a gaudi node has 8", "<= 8"]),
    ({"platform": "gaudi", "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "tensorParallelSize": 4, "pipelineParallelSize": 4}]},
     ["kserve-intel:models[0]", "needs 16 accelerators"]),
    ({"platform": "gaudi", "runtimes": {"acceleratorsPerNode": 2}, "models": ["deepseek-ai/DeepSeek-R1-Distill-Llama-70B"]},
     ["models[0].tensorParallelSize = 4", "has 2"]),
    ({"platform": "xeon", "models": ["Qwen/Qwen3-1.7B", {"id": "other/Qwen3-1.7B", "gated": False}]},
     ['kserve-intel:models[1].name = "qwen3-1-7b"', "collides with models[0]"]),
    ({"platform": "xeon", "models": [{"id": "Qwen/Qwen3-1.7B", "name": "a" * 40}]},
     ["kserve-intel:models[0].name", "at most 37 fit"]),
    ({"platform": "xeon", "models": ["meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-1.7B"]},
     ["kserve-intel:hfToken: is required", "models[0] meta-llama/Llama-3.1-8B-Instruct", "pulumi config set --secret"]),
    ({"platform": "xeon", "models": ["someone/private-model"]},
     ["kserve-intel:hfToken: is required", "someone/private-model", "gated: false"]),
    ({"platform": "xeon", "models": [{"id": "Qwen/Qwen3-1.7B", "resources": {"requests": {"cpu": "8"}}}]},
     ["kserve-intel:models[0].resources", "Guaranteed QoS"]),
    ({"platform": "gaudi", "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "resources": {"limits": {"habana.ai/gaudi": "4"}}}]},
     ["kserve-intel:models[0].resources.limits.habana.ai/gaudi", "derived from tensorParallelSize"]),
]


@pytest.mark.parametrize("values,fragments", PLAN_ERRORS, ids=[str(i) for i in range(len(PLAN_ERRORS))])
def test_resolved_values_are_checked_with_the_same_message_shape(values, fragments):
    with pytest.raises(ConfigError) as caught:
        plan(**values)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        plan(platform="arc", storage={"size": "1GB"}, autoscaling={"enabled": True, "maxReplicas": 0})
    assert len(caught.value.issues) == 3
    assert "(3 problems)" in str(caught.value)


def test_plaintext_token_is_refused_and_never_echoed():
    with pytest.raises(ConfigError) as caught:
        load(secret=False, platform="xeon", hfToken="hf_plaintext_value")
    assert "--secret" in str(caught.value)
    assert "hf_plaintext_value" not in str(caught.value)


def test_secret_token_satisfies_gated_models():
    result = plan(platform="xeon", hfToken="hf_x", models=["meta-llama/Llama-3.1-8B-Instruct"])
    assert result.models[0].gated is True


def test_ungated_override_needs_no_token():
    result = plan(platform="xeon", models=[{"id": "someone/open-model", "gated": False}])
    assert result.models[0].gated is False


def test_schema_model_is_strict_everywhere():
    # Every section forbids unknown keys, so typos cannot fall back to defaults.
    for model in (StackConfig, *[f.annotation for f in StackConfig.model_fields.values() if isinstance(f.annotation, type)]):
        if hasattr(model, "model_config"):
            assert model.model_config.get("extra") == "forbid", model


def test_pure_layer_never_imports_pulumi():
    # Everything that decides *what* to create stays testable as plain Python.
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, sys, kserve_intel, kserve_intel.builders\n"
        "for pkg in (kserve_intel, kserve_intel.builders):\n"
        "    for mod in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(f'{pkg.__name__}.{mod.name}')\n"
        "print(sorted(m for m in sys.modules if m == 'pulumi' or m.startswith('pulumi.') or m.startswith('pulumi_')))\n"
    )
    from tests.conftest import ROOT

    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_config_key_is_documented_in_the_readme_or_a_topic_page():
    """Docs are part of the feature: a key nobody can look up is a key nobody can use."""
    import glob
    from pathlib import Path

    from kserve_intel.config.stack import StackConfig
    from tests.test_monitoring import _keys

    root = Path(__file__).resolve().parent.parent
    docs = (root / "README.md").read_text() + "".join(Path(f).read_text() for f in glob.glob(str(root / "docs/*.md")))
    keys = [k.lstrip(".") for k in _keys(StackConfig, "")]
    assert len(keys) > 80
    # Sections whose keys are each documented (the section itself is an object).
    sections = {"autoscaling.keda", "apisix.auth", "registry.s3"}
    assert [k for k in keys if f"`{k}`" not in docs and k not in sections] == []
