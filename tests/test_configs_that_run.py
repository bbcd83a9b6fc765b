"""Issue 22: configs the program accepts must run. One table per class (class 4, flags, is tests/test_flags.py):

1. capacity (rules/capacity.py), 2. model shape (rules/model_shape.py), 3. collisions (rules/names.py),
7. known-bad combinations refused (rules/serving_stacks.py, rules/canary.py, rules/no_effect.py),
8. other backends' leftovers (catalog/serving_stacks.py, builders/model.py);
plus the online step that reads a model's config.json from the hub (rules/hub.py, components/hub_access.py)
and the `capacity` output and preview lines of the program under the mocks.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kserve_intel.builders.model import inference_service
from kserve_intel.builders.runtime import runtime_objects
from kserve_intel.catalog.model_shapes import ModelShape, catalogue_shape, shape_from_config
from kserve_intel.catalog.models import CATALOGUE, OPENVINO_REPOS
from kserve_intel.errors import ConfigError
from kserve_intel.load import load_config
from kserve_intel.plan import build_plan, served_by
from offline.engine import evaluate
from tests.conftest import raw_config, run_stack

TOKEN = "hf_test_token_value_never_in_plaintext"


def plan_for(platform, models, shapes=None, **extra):
    values = {"platform": platform, "models": models, "hfToken": TOKEN, **extra}
    return build_plan(load_config(raw_config(**values), ["kserve-intel:hfToken"]), shapes=shapes)


def refused(platform, models, shapes=None, **extra) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        plan_for(platform, models, shapes, **extra)
    return caught.value


def _check(error: ConfigError, key: str, fragments: list[str]) -> None:
    text = str(error)
    assert [i.path for i in error.issues] == [key], text
    for fragment in fragments:
        assert fragment in text, text
    assert "None" not in text, text


R1_8B = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
CUSTOM = {"name": "llamacpp", "image": "ghcr.io/ggml-org/llama.cpp:server-b6000", "platforms": ["xeon"],
          "command": ["/app/llama-server"], "port": 8081, "healthPath": "/health", "openaiBasePath": "/v1",
          "metricsPath": "/metrics",
          "resources": {"requests": {"cpu": 8, "memory": "32Gi"}, "limits": {"cpu": 8, "memory": "32Gi"}}}
TINY = ModelShape(id="acme/tiny", attention_heads=8, kv_heads=2, layers=2, hidden_size=512, head_dim=64,
                  context={"max_position_embeddings": 4096}, parameters=100_000_000, torch_dtype="bfloat16",
                  source="test")


# --- 1. capacity -----------------------------------------------------------------------------------------

CAPACITY_REFUSED = [
    # The issue's example: 8B at TP 4 with 40 GiB of KV per rank in a 128Gi pod the user pinned.
    ("xeon", [{"id": R1_8B, "tensorParallelSize": 4,
               "resources": {"requests": {"memory": "128Gi"}, "limits": {"memory": "128Gi"}}}],
     "models[0].resources.limits.memory", ["holds 128.0 GiB but the pod needs 183.0 GiB", "weights 15.0 GiB",
                                            "4 rank(s)", "x 40 GiB KV cache each", "allowed: at least 183Gi"]),
    # A limit below the KV space alone.
    ("xeon", [{"id": R1_8B, "resources": {"requests": {"memory": "32Gi"}, "limits": {"memory": "32Gi"}}}],
     "models[0].resources.limits.memory", ["holds 32.0 GiB but the pod needs 58.5 GiB"]),
    ("gaudi", [{"id": R1_8B, "resources": {"requests": {"memory": "200Gi"}, "limits": {"memory": "120Gi"}}}],
     "models[0].resources.requests.memory", ["is above limits.memory (120Gi)", "allowed: at most 120Gi"]),
    ("gaudi", [{"id": R1_8B, "resources": {"limits": {"cpu": "0"}}}],
     "models[0].resources.limits.cpu", ["is zero", "allowed: a positive quantity"]),
    ("gaudi", [{"id": R1_8B, "resources": {"requests": {"memory": "0"}}}],
     "models[0].resources.requests.memory", ["is zero"]),
    ("xeon", [{"id": R1_8B, "resources": {"limits": {"habana.ai/gaudi": "1"}}}],
     "models[0].resources.limits.habana.ai/gaudi", ["asks for Gaudi cards on xeon"]),
    ("gaudi", [{"id": R1_8B, "resources": {"limits": {"nvidia.com/gpu": "1"}}}],
     "models[0].resources.limits.nvidia.com/gpu", ["another vendor's accelerator"]),
    ("xeon", [{"id": R1_8B, "resources": {"limits": {"nvidia.com/gpu": "1"}}}],
     "models[0].resources.limits.nvidia.com/gpu", ["another vendor's accelerator"]),
    ("xeon", [{"id": R1_8B, "env": {"VLLM_CPU_KVCACHE_SPACE": ""}}],
     "models[0].env.VLLM_CPU_KVCACHE_SPACE", ["host NUMA node's memory"]),
    ("xeon", [{"id": R1_8B, "env": {"VLLM_CPU_KVCACHE_SPACE": "0"}}],
     "models[0].env.VLLM_CPU_KVCACHE_SPACE", ["No available memory for the cache blocks"]),
    ("xeon", [{"id": R1_8B, "env": {"VLLM_CPU_KVCACHE_SPACE": "40GB"}}],
     "models[0].env.VLLM_CPU_KVCACHE_SPACE", ["whole number of GiB", "int()"]),
    # Each rank's KV space must hold one request of maxModelLen (128 KiB a token for the 8B model at TP 1).
    ("xeon", [{"id": R1_8B, "maxModelLen": 131072, "env": {"VLLM_CPU_KVCACHE_SPACE": "8"}}],
     "models[0].env.VLLM_CPU_KVCACHE_SPACE", ["one 131072-token request (maxModelLen) needs 16.00 GiB",
                                               "allowed: at least 16, or maxModelLen <= 65536"]),
    # Gaudi: 70B of bf16 weights on one Gaudi2 card.
    ("gaudi", [{"id": "meta-llama/Llama-3.1-70B-Instruct", "tensorParallelSize": 1}],
     "models[0].tensorParallelSize", ["puts 131.4 GiB of weights on each gaudi card", "96 GiB of HBM",
                                      "allowed: at least 2 cards"]),
    # Gaudi: the KV left after Scout's weights cannot hold one million-token request.
    ("gaudi", [{"id": "meta-llama/Llama-4-Scout-17B-16E-Instruct", "maxModelLen": 1000000}],
     "models[0].maxModelLen", ["GiB of KV cache per card for one 1000000-token request", "--gpu-memory-utilization",
                               "allowed: maxModelLen <= "]),
]


@pytest.mark.parametrize("platform, models, key, fragments", CAPACITY_REFUSED,
                         ids=[f"{c[0]}:{json.dumps(c[1])[:70]}" for c in CAPACITY_REFUSED])
def test_capacity_refusals_name_the_numbers_and_the_key(platform, models, key, fragments):
    _check(refused(platform, models), key, fragments)


def test_the_issue_example_fits_at_tp2_and_the_default_memory_follows_tp4():
    tp2, tp4 = plan_for("xeon", [{"id": R1_8B, "tensorParallelSize": 2},
                                 {"id": R1_8B, "name": "tp4", "servedModelName": "tp4", "tensorParallelSize": 4}]).models
    assert round(tp2.capacity.memory_needed_gib) == 100 and tp2.resources["limits"]["memory"] == "128Gi"
    # 15 GiB weights + 4 x 40 GiB KV + 8 GiB runtime: the profile's 128Gi would be OOM-killed; 1.1 x 183 GiB.
    assert round(tp4.capacity.memory_needed_gib) == 183
    assert tp4.resources["limits"]["memory"] == tp4.resources["requests"]["memory"] == "202Gi"


def test_gaudi_capacity_follows_the_cards_and_the_stacks_utilisation():
    (qwen32,) = plan_for("gaudi", ["deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"]).models
    c = qwen32.capacity
    assert (c.cards, c.hbm_per_card_gib, c.utilisation) == (2, 96.0, 0.88)  # vllm-gaudi's TP 2 row
    assert round(c.weights_per_card_gib, 1) == 30.5 and round(c.kv_per_card_gib, 1) == 51.9
    (fork,) = plan_for("gaudi", ["deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"], gaudiSoftware="1.22").models
    assert fork.capacity.utilisation == 0.95  # the fork stack's --gpu-memory-utilization


def test_capacity_output_and_preview_line_of_a_committed_stack():
    evaluation = run_stack("xeon", hfToken=TOKEN)
    capacity = evaluation.outputs["capacity"]
    assert set(capacity) == {"qwen3-4b-instruct-2507", "r1-llama-8b"}
    r1 = capacity["r1-llama-8b"]
    assert (r1["weightsGiB"], r1["kvCacheGiB"], r1["memoryNeededGiB"], r1["memoryLimit"]) == (15.0, 40.0, 58.5, "128Gi")
    assert r1["shape"].startswith("catalogue: config.json read from https://huggingface.co/")
    assert ("capacity r1-llama-8b: weights 15.0 GiB, KV cache 40.0 GiB (1 rank(s) x 40 GiB), memory needed 58.5 GiB "
            "of limit 128Gi") in evaluation.infos
    gaudi3 = run_stack("gaudi3", hfToken=TOKEN)
    line = [i for i in gaudi3.infos if i.startswith("capacity r1-llama-70b:")]
    assert line and "(32.9 GiB per card)" in line[0] and "4 cards x 128 GiB HBM at utilisation 0.94" in line[0]


# --- 2. model shape ------------------------------------------------------------------------------------

SHAPE_REFUSED = [
    ("gaudi", [{"id": "meta-llama/Llama-3.1-70B-Instruct", "tensorParallelSize": 6}], "models[0].tensorParallelSize",
     ["does not divide meta-llama/Llama-3.1-70B-Instruct's 64 attention heads",
      "'Total number of attention heads (64) must be divisible by tensor parallel size (6)'", "allowed: 1, 2, 4, 8"]),
    ("gaudi", [{"id": "Qwen/Qwen2.5-7B-Instruct", "tensorParallelSize": 8}], "models[0].tensorParallelSize",
     ["28 attention heads", "allowed: 1, 2, 4"]),
    ("gaudi", [{"id": "tiiuae/Falcon3-7B-Instruct", "tensorParallelSize": 3}], "models[0].tensorParallelSize",
     ["does not split tiiuae/Falcon3-7B-Instruct's KV heads evenly (4 KV heads must be a multiple of it)",
      "allowed: 1, 2, 4"]),
    ("gaudi3", [{"id": "mistralai/Mistral-7B-Instruct-v0.3", "maxModelLen": 65536}], "models[0].maxModelLen",
     ["derives at most 32768 (max_position_embeddings=32768)", "VLLM_ALLOW_LONG_MAX_MODEL_LEN"]),
    ("gaudi", [{"id": "acme/tiny", "gated": False, "pipelineParallelSize": 4}], "models[0].pipelineParallelSize",
     ["gives 4 pipeline stages to acme/tiny's 2 layers", "allowed: at most 2"]),
    ("xeon", [{"id": "acme/tiny", "gated": False, "maxModelLen": 8192}], "models[0].maxModelLen",
     ["derives at most 4096"]),
]


@pytest.mark.parametrize("platform, models, key, fragments", SHAPE_REFUSED,
                         ids=[f"{c[0]}:{json.dumps(c[1])[:60]}" for c in SHAPE_REFUSED])
def test_model_shape_refusals(platform, models, key, fragments):
    _check(refused(platform, models, shapes={"acme/tiny": TINY}), key, fragments)


def test_vllm_allow_long_max_model_len_turns_the_refusal_into_a_warning():
    plan = plan_for("gaudi3", [{"id": "mistralai/Mistral-7B-Instruct-v0.3", "maxModelLen": 65536,
                                "env": {"VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1"}}])
    assert any("VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 lets vLLM start anyway" in w for w in plan.warnings)
    # vllm-0.10's environment sets it already (the old Xeon profile).
    plan = plan_for("xeon", [{"id": "mistralai/Mistral-7B-Instruct-v0.3", "maxModelLen": 65536, "servingStack": "vllm-0.10",
                              "resources": {"requests": {"memory": "256Gi"}, "limits": {"memory": "256Gi"}}}])
    assert any("beyond mistralai/Mistral-7B-Instruct-v0.3's context" in w for w in plan.warnings)


def test_a_default_context_never_asks_for_more_than_the_model_has():
    (tiny,) = plan_for("gaudi3", [{"id": "acme/tiny", "gated": False}], shapes={"acme/tiny": TINY}).models
    assert tiny.max_model_len == 4096  # Gaudi3's default is 16384
    assert "--max-model-len" in tiny.args and tiny.args[tiny.args.index("--max-model-len") + 1] == "4096"


def test_the_context_vllm_derives_follows_its_version():
    yarn = shape_from_config("acme/yarn", {"num_attention_heads": 8, "num_hidden_layers": 2, "hidden_size": 512,
                                           "max_position_embeddings": 32768,
                                           "rope_scaling": {"type": "yarn", "factor": 4.0,
                                                            "original_max_position_embeddings": 32768}}, "test")
    assert yarn.derived_max_len("0.33.0")[0] == 32768   # already scaled since 0.3x
    assert yarn.derived_max_len("0.26.0")[0] == 131072  # original x factor before
    linear = shape_from_config("acme/linear", {"num_attention_heads": 8, "num_hidden_layers": 2, "hidden_size": 512,
                                               "max_position_embeddings": 4096,
                                               "rope_scaling": {"rope_type": "linear", "factor": 2.0}}, "test")
    assert linear.derived_max_len("0.33.0")[0] == linear.derived_max_len("0.9.0.1")[0] == 8192
    assert catalogue_shape("meta-llama/Llama-3.1-8B-Instruct").derived_max_len("0.26.0")[0] == 131072  # llama3 rope
    assert shape_from_config("acme/none", {"num_attention_heads": 8, "num_hidden_layers": 2, "hidden_size": 512},
                             "test").derived_max_len("0.33.0")[0] == 2048


# --- 3. collisions -------------------------------------------------------------------------------------

V020 = {"kserve": {"version": "v0.20.0"}}
COLLISIONS = [
    # A canary's predictor named like another model's.
    ([{"id": R1_8B, "name": "chat", "canary": {"trafficPercent": 10, "name": "v2", "extraArgs": ["--max-num-seqs", "8"]}},
      {"id": "Qwen/Qwen3-1.7B", "name": "chat-v2"}], V020, "models[1].name",
     ["derives the predictor Deployment/Service name 'chat-v2-predictor', which models[0].canary (name v2) also derives"]),
    # Our route of one model is KServe's own route of another.
    ([{"id": R1_8B, "name": "chat"}, {"id": "Qwen/Qwen3-1.7B", "name": "chat-route"}], {}, "models[1].name",
     ["derives the route name 'chat-route', which models[0] (deepseek-ai/DeepSeek-R1-Distill-Llama-8B) also derives"]),
    # Two different models under one served name.
    ([{"id": R1_8B, "servedModelName": "assistant"}, {"id": "Qwen/Qwen3-1.7B", "servedModelName": "assistant"}], {},
     "models[1].servedModelName", ["is also the served name of models[0] (deepseek-ai/DeepSeek-R1-Distill-Llama-8B)",
                                   "GenAI gateway would balance requests between two different models"]),
    # The same model twice keeps its id as served name unless told otherwise.
    ([R1_8B, {"id": R1_8B, "name": "second"}], {}, "models[1].servedModelName", ["is also the served name of models[0]"]),
]


@pytest.mark.parametrize("models, extra, key, fragments", COLLISIONS, ids=[c[2] + str(i) for i, c in enumerate(COLLISIONS)])
def test_collisions_are_refused_naming_both(models, extra, key, fragments):
    _check(refused("xeon", models, **extra), key, fragments)


def test_a_custom_runtime_that_encodes_to_a_stacks_runtime_name_is_refused():
    custom = {**CUSTOM, "name": "vllm-0-10", "image": "registry.example.com/my/server:1",
              "resources": {"requests": {"cpu": 8, "memory": "32Gi"}, "limits": {"cpu": 8, "memory": "32Gi"}}}
    error = refused("xeon", [{"id": "Qwen/Qwen3-1.7B", "servingStack": "vllm-0.10"},
                             {"id": "Qwen/Qwen3-4B-Instruct-2507", "backend": "vllm-0-10", "gated": False}],
                    runtimes={"custom": [custom]})
    _check(error, "runtimes.custom[0].name", ["'intel-xeon-vllm-0-10', which serving stack vllm-0.10 also gives"])


# --- 7. known-bad combinations are refused -------------------------------------------------------------

def test_a_stack_newer_than_the_declared_gaudi_software_is_refused_naming_both_keys():
    error = refused("gaudi3", ["Qwen/Qwen2.5-7B-Instruct"], servingStack="vllm-gaudi-0.26", gaudiSoftware="1.22")
    _check(error, "servingStack", ["built for Gaudi software 1.24.1", "gaudiSoftware says the nodes run 1.22",
                                   "vllm-fork-1.22"])
    error = refused("gaudi", [{"id": "Qwen/Qwen2.5-7B-Instruct", "backend": "tgi"}], gaudiSoftware="1.24.1")
    _check(error, "models[0].backend", ["tgi-gaudi-3.3, built for Gaudi software 1.21.0"])


@pytest.mark.parametrize("platform, image, built", [
    ("xeon", "opea/vllm-gaudi:1.22.0", "built for gaudi, gaudi3"),
    ("gaudi", "vllm/vllm-openai-cpu:v0.33.0-x86_64", "built for xeon"),
    ("gaudi3", "vllm/vllm-openai:v0.10.2", "another vendor's accelerators"),
    ("xeon", "ghcr.io/huggingface/text-generation-inference:3.3.7-gaudi", "built for gaudi, gaudi3"),
])
def test_a_canary_image_of_another_platform_is_refused(platform, image, built):
    model = {"id": "Qwen/Qwen2.5-7B-Instruct" if platform != "xeon" else "Qwen/Qwen3-1.7B",
             "canary": {"trafficPercent": 10, "image": image}}
    _check(refused(platform, [model], **V020), "models[0].canary.image", [built, f"runs on {platform}"])


@pytest.mark.parametrize("section, value", [
    ("ingress", {"enabled": True}), ("autoscaling", {"enabled": True}), ("monitoring", {"enabled": True}),
    ("gatewayApi", {"enabled": True, "gateway": {"name": "g", "namespace": "gw"}}),
])
def test_features_that_act_on_models_have_no_effect_without_models(section, value):
    with pytest.raises(ConfigError) as caught:
        load_config(raw_config(platform="xeon", models=[], **{section: value}))
    _check(caught.value, f"{section}.enabled", ["has no effect: models is empty"])
    load_config(raw_config(platform="xeon", models=[]))  # the runtimes alone are fine


# --- 8. other backends' leftovers ----------------------------------------------------------------------

@pytest.mark.parametrize("backend, app", [("tgi", "text-generation-inference"), ("ovms", "openvino-model-server"),
                                          ("llamacpp", "llamacpp")])
def test_other_backends_carry_no_vllm_labels_or_environment(backend, app):
    extra = {"runtimes": {"custom": [CUSTOM]}} if backend == "llamacpp" else {}
    plan = plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": backend}], **extra)
    (model,) = plan.models
    isvc = inference_service(plan, model, with_token=True)
    assert isvc["spec"]["predictor"]["labels"]["app.kubernetes.io/name"] == app
    (runtime,) = [o for o in runtime_objects(plan) if o["metadata"]["name"] == served_by(plan, model)]
    env = {e["name"]: e.get("value") for c in runtime["spec"]["containers"] for e in c.get("env", [])}
    env.update({e["name"]: e.get("value") for e in isvc["spec"]["predictor"]["model"].get("env", [])})
    assert "VLLM_NO_USAGE_STATS" not in env and env.get("LOGNAME") != "vllm", env
    assert not [k for k in env if k.startswith("VLLM_")], env
    vllm = plan_for("xeon", ["Qwen/Qwen3-1.7B"])
    assert inference_service(vllm, vllm.models[0], with_token=True)["spec"]["predictor"]["labels"][
        "app.kubernetes.io/name"] == "vllm"


def test_tgi_on_xeon_does_not_warn_about_the_gaudi_image():
    (xeon,) = [w for w in plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "backend": "tgi"}]).warnings if "TGI" in w]
    assert "Gaudi" not in xeon and "maintenance mode" in xeon
    (gaudi,) = [w for w in plan_for("gaudi", [{"id": "Qwen/Qwen2.5-7B-Instruct", "backend": "tgi"}]).warnings
                if "TGI" in w]
    assert "Gaudi software 1.21.0" in gaudi


# --- the online step: a model's config.json from the hub -----------------------------------------------

TINY_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048,
               "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 16, "intermediate_size": 8192,
               "vocab_size": 128256, "max_position_embeddings": 4096, "tie_word_embeddings": True,
               "torch_dtype": "bfloat16"}


class FakeHub(BaseHTTPRequestHandler):
    requests: list[tuple[str, str | None]] = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        FakeHub.requests.append((self.path, self.headers.get("Authorization")))
        if self.path == "/acme/tiny-chat/resolve/main/config.json":
            body, status = json.dumps(TINY_CONFIG).encode(), 200
        else:
            body, status = b'{"error": "Repository not found"}', 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def fake_hub():
    FakeHub.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _program(hub: str, models, online: bool, preview: bool = True, **extra):
    config = raw_config(platform="gaudi3", models=models, hfToken=TOKEN, hfEndpoint=hub, **extra)
    return evaluate(config, ["kserve-intel:hfToken"], stack="gaudi3", preview=preview, online=online,
                    raise_errors=False)


def test_preview_reads_an_unknown_models_shape_from_the_hub_with_the_token():
    with fake_hub() as hub:
        evaluation = _program(hub, [{"id": "acme/tiny-chat", "gated": False}], online=True)
    assert evaluation.error is None, evaluation.error
    assert FakeHub.requests == [("/acme/tiny-chat/resolve/main/config.json", f"Bearer {TOKEN}")]
    capacity = evaluation.outputs["capacity"]["tiny-chat"]
    assert capacity["shape"] == f"hub ({hub}/acme/tiny-chat/resolve/main/config.json)"
    assert capacity["maxModelLen"] == 4096 and capacity["weightsGiB"] == 2.3
    assert any(line.startswith("capacity tiny-chat:") for line in evaluation.infos)
    assert TOKEN not in json.dumps(evaluation.outputs) + "".join(evaluation.warnings + evaluation.infos)


def test_the_shape_read_online_refuses_before_any_resource():
    with fake_hub() as hub:
        evaluation = _program(hub, [{"id": "acme/tiny-chat", "gated": False, "tensorParallelSize": 3}], online=True,
                              preview=False)
    assert evaluation.registrations == []
    assert "kserve-intel:models[0].tensorParallelSize = 3: does not divide acme/tiny-chat's 32 attention heads" in \
        str(evaluation.error)


@pytest.mark.parametrize("online, extra, reason", [
    (False, {}, "offline render"),
    (True, {"validateToken": False}, "validateToken is false"),
])
def test_offline_and_validate_token_false_skip_the_hub_with_one_warning(online, extra, reason):
    with fake_hub() as hub:
        evaluation = _program(hub, [{"id": "acme/tiny-chat", "gated": False}, {"id": "acme/other", "gated": False}],
                              online=online, **extra)
    assert evaluation.error is None, evaluation.error
    assert FakeHub.requests == []
    (warning,) = [w for w in evaluation.warnings if "shape and capacity checks skipped" in w]
    assert reason in warning and "models[0] acme/tiny-chat, models[1] acme/other" in warning
    assert evaluation.outputs["capacity"]["tiny-chat"]["checked"] is False


def test_an_unreachable_hub_or_an_unknown_repository_is_one_warning():
    with fake_hub() as hub:
        evaluation = _program(hub, [{"id": "acme/tiny-chat", "gated": False}, {"id": "acme/missing", "gated": False}],
                              online=True)
    (warning,) = [w for w in evaluation.warnings if "skipped" in w]
    assert "models[1] acme/missing: HTTP 404" in warning and "tiny-chat" not in warning
    evaluation = _program("http://127.0.0.1:9", [{"id": "acme/tiny-chat", "gated": False}], online=True)
    (warning,) = [w for w in evaluation.warnings if "skipped" in w]
    assert "cannot read model shapes from http://127.0.0.1:9" in warning and evaluation.error is None


def test_a_hub_config_parses_to_the_catalogues_facts():
    shape = shape_from_config("acme/x", TINY_CONFIG, "test")
    facts = catalogue_shape("meta-llama/Llama-3.2-1B-Instruct")
    assert (shape.attention_heads, shape.kv_heads, shape.layers, shape.head_dim) == (32, 8, 16, 64)
    assert shape.parameters == facts.parameters == 1235814400


def test_every_catalogue_model_and_openvino_repository_has_a_shape():
    missing = [i for i in [*CATALOGUE, *OPENVINO_REPOS.values()] if catalogue_shape(i) is None]
    assert missing == []
    for model_id in CATALOGUE:
        shape = catalogue_shape(model_id)
        assert shape.parameters and shape.source.startswith("catalogue: "), model_id
