"""Issue 22 through the real Pulumi CLI on the local cluster: configs that would not run are refused before any
resource, and the preview shows what each model's pod needs (docs/capacity.md).

One local cluster (KServe v0.20, pre-installed): a stack with a capacity, a model-shape and a collision problem fails
`preview` and `up` with the one message the program computes offline and registers nothing; the committed
gaudi3 stack's preview prints one capacity line per model, and a model the catalogue lacks gets the one warning
that says its shape was not read (validateToken is false here: no hub from the local cluster).
"""

from __future__ import annotations

import copy
import json

import pytest

from engine.localcluster import LocalCluster, build_engine
from kserve_intel.errors import ConfigError
from kserve_intel.load import load_config
from kserve_intel.plan import build_plan
from tests.e2e.pulumi_cli import PulumiCLI
from tests.e2e.test_stacks import TOKEN, local_config

VERSION = "v0.20.0"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    bins = build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.20"))
    with LocalCluster(bins, kserve_version=VERSION) as cluster:
        yield cluster, PulumiCLI(bins, cluster.kubeconfig, tmp_path_factory.mktemp("pulumi-configs"))


REFUSED = {
    "platform": "xeon",
    "kserve": {"version": VERSION, "install": False, "deploymentMode": "Standard"},
    "validateToken": False,
    "models": [
        # Capacity: 4 ranks x 40 GiB KV + 15 GiB weights in a pod pinned at 128Gi.
        {"id": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "tensorParallelSize": 4,
         "resources": {"requests": {"memory": "128Gi"}, "limits": {"memory": "128Gi"}}},
        # Model shape: Qwen3-1.7B's 16 attention heads and 8 KV heads do not split 3 ways.
        {"id": "Qwen/Qwen3-1.7B", "tensorParallelSize": 3},
        # A collision: a second model under the first one's served name.
        {"id": "Qwen/Qwen3-4B-Instruct-2507", "servedModelName": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"},
    ],
}


def test_configs_that_would_not_run_fail_preview_and_up_with_the_one_message(env) -> None:
    cluster, cli = env
    cli.init("e2e-wont-run", REFUSED, secrets={"hfToken": TOKEN})
    raw = {f"kserve-intel:{k}": json.dumps(v) if not isinstance(v, str) else v for k, v in REFUSED.items()}
    raw["kserve-intel:hfToken"] = TOKEN
    with pytest.raises(ConfigError) as offline:
        build_plan(load_config(raw, ["kserve-intel:hfToken"]))
    message = str(offline.value)
    assert "(3 problems)" in message, message
    assert "models[0].resources.limits.memory" in message and "needs 183.0 GiB" in message
    assert "models[1].tensorParallelSize = 3" in message and "attention heads" in message
    assert "models[2].servedModelName" in message
    for command in (cli.preview("e2e-wont-run", check=False), cli.up("e2e-wont-run", check=False)):
        assert command.returncode != 0
        assert command.output.count("invalid stack configuration") == 1, command.output[-3000:]
        for line in message.splitlines():  # as printed, or inside --json output (quotes escaped)
            assert line.strip() in command.output or json.dumps(line.strip())[1:-1] in command.output, (
                line, command.output[-3000:])
    assert {r["type"] for r in cli.resources("e2e-wont-run")} <= {"pulumi:pulumi:Stack"}
    namespaces = cluster.api.ok("GET", "/api/v1/namespaces")["items"]
    assert "intel-inference" not in {n["metadata"]["name"] for n in namespaces}


def test_the_preview_shows_each_models_capacity_and_the_skipped_shape(env) -> None:
    cluster, cli = env
    config = copy.deepcopy(local_config("gaudi3"))
    config["models"] = [*config["models"], {"id": "acme/unknown-chat", "gated": False}]
    cli.init("e2e-capacity", config, secrets={"hfToken": TOKEN})
    preview = cli.run("preview", "--diff", stack="e2e-capacity")
    out = preview.output
    assert "capacity r1-llama-70b: weights 131.4 GiB (32.9 GiB per card)" in out, out[-4000:]
    assert "4 cards x 128 GiB HBM at utilisation 0.94" in out, out[-4000:]
    assert "capacity qwen2-5-32b-instruct: weights 61.0 GiB (61.0 GiB per card)" in out, out[-4000:]
    # The model the catalogue lacks: the hub is not asked (validateToken false), one warning says so.
    assert out.count("validateToken is false, so the hub is not asked for the config.json of "
                     "models[2] acme/unknown-chat") == 1, out[-4000:]
    assert "capacity unknown-chat" not in out
