"""KServe releases we support and what differs between them.

Chart names, deployment-mode names and feature availability change across
v0.13 to v0.20 (see docs/kserve-versions.md); every version-dependent
decision reads this table instead of comparing version strings in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHART_REPOSITORY = "oci://ghcr.io/kserve/charts"
CERT_MANAGER_REPOSITORY = "https://charts.jetstack.io"
KNATIVE_OPERATOR_REPOSITORY = "https://knative.github.io/operator"
KEDA_REPOSITORY = "https://kedacore.github.io/charts"
# KServe's storage URI scheme for Hugging Face ids (v0.15+).
HF_URI_PREFIX = "hf://"

# Released tags only: a tag that does not exist would fail late, at chart pull.
SUPPORTED_TAGS: tuple[str, ...] = (
    "v0.13.0", "v0.13.1",
    "v0.14.0", "v0.14.1",
    "v0.15.0", "v0.15.1", "v0.15.2",
    "v0.16.0",
    "v0.17.0", "v0.17.1",
    "v0.18.0", "v0.18.1",
    "v0.19.0",
    "v0.20.0",
)

_TAG = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


def normalize_tag(version: str) -> str:
    """Accept "0.13.0" or "v0.13.0"; return the tag form KServe charts use."""
    match = _TAG.match(version.strip())
    if not match:
        raise ValueError(f"not a version: {version!r}")
    return "v" + ".".join(match.groups())


@dataclass(frozen=True)
class KServeRelease:
    """Everything our program needs to know about one KServe tag."""

    tag: str

    @property
    def minor(self) -> int:
        return int(self.tag.split(".")[1])

    @property
    def crd_chart(self) -> str:
        return "kserve-crd"

    @property
    def controller_chart(self) -> str:
        # The controller chart was renamed when the charts moved to apiVersion v2.
        return "kserve" if self.minor < 17 else "kserve-resources"

    @property
    def raw_mode(self) -> str:
        return "RawDeployment" if self.minor < 16 else "Standard"

    @property
    def serverless_mode(self) -> str:
        return "Serverless" if self.minor < 16 else "Knative"

    @property
    def has_modelmesh_values(self) -> bool:
        # ModelMesh is on by default in the v0.13-v0.16 chart; we never want it.
        return self.minor < 17

    @property
    def autoscaler_class_off(self) -> str:
        """Annotation value that makes KServe create no HPA for a fixed-size model."""
        return "external" if self.minor < 16 else "none"

    @property
    def multinode_autoscaler_class(self) -> str:
        """The only autoscaler class KServe's validator accepts on a multi-node InferenceService: `external` up to
        v0.15.0, `none` from v0.15.1, which added that class ("Multinode only supports 'none' autoscaler",
        pkg/apis/serving/v1beta1/inference_service_validation.go); found by the e2e test on v0.15.2."""
        return "external" if self.minor < 15 or self.tag == "v0.15.0" else "none"

    @property
    def kserve_gateway_api(self) -> bool:
        """The controller chart can create HTTPRoutes itself
        (`kserve.controller.gateway.ingressGateway.enableGatewayApi`, from v0.15)."""
        return self.minor >= 15

    @property
    def cert_manager_version(self) -> str:
        """cert-manager release KServe's own install scripts pair with this tag."""
        if self.minor <= 14:
            return "v1.15.1"
        if self.minor == 15:
            return "v1.16.1"
        return "v1.17.0"

    # --- Serverless (Knative) -------------------------------------------------

    @property
    def knative_serving_version(self) -> str:
        """Knative Serving release KServe's install scripts pair with this tag.

        v0.13/v0.14 quick-install: knative-v1.13.1; v0.15.2: 1.15.2; v0.20.0
        (kserve-deps.env): 1.21.1, which we also use for v0.16-v0.19.
        """
        if self.minor <= 14:
            return "1.13.1"
        if self.minor == 15:
            return "1.15.2"
        return "1.21.1"

    @property
    def knative_operator_chart_version(self) -> str:
        """Chart of https://knative.github.io/operator that installs that Serving.

        The repository's oldest chart is v1.14.2, so Serving 1.13 comes from the
        v1.15.2 operator, which still ships the manifests of the earlier minors.
        """
        return "v1.15.2" if self.minor <= 15 else "v1.21.1"

    # --- autoscaling ----------------------------------------------------------

    @property
    def supports_keda_autoscaler_class(self) -> bool:
        """`serving.kserve.io/autoscalerClass: keda` and `predictor.autoScaling` (v0.15+)."""
        return self.minor >= 15

    @property
    def keda_chart_version(self) -> str:
        """KEDA chart (kedacore/keda) KServe pairs with this tag: 2.14.0 up to v0.15, 2.18.0 for v0.20."""
        return "2.14.0" if self.minor <= 15 else "2.18.0"

    # --- rollout --------------------------------------------------------------

    @property
    def supports_spec_canary(self) -> bool:
        """`spec.canary[]`: a canary Deployment beside the stable one in Standard mode (v0.20, PR #5672)."""
        return self.minor >= 20

    @property
    def supports_storage_container_name(self) -> bool:
        """`predictor.storageContainerName` picks the ClusterStorageContainer of the storage initializer by name
        (v0.20.0 pkg/apis/serving/v1beta1/predictor.go:68-73, used at components/predictor.go:783). Before, the
        first container whose URI formats match wins, and the cached list has no defined order, so a second
        `hf://` container beside KServe's `default` cannot be relied on."""
        return self.minor >= 20

    @property
    def canary_storage_uris(self) -> bool:
        """Whether a Standard-mode canary (`spec.canary[]`) gets a storage initializer for its `storageUris`.

        No KServe release does: v0.20.0 builds the canary's reconciler with no storage URIs
        (pkg/controller/v1beta1/inferenceservice/components/predictor.go:913-940, `NewRawKubeReconciler(...,
        nil, nil, nil, ...)`), while its single `model.storageUri` still reaches the webhook's injector
        (buildPredictorResources, :115-119)."""
        return False

    @property
    def supports_worker_spec(self) -> bool:
        """KServe creates the head and worker Deployments of `predictor.workerSpec` (v0.15+). v0.14 has the API
        field only: its controller never reads it (no `workerSpec` under pkg/controller), so no worker starts."""
        return self.minor >= 15

    @property
    def multinode_broken(self) -> str | None:
        """Why a multi-node model cannot run on this release although it has `workerSpec`, if it cannot. Every
        supported tag was read (a new tag must be read too; tests/test_scaling_rollout.py lists the usable ones):

        * v0.16.0-v0.19.0: kserve#4667 makes a raw predictor Ready only when the Deployments' Progressing reason is
          `NewReplicaSetAvailable`; for head + worker, `getDeploymentCondition`
          (pkg/apis/serving/v1beta1/inference_service_status.go) joins the reasons of the conditions it skipped
          ("predictor-container: MinimumReplicasAvailable, worker-container: ..."), never that value, so
          PredictorReady stays Unknown and the InferenceService never Ready (fixed by kserve#5703 in v0.20.0).
        * v0.20.0: the canary clean-up of Standard mode (`reconcileCanaryDeployments`,
          pkg/controller/v1beta1/inferenceservice/components/predictor.go, kserve#5672, first in v0.20.0) runs on
          every reconcile and deletes, as orphaned, every Deployment and Service labelled with the
          InferenceService and `component: predictor` not named `<isvc>-predictor` or a canary's: the worker
          Deployment `<isvc>-predictor-worker` and the head/workers Services. Each deletion requeues: a loop.
        """
        if 16 <= self.minor <= 19:
            return ("its predictor never turns Ready with a worker: the Ready condition waits for the Deployments' "
                    "Progressing reason NewReplicaSetAvailable, and for head plus worker KServe compares a joined "
                    "reason that never equals it (getDeploymentCondition in pkg/apis/serving/v1beta1/"
                    "inference_service_status.go; kserve#5703, fixed in v0.20.0), so `up` would wait until "
                    "readyTimeoutMinutes and fail")
        if self.minor == 20:
            return ("its canary clean-up (reconcileCanaryDeployments in pkg/controller/v1beta1/inferenceservice/"
                    "components/predictor.go, kserve#5672, first in v0.20.0) deletes the worker Deployment "
                    "<model>-predictor-worker and the head/workers Services as 'orphaned' on every reconcile, so "
                    "the workers never stay up and Ready only flickers")
        return None

    @property
    def supports_local_model_cache(self) -> bool:
        """`LocalModelCache` CRD and the localmodel controller (v0.15+)."""
        return self.minor >= 15

    @property
    def localmodel_separate_charts(self) -> bool:
        """The localmodel controller and its CRDs ship as the charts `kserve-localmodel-crd` and
        `kserve-localmodel-resources` (v0.17+); before, the `kserve` chart carries them behind
        `kserve.localmodel.enabled` and `kserve-crd` the CRDs."""
        return self.minor >= 17

    @property
    def localmodel_chart_creates_job_namespace(self) -> bool:
        """The v0.15/v0.16 `kserve` chart creates `kserve.localmodel.jobNamespace` itself."""
        return self.minor < 17

    @property
    def localmodel_agent_node_labels(self) -> dict[str, str]:
        """Labels the localmodel node agent DaemonSet selects by default (v0.17+ chart:
        `kserve.localmodelnode.controller.nodeSelector`); Helm merges ours into it."""
        return {"kserve/localmodel": "worker"} if self.minor >= 17 else {}

    @property
    def storage_initializer_image(self) -> str:
        """KServe's model download image of this release (runs the local model download jobs)."""
        return f"kserve/storage-initializer:{self.tag}"

    @property
    def schema_tag(self) -> str:
        """Which vendored CRD set validates objects for this tag: its own minor's (schemas/crds/SOURCES.md)."""
        return SCHEMA_TAGS[self.minor]


# The vendored CRDs of each minor (schemas/crds/kserve/<tag>): the newest patch upstream's reference copy holds.
SCHEMA_TAGS: dict[int, str] = {13: "v0.13.0", 14: "v0.14.1", 15: "v0.15.2", 16: "v0.16.0", 17: "v0.17.1",
                               18: "v0.18.1", 19: "v0.19.0", 20: "v0.20.0"}


def hf_storage_uri(model_id: str, revision: str | None) -> str:
    """`hf://<org>/<model>[:<revision>]`, as KServe's storage initializer parses it (one place builds it)."""
    return f"{HF_URI_PREFIX}{model_id}" + (f":{revision}" if revision else "")


def release(version: str) -> KServeRelease:
    tag = normalize_tag(version)
    if tag not in SUPPORTED_TAGS:
        raise ValueError(f"unsupported KServe version {version!r}")
    return KServeRelease(tag)
