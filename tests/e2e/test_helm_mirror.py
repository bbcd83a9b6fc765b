"""The program's own Helm releases, for real, from a chart mirror on 127.0.0.1 (`chartRepositories`).

The cluster runs no KServe here (`install_kserve=False`): the stack installs it (`kserve.install: true`,
cert-manager `existing`) from a repository the test serves, with charts the test packages itself:
`kserve-crd` holds the vendored KServe CRDs of the release (as the upstream chart keeps them, under
templates/), `kserve` a ConfigMap that renders the values the program passes and a Deployment that Helm
must wait for. What runs for real: repository override, chart version, values, wait, and uninstall.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.localcluster import LocalCluster
from tests.e2e.chart_repo import ChartRepository, package_chart
from tests.e2e.pulumi_cli import ROOT, PulumiCLI, steps_by_op

VERSION = "v0.13.0"
CONTROLLER_TEMPLATE = b"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: e2e-mirror-values
  namespace: {{ .Release.Namespace }}
data:
  deploymentMode: {{ .Values.kserve.controller.deploymentMode | quote }}
  version: {{ .Values.kserve.version | quote }}
  chartVersion: {{ .Chart.Version | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kserve-controller-manager
  namespace: {{ .Release.Namespace }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: e2e-mirror}
  template:
    metadata:
      labels: {app: e2e-mirror}
    spec:
      containers:
        - name: manager
          image: registry.invalid/kserve-controller:{{ .Values.kserve.version }}
          resources:
            requests: {cpu: 10m, memory: 16Mi}
            limits: {cpu: 100m, memory: 64Mi}
"""


@pytest.fixture(scope="module")
def engine_bins() -> Path:
    from engine.localcluster import build_engine

    return build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.13"))


def test_releases_install_from_a_chart_mirror_and_uninstall(engine_bins: Path, tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    charts.mkdir()
    crds = sorted((ROOT / "schemas" / "crds" / "kserve" / VERSION).glob("serving.kserve.io_*.yaml"))
    assert crds, "no vendored KServe CRDs"
    package_chart(charts, "kserve-crd", VERSION, {f"templates/{p.name}": p.read_bytes() for p in crds})
    package_chart(charts, "kserve", VERSION, {"templates/controller.yaml": CONTROLLER_TEMPLATE})

    with ChartRepository(charts) as repo, LocalCluster(engine_bins, kserve_version=VERSION,
                                                       install_kserve=False) as cluster:
        cli = PulumiCLI(engine_bins, cluster.kubeconfig, tmp_path / "pulumi")
        stack = "e2e-mirror"
        cli.init(stack, {
            "platform": "xeon",
            "kserve": {"version": VERSION, "install": True, "certManager": "existing"},
            "models": [],
            "chartRepositories": {"kserve-crd": repo.url, "kserve": repo.url + "/"},
        })
        preview = steps_by_op(cli.preview(stack).json())
        assert "Release::helm-kserve-crd" in preview.get("create", []), preview

        started = time.monotonic()
        cli.up(stack)
        print(f"\n[mirror] up with both releases in {time.monotonic() - started:.0f}s")
        fetched = set(repo.requests)
        assert {"/index.yaml", f"/kserve-crd-{VERSION}.tgz", f"/kserve-{VERSION}.tgz"} <= fetched, fetched

        for crd in crds:
            name = crd.name.split("_", 1)[1].removesuffix(".yaml") + ".serving.kserve.io"
            cluster.api.ok("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        values = cluster.api.ok("GET", "/api/v1/namespaces/kserve/configmaps/e2e-mirror-values")["data"]
        assert values == {"deploymentMode": "RawDeployment", "version": VERSION, "chartVersion": VERSION}
        deployment = cluster.api.ok("GET", "/apis/apps/v1/namespaces/kserve/deployments/kserve-controller-manager")
        assert deployment["status"].get("availableReplicas") == 1  # Helm waited for it
        releases = cluster.api.ok("GET", "/api/v1/namespaces/kserve/secrets?labelSelector=owner%3Dhelm")["items"]
        assert {r["metadata"]["labels"]["name"] for r in releases} == {"kserve-crd", "kserve"}
        # The runtime whose CRD arrived in the same update was created too.
        runtime = cli.outputs(stack)["runtime"]
        cluster.api.ok("GET", f"/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/{runtime}")

        cli.destroy(stack)
        for crd in crds:
            name = crd.name.split("_", 1)[1].removesuffix(".yaml") + ".serving.kserve.io"
            status, _ = cluster.api.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            assert status == 404, name
        status, _ = cluster.api.request("GET", "/api/v1/namespaces/kserve")
        assert status == 404
