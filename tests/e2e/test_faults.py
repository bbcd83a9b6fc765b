"""Faults on the real engine: each test injects one fault into a real `pulumi up`/`destroy` against the local
cluster, shows what the user sees, then the recovery docs/troubleshooting.md documents, and ends with the cluster and
the state consistent (`preview --expect-no-changes`) and no model cache claim lost or duplicated.

One cluster (KServe v0.13.0, Xeon stacks: the cheapest to start) for the module; a fixture puts it back to
healthy after every test (kwok's pod behaviour, the KServe manager, the nodes). Timeouts are shortened
through the product's own keys (`readyTimeoutMinutes`, `deleteTimeoutMinutes`: 1 minute), so the waits
here are the product's waits. Detail and what to run: docs/troubleshooting.md.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import pytest

from engine.localcluster import ISVC_LABEL, LocalCluster, build_engine, wait_for
from tests.e2e.pulumi_cli import ORGANIZATION, PulumiCLI, steps_by_op
from offline.engine import evaluate
from tests.e2e.test_stacks import api_path, subset_mismatches

VERSION = "v0.13.0"
MODEL = "Qwen/Qwen3-1.7B"  # open (no token), in the catalogue
# Small pods so many fit on the three fake Xeon nodes (the profile's 32 CPUs would take a node per 8 pods).
SMALL = {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"cpu": "4", "memory": "16Gi"}}


def small(name: str, **extra: Any) -> dict[str, Any]:
    """A model that runs in SMALL (the capacity rule: 3.2 GiB of weights + 8 GiB KV + runtime), served by its name."""
    return {"id": MODEL, "name": name, "servedModelName": name, "resources": SMALL,
            "env": {"VLLM_CPU_KVCACHE_SPACE": "8"}, **extra}
HANG_GUARD = 600  # seconds: a command still running then has hung (the test fails with TimeoutExpired)


def fault_config(namespace: str, names: list[str], **extra: Any) -> dict[str, Any]:
    models = extra.pop("models", None) or [small(n) for n in names]
    return {"platform": "xeon", "kserve": {"version": VERSION, "install": False}, "namespace": namespace,
            "storage": {"size": "1Gi"}, "models": models, **extra}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    bins = build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.13"))
    with LocalCluster(bins, kserve_version=VERSION) as cluster:
        yield cluster, PulumiCLI(bins, cluster.kubeconfig, tmp_path_factory.mktemp("pulumi-faults"))


@pytest.fixture(autouse=True)
def healthy_after(env):
    cluster, _ = env
    yield
    if not cluster.running("kserve"):
        cluster.start_component("kserve")
    if cluster.ready_delay_seconds or cluster.never_ready_isvcs:
        cluster.configure_pods(ready_delay_seconds=0, never_ready_isvcs=set())
    cluster.add_nodes()


def wait_while_running(proc, what: str, check) -> None:
    """Wait for `check` while the command runs; fail at once when the command has already exited."""
    wait_for(what, lambda: proc.poll() is not None or check(), 180)
    assert proc.poll() is None, f"the command exited {proc.returncode} before the fault could be injected"


def show(tag: str, output: str, *needles: str) -> None:
    """Print the lines of a command's output a user acts on (the fault tests' record of what is seen)."""
    seen = set()
    for line in output.splitlines():
        line = line.strip()
        if any(n in line for n in needles) and line not in seen:
            seen.add(line)
            print(f"[{tag}] | {line[:400]}")


def items(cluster: LocalCluster, path: str) -> list[dict[str, Any]]:
    status, listed = cluster.api.request("GET", path)
    return listed.get("items", []) if status == 200 and isinstance(listed, dict) else []


def isvcs(cluster: LocalCluster, ns: str) -> dict[str, bool]:
    """InferenceService name -> Ready."""
    return {i["metadata"]["name"]: any(c["type"] == "Ready" and c["status"] == "True"
                                       for c in i.get("status", {}).get("conditions", []))
            for i in items(cluster, f"/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices")}


def claims(cluster: LocalCluster, ns: str) -> dict[str, str]:
    """Claim name -> uid (a deleted and re-created claim gets a new uid)."""
    return {c["metadata"]["name"]: c["metadata"]["uid"]
            for c in items(cluster, f"/api/v1/namespaces/{ns}/persistentvolumeclaims")}


def state_names(cli: PulumiCLI, stack: str, kind: str) -> list[str]:
    return [r["urn"].split("::")[-1] for r in cli.resources(stack) if r["type"].endswith(":" + kind)]


def rendered(config: dict[str, Any], stack: str) -> list[dict[str, Any]]:
    """What `make render` writes for this config (no token): the same program under the mocks."""
    return evaluate({f"kserve-intel:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
                    [], stack=stack, organization=ORGANIZATION).objects()


def assert_converged(cluster: LocalCluster, cli: PulumiCLI, stack: str, config: dict[str, Any]) -> None:
    """The cluster holds what an uninterrupted run creates, the state each object once, and no diff is left."""
    ns, names = config["namespace"], [m["name"] for m in config["models"]]
    assert isvcs(cluster, ns) == {n: True for n in names}
    assert sorted(claims(cluster, ns)) == sorted(f"{n}-cache" for n in names)
    objects = rendered(config, stack)
    mismatches: list[str] = []
    for obj in objects:
        stored = cluster.api.ok("GET", api_path(obj))
        mismatches += [f"{obj['kind']}/{obj['metadata']['name']}{m}" for m in subset_mismatches(obj, stored)]
    assert not mismatches, "\n".join(mismatches[:20])
    k8s = [r["urn"].split("::")[-1] for r in cli.resources(stack)
           if r["type"].startswith("kubernetes:") and r["type"] != "pulumi:providers:kubernetes"]
    assert len(k8s) == len(set(k8s)) == len(objects), (sorted(k8s), len(objects))
    cli.run("preview", "--expect-no-changes", "--refresh", stack=stack)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
def test_interrupted_up_converges_after_the_documented_recovery(env, sig) -> None:
    """`up` cut off while the models are being created; (`cancel` after a kill), `refresh --clear-pending-creates`
    and `up` converge."""
    cluster, cli = env
    tag = sig.lower()
    stack, ns = f"e2e-int-{tag}", f"faults-int-{tag}"
    config = fault_config(ns, ["int-0", "int-1", "int-2"])
    cli.init(stack, config)
    cluster.configure_pods(ready_delay_seconds=30)  # the models are still loading when the cut comes
    proc = cli.start("up", "--yes", "--skip-preview", stack=stack)
    wait_while_running(proc, "the models being created",
                       lambda: len(isvcs(cluster, ns)) == 3 and len(claims(cluster, ns)) == 3)
    before = claims(cluster, ns)
    if sig == "SIGINT":
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C: the CLI cancels the operations in flight and saves the state
    else:
        # kill -9: the CLI and the language host and program of its process group die at once. The CLI starts
        # its provider plugin in a process group of its own, which outlives it (found here); kill it too, as
        # a machine that dies would (docs/troubleshooting.md says to look for it).
        os.killpg(proc.pid, signal.SIGKILL)
        orphans = cli.processes()
        print(f"\n[SIGKILL] left running after the CLI was killed: {len(orphans)} process(es) of its plugins")
        for pid in orphans:
            os.kill(pid, signal.SIGKILL)
    proc.wait(HANG_GUARD)
    assert proc.returncode != 0
    print(f"\n[{sig}] up exited {proc.returncode}; pending operations in the state:",
          len(cli.export(stack)["deployment"].get("pending_operations") or []))
    cluster.configure_pods(ready_delay_seconds=0)
    # The recovery docs/troubleshooting.md gives for an interrupted `up`.
    if sig == "SIGKILL":  # a killed CLI leaves its lock on the stack: the next command says what to run
        locked = cli.up(stack, check=False, timeout=HANG_GUARD)
        assert locked.returncode != 0 and "the stack is currently locked" in locked.output, locked.output[-3000:]
        assert "pulumi cancel" in locked.output
        cli.run("cancel", "--yes", stack=stack)
    cli.run("refresh", "--yes", "--skip-preview", "--clear-pending-creates", stack=stack, timeout=HANG_GUARD)
    cli.up(stack, timeout=HANG_GUARD)
    assert claims(cluster, ns) == before, "a model cache claim was deleted or re-created"
    assert sorted(state_names(cli, stack, "PersistentVolumeClaim")) == sorted(
        f"persistentvolumeclaim-{ns}-{n}-cache" for n in ("int-0", "int-1", "int-2"))
    assert_converged(cluster, cli, stack, config)
    cli.destroy(stack, timeout=HANG_GUARD)


def test_a_model_that_never_becomes_ready_fails_alone_with_what_to_run(env) -> None:
    cluster, cli = env
    stack, ns = "e2e-never-ready", "faults-never-ready"
    models = [small(n) for n in ("ok-0", "ok-1")]
    models.append(small("broken", readyTimeoutMinutes=1))
    config = fault_config(ns, [], models=models)
    cli.init(stack, config)
    cluster.configure_pods(never_ready_isvcs={"broken"})  # its pods stay unready, as a model that cannot load
    failed = cli.up(stack, check=False, timeout=HANG_GUARD)
    print(f"\n[never ready] up failed after {failed.seconds:.0f}s")
    assert failed.returncode != 0
    out = failed.output
    show("never ready", out, "did not become Ready", "timed out", "error:")
    assert out.count("did not become Ready within") == 1, out[-4000:]
    assert f"model broken ({MODEL}) did not become Ready within 1 min (readyTimeoutMinutes" in out, out[-4000:]
    assert f"kubectl -n {ns} describe inferenceservice broken" in out
    assert failed.seconds >= 60  # it waited the model's ready timeout, not less
    assert isvcs(cluster, ns) == {"ok-0": True, "ok-1": True, "broken": False}
    in_state = state_names(cli, stack, "InferenceService")
    assert {f"inferenceservice-{ns}-ok-0", f"inferenceservice-{ns}-ok-1"} <= set(in_state), in_state
    # Fixed (here: the pods may turn Ready again); the next `up` converges.
    cluster.configure_pods(never_ready_isvcs=set())
    cli.up(stack, timeout=HANG_GUARD)
    assert_converged(cluster, cli, stack, config)
    cli.destroy(stack, timeout=HANG_GUARD)


def test_kserve_controller_down_during_up_and_destroy(env) -> None:
    cluster, cli = env
    stack, ns = "e2e-controller", "faults-controller"
    config = fault_config(ns, ["ctl-0", "ctl-1"], readyTimeoutMinutes=1, deleteTimeoutMinutes=1)
    cli.init(stack, config)
    cli.up(stack, timeout=HANG_GUARD)
    # up: a new model while the controller (and so its webhooks) is down.
    config = fault_config(ns, ["ctl-0", "ctl-1", "ctl-2"], readyTimeoutMinutes=1, deleteTimeoutMinutes=1)
    cli.set_config(stack, config)
    cluster.stop_component("kserve")
    failed = cli.up(stack, check=False, timeout=HANG_GUARD)
    print(f"\n[controller down] up failed after {failed.seconds:.0f}s")
    show("controller down, up", failed.output, "webhook", "model ctl")
    assert failed.returncode != 0
    assert "inferenceservice-faults-controller-ctl-2" in failed.output
    # KServe's webhooks are served by its controller: the API server refuses the new InferenceService at once.
    assert "failed calling webhook" in failed.output, failed.output[-4000:]
    assert f"model ctl-2 ({MODEL}): the API server refused its InferenceService" in failed.output, failed.output[-4000:]
    assert "kubectl -n kserve get pods" in failed.output
    cluster.start_component("kserve")
    cli.up(stack, timeout=HANG_GUARD)
    assert_converged(cluster, cli, stack, config)
    # destroy: the InferenceServices' finalizer cannot be removed.
    cluster.stop_component("kserve")
    stuck = cli.destroy(stack, check=False, timeout=HANG_GUARD)
    print(f"[controller down] destroy failed after {stuck.seconds:.0f}s")
    assert stuck.returncode != 0
    show("controller down, destroy", stuck.output, "finalizers might", "timed out", "model ctl")
    assert "finalizers might be preventing deletion (inferenceservice.finalizers" in stuck.output, stuck.output[-4000:]
    assert "timed out waiting for the condition" in stuck.output
    assert isvcs(cluster, ns), "the InferenceServices should still be there, Terminating"
    cluster.start_component("kserve")
    cli.destroy(stack, timeout=HANG_GUARD)
    wait_for("the InferenceServices gone", lambda: not isvcs(cluster, ns), 60)
    assert sorted(claims(cluster, ns)) == ["ctl-0-cache", "ctl-1-cache", "ctl-2-cache"]  # retained


def test_api_server_restarted_mid_update_then_the_next_up_converges(env) -> None:
    cluster, cli = env
    stack, ns = "e2e-apiserver", "faults-apiserver"
    config = fault_config(ns, ["api-0", "api-1"])
    cli.init(stack, config)
    cluster.configure_pods(ready_delay_seconds=20)
    proc = cli.start("up", "--yes", "--skip-preview", stack=stack)
    wait_while_running(proc, "the models being created", lambda: len(isvcs(cluster, ns)) == 2)
    cluster.stop_component("kube-apiserver")
    time.sleep(5)
    cluster.start_component("kube-apiserver")
    proc.wait(HANG_GUARD)
    print(f"\n[api server restart] the interrupted up exited {proc.returncode}")
    show("api server restart", proc.log_path.read_text(), "error:", "warning:")
    for name in ("kube-controller-manager", "kube-scheduler", "kwok", "kserve"):
        assert cluster.running(name), f"{name} did not survive the API server restart"
    cluster.configure_pods(ready_delay_seconds=0)
    cli.up(stack, timeout=HANG_GUARD)
    assert_converged(cluster, cli, stack, config)
    cli.destroy(stack, timeout=HANG_GUARD)


def test_drift_by_hand_is_shown_by_preview_refresh_and_restored_by_up_refresh(env) -> None:
    cluster, cli = env
    stack, ns = "e2e-drift", "faults-drift"
    config = fault_config(ns, ["drift-0"])
    cli.init(stack, config)
    cli.up(stack, timeout=HANG_GUARD)
    isvc = f"/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/drift-0"
    args = cluster.api.ok("GET", isvc)["spec"]["predictor"]["model"]["args"]
    # kubectl edit: someone changes the model's arguments; kubectl delete: the models' ServiceAccount.
    # (A changed value: the provider compares the live object pruned to the fields it set, so an item
    # appended to a list or a field it never set is not drift to it.)
    edited = args[:-1] + [args[-1] + "-edited"]
    cluster.api.ok("PATCH", isvc, {"spec": {"predictor": {"model": {"args": edited}}}},
                   content_type="application/merge-patch+json")
    accounts = items(cluster, f"/api/v1/namespaces/{ns}/serviceaccounts")
    (account,) = [a["metadata"]["name"] for a in accounts if a["metadata"]["name"] != "default"]
    cluster.api.ok("DELETE", f"/api/v1/namespaces/{ns}/serviceaccounts/{account}")
    # The edited field is the stack's (server-side apply): taking it back is a field conflict, which the
    # provider only overrides when told to (PULUMI_K8S_ENABLE_PATCH_FORCE); the deleted object is just missing.
    conflict = cli.run("preview", "--refresh", stack=stack, check=False)
    show("drift, preview --refresh", conflict.output, "conflict")
    assert conflict.returncode != 0 and "Server-Side Apply field conflict" in conflict.output, conflict.output[-3000:]
    assert ".spec.predictor.model.args" in conflict.output
    force = {"PULUMI_K8S_ENABLE_PATCH_FORCE": "true"}
    shown = steps_by_op(cli.run("preview", "--json", "--refresh", stack=stack, env=force).json())
    print(f"[drift] PULUMI_K8S_ENABLE_PATCH_FORCE=true preview --refresh: { {op: v for op, v in shown.items() if op != 'refresh'} }")
    assert f"InferenceService::inferenceservice-{ns}-drift-0" in shown.get("update", []), shown
    assert f"ServiceAccount::serviceaccount-{ns}-{account}" in shown.get("create", []), shown
    refused = cli.up(stack, "--refresh", check=False, timeout=HANG_GUARD)
    show("drift, up --refresh", refused.output, "model drift-0")
    assert refused.returncode != 0
    assert "PULUMI_K8S_ENABLE_PATCH_FORCE=true pulumi up --refresh" in refused.output, refused.output[-3000:]
    cli.up(stack, "--refresh", timeout=HANG_GUARD, env=force)
    assert cluster.api.ok("GET", isvc)["spec"]["predictor"]["model"]["args"] == args
    cluster.api.ok("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/{account}")
    assert_converged(cluster, cli, stack, config)
    cli.destroy(stack, timeout=HANG_GUARD)


def test_without_the_platforms_nodes_the_pods_stay_pending_and_the_failure_points_at_scheduling(env) -> None:
    cluster, cli = env
    stack, ns = "e2e-no-nodes", "faults-no-nodes"
    config = fault_config(ns, ["sched-0"], readyTimeoutMinutes=1)
    cli.init(stack, config)
    cluster.remove_nodes("xeon")  # the Gaudi nodes stay: they do not match the Xeon selector, and are tainted
    failed = cli.up(stack, check=False, timeout=HANG_GUARD)
    print(f"\n[no nodes] up failed after {failed.seconds:.0f}s")
    show("no nodes", failed.output, "did not become Ready", "error:", "warning:")
    assert failed.returncode != 0
    assert f"model sched-0 ({MODEL}) did not become Ready within 1 min" in failed.output, failed.output[-4000:]
    assert "Pending: see the pod's events for scheduling" in failed.output
    # What `kubectl get pods` / `describe pod` (the commands the message names) show: unschedulable, and why.
    pods = items(cluster, f"/api/v1/namespaces/{ns}/pods?labelSelector={ISVC_LABEL}%3Dsched-0")
    assert pods and all(p["status"].get("phase") == "Pending" for p in pods), pods
    scheduled = [c for p in pods for c in p["status"].get("conditions", []) if c["type"] == "PodScheduled"]
    assert scheduled and all(c["reason"] == "Unschedulable" for c in scheduled), scheduled
    why = scheduled[0]["message"]
    print(f"[no nodes] scheduler: {why}")
    # (The taint filter runs first: the Gaudi nodes are rejected for their taint before their labels.)
    assert "0/6 nodes are available" in why and "untolerated taint" in why, why
    cluster.add_nodes("xeon")
    cli.up(stack, timeout=HANG_GUARD)
    assert_converged(cluster, cli, stack, config)
    cli.destroy(stack, timeout=HANG_GUARD)
