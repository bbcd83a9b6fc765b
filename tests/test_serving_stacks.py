"""Serving stacks: config keys, exact command lines per stack, and the real vLLM parsers' verdict."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kserve_intel.builders.model import inference_service
from kserve_intel.builders.runtime import cluster_serving_runtime
from kserve_intel.catalog.models import CATALOGUE
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from kserve_intel.catalog.serving_stacks import STACKS, offered
from tests.conftest import raw_config

ROOT = Path(__file__).resolve().parent.parent


def plan_for(platform, models, **extra):
    values = {"platform": platform, "models": models, "hfToken": "hf_x", **extra}
    return build_plan(load_config(raw_config(**values), ["kserve-intel:hfToken"]))


def refusal(platform, **extra):
    with pytest.raises(ConfigError) as caught:
        plan_for(platform, extra.pop("models", ["Qwen/Qwen3-1.7B"]), **extra)
    return str(caught.value)


# --- config ---------------------------------------------------------------------


@pytest.mark.parametrize("platform, declared, expected", [
    ("xeon", None, "vllm-0.33"),
    ("gaudi", None, "vllm-gaudi-0.26"),
    ("gaudi3", None, "vllm-gaudi-0.26"),
    ("gaudi", "1.22", "vllm-fork-1.22"),
    ("gaudi3", "1.22.0", "vllm-fork-1.22"),
    ("gaudi", "1.24.1", "vllm-gaudi-0.26"),
])
def test_default_stack_is_the_newest_the_nodes_run(platform, declared, expected):
    extra = {"gaudiSoftware": declared} if declared else {}
    assert plan_for(platform, ["Qwen/Qwen2.5-7B-Instruct"], **extra).serving_stack.name == expected


def test_a_stack_the_platform_does_not_offer_is_refused_naming_the_allowed():
    message = refusal("xeon", servingStack="vllm-gaudi-0.26")
    assert 'kserve-intel:servingStack = "vllm-gaudi-0.26": is not offered on xeon; allowed: vllm-0.33, vllm-0.10' in message


def test_gaudi_software_on_xeon_is_refused():
    assert 'kserve-intel:gaudiSoftware = "1.22": has no effect on xeon; remove it' in refusal("xeon", gaudiSoftware="1.22")


def test_a_malformed_gaudi_software_is_refused():
    assert "kserve-intel:gaudiSoftware" in refusal("gaudi", gaudiSoftware="latest")


def test_choosing_a_stack_the_nodes_cannot_run_is_refused_naming_both_keys():
    # Issue 22 class 7: the program knows these pods fail, so it refuses (it used to warn).
    message = refusal("gaudi", models=["Qwen/Qwen2.5-7B-Instruct"], servingStack="vllm-gaudi-0.26", gaudiSoftware="1.22")
    assert message.count("kserve-intel:") == 1, message
    assert 'kserve-intel:servingStack = "vllm-gaudi-0.26"' in message
    assert "built for Gaudi software 1.24.1" in message and "gaudiSoftware says the nodes run 1.22" in message
    assert "vllm-fork-1.22" in message
    assert not [w for w in plan_for("gaudi", ["Qwen/Qwen2.5-7B-Instruct"], gaudiSoftware="1.24").warnings
                if "Gaudi software" in w]


REFUSALS = [
    # (platform, stack, extraArgs, env, expected message fragment)
    ("xeon", "vllm-0.33", ["--swap-space", "4"], {}, "--swap-space is not accepted by serving stack vllm-0.33"),
    ("xeon", "vllm-0.33", ["--max-seq-len-to-capture=8192"], {}, "--max-seq-len-to-capture is not accepted"),
    ("xeon", "vllm-0.33", ["--num_scheduler_steps", "1"], {}, "--num_scheduler_steps is not accepted"),
    ("xeon", "vllm-0.33", [], {"VLLM_USE_V1": "1"}, "VLLM_USE_V1 is not read by serving stack vllm-0.33"),
    ("xeon", "vllm-0.33", [], {"VLLM_CPU_SGL_KERNEL": "1"}, "VLLM_CPU_SGL_KERNEL is not read by serving stack vllm-0.33"),
    ("gaudi", "vllm-gaudi-0.26", ["--use-padding-aware-scheduling"], {}, "VLLM_BUCKETING_STRATEGY=pad"),
    ("gaudi", "vllm-gaudi-0.26", ["--max-num-prefill-seqs", "16"], {}, "VLLM_PROMPT_BS_BUCKET_MAX"),
    ("gaudi3", "vllm-gaudi-0.26", [], {"VLLM_GRAPH_PROMPT_RATIO": "0.3"}, "no longer read by vllm-gaudi"),
    ("gaudi", "vllm-fork-1.22", ["--async-scheduling"], {}, "unknown to the HabanaAI fork"),
    ("xeon", "vllm-0.10", ["--use-padding-aware-scheduling"], {}, "a HabanaAI fork flag"),
]


@pytest.mark.parametrize("platform, stack, args, env, expected", REFUSALS)
def test_user_flags_a_stack_rejects_are_refused_with_the_stack_named(platform, stack, args, env, expected):
    model = {"id": "Qwen/Qwen2.5-7B-Instruct", "extraArgs": args, "env": env}
    message = refusal(platform, models=[model], servingStack=stack)
    assert expected in message
    assert message.count("kserve-intel:models[0]") == 1


# --- a serving stack per model ----------------------------------------------------------

MIXED = [{"id": "Qwen/Qwen3-1.7B"}, {"id": "Qwen/Qwen2.5-7B-Instruct", "servingStack": "vllm-0.10"}]


def test_a_model_can_pick_its_own_stack_and_gets_a_runtime_that_names_it():
    plan = plan_for("xeon", MIXED)
    assert [(r.name, r.stack.name, r.stack_wide) for r in plan.runtimes] == [
        ("intel-vllm-xeon", "vllm-0.33", True), ("intel-xeon-vllm-0-10", "vllm-0.10", False)]
    new, old = plan.models
    assert (new.runtime.name, old.runtime.name) == ("intel-vllm-xeon", "intel-xeon-vllm-0-10")
    # Each model's command line is its own stack's: positional model for `vllm serve`, --model for the old.
    assert new.args[0] == "Qwen/Qwen3-1.7B" and old.args[:2] == ("--model", "Qwen/Qwen2.5-7B-Instruct")
    assert container(plan, new)["image"] == STACKS["vllm-0.33"].image
    assert container(plan, old)["image"] == STACKS["vllm-0.10"].image
    assert container(plan, old)["command"] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    assert "SYS_NICE" not in str(container(plan, old)["securityContext"])
    isvcs = [inference_service(plan, m, with_token=False) for m in plan.models]
    assert [i["spec"]["predictor"]["model"]["runtime"] for i in isvcs] == ["intel-vllm-xeon", "intel-xeon-vllm-0-10"]
    runtime = cluster_serving_runtime(plan, old.runtime)
    assert runtime["metadata"]["name"] == "intel-xeon-vllm-0-10"
    assert runtime["metadata"]["labels"]["kserve-intel/serving-stack"] == "vllm-0.10"


def test_only_runtimes_a_model_uses_are_created():
    plan = plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "servingStack": "vllm-0.10"}])
    assert [r.name for r in plan.runtimes] == ["intel-xeon-vllm-0-10"]
    # A stack without models provides the stack-wide runtime (for stacks with runtimes.configureIntel false).
    assert [r.name for r in plan_for("xeon", []).runtimes] == ["intel-vllm-xeon"]
    # Naming the stack-wide stack on a model is the stack-wide runtime, not a second one.
    assert [r.name for r in plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "servingStack": "vllm-0.33"}]).runtimes] == [
        "intel-vllm-xeon"]


def test_runtimes_image_replaces_the_stack_wide_image_only():
    plan = plan_for("xeon", MIXED, runtimes={"image": "registry.local/vllm-cpu:v0.33.0"})
    assert [r.image for r in plan.runtimes] == ["registry.local/vllm-cpu:v0.33.0", STACKS["vllm-0.10"].image]


def test_the_namespace_is_privileged_only_when_a_runtime_in_use_adds_capabilities():
    from kserve_intel.builders.model import model_namespace

    level = lambda plan: model_namespace(plan)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
    assert level(plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "servingStack": "vllm-0.10"}])) == "restricted"
    assert level(plan_for("xeon", MIXED)) == "privileged"  # vllm-0.33's SYS_NICE
    assert level(plan_for("xeon", MIXED, servingStack="vllm-0.10")) == "restricted"


def test_a_per_model_stack_the_platform_does_not_offer_is_refused():
    message = refusal("xeon", models=[MIXED[0], {"id": "Qwen/Qwen3-1.7B", "servingStack": "vllm-gaudi-0.26"}])
    assert ('kserve-intel:models[1].servingStack = "vllm-gaudi-0.26": is not offered on xeon; '
            'allowed: vllm-0.33, vllm-0.10') in message


def test_user_flags_are_checked_against_the_models_own_stack():
    old = {"id": "Qwen/Qwen3-1.7B", "servingStack": "vllm-0.10", "extraArgs": ["--swap-space", "4"]}
    plan_for("xeon", [old])  # vLLM 0.10.2 still knows --swap-space
    message = refusal("xeon", models=[old, {"id": "Qwen/Qwen2.5-7B-Instruct", "extraArgs": ["--swap-space", "4"]}])
    assert "kserve-intel:models[1].extraArgs" in message and "serving stack vllm-0.33" in message
    assert "models[0]" not in message


def test_a_per_model_stack_the_nodes_cannot_run_is_refused_naming_the_model():
    message = refusal("gaudi", models=[{"id": "Qwen/Qwen2.5-7B-Instruct"},
                                       {"id": "Qwen/Qwen2.5-7B-Instruct", "name": "qwen-new", "servedModelName": "qwen-new",
                                        "servingStack": "vllm-gaudi-0.26"}], gaudiSoftware="1.22")
    assert message.count("kserve-intel:") == 1, message
    assert 'kserve-intel:models[1].servingStack = "vllm-gaudi-0.26"' in message and "run 1.22" in message
    # The same per-model stack on nodes that run it: both runtimes are created.
    plan = plan_for("gaudi", [{"id": "Qwen/Qwen2.5-7B-Instruct", "servingStack": "vllm-fork-1.22"},
                              {"id": "Qwen/Qwen2.5-7B-Instruct", "name": "qwen-new", "servedModelName": "qwen-new"}])
    assert [r.name for r in plan.runtimes] == ["intel-vllm-gaudi", "intel-gaudi-vllm-fork-1-22"]


# --- exact command lines ---------------------------------------------------------------


def container(plan, model=None):
    """The runtime container a model runs (its own serving stack's runtime); the stack-wide one without."""
    (c,) = cluster_serving_runtime(plan, model.runtime if model else None)["spec"]["containers"]
    return c


def test_xeon_0_33_runs_vllm_serve_with_intel_settings():
    plan = plan_for("xeon", ["Qwen/Qwen3-1.7B"])
    c = container(plan)
    assert c["image"] == "vllm/vllm-openai-cpu:v0.33.0-x86_64"
    assert c["command"] == ["vllm", "serve"]
    assert c["args"] == ["--block-size", "128", "--dtype", "bfloat16", "--distributed-executor-backend", "mp",
                         "--max-num-batched-tokens", "2048", "--max-num-seqs", "128",
                         "--host", "0.0.0.0", "--port", "8080"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert {k: env[k] for k in ("USER", "VLLM_CPU_KVCACHE_SPACE", "VLLM_CPU_OMP_THREADS_BIND",
                                "VLLM_CPU_NUM_OF_RESERVED_CPU")} == {
        "USER": "vllm", "VLLM_CPU_KVCACHE_SPACE": "40", "VLLM_CPU_OMP_THREADS_BIND": "auto",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "1"}
    assert "VLLM_CPU_SGL_KERNEL" not in env  # 0.33.0's envs.py no longer defines it
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["SYS_NICE"]}
    assert c["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    model = plan.models[0]
    assert model.args[:1] == ("Qwen/Qwen3-1.7B",) and "--model" not in model.args


def test_xeon_0_33_scales_batch_limits_with_numa_nodes():
    plan = plan_for("xeon", [{"id": "Qwen/Qwen3-1.7B", "tensorParallelSize": 2}])
    args = list(plan.models[0].args)
    assert args[args.index("--max-num-seqs") + 1] == "256"
    assert args[args.index("--max-num-batched-tokens") + 1] == "4096"


def test_xeon_0_10_keeps_the_old_stack_without_sys_nice():
    c = container(plan_for("xeon", ["Qwen/Qwen3-1.7B"], servingStack="vllm-0.10"))
    assert c["command"] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("platform, model, tp, gmu, mns, graph, lazy", [
    ("gaudi", "meta-llama/Llama-3.1-8B-Instruct", "1", "0.88", "96", "0.04", False),
    ("gaudi3", "meta-llama/Llama-3.1-8B-Instruct", "1", "0.91", "160", "0.04", False),
    ("gaudi", "meta-llama/Llama-3.1-70B-Instruct", "4", "0.91", "128", "0.1", True),
    ("gaudi3", "meta-llama/Llama-3.1-70B-Instruct", "4", "0.94", "224", "0.1", True),
])
def test_gaudi_plugin_uses_the_launchers_tuned_values(platform, model, tp, gmu, mns, graph, lazy):
    plan = plan_for(platform, [model])
    c = container(plan)
    assert c["command"] == ["vllm", "serve"]
    assert "--async-scheduling" in c["args"] and "--no-enable-prefix-caching" in c["args"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["PT_HPU_LAZY_MODE"] == "0"
    args = list(plan.models[0].args)
    assert args[args.index("--tensor-parallel-size") + 1] == tp
    assert args[args.index("--gpu-memory-utilization") + 1] == gmu
    assert args[args.index("--max-num-seqs") + 1] == mns
    assert plan.models[0].env["VLLM_GRAPH_RESERVED_MEM"] == graph
    assert (plan.models[0].env.get("PT_HPU_ENABLE_LAZY_COLLECTIVES") == "true") is lazy


# --- the real parsers -------------------------------------------------------------------

OVERRIDES = {  # user extraArgs each stack must accept
    "vllm-0.33": ["--enable-prefix-caching", "--max-num-seqs", "64", "--kv-cache-dtype", "fp8"],
    "vllm-0.10": ["--enable-prefix-caching", "--max-num-seqs", "64", "--swap-space", "4"],
    "vllm-gaudi-0.26": ["--enable-prefix-caching", "--max-num-seqs", "64"],
    "vllm-fork-1.22": ["--max-num-seqs", "64", "--num-scheduler-steps", "1"],
}


# LoRA adapters (rules/lora.py): (id suffix, KServe version, model keys). v0.13: vLLM downloads
# the adapters (hub repo ids as paths); v0.20: storageUris mounts; limits at the defaults and tuned.
LORA_CASES = [
    ("lora-hub", "v0.13.0", {"adapters": [{"name": "sql", "id": "example/sql-lora"},
                                          {"name": "chat", "id": "example/chat-lora"}]}),
    ("lora-mounted", "v0.20.0", {"adapters": [{"name": "sql", "id": "example/sql-lora", "revision": "v1"},
                                              {"name": "org/chat:v2", "id": "example/chat-lora"}],
                                 "lora": {"maxLoras": 2, "maxLoraRank": 32, "maxCpuLoras": 4}}),
    # A registry base with a registry adapter and a hub adapter (recorded resolutions: no MLflow call):
    # --model/--tokenizer at /mnt/models, the adapters at their mounts.
    ("lora-registry", "v0.20.0", {"source": {"registeredModel": "support-bot", "version": 3,
                                             "resolved": {"version": "3", "uri": "gs://models/support-bot/3"}},
                                  "adapters": [{"name": "billing", "source": {
                                      "registeredModel": "billing-lora", "version": 1,
                                      "resolved": {"version": "1", "uri": "gs://models/billing-lora/1/peft"}}},
                                      {"name": "sql", "id": "example/sql-lora"}]}),
]
# Config beside a LoRA case's model (the registry, read from recorded resolutions).
LORA_EXTRA = {"lora-registry": {"registry": {"resolve": False}}}


def command_lines(stack_name):
    """Every (id, argv after the entry point, env) the program emits for a stack: catalogue, overrides, LoRA."""
    stack = STACKS[stack_name]
    cases = []
    for platform in stack.platforms:
        models = [m for m in CATALOGUE.values() if m.tuning(platform) and m.tuning(platform).nodes == 1]
        configs = [({"id": m.id}, {}) for m in models]
        configs.append(({"id": "example/unknown-model", "gated": False, "extraArgs": OVERRIDES[stack_name],
                         "revision": "main", "servedModelName": "unknown"}, {}))
        # The stack picked by one model (models[].servingStack) beside a model on the stack-wide default.
        configs.append(({"id": "example/per-model", "gated": False, "extraArgs": OVERRIDES[stack_name],
                         "servingStack": stack_name, "_case": "per-model"}, {"_beside": True}))
        for suffix, version, keys in LORA_CASES:
            configs.append(({"id": "Qwen/Qwen2.5-7B-Instruct", "gated": False, **keys,
                             "_case": suffix}, {"kserve": {"version": version}, **LORA_EXTRA.get(suffix, {})}))
        for i, (model, extra) in enumerate(configs):
            model, extra = dict(model), dict(extra)
            suffix = model.pop("_case", None)
            if extra.pop("_beside", False):
                plan = plan_for(platform, [model, {"id": "Qwen/Qwen2.5-7B-Instruct", "gated": False}], **extra)
                assert plan.models[0].serving_stack.name == stack_name
            else:
                plan = plan_for(platform, [model], servingStack=stack_name, **extra)
            c = container(plan, plan.models[0])
            isvc = inference_service(plan, plan.models[0], with_token=True)
            argv = without_fork_flags(stack, [*c["args"], *isvc["spec"]["predictor"]["model"]["args"]])
            env = {e["name"] for e in c["env"]} | {e["name"] for e in isvc["spec"]["predictor"]["model"]["env"]}
            case_id = f"{platform}:{model['id']}" + (f":{suffix}" if suffix else "")
            cases.append({"id": case_id, "argv": argv, "serve": stack.model_positional,
                          "env": sorted(env)})
    for flag, takes_value in stack.extra_known_args.items():  # fork-only: the base parser must not know them
        cases.append({"id": f"fork-only:{flag}", "argv": ["--model", "m", flag, *(["1"] if takes_value else [])],
                      "serve": False, "env": []})
    for flag in stack.rejected_args:  # the refusal table: the real parser must reject each
        value = [] if flag.startswith("--use-") or flag == "--async-scheduling" else ["1"]
        cases.append({"id": f"refused:{flag}", "argv": (["m"] if stack.model_positional else ["--model", "m"])
                      + [flag, *value], "serve": stack.model_positional, "env": []})
    return cases


def without_fork_flags(stack, argv):
    """argv minus the flags the stack's server has beyond its base parser (and their values)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        flag = arg.split("=", 1)[0]
        if flag in stack.extra_known_args:
            skip = stack.extra_known_args[flag] and "=" not in arg
            continue
        out.append(arg)
    return out


def test_fork_flags_are_stripped_with_their_values_and_only_on_the_fork():
    fork = STACKS["vllm-fork-1.22"]
    assert without_fork_flags(fork, ["--max-num-prefill-seqs", "16", "--use-padding-aware-scheduling",
                                     "--max-num-seqs", "8", "--weights-load-device=cpu"]) == ["--max-num-seqs", "8"]
    assert [s.name for s in STACKS.values() if s.extra_known_args] == ["vllm-fork-1.22"]
    assert {"--use-padding-aware-scheduling", "--max-num-prefill-seqs"} <= set(fork.extra_known_args)


def run_parser(stack_name, cases, tmp_path):
    stack = STACKS[stack_name]
    python = ROOT / f".venv-vllm-{stack.parser_version}" / "bin" / "python"
    assert python.exists(), f"{python} missing: `make test` builds it (make vllm-parsers)"
    result = tmp_path / "parsed.json"
    out = subprocess.run([str(python), "-O", str(ROOT / "tests/parsers/parse_cmdlines.py"), str(result)],
                         input=json.dumps(cases), capture_output=True, text=True, timeout=600,
                         env={**os.environ, "VLLM_TARGET_DEVICE": "cpu", "PYTHONWARNINGS": "ignore"})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(result.read_text())


# vLLM stacks: one venv per parser_version (Makefile VLLM_PARSERS); TGI/OVMS: tests/test_backends.py.
PARSED_STACKS = [name for name, stack in STACKS.items() if stack.backend == "vllm"]


# Registry adapters' adapter_config.json (rules/lora.py `_registry_adapter_issues`): our verdict
# against vLLM's own PEFTHelper.validate_legal, which the server runs per adapter at start.
PEFT = {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}
PEFT_CASES = {
    "plain": (PEFT, False), "rank-32": ({**PEFT, "r": 32}, False),
    "rank-pattern-64": ({**PEFT, "rank_pattern": {"q_proj": 64}}, False),
    "dora": ({**PEFT, "use_dora": True}, False), "save-lm-head": ({**PEFT, "modules_to_save": ["lm_head"]}, False),
    "save-score": ({**PEFT, "modules_to_save": ["score"]}, False), "bias": ({**PEFT, "bias": "all"}, False),
    "bias-with-flag": ({**PEFT, "bias": "all"}, True),
}
# Where we refuse what this vLLM's PEFTHelper lets through, and why:
PEFT_STRICTER = {
    # before 0.3x PEFTHelper has no rank_pattern (dropped by from_dict): the rank-64 module's weights do not
    # fit the max_lora_rank slots the server allocates.
    *((s, "rank-pattern-64") for s in ("vllm-0.10", "vllm-gaudi-0.26", "vllm-fork-1.22")),
    # the fork's HPU model runner asserts no LoRA bias (vllm/worker/hpu_model_runner.py), whatever its base allows.
    ("vllm-fork-1.22", "bias-with-flag"),
}


def peft_cases():
    return [{"id": f"peft:{name}", "peft": config, "max_lora_rank": 16, "bias_enabled": bias, "env": []}
            for name, (config, bias) in PEFT_CASES.items()]


def our_peft_verdict(stack_name, name):
    from kserve_intel.rules import lora
    from kserve_intel.rules.registry import AdapterFacts, ResolvedSource

    config, bias = PEFT_CASES[name]
    adapter = lora.AdapterConfig.model_validate({"name": "a", "source": {"registeredModel": "m", "version": 1}})
    resolved = ResolvedSource("m", None, "1", None, "s3://b/m/1", adapter=AdapterFacts.read(config))
    issues = lora._registry_adapter_issues("k", adapter, resolved, 16, lora.LORA_SUPPORT[stack_name],
                                           {"--enable-lora-bias"} if bias else set(), stack_name, [])
    return [i.message for i in issues]


@pytest.mark.parametrize("stack_name", PARSED_STACKS)
def test_every_emitted_command_line_parses_and_every_refused_flag_is_rejected(stack_name, tmp_path):
    stack = STACKS[stack_name]
    cases = command_lines(stack_name) + peft_cases()
    report = run_parser(stack_name, cases, tmp_path)
    assert report["version"].startswith(stack.parser_version)
    results = report["results"]
    accepted = {k: v for k, v in results.items() if not k.startswith(("refused:", "fork-only:"))}
    assert accepted and all(v is None for v in accepted.values()), {k: v for k, v in accepted.items() if v}
    refused = {k: v for k, v in results.items() if k.startswith("refused:")}
    assert all(v and "unrecognized arguments" in v for v in refused.values()), refused
    assert len(refused) == len(stack.rejected_args)
    # A fork-only flag the base parser knows is not fork-only: the list must shrink.
    fork_only = {k: v for k, v in results.items() if k.startswith("fork-only:")}
    assert all(v and "unrecognized arguments" in v for v in fork_only.values()), fork_only
    assert len(fork_only) == len(stack.extra_known_args)
    # VLLM_* names must be ones this vLLM defines (the plugin's own are read by vllm-gaudi, not vllm/envs.py).
    known = set(report["env_names"])
    emitted = {name for case in cases for name in case["env"] if name.startswith("VLLM_")}
    unknown = sorted(emitted - known - PLUGIN_ENV.get(stack_name, set()))
    assert unknown == [], unknown
    assert not (set(stack.rejected_env) & emitted)
    # LoRA: vLLM's own LoRAParserAction reads every --lora-modules item back as the adapter we meant.
    lora = {k: v for k, v in report["lora_modules"].items()}
    for case in cases:
        if ":lora-" in case["id"]:
            argv = case["argv"]
            items = argv[argv.index("--lora-modules") + 1:]
            assert lora[case["id"]] == [[json.loads(i)["name"], json.loads(i)["path"], json.loads(i)["base_model_name"]]
                                        for i in items], case["id"]
    assert {k.rsplit(":", 1)[-1] for k in lora} == {"lora-hub", "lora-mounted", "lora-registry"}
    # A registry adapter's adapter_config.json: refused at plan time exactly where this vLLM refuses it at start
    # (or where we are stricter, PEFT_STRICTER); both sides for the record.
    verdicts = {name: (report["peft"][f"peft:{name}"], our_peft_verdict(stack_name, name)) for name in PEFT_CASES}
    for name, (theirs, ours) in verdicts.items():
        if (stack_name, name) in PEFT_STRICTER:
            assert theirs is None and ours, (name, verdicts[name])
        else:
            assert (theirs is None) == (not ours), (name, verdicts[name])
    assert verdicts["rank-32"][0] and verdicts["dora"][0]  # the check ran in vLLM


# Read by the vllm-gaudi plugin (vllm_gaudi/extension/features.py, bucketing) rather than vllm/envs.py.
PLUGIN_ENV = {"vllm-gaudi-0.26": {
    "VLLM_SKIP_WARMUP", "VLLM_EXPONENTIAL_BUCKETING", "VLLM_PROMPT_BS_BUCKET_MIN", "VLLM_PROMPT_BS_BUCKET_STEP",
    "VLLM_PROMPT_BS_BUCKET_MAX", "VLLM_DECODE_BS_BUCKET_MIN", "VLLM_DECODE_BS_BUCKET_STEP",
    "VLLM_PROMPT_QUERY_BUCKET_MIN", "VLLM_PROMPT_QUERY_BUCKET_STEP", "VLLM_PROMPT_CTX_BUCKET_STEP",
    "VLLM_DECODE_BLOCK_BUCKET_MIN", "VLLM_DECODE_BLOCK_BUCKET_STEP", "VLLM_CONTIGUOUS_PA", "VLLM_DEFRAG",
    "VLLM_GRAPH_RESERVED_MEM"},
    # The fork reads it through HabanaAI/vllm-hpu-extension (requirements/hpu.txt), not vllm/envs.py.
    "vllm-fork-1.22": {"VLLM_SKIP_WARMUP"}}


def test_every_stack_is_offered_and_parsed():
    assert {s.name for p in ("xeon", "gaudi", "gaudi3") for s in offered(p)} == set(STACKS)
    assert set(PARSED_STACKS) == {n for n, s in STACKS.items() if s.known_args is None}
