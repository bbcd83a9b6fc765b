"""Class 4 of issue 22: extraArgs read as each stack's server reads them (rules/flags.py, catalog/options.py).

Two layers: the table of refusals through load + plan (every spelling of a reserved option, bad values, booleans
as numbers), and the reader itself against the real `vllm serve` parser of each pinned version: the same argv,
the same options found, refused where the parser refuses (tests/parsers/resolve_spellings.py).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kserve_intel.catalog.options import option_table
from kserve_intel.catalog.serving_stacks import STACKS
from kserve_intel.errors import ConfigError
from kserve_intel.load import load_config
from kserve_intel.plan import build_plan
from kserve_intel.rules.flags import read_args
from tests.conftest import raw_config

ROOT = Path(__file__).resolve().parent.parent
VLLM_VERSIONS = ("0.33.0", "0.26.0", "0.10.2", "0.9.0.1")


def plan_for(platform, models, **extra):
    values = {"platform": platform, "models": models, "hfToken": "hf_x", **extra}
    return build_plan(load_config(raw_config(**values), ["kserve-intel:hfToken"]))


def refusal(platform, model, **extra):
    with pytest.raises(ConfigError) as caught:
        plan_for(platform, [{"id": "Qwen/Qwen2.5-7B-Instruct", "gated": False, **model}], **extra)
    return caught.value


# (platform, serving stack, model keys, fragments of the one message, the key path)
REFUSED = [
    # The issue's examples: short aliases and = forms of reserved options.
    ("xeon", "vllm-0.33", {"extraArgs": ["-tp", "4"]},
     ["-tp (vLLM 0.33.0's alias of --tensor-parallel-size) is set by the program", "use tensorParallelSize instead"],
     "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["-pp=2"]}, ["-pp", "use pipelineParallelSize"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--tensor-parallel-size=4"]}, ["use tensorParallelSize"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--tensor_parallel_size=4"]}, ["--tensor-parallel-size", "tensorParallelSize"],
     "extraArgs"),
    # argparse's unambiguous prefixes and vLLM's underscores.
    ("xeon", "vllm-0.33", {"extraArgs": ["--tensor-parallel", "2"]}, ["read by vLLM 0.33.0 as --tensor-parallel-size"],
     "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--max_model_len", "4096"]}, ["use maxModelLen instead"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--served-model", "x"]}, ["use servedModelName"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["-t", "2"]}, ["as -tp", "tensorParallelSize"], "extraArgs"),
    ("gaudi", "vllm-gaudi-0.26", {"extraArgs": ["-tp", "2"]}, ["use tensorParallelSize"], "extraArgs"),
    ("gaudi", "vllm-fork-1.22", {"extraArgs": ["-tp=8"]}, ["use tensorParallelSize"], "extraArgs"),
    ("xeon", "vllm-0.10", {"extraArgs": ["--pipeline_parallel_size", "2"]}, ["use pipelineParallelSize"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--config", "/tmp/c.yaml"]}, ["a YAML file of options"], "extraArgs"),
    ("xeon", "tgi-3.3", {"backend": "tgi", "extraArgs": ["-p", "9000"]}, ["-p (TGI 3.3.7's alias of --port)"],
     "extraArgs"),
    # Values: types, choices, the platform's own.
    ("xeon", "vllm-0.33", {"extraArgs": ["--device", "cuda"]}, ["--device is ambiguous", "--device-ids"], "extraArgs"),
    ("gaudi", "vllm-fork-1.22", {"extraArgs": ["--device", "cuda"]},
     ["--device cuda is not accepted on gaudi; allowed: auto, hpu"], "extraArgs"),
    ("xeon", "vllm-0.10", {"extraArgs": ["--device", "cpu"]}, ["--device is not an option of vLLM 0.10.2"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--gpu-memory-utilization", "1.5"]},
     ["--gpu-memory-utilization 1.5 is not accepted on xeon; allowed: above 0 and at most 1"], "extraArgs"),
    ("gaudi", "vllm-gaudi-0.26", {"extraArgs": ["--gpu_memory_utilization=0"]}, ["allowed: above 0 and at most 1"],
     "extraArgs"),
    ("gaudi3", "vllm-gaudi-0.26", {"extraArgs": ["--block-size", "64"]},
     ["--block-size 64 is not accepted on gaudi3; allowed: 128", "vllm_gaudi/platform.py"], "extraArgs"),
    ("xeon", "vllm-0.10", {"extraArgs": ["--block-size", "48"]}, ["'48' is not allowed; allowed: 1, 8, 16, 32, 64, 128"],
     "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--block-size", "48"]}, ["allowed: a multiple of 32"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--dtype", "bf16"]}, ["allowed: auto, bfloat16, float, float16"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--max-num-seqs", "true"]}, ["not the boolean 'true'"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--max-num-seqs", "many"]}, ["'many' is not a whole number"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--enforce-eager=true"]}, ["gives a value to a flag", "--no-enforce-eager"],
     "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--max-num", "8"]}, ["--max-num is ambiguous", "--max-num-seqs"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["--max-num-seqs"]}, ["--max-num-seqs needs a value"], "extraArgs"),
    ("xeon", "vllm-0.33", {"extraArgs": ["8"]}, ["'8' is a value with no option before it"], "extraArgs"),
    ("xeon", "tgi-3.3", {"backend": "tgi", "extraArgs": ["--max-batch-size", "-4"]}, ["is not a whole number (0 or more)"],
     "extraArgs"),
    ("xeon", "vllm-0.33", {"canary": {"trafficPercent": 10, "extraArgs": ["-tp", "2"]}},
     ["use tensorParallelSize"], "canary.extraArgs"),
    # Booleans where numbers belong (YAML `true` is not 1).
    ("xeon", "vllm-0.33", {"tensorParallelSize": True}, ["not true/false"], "tensorParallelSize"),
    ("xeon", "vllm-0.33", {"maxModelLen": False}, ["not true/false"], "maxModelLen"),
    ("xeon", "vllm-0.33", {"pipelineParallelSize": True}, ["not true/false"], "pipelineParallelSize"),
]


@pytest.mark.parametrize("platform, stack, model, fragments, key", REFUSED,
                         ids=[f"{r[1]}:{json.dumps(r[2])[:60]}" for r in REFUSED])
def test_a_bad_flag_is_refused_once_naming_the_key_the_value_and_what_is_allowed(platform, stack, model, fragments, key):
    extra = {"servingStack": stack} if not stack.startswith("tgi") else {}
    if stack == "vllm-fork-1.22":
        extra["gaudiSoftware"] = "1.22"
    if "canary" in model:
        extra["kserve"] = {"version": "v0.20.0"}
    error = refusal(platform, model, **extra)
    assert len(error.issues) == 1, str(error)
    (issue,) = error.issues
    assert issue.path == f"models[0].{key}", str(error)
    text = str(error)
    for fragment in fragments:
        assert fragment in text, text
    assert "None" not in text and "^" not in text, text


ACCEPTED = [
    ("xeon", "vllm-0.33", ["--max-num-seqs=64", "--enable-prefix-caching", "-q", "fp8", "-O3"]),
    ("xeon", "vllm-0.33", ["--no-enable-prefix-caching", "--max_num_batched_tokens", "4096"]),
    ("xeon", "vllm-0.33", ["--compilation-config.mode", "0", "--block-size", "64"]),
    ("xeon", "vllm-0.33", ["--gpu-memory-utilization", "0.5", "--seed", "-1"]),
    ("gaudi", "vllm-gaudi-0.26", ["--block-size", "128", "--max-num-seqs", "32"]),
    ("gaudi", "vllm-fork-1.22", ["--device", "hpu", "--use-padding-aware-scheduling", "--max-num-prefill-seqs", "8"]),
    ("xeon", "tgi-3.3", ["--max-batch-size", "8", "--cors-allow-origin", "a", "--cors-allow-origin", "b"]),
    ("xeon", "ovms-2026.3", ["--max_num_seqs", "8", "--enable_prefix_caching=false"]),
]


@pytest.mark.parametrize("platform, stack, args", ACCEPTED, ids=[f"{a[1]}:{' '.join(a[2])[:50]}" for a in ACCEPTED])
def test_good_flags_in_any_spelling_are_accepted_and_passed_as_written(platform, stack, args):
    extra = {"servingStack": stack} if stack.startswith("vllm") else {"backend": stack.split("-")[0]}
    if stack == "vllm-fork-1.22":
        extra["gaudiSoftware"] = "1.22"
    model_id = "Qwen/Qwen3-1.7B" if stack.startswith(("tgi", "ovms")) else "Qwen/Qwen2.5-7B-Instruct"
    plan = plan_for(platform, [{"id": model_id, "gated": False, "extraArgs": args}], **extra)
    assert list(plan.models[0].args[-len(args):]) == args


# --- the reader against the real parsers ------------------------------------------------------------

SPELLINGS = [
    ["-tp", "2"], ["-tp=2"], ["-tp2"], ["--tensor-parallel", "2"], ["--tensor_parallel_size=2"], ["-t", "2"],
    ["-d", "x"], ["--device", "cuda"], ["--device", "hpu"], ["--max_model_len", "64"], ["--max-model-le", "64"],
    ["--enforce-eager"], ["--no-enforce-eager"], ["--enforce-eager=true"], ["--max-num-seqs", "true"],
    ["--max-num-seqs", "8"], ["--max-num-seqs=8"], ["-O3"], ["-O", "3"], ["--compilation-config.mode", "0"],
    ["-qfp8"], ["-q", "fp8"], ["--swap-space", "4"], ["--block-size", "48"], ["--block-size", "abc"],
    ["--dtype", "bf16"], ["--dtype", "bfloat16"], ["--gpu-memory-utilization", "0.5"],
    ["--gpu-memory-utilization", "x"], ["--max-num", "8"], ["--seed", "-1"], ["foo"], ["-pp", "2"],
    ["--pipeline_parallel=2"], ["--served-model", "x"], ["--max-num-seqs"], ["--kv-cache-dtype", "fp8"],
    ["--max-num-seqs", "8", "--max-num-seqs", "16"], ["--disable-log-requests"], ["--enable-lora"],
    ["--lora-modules", "a=b", "c=d"], ["--api-key", "k"], ["--host", "0.0.0.0"], ["--port=9000"],
    ["--revision", "main"], ["--hf-token", "x"], ["--max-lora-rank", "8"], ["--max_loras=2"],
]


def _run_resolver(version: str, cases, tmp_path) -> dict:
    python = ROOT / f".venv-vllm-{version}" / "bin" / "python"
    assert python.exists(), f"{python} missing: `make test` builds it (make vllm-parsers)"
    out = tmp_path / "resolved.json"
    run = subprocess.run([str(python), "-O", str(ROOT / "tests/parsers/resolve_spellings.py"), str(out)],
                         input=json.dumps(cases), capture_output=True, text=True, timeout=600,
                         env={**os.environ, "VLLM_TARGET_DEVICE": "cpu", "PYTHONWARNINGS": "ignore"})
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("version", VLLM_VERSIONS)
def test_the_reader_finds_what_the_real_parser_finds(version, tmp_path):
    table = option_table(f"vllm-{version}")
    cases = [{"id": " ".join(argv), "argv": argv} for argv in SPELLINGS]
    theirs = _run_resolver(version, cases, tmp_path)
    disagreements = {}
    for argv in SPELLINGS:
        case = " ".join(argv)
        read = read_args(table, argv)
        ours = {"error": bool(read.problems), "dests": sorted({g.option.dest for g in read.options})}
        real = {"error": theirs[case]["error"] is not None, "dests": theirs[case]["dests"]}
        if ours["error"] != real["error"] or (not real["error"] and ours["dests"] != real["dests"]):
            disagreements[case] = {"ours": [p.message for p in read.problems] or ours["dests"],
                                   "vllm": theirs[case]["error"] or real["dests"]}
    assert disagreements == {}, json.dumps(disagreements, indent=1)


def test_every_stack_has_an_option_table_and_the_fork_adds_its_own_flags():
    for stack in STACKS.values():
        assert stack.options is not None and stack.options.version.split("+")[0] in stack.version, stack.name
    fork = STACKS["vllm-fork-1.22"]
    read = read_args(fork.options, ["--use-padding-aware-scheduling", "--max-num-prefill-seqs", "8"],
                     fork.extra_known_args)
    assert not read.problems and [g.spelling for g in read.options] == ["--use-padding-aware-scheduling",
                                                                         "--max-num-prefill-seqs"]
