"""Issue 21 through the real CLI and provider: the stack never touches what it does not own.

One local cluster (KServe v0.20.0) for the module. Like a shared cluster, it already has a KServe the stacks did
not install (namespace `kserve` with KServe's `inferenceservice-config`), and each test adds what another team
would have (a `cert-manager` namespace with a ConfigMap of theirs, ...). The pre-existing objects are compared
(UID, resourceVersion, content) before and after each command that could have touched them.
"""

from __future__ import annotations

import time

import pytest

from engine.localcluster import LocalCluster, build_engine
from tests.e2e.pulumi_cli import PulumiCLI

VERSION = "v0.20.0"
ORG = "organization"  # the file backend's organization
MODEL = {"id": "Qwen/Qwen2.5-7B-Instruct", "name": "qwen"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    bins = build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.20"))
    started = time.monotonic()
    with LocalCluster(bins, kserve_version=VERSION) as cluster:
        print(f"\n[ownership] cluster up in {time.monotonic() - started:.0f} s")
        yield cluster, PulumiCLI(bins, cluster.kubeconfig, tmp_path_factory.mktemp("pulumi-ownership"))


def ns_path(name: str) -> str:
    return f"/api/v1/namespaces/{name}"


def snapshot(cluster: LocalCluster, *paths: str) -> dict[str, tuple]:
    """UID, resourceVersion and data of each object (None when absent)."""
    out = {}
    for path in paths:
        status, obj = cluster.api.request("GET", path)
        out[path] = None if status == 404 else (obj["metadata"]["uid"], obj["metadata"]["resourceVersion"],
                                                obj.get("data"), obj["metadata"].get("annotations"))
    return out


def users_objects(cluster: LocalCluster, namespace: str, configmap: str, create_namespace: bool = True) -> list[str]:
    """Another team's namespace (created with kubectl's field manager) and a ConfigMap of theirs in it."""
    if create_namespace:
        cluster.api.ok("POST", "/api/v1/namespaces?fieldManager=kubectl-create",
                       {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    cluster.api.ok("POST", f"/api/v1/namespaces/{namespace}/configmaps?fieldManager=kubectl-create",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": configmap},
                    "data": {"owner": "another team"}})
    return [ns_path(namespace), f"{ns_path(namespace)}/configmaps/{configmap}"]


def preview(cli: PulumiCLI, stack: str, *extra: str, check: bool = False):
    """Plain-text output (the messages as printed; `--json` escapes them)."""
    return cli.run("preview", *extra, stack=stack, check=check)


def up(cli: PulumiCLI, stack: str, check: bool = True, env: dict | None = None):
    return cli.run("up", "--yes", "--skip-preview", stack=stack, check=check, env=env, timeout=1800)


def stack_config(**values) -> dict:
    return {"platform": "gaudi3", "storage": {"size": "20Gi"},
            **values, "kserve": {"version": VERSION, "deploymentMode": "Standard", **values.get("kserve", {})}}


def test_an_installing_stack_refuses_the_existing_cert_manager_and_kserve_and_touches_nothing(env) -> None:
    """The issue's reproduction: the cluster has cert-manager's and KServe's namespaces with content; a stack that
    pins `install: true` / `certManager: install` previews and ups into one refusal, and registers nothing."""
    cluster, cli = env
    watched = users_objects(cluster, "cert-manager", "users-config")
    watched += users_objects(cluster, "kserve", "users-kserve-config", create_namespace=False)
    watched.append(f"{ns_path('kserve')}/configmaps/inferenceservice-config")
    before = snapshot(cluster, *watched)
    cli.init("pinned", stack_config(kserve={"install": True, "certManager": "install"}, models=[MODEL]))
    for command in (preview(cli, "pinned"), up(cli, "pinned", check=False)):
        assert command.returncode != 0
        out = command.output.split("Diagnostics:")[-1]  # the progress lines repeat the first line of each error
        assert out.count("kserve-intel will not touch what this stack (organization/kserve-intel/pinned) does not "
                         "own; nothing was registered") == 1, out[-4000:]
        assert "Namespace cert-manager: field managers: kubectl-create" in out, out[-4000:]
        assert "set kserve-intel:kserve.certManager existing (or auto)" in out
        assert "Namespace kserve: field managers: unknown" in out or "Namespace kserve: " in out, out[-4000:]
        assert "set kserve-intel:kserve.install false (or auto)" in out
    assert {r["type"] for r in cli.resources("pinned")} <= {"pulumi:pulumi:Stack"}
    assert cli.destroy("pinned").returncode == 0
    assert snapshot(cluster, *watched) == before

    # `certManager: auto` over cert-manager's CRDs without its controller: neither choice would work.
    cli.set_config("pinned", stack_config(kserve={"install": True, "certManager": "auto"}, models=[MODEL]))
    partial = preview(cli, "pinned")
    assert partial.returncode != 0
    assert "kserve.certManager = auto: cert-manager is only partly on the cluster" in partial.output
    assert "missing cert-manager controller Deployment" in partial.output
    assert snapshot(cluster, *watched) == before


def test_defaults_use_the_existing_kserve_and_destroy_leaves_everything_that_was_there(env) -> None:
    cluster, cli = env
    watched = [ns_path("kserve"), f"{ns_path('kserve')}/configmaps/inferenceservice-config",
               ns_path("cert-manager"), f"{ns_path('cert-manager')}/configmaps/users-config"]
    before = snapshot(cluster, *watched)
    assert all(before.values()), before  # left by the test above
    cli.init("defaults", stack_config(namespace="defaults-models", models=[MODEL],
                                      storage={"size": "20Gi", "retainOnDestroy": False}))
    shown = preview(cli, "defaults", check=True)
    assert "kserve.install: auto -> use the cluster's KServe (version not seen) in namespace kserve" in \
        shown.output, shown.output[-3000:]
    deployed = up(cli, "defaults")
    assert snapshot(cluster, *watched) == before
    ns = cluster.api.ok("GET", ns_path("defaults-models"))
    assert ns["metadata"]["annotations"]["kserve-intel/owner"] == f"{ORG}/kserve-intel/defaults"
    destroy = cli.destroy("defaults")
    # The stack created its models namespace and left nothing in it: the guard deleted it, and said so.
    assert "namespace defaults-models deleted (this stack created it and it was empty)" in destroy.output, \
        destroy.output[-3000:]
    assert cluster.api.request("GET", ns_path("defaults-models"))[0] == 404
    assert snapshot(cluster, *watched) == before
    print(f"[ownership] defaults: up {deployed.seconds:.0f} s, destroy {destroy.seconds:.0f} s")


def test_adopt_takes_over_a_shared_namespace_and_destroy_leaves_it(env) -> None:
    cluster, cli = env
    watched = users_objects(cluster, "shared-team", "team-config")
    before = snapshot(cluster, *watched)
    config = stack_config(namespace="shared-team", models=[MODEL])
    cli.init("adopter", config)
    refused = preview(cli, "adopter")
    assert refused.returncode != 0
    assert "Namespace shared-team: field managers: kubectl-create" in refused.output
    assert "choose another kserve-intel:namespace for the models, or name it in kserve-intel:adopt" in refused.output
    cli.set_config("adopter", {**config, "adopt": ["Namespace/shared-team"]})
    deployed = up(cli, "adopter")
    assert "adopting Namespace shared-team (adopt)" in deployed.output
    ns = cluster.api.ok("GET", ns_path("shared-team"))
    assert ns["metadata"]["uid"] == before[ns_path("shared-team")][0]
    assert ns["metadata"]["annotations"]["kserve-intel/adopted"] == "true"
    cli.destroy("adopter")
    after = snapshot(cluster, *watched)
    assert after[ns_path("shared-team")][0] == before[ns_path("shared-team")][0]  # never deleted
    assert after[watched[1]] == before[watched[1]]


def test_platform_and_application_stacks_share_the_cluster_and_each_destroy_leaves_the_other(env) -> None:
    cluster, cli = env
    runtime = "/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/intel-vllm-gaudi3"
    app = stack_config(namespace="team-a", runtimes={"configureIntel": False}, models=[MODEL])
    # An application stack before the platform: its runtime is missing, refused before any resource.
    cli.init("team-a", app)
    early = preview(cli, "team-a")
    assert early.returncode != 0
    assert ("ClusterServingRuntime intel-vllm-gaudi3 is not on the cluster and models[0] (qwen) run on it: "
            "runtimes.configureIntel is false, so another stack must create it") in early.output, early.output[-3000:]

    cli.init("platform", stack_config(namespace="platform-models", models=[]))
    up(cli, "platform")
    platform_runtime = snapshot(cluster, runtime)
    assert platform_runtime[runtime][3]["kserve-intel/owner"] == f"{ORG}/kserve-intel/platform"

    # The application stack left at configureIntel true cannot take the platform's runtime over.
    cli.set_config("team-a", {**app, "runtimes": {"configureIntel": True}})
    takeover = preview(cli, "team-a")
    assert takeover.returncode != 0
    assert f"ClusterServingRuntime intel-vllm-gaudi3: kserve-intel stack {ORG}/kserve-intel/platform;" in \
        takeover.output, takeover.output[-3000:]
    assert "-> another stack or team provides the runtimes: set kserve-intel:runtimes.configureIntel false" in \
        takeover.output

    cli.set_config("team-a", app)
    deployed = up(cli, "team-a")
    assert f"models[0] (qwen) use ClusterServingRuntime intel-vllm-gaudi3 of kserve-intel stack {ORG}/kserve-intel/" \
           "platform" in deployed.output
    isvc = "/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices/qwen"
    claim = f"{ns_path('team-a')}/persistentvolumeclaims/qwen-cache"
    app_objects = snapshot(cluster, ns_path("team-a"), claim)

    # Destroying the application leaves the platform's runtime untouched; its namespace holds the retained
    # model cache, so the guard keeps it and says why.
    destroy = cli.destroy("team-a")
    assert snapshot(cluster, runtime) == platform_runtime
    assert "namespace team-a kept: it holds PersistentVolumeClaim/qwen-cache" in destroy.output, destroy.output[-3000:]
    assert snapshot(cluster, ns_path("team-a"), claim) == app_objects

    # Re-adoption of the retained cache (`make up ADOPT=1`): the same claim, now in the state again.
    readopt = up(cli, "team-a", env={"KSERVE_INTEL_ADOPT": "retained"})
    assert readopt.returncode == 0
    assert snapshot(cluster, claim)[claim][0] == app_objects[claim][0]
    assert any(r["type"] == "kubernetes:core/v1:PersistentVolumeClaim" for r in cli.resources("team-a"))
    isvc_before = snapshot(cluster, isvc)

    # Destroying the platform leaves the application's model and namespace; its own empty namespace goes.
    destroy = cli.destroy("platform")
    assert "namespace platform-models deleted (this stack created it and it was empty)" in destroy.output
    assert snapshot(cluster, runtime)[runtime] is None
    assert snapshot(cluster, isvc)[isvc][0] == isvc_before[isvc][0]
    assert cluster.api.request("GET", ns_path("team-a"))[0] == 200
    # ... and the application now previews its missing runtime.
    late = preview(cli, "team-a")
    assert late.returncode != 0 and "ClusterServingRuntime intel-vllm-gaudi3 is not on the cluster" in late.output
    cli.set_config("team-a", {**app, "storage": {"size": "20Gi", "retainOnDestroy": False}})
    cli.destroy("team-a")


def test_objects_of_a_version_before_stamps_come_back_with_adopt_retained_only(env) -> None:
    """A namespace kserve-intel created before owner stamps (labelled part-of, no stamp) is refused with the
    command to run; `make up ADOPT=1` (KSERVE_INTEL_ADOPT=retained) takes it back and stamps it."""
    cluster, cli = env
    cluster.api.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "legacy-models", "labels": {"app.kubernetes.io/part-of": "kserve-intel",
                                            "app.kubernetes.io/managed-by": "pulumi"}}})
    uid = cluster.api.ok("GET", ns_path("legacy-models"))["metadata"]["uid"]
    cli.init("legacy", stack_config(namespace="legacy-models", models=[]))
    refused = up(cli, "legacy", check=False)
    assert refused.returncode != 0
    assert "created by kserve-intel without an owner stamp" in refused.output
    assert "run `make up ADOPT=1` once (KSERVE_INTEL_ADOPT=retained)" in refused.output
    up(cli, "legacy", env={"KSERVE_INTEL_ADOPT": "retained"})
    ns = cluster.api.ok("GET", ns_path("legacy-models"))
    assert ns["metadata"]["uid"] == uid
    assert ns["metadata"]["annotations"]["kserve-intel/owner"] == f"{ORG}/kserve-intel/legacy"
    assert preview(cli, "legacy", "--expect-no-changes").returncode == 0
    cli.destroy("legacy")
