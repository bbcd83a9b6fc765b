"""Backends besides vLLM: TGI, OVMS and custom runtimes, on the serving-stack mechanism.

Command lines are checked against the option sets derived from each server's pinned source
(kserve_intel/catalog/data/: TGI v3.3.7 launcher/src/main.rs `struct Args` parsed by clap 4.5; OVMS v2026.3
src/cli_parser.cpp parsed by cxxopts 3.1), with each parser's own value rules.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kserve_intel.catalog.models import OPENVINO_REPOS
from kserve_intel.builders.model import inference_service
from kserve_intel.builders.runtime import runtime_objects
from kserve_intel.plan import served_by
from kserve_intel.catalog.models import CATALOGUE
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from kserve_intel.catalog.serving_stacks import OVMS_FLAGS, STACKS, TGI_FLAGS, TGI_REPEATABLE
from tests.conftest import raw_config

DATA = Path(__file__).resolve().parent.parent / "kserve_intel" / "catalog" / "data"
CUSTOM = {"name": "llamacpp", "image": "ghcr.io/ggml-org/llama.cpp:server-b6000", "platforms": ["xeon"],
          "command": ["/app/llama-server"], "args": ["--host", "0.0.0.0", "--port", "8081", "-hf", "$(MODEL_ID)"],
          "port": 8081, "healthPath": "/health", "openaiBasePath": "/v1", "metricsPath": "/metrics",
          "env": {"LLAMA_ARG_CTX_SIZE": "8192"},
          "resources": {"requests": {"cpu": 8, "memory": "32Gi"}, "limits": {"cpu": 8, "memory": "32Gi"}}}


def plan_for(platform, models, **extra):
    values = {"platform": platform, "models": models, "hfToken": "hf_x", **extra}
    return build_plan(load_config(raw_config(**values), ["kserve-intel:hfToken"]))


def refusal(platform, models, **extra):
    with pytest.raises(ConfigError) as caught:
        plan_for(platform, models, **extra)
    return str(caught.value)


def runtime_container(plan, model):
    (obj,) = [o for o in runtime_objects(plan) if o["metadata"]["name"] == served_by(plan, model)]
    return obj["spec"]["containers"][0]


def argv(plan, model):
    """What the server's parser sees: the runtime's args, then the InferenceService's (KServe appends)."""
    isvc = inference_service(plan, model, with_token=False)
    return [*runtime_container(plan, model).get("args", []), *isvc["spec"]["predictor"]["model"]["args"]]


# --- the pinned launchers' own parsing rules --------------------------------------------------------

def clap_parse(args: list[str]) -> dict[str, str | bool]:
    """TGI's launcher (clap 4.5 derive): `--opt value` or `--opt=value`; SetTrue flags take none;
    `--sharded` is Option<bool> (true/false); unknown options, stray values and a second occurrence of
    an option that is not a Vec (clap_builder Parser::react: argument_conflict unless args_override_self,
    which TGI's Args does not set) are errors."""
    out: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        flag, _, inline = args[i].partition("=")
        if flag not in TGI_FLAGS:
            raise ValueError(f"unexpected argument '{args[i]}'")
        if flag in out and flag not in TGI_REPEATABLE:
            raise ValueError(f"the argument '{flag}' cannot be used multiple times")
        if TGI_FLAGS[flag]:
            value = inline if inline else (args[i + 1] if i + 1 < len(args) else None)
            if value is None or (not inline and value.startswith("--")):
                raise ValueError(f"a value is required for '{flag}'")
            if flag == "--sharded" and value not in ("true", "false"):
                raise ValueError(f"invalid value '{value}' for '--sharded'")
            out[flag] = value
            i += 1 if inline else 2
        else:
            if inline:
                raise ValueError(f"unexpected value '{inline}' for '{flag}' found; no more were expected")
            out[flag] = True
            i += 1
    return out


def cxxopts_parse(args: list[str]) -> dict[str, str | bool]:
    """OVMS's CLI (cxxopts 3.1): bool options take no separate value (`--flag` or `--flag=false`);
    others `--opt value`/`--opt=value`; a leftover value is "unmatched arguments"."""
    out: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        flag, _, inline = args[i].partition("=")
        if flag not in OVMS_FLAGS:
            raise ValueError(f"error parsing options - unmatched arguments: {args[i]}")
        if OVMS_FLAGS[flag]:
            if not inline and (i + 1 >= len(args)):
                raise ValueError(f"option '{flag}' is missing an argument")
            out[flag] = inline or args[i + 1]
            i += 1 if inline else 2
        else:
            out[flag] = inline or True
            i += 1
    return out


def test_the_derived_option_sets_cite_their_source_and_parse_as_upstream_does():
    for name, repo, tag in (("tgi-3.3.7", "huggingface/text-generation-inference", "v3.3.7"),
                            ("ovms-2026.3", "openvinotoolkit/model_server", "v2026.3")):
        source = json.loads((DATA / "options" / f"{name}.json").read_text())["source"]
        assert (source["repo"], source["tag"]) == (repo, tag) and len(source["commit"]) == 40
    assert TGI_FLAGS["--json-output"] is False and TGI_FLAGS["--sharded"] is True
    assert OVMS_FLAGS["--metrics_enable"] is False and "--weight-format" in OVMS_FLAGS
    assert TGI_REPEATABLE == {"--cors-allow-origin", "--cuda-graphs"}  # the Vec options
    clap_parse(["--cors-allow-origin", "a", "--cors-allow-origin", "b"])
    # The parsers refuse what the real ones refuse (guards the guard).
    for bad in (["--json-output", "true"], ["--sharded"], ["--max-num-seqs", "8"], ["--sharded", "yes"],
                ["--max-batch-size", "8", "--max-batch-size", "16"], ["--json-output", "--json-output"]):
        with pytest.raises(ValueError):
            clap_parse(bad)
    for bad in (["--metrics_enable", "true"], ["--rest-port", "8080"], ["--source_model"]):
        with pytest.raises(ValueError):
            cxxopts_parse(bad)


# --- exact command lines ------------------------------------------------------------------------------

def test_tgi_on_xeon_runs_the_launcher_with_explicit_shards_and_token_limits():
    plan = plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi", "revision": "main"}])
    (model,) = plan.models
    c = runtime_container(plan, model)
    assert c["image"] == "ghcr.io/huggingface/text-generation-inference:3.3.7-intel-cpu"
    assert c["command"] == ["text-generation-launcher"]
    assert c["args"] == ["--hostname", "0.0.0.0", "--port", "8080", "--json-output"]
    assert list(model.args) == ["--model-id", "Qwen/Qwen3-1.7B", "--revision", "main", "--num-shard", "1",
                                "--max-input-tokens", "8191", "--max-total-tokens", "8192",
                                "--max-batch-prefill-tokens", "8192"]
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert model.runtime.name == "intel-xeon-tgi-3-3" and model.openai_base_url.endswith("/v1")
    # The catalogue's vLLM settings (tool parser, flags, env) never reach TGI.
    assert "--tool-call-parser" not in model.args and not any(k.startswith("VLLM_") for k in model.env)


@pytest.mark.parametrize("platform", ["gaudi", "gaudi3"])
def test_tgi_on_gaudi_sets_batch_size_shards_and_lazy_collectives(platform):
    plan = plan_for(platform, ["Qwen/Qwen2.5-7B-Instruct", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"], backend="tgi")
    one, two = plan.models
    assert runtime_container(plan, one)["image"] == "ghcr.io/huggingface/text-generation-inference:3.3.7-gaudi"
    parsed = clap_parse(argv(plan, one))
    # The Gaudi server's warm-up raises "MAX_BATCH_SIZE is not set" without it.
    assert parsed["--max-batch-size"] == "32" and parsed["--num-shard"] == "1" and "--sharded" not in parsed
    assert "PT_HPU_ENABLE_LAZY_COLLECTIVES" not in one.env
    parsed = clap_parse(argv(plan, two))
    assert (parsed["--num-shard"], parsed["--sharded"], parsed["--max-batch-size"]) == ("2", "true", "64")
    assert two.env["PT_HPU_ENABLE_LAZY_COLLECTIVES"] == "1"
    assert two.resources["limits"]["habana.ai/gaudi"] == "2"
    assert two.runtime.name == f"intel-{platform}-tgi-gaudi-3-3"


def test_ovms_pulls_the_openvino_repository_and_serves_it_under_the_served_name():
    plan = plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "ovms"},
                             {"id": "OpenVINO/Qwen3-8B-int4-ov", "name": "qwen3-8b", "backend": "ovms"}])
    mapped, direct = plan.models
    c = runtime_container(plan, mapped)
    assert c["image"] == "openvino/model_server:2026.3" and "command" not in c  # the image's ovms wrapper runs
    assert cxxopts_parse(argv(plan, mapped)) == {
        "--model_repository_path": "/data/models", "--task": "text_generation", "--target_device": "CPU",
        "--rest_port": "8080", "--rest_bind_address": "0.0.0.0", "--metrics_enable": True,
        "--source_model": "OpenVINO/Qwen3-1.7B-int4-ov", "--model_name": "Qwen/Qwen3-1.7B"}
    assert cxxopts_parse(argv(plan, direct))["--source_model"] == "OpenVINO/Qwen3-8B-int4-ov"
    assert c["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert not mapped.gated and not direct.gated  # the OpenVINO organisation's conversions are open
    assert c["securityContext"]["runAsUser"] == 10001 and c["securityContext"]["readOnlyRootFilesystem"]


def test_a_custom_runtime_gets_our_security_probes_volumes_and_the_model_as_env():
    plan = plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp", "extraArgs": ["--parallel", "4"]}],
                    runtimes={"custom": [CUSTOM]})
    (model,) = plan.models
    (obj,) = runtime_objects(plan)
    c = obj["spec"]["containers"][0]
    assert obj["metadata"]["name"] == "intel-xeon-llamacpp" and c["image"] == CUSTOM["image"]
    assert c["command"] == ["/app/llama-server"] and c["args"] == CUSTOM["args"]
    assert c["ports"] == [{"name": "http1", "containerPort": 8081, "protocol": "TCP"}]
    assert c["startupProbe"]["httpGet"] == {"path": "/health", "port": 8081}
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]} and c["securityContext"]["runAsNonRoot"]
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/dev/shm", "/tmp"}
    assert obj["spec"]["nodeSelector"] == dict(plan.node_selector)
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["LLAMA_ARG_CTX_SIZE"] == "8192" and env["HOME"] == "/tmp"
    assert list(model.args) == ["--parallel", "4"]
    assert {k: model.env[k] for k in ("MODEL_ID", "SERVED_MODEL_NAME", "MAX_MODEL_LEN", "TENSOR_PARALLEL_SIZE")} == {
        "MODEL_ID": "Qwen/Qwen3-1.7B", "SERVED_MODEL_NAME": "Qwen/Qwen3-1.7B", "MAX_MODEL_LEN": "8192",
        "TENSOR_PARALLEL_SIZE": "1"}
    assert model.resources["requests"]["cpu"] == "8" and model.resources["limits"]["memory"] == "32Gi"
    isvc = inference_service(plan, model, with_token=False)
    assert isvc["spec"]["predictor"]["model"]["modelFormat"] == {"name": "llamacpp-intel-xeon"}
    from kserve_intel.builders.network import model_network_policy

    ports = model_network_policy(plan)["spec"]["ingress"][0]["ports"]
    assert ports == [{"protocol": "TCP", "port": 8081}]


def test_a_custom_runtimes_own_openai_path_reaches_outputs():
    custom = {**CUSTOM, "openaiBasePath": "/v3"}
    plan = plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}], runtimes={"custom": [custom]})
    assert plan.models[0].openai_base_url.endswith(".svc.cluster.local/v3")


def test_backends_mix_in_one_stack_each_with_its_own_runtime_and_only_used_runtimes():
    plan = plan_for("xeon", ["Qwen/Qwen3-4B-Instruct-2507", {"id": "Qwen/Qwen3-1.7B", "name": "b", "backend": "tgi"},
                             {"id": "Qwen/Qwen3-1.7B", "name": "c", "servedModelName": "c", "backend": "ovms"}])
    assert [o["metadata"]["name"] for o in runtime_objects(plan)] == [
        "intel-vllm-xeon", "intel-xeon-tgi-3-3", "intel-xeon-ovms-2026-3"]
    assert [m.backend for m in plan.models] == ["vllm", "tgi", "ovms"]
    only_tgi = plan_for("xeon", ["Qwen/Qwen3-1.7B"], backend="tgi")
    assert [o["metadata"]["name"] for o in runtime_objects(only_tgi)] == ["intel-xeon-tgi-3-3"]


def test_tgi_warns_that_it_is_in_maintenance_and_its_gaudi_software_is_older():
    (warning,) = [w for w in plan_for("gaudi", ["Qwen/Qwen2.5-7B-Instruct"], backend="tgi").warnings if "TGI" in w]
    assert "maintenance mode" in warning and "1.21.0" in warning and "prefer backend vllm" in warning
    # Nodes declared on newer Gaudi software than TGI's image: refused, naming both keys (issue 22 class 7).
    mismatch = refusal("gaudi", ["Qwen/Qwen2.5-7B-Instruct"], backend="tgi", gaudiSoftware="1.24")
    assert 'kserve-intel:backend = "tgi-gaudi-3.3"' in mismatch and "built for Gaudi software 1.21.0" in mismatch
    assert "gaudiSoftware says the nodes run 1.24" in mismatch
    assert not [w for w in plan_for("gaudi", ["Qwen/Qwen2.5-7B-Instruct"]).warnings if "TGI" in w]
    # TGI on Xeon: the maintenance note, nothing about a Gaudi image (issue 22 class 8).
    (xeon,) = [w for w in plan_for("xeon", ["Qwen/Qwen3-1.7B"], backend="tgi").warnings if "TGI" in w]
    assert "maintenance mode" in xeon and "Gaudi" not in xeon


# --- every emitted command line parses ----------------------------------------------------------------

OVERRIDES = {"tgi": ["--max-concurrent-requests", "32", "--dtype", "bfloat16", "--trust-remote-code"],
             "ovms": ["--max_num_seqs", "64", "--enable_prefix_caching", "true", "--log_level=DEBUG"]}


@pytest.mark.parametrize("stack_name", [n for n, s in STACKS.items() if s.backend in ("tgi", "ovms")])
def test_every_emitted_command_line_parses_with_the_pinned_launchers_rules(stack_name):
    stack = STACKS[stack_name]
    parse = clap_parse if stack.backend == "tgi" else cxxopts_parse
    checked = 0
    for platform in stack.platforms:
        ids = [m.id for m in CATALOGUE.values() if m.tuning(platform) and m.tuning(platform).nodes == 1]
        if stack.backend == "ovms":
            ids = list(OPENVINO_REPOS) + ["OpenVINO/Qwen3-8B-int4-ov"]
        for model_id in ids:
            for extra in ([], OVERRIDES[stack.backend]):
                plan = plan_for(platform, [{"id": model_id, "extraArgs": extra, "gated": False}], servingStack=stack_name)
                parsed = parse(argv(plan, plan.models[0]))
                checked += 1
                if stack.backend == "tgi":
                    assert int(parsed["--max-input-tokens"]) < int(parsed["--max-total-tokens"])
                    assert int(parsed["--max-batch-prefill-tokens"]) >= int(parsed["--max-input-tokens"])
                    assert ("--max-batch-size" in parsed) == platform.startswith("gaudi")
                    assert (parsed.get("--sharded") == "true") == (int(parsed["--num-shard"]) > 1)
                else:
                    assert parsed["--rest_port"] == "8080" and parsed["--metrics_enable"] is True
    assert checked >= 4


# --- refusals -------------------------------------------------------------------------------------------

REFUSALS = [
    # (platform, models, extra, fragment)
    ("gaudi", [{"id": "Qwen/Qwen2.5-7B-Instruct", "backend": "ovms"}], {},
     'kserve-intel:models[0].backend = "ovms": is not offered on gaudi (ovms runs on xeon); allowed: vllm, tgi'),
    ("xeon", ["Qwen/Qwen3-1.7B"], {"backend": "sglang"},
     'kserve-intel:backend = "sglang": is not a backend; allowed: vllm, tgi, ovms'),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi", "servingStack": "vllm-0.10"}], {},
     "kserve-intel:models[0].servingStack = \"vllm-0.10\": runs vllm, not models[0].backend tgi"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi", "extraArgs": ["--max-num-seqs", "8"]}], {},
     "--max-num-seqs is not an option of TGI 3.3.7"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi", "extraArgs": ["--num-shard=2"]}], {},
     "--num-shard is set by the program for serving stack tgi-3.3; use tensorParallelSize instead"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi", "env": {"MAX_TOTAL_TOKENS": "4096"}}], {},
     "MAX_TOTAL_TOKENS is set by the program for serving stack tgi-3.3; use maxModelLen instead"),
    ("gaudi", [{"id": "Qwen/Qwen2.5-7B-Instruct", "backend": "tgi", "env": {"BATCH_BUCKET_SIZE": "8"}}], {},
     "BATCH_BUCKET_SIZE is not read by serving stack tgi-gaudi-3.3"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}],
     {"runtimes": {"configureIntel": False, "custom": [CUSTOM]}},
     'kserve-intel:runtimes.custom = ["llamacpp"]: has no effect when runtimes.configureIntel is false'),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi", "extraArgs": ["--dtype", "bfloat16", "--dtype=float16"]}],
     {}, "--dtype is given twice; TGI 3.3.7's launcher refuses a repeated option"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi", "servedModelName": "qwen"}], {},
     "kserve-intel:models[0].servedModelName"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi", "adapters": [{"name": "sql", "id": "x/sql-lora"}]}], {},
     "LoRA adapters need the vLLM backend"),
    ("gaudi", [{"id": "meta-llama/Llama-3.1-405B-Instruct", "backend": "tgi"}], {},
     "kserve-intel:models[0].nodes = 2: multi-node serving needs vLLM"),
    ("xeon", [{"id": "Qwen/Qwen3-4B-Instruct-2507", "backend": "ovms"}], {},
     'kserve-intel:models[0].id = "Qwen/Qwen3-4B-Instruct-2507": has no OpenVINO repository'),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "ovms", "tensorParallelSize": 2}], {},
     "kserve-intel:models[0].tensorParallelSize = 2"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "ovms", "revision": "main"}], {}, "--source_model has no revision"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "ovms", "maxModelLen": 4096}], {}, "sizes its KV cache dynamically"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "ovms", "extraArgs": ["--metrics_enable"]}], {},
     "--metrics_enable is set by the program for serving stack ovms-2026.3"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "ovms", "extraArgs": ["--max-num-seqs", "8"]}], {},
     "--max-num-seqs is not an option of OVMS 2026.3"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}], {"runtimes": {"custom": [{**CUSTOM, "port": 8012}]}},
     "kserve-intel:runtimes.custom[0].port = 8012: is used by the Knative queue-proxy"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}],
     {"runtimes": {"custom": [{**CUSTOM, "securityContext": {"privileged": True}}]}},
     "securityContext cannot be set: the program gives every runtime its security context"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}],
     {"runtimes": {"custom": [{k: v for k, v in CUSTOM.items() if k != "healthPath"}]}},
     "kserve-intel:runtimes.custom[0].healthPath"),
    ("gaudi", [{"id": "Qwen/Qwen2.5-7B-Instruct", "backend": "llamacpp"}], {"runtimes": {"custom": [CUSTOM]}},
     "runtime llamacpp (runtimes.custom) does not list gaudi in its platforms"),
    ("xeon", ["Qwen/Qwen3-1.7B"], {"runtimes": {"custom": [CUSTOM]}},
     "kserve-intel:runtimes.custom[0]"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi"}], {"runtimes": {"custom": [{**CUSTOM, "name": "tgi"}]}},
     'kserve-intel:runtimes.custom[0].name = "tgi": is a built-in backend'),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}],
     {"runtimes": {"custom": [{**CUSTOM, "env": {"MODEL_ID": "x"}}]}}, "MODEL_ID is set per model by the program"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}],
     {"runtimes": {"custom": [{**CUSTOM, "env": {"HF_TOKEN": "x"}}]}}, "HF_TOKEN is set by the program; use hfToken"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}],
     {"runtimes": {"custom": [{**CUSTOM, "env": {"1BAD": "x"}}]}}, "'1BAD' is not a valid environment variable name"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}],
     {"runtimes": {"custom": [{**CUSTOM, "image": "ghcr.io/ggml-org/llama.cpp:latest"}]}}, "must be pinned"),
    ("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp"}],
     {"runtimes": {"custom": [{**CUSTOM, "resources": {"requests": {"cpu": 4}, "limits": {"cpu": 8}}}]}},
     "kserve-intel:runtimes.custom[0].resources"),
]


@pytest.mark.parametrize("platform, models, extra, fragment", REFUSALS, ids=[r[3][:50] for r in REFUSALS])
def test_bad_backend_config_gets_one_clear_message(platform, models, extra, fragment):
    message = refusal(platform, models, **extra)
    assert fragment in message, message


def test_the_example_stack_mixing_backends_evaluates_with_one_runtime_per_backend():
    import yaml

    from offline.engine import evaluate

    document = yaml.safe_load((Path(__file__).parent.parent / "examples" / "Pulumi.xeon-backends.yaml").read_text())
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in document["config"].items()}
    result = evaluate(config, [], stack="xeon-backends")
    assert [(r["name"], r["servingStack"]) for r in result.outputs["runtimes"]] == [
        ("intel-vllm-xeon", "vllm-0.33"), ("intel-xeon-tgi-3-3", "tgi-3.3"),
        ("intel-xeon-ovms-2026-3", "ovms-2026.3"), ("intel-xeon-llamacpp", "llamacpp")]
    assert [m["servingStack"] for m in result.outputs["models"]] == ["vllm-0.33", "tgi-3.3", "ovms-2026.3", "llamacpp"]
    assert any("maintenance mode" in w for w in result.warnings)


def test_tgi_serves_the_local_model_cache_copy_and_ovms_is_refused_it():
    cache = {"localModelCache": {"enabled": True}, "kserve": {"version": "v0.20.0"}}
    plan = plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi", "revision": "main",
                              "localCache": {"size": "20Gi"}}], **cache)
    model = inference_service(plan, plan.models[0], with_token=False)["spec"]["predictor"]["model"]
    parsed = clap_parse(model["args"])
    assert parsed["--model-id"] == "/mnt/models" and "--revision" not in parsed
    assert model["storageUri"] == "hf://Qwen/Qwen3-1.7B:main"
    message = refusal("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "ovms", "localCache": {"size": "20Gi"}}], **cache)
    assert "kserve-intel:models[0].localCache" in message and "serves vLLM and TGI" in message


def test_a_tgi_canary_gets_the_launchers_command_line_with_its_own_overrides():
    plan = plan_for("gaudi3", [{"id": "Qwen/Qwen2.5-7B-Instruct", "backend": "tgi",
                                "canary": {"trafficPercent": 10, "extraArgs": ["--max-concurrent-requests", "16"]}}],
                    kserve={"version": "v0.20.0", "deploymentMode": "Standard"})
    isvc = inference_service(plan, plan.models[0], with_token=False)
    (canary,) = isvc["spec"]["canary"]
    stable = clap_parse(isvc["spec"]["predictor"]["model"]["args"])
    variant = clap_parse(canary["predictor"]["model"]["args"])
    assert variant["--max-concurrent-requests"] == "16" and stable["--max-concurrent-requests"] == "64"
    assert variant["--model-id"] == stable["--model-id"] and variant["--max-batch-size"] == "32"
    assert canary["predictor"]["model"]["runtime"] == isvc["spec"]["predictor"]["model"]["runtime"]


def test_a_users_tgi_option_replaces_the_tuned_one_instead_of_repeating_it():
    plan = plan_for("gaudi", [{"id": "Qwen/Qwen2.5-7B-Instruct", "backend": "tgi",
                               "extraArgs": ["--max-batch-size=8", "--max-concurrent-requests", "16"]}])
    args = argv(plan, plan.models[0])
    parsed = clap_parse(args)  # a repeated option would raise, as TGI's launcher does
    assert (parsed["--max-batch-size"], parsed["--max-concurrent-requests"]) == ("8", "16")
    assert parsed["--max-waiting-tokens"] == "7"  # the tuned values the user did not set stay
    for stack in (STACKS["tgi-gaudi-3.3"],):  # tuned TGI values are option/value pairs (what tgi_args assumes)
        for tuned in stack.tuned.values():
            assert all(a.startswith("--") for a in tuned.args[::2]) and len(tuned.args) % 2 == 0
