"""End-to-end fixtures: a real local control plane with the real KServe controller.

`make e2e` (pytest tests/e2e) runs these; the default `make test` does not collect this folder
(pytest.ini). Environment:
  E2E_KSERVE    KServe release the cluster runs (default v0.20.0; v0.13.0 also built)
  E2E_BIN_DIR   engine binaries (default: engine/build.sh, cached after the first build)
  KSERVE_INTEL_KEEP_CLUSTER=1  keep the cluster's work dir (logs) after the session
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.localcluster import ClusterError, LocalCluster, build_engine, kserve_wrapper


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kserve_version() -> str:
    version = os.environ.get("E2E_KSERVE", "v0.20.0")
    return version if version.startswith("v") else "v" + version


@pytest.fixture(scope="session")
def engine_bin_dir(kserve_version: str) -> Path:
    if os.environ.get("E2E_BIN_DIR"):
        return Path(os.environ["E2E_BIN_DIR"])
    return build_engine(("kubernetes", "etcd", "kwok", kserve_wrapper(kserve_version).name))


@pytest.fixture(scope="session")
def local_cluster(engine_bin_dir: Path, kserve_version: str):
    cluster = LocalCluster(engine_bin_dir, kserve_version=kserve_version)
    try:
        cluster.start()
    except ClusterError as exc:
        pytest.fail(f"local cluster did not start: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        if os.environ.get("KSERVE_INTEL_KEEP_CLUSTER"):
            print(f"\nlocal cluster work dir kept: {cluster.workdir}")
        cluster.stop()


@pytest.fixture(scope="session")
def kube(local_cluster: LocalCluster):
    """An ApiClient of the official client, logged in as the cluster admin."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(local_cluster.kubeconfig))
    yield api_client
    api_client.close()
