"""Every Kubernetes name and label the program uses, derived in one place.

KServe derives further names from the InferenceService name; the tightest is
the `<name>-predictor-<namespace>` host label (63 characters), and Knative
revisions add `-predictor-00001-private`. A stable short hash marks truncation
so two long ids never collide after cutting.
"""

from __future__ import annotations

import hashlib
import re

DNS_LABEL_MAX = 63
# Suffixes KServe/Knative append to the InferenceService name in a DNS label.
_PREDICTOR_HOST_SUFFIX = "-predictor-"          # + namespace
_REVISION_SERVICE_SUFFIX = "-predictor-00001-private"
_HASH_LENGTH = 6

PART_OF = "kserve-intel"
MANAGED_BY = "pulumi"

# The owner stamp on every object the stack creates: `<org>/<project>/<stack>` (builders/ownership.py). It is how a
# later `preview`/`up` of any stack tells this stack's objects from everyone else's (online/cluster.py).
OWNER_ANNOTATION = "kserve-intel/owner"
# On an object the stack took over (`adopt:`): `destroy` forgets it instead of deleting it.
ADOPTED_ANNOTATION = "kserve-intel/adopted"
# A Helm release carries the stamp in its description (Helm keeps no annotations of its own).
HELM_OWNER_PREFIX = "kserve-intel/owner="


def owner_id(organization: str | None, project: str, stack: str) -> str:
    """The stamp value: `<org>/<project>/<stack>` (`<project>/<stack>` without an organization)."""
    return "/".join(p for p in (organization, project, stack) if p)


def max_model_name_length(namespace: str) -> int:
    """Longest InferenceService name whose derived names stay valid."""
    by_host = DNS_LABEL_MAX - len(_PREDICTOR_HOST_SUFFIX) - len(namespace)
    by_revision = DNS_LABEL_MAX - len(_REVISION_SERVICE_SUFFIX)
    return min(by_host, by_revision)


def slug(text: str) -> str:
    """Lowercase DNS-1123 form of free text: 'Llama-3.1-8B' -> 'llama-3-1-8b'."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if value and not value[0].isalpha():
        value = "m-" + value
    return value or "model"


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_LENGTH]


def fit(name: str, limit: int, seed: str) -> str:
    """Cut `name` to `limit`, marking the cut with a hash of `seed`."""
    if len(name) <= limit:
        return name
    head = name[: limit - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{short_hash(seed)}"


def model_name(model_id: str, namespace: str) -> str:
    """Default InferenceService name: the model part of the Hugging Face id."""
    return fit(slug(model_id.split("/")[-1]), max_model_name_length(namespace), model_id)


def cache_claim_name(model: str) -> str:
    return f"{model}-cache"


HF_TOKEN_SECRET = "hf-token"
HF_TOKEN_KEY = "HF_TOKEN"
# The identity every vLLM pod runs as (no API token mounted).
MODEL_SERVICE_ACCOUNT = "kserve-intel-vllm"
# Keycloak client secret the APISIX openid-connect plugin reads via secretRef.
OIDC_SECRET = "apisix-keycloak-client"
OIDC_SECRET_KEY = "client_secret"
NETWORK_POLICY = "kserve-intel-vllm"


def route_name(model: str) -> str:
    """Our Ingress/HTTPRoute/ApisixRoute name: never the ISVC name, which KServe uses for its own."""
    return f"{model}-route"


def predictor_service(model: str) -> str:
    """The Service KServe creates for a RawDeployment predictor (port 80 -> 8080).

    In Serverless mode Knative creates a Service of the same name that points at
    its networking layer's internal gateway, which routes by `predictor_host`.
    """
    return f"{model}-predictor"


def predictor_host(model: str, namespace: str) -> str:
    """The in-cluster host of a predictor; the Host Knative's gateway routes by in Serverless mode."""
    return f"{predictor_service(model)}.{namespace}.svc.cluster.local"


def canary_predictor_service(model: str, canary: str) -> str:
    """Deployment and Service KServe v0.20 creates for `spec.canary[].predictor.name` (`{isvc}-{name}-predictor`)."""
    return f"{model}-{canary}-predictor"


def canary_route_name(model: str) -> str:
    """Our second Ingress for a model's canary (ingress-nginx splits by a separate canary Ingress)."""
    return f"{route_name(model)}-canary"


def labels(instance: str, component: str, version: str | None = None, server: str = "vllm") -> dict[str, str]:
    """The app.kubernetes.io set every object carries; a model's server and cache are named after its server."""
    result = {
        "app.kubernetes.io/name": label_value(server) if component in ("inference-server", "model-cache") else PART_OF,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version:
        result["app.kubernetes.io/version"] = label_value(version)
    return result


def label_value(text: str) -> str:
    """Coerce free text (an image tag, a model id) into a valid label value."""
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.")
    return fit(value, DNS_LABEL_MAX, text).strip("-_.")


# Pod label naming the Pulumi stack, so logs (Loki) and metrics can be
# selected per stack as well as per model (app.kubernetes.io/instance).
STACK_LABEL = "kserve-intel/stack"
# ClusterServingRuntime label naming its serving stack (kserve_intel/catalog/serving_stacks.py): the policy
# pack allows Xeon's SYS_NICE exception only on runtimes of a NUMA-binding stack.
SERVING_STACK_LABEL = "kserve-intel/serving-stack"


def stack_labels(stack: str) -> dict[str, str]:
    """`{kserve-intel/stack: <stack>}`, or nothing outside a Pulumi run."""
    return {STACK_LABEL: label_value(stack)} if stack and label_value(stack) else {}


def monitoring_name(namespace: str, suffix: str) -> str:
    """Name of a per-stack monitoring object (unique per model namespace)."""
    return fit(f"kserve-intel-{namespace}-{suffix}", DNS_LABEL_MAX, f"{namespace}/{suffix}")
