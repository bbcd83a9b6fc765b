"""Images that exist (issue 23), for real: the real Pulumi CLI and provider, a local cluster, and a real OCI
registry (CNCF distribution v3.1.2, engine/registry) with token auth on 127.0.0.1, into which the test pushes the
stack's images itself (tiny images it makes; nothing is downloaded).

- every tag is resolved where the nodes pull it (`images.mirrors` -> the local registry, anonymous bearer tokens,
  a private repository with `images.credentials` as Pulumi secrets) and what the API server stores is
  `<mirror>/<repository>:<tag>@sha256:<the pushed digest>`: the runtime, and the KServe chart's images (the
  controller Deployment and the images the chart hands to KServe), installed by Helm from a chart mirror on
  127.0.0.1 whose templates use the upstream template expressions (catalog/data/chart_images.yaml);
- the pull Secret reaches the namespaces and the models' ServiceAccount;
- re-pushing a tag shows as a diff of exactly the objects that run it in `pulumi preview`;
- a tag the registry does not have is refused before any resource, naming the key, the image and the answer.
"""

from __future__ import annotations

import base64
import json
import time
from types import MappingProxyType

import pytest
import yaml

from engine.localcluster import LocalCluster, build_engine
from kserve_intel.builders.images import chart_images, distinct, stack_images
from kserve_intel.load import load_config
from kserve_intel.plan import build_plan
from kserve_intel.online.images import Resolver, Unauthorized, parse_reference
from kserve_intel.rules.images import PULL_SECRET, ImagePins
from tests.e2e.chart_repo import ChartRepository, package_chart
from tests.e2e.oci_registry import OciRegistry
from tests.e2e.pulumi_cli import ROOT, PulumiCLI, steps_by_op

VERSION = "v0.13.0"
RUNTIME = "intel-vllm-xeon"
ROBOT = ("robot", "robot-password-e2e")
# The runtime's repository on the mirror is private: only `images.credentials` may pull it.
PRIVATE = "mirror/vllm/vllm-openai-cpu"


def chart_files() -> dict[str, bytes]:
    """A `kserve` chart whose templates render every image the program's KServe v0.13.0 release runs with the
    expressions the upstream chart uses, into the controller Deployment and a ConfigMap (what KServe reads)."""
    plan = build_plan(load_config({"kserve-intel:platform": "xeon",
                                   "kserve-intel:kserve": json.dumps({"version": VERSION})}))
    values: dict = {}
    data, expressions = {}, {}
    for image in chart_images(plan, "kserve", VERSION):
        keys = image.values
        if "image" in keys:
            expression = f"{{{{ .Values.{keys['image']} }}}}"
            _set(values, keys["image"], image.image)
        else:
            expression = f"{{{{ .Values.{keys['repository']} }}}}:{{{{ .Values.{keys['tag']} }}}}"
            repository, _, tag = image.image.rpartition(":")
            _set(values, keys["repository"], repository)
            _set(values, keys["tag"], tag)
        # The same expression as the upstream template (its quote in chart_images.yaml).
        assert any(expression in (s.get("quote") or "") for s in _sources(image.role)), (image.role, expression)
        data[image.role] = expression
        expressions[image.role] = expression
    configmap = "\n".join(f'  {role}: "{expr}"' for role, expr in data.items())
    template = f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: e2e-chart-images
  namespace: {{{{ .Release.Namespace }}}}
data:
{configmap}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kserve-controller-manager
  namespace: {{{{ .Release.Namespace }}}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: e2e-images}}
  template:
    metadata:
      labels: {{app: e2e-images}}
    spec:
      containers:
        - name: kube-rbac-proxy
          image: "{expressions['kube-rbac-proxy']}"
          resources: {{requests: {{cpu: 10m, memory: 16Mi}}, limits: {{cpu: 100m, memory: 64Mi}}}}
        - name: manager
          image: "{expressions['controller']}"
          resources: {{requests: {{cpu: 10m, memory: 16Mi}}, limits: {{cpu: 100m, memory: 64Mi}}}}
"""
    return {"values.yaml": yaml.safe_dump(values).encode(), "templates/kserve.yaml": template.encode()}


def _set(values: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        values = values.setdefault(part, {})
    values[last] = value


def _sources(role: str) -> list[dict]:
    data = yaml.safe_load((ROOT / "kserve_intel/catalog/data/chart_images.yaml").read_text())
    return next(i for i in data["charts"]["kserve"][VERSION]["images"] if i["role"] == role)["sources"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    bins = build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.13", "registry"))
    charts = tmp_path_factory.mktemp("charts")
    crds = sorted((ROOT / "schemas" / "crds" / "kserve" / VERSION).glob("serving.kserve.io_*.yaml"))
    package_chart(charts, "kserve-crd", VERSION, {f"templates/{p.name}": p.read_bytes() for p in crds})
    package_chart(charts, "kserve", VERSION, chart_files())
    with OciRegistry(binary=bins / "registry", users={"pusher": "pusher-password", ROBOT[0]: ROBOT[1]},
                     private=[PRIVATE]) as registry, ChartRepository(charts) as repo, \
            LocalCluster(bins, kserve_version=VERSION, install_kserve=False) as cluster:
        cli = PulumiCLI(bins, cluster.kubeconfig, tmp_path_factory.mktemp("pulumi-images"))
        yield cluster, cli, registry, repo


def stack_config(registry: OciRegistry, repo: ChartRepository) -> dict:
    return {
        "platform": "xeon",
        "kserve": {"version": VERSION, "install": True, "certManager": "existing"},
        "models": [],
        "chartRepositories": {"kserve-crd": repo.url, "kserve": repo.url},
        "images": {"mirrors": {"*": f"{registry.host}/mirror"}, "plainHttp": [registry.host],
                   "credentials": {registry.host: {"username": ROBOT[0]}}},
    }


def pushed(registry: OciRegistry, config: dict) -> dict[str, str]:
    """Push every image of the stack (as `make images` lists them) to where the mirror rule sends it, as a
    two-platform image index; {mirrored reference: digest}."""
    plan = build_plan(load_config({f"kserve-intel:{k}": json.dumps(v) if not isinstance(v, str) else v
                                   for k, v in config.items() if k != "images"}))
    pins = ImagePins(MappingProxyType(config["images"]["mirrors"]))
    digests = {}
    for image in distinct(stack_images(plan)):
        mirrored = pins.mirrored(image)
        ref = parse_reference(mirrored)
        digests[mirrored] = registry.push_image(ref.repository, ref.tag, index=True)
    return digests


def test_images_are_resolved_on_the_mirror_and_stored_pinned(env) -> None:
    cluster, cli, registry, repo = env
    stack = "e2e-images"
    config = stack_config(registry, repo)
    digests = pushed(registry, config)
    assert len(digests) == 4, digests  # the runtime, the controller, kube-rbac-proxy, the storage initializer
    host = registry.host
    cli.init(stack, config, secrets={f'images.credentials["{host}"].password': ROBOT[1]})

    started = time.monotonic()
    preview = cli.preview(stack)
    print(f"\n[images] preview (resolving {len(digests)} images on the mirror) in {time.monotonic() - started:.1f}s")
    assert "Release::helm-kserve" in steps_by_op(preview.json()).get("create", [])
    started = time.monotonic()
    cli.up(stack)
    print(f"[images] up in {time.monotonic() - started:.1f}s")

    def pinned(image: str) -> str:
        ref = f"{host}/mirror/{image}"
        return f"{ref}@{digests[ref]}"

    runtime = cluster.api.ok("GET", f"/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/{RUNTIME}")
    assert runtime["spec"]["containers"][0]["image"] == pinned("vllm/vllm-openai-cpu:v0.33.0-x86_64")
    stored = cluster.api.ok("GET", "/api/v1/namespaces/kserve/configmaps/e2e-chart-images")["data"]
    assert stored == {
        "controller": pinned("kserve/kserve-controller:v0.13.0"),
        "kube-rbac-proxy": pinned("brancz/kube-rbac-proxy:v0.18.0"),
        "storage-initializer": pinned("kserve/storage-initializer:v0.13.0"),
    }
    deployment = cluster.api.ok("GET", "/apis/apps/v1/namespaces/kserve/deployments/kserve-controller-manager")
    assert [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]] == [
        pinned("brancz/kube-rbac-proxy:v0.18.0"), pinned("kserve/kserve-controller:v0.13.0")]
    outputs = cli.outputs(stack)
    assert sorted(e["pulled"] for e in outputs["images"]) == sorted(f"{r}@{d}" for r, d in digests.items())

    # The private repository was read with the robot's credentials (images.credentials, a Pulumi secret);
    # anonymously the registry refuses it.
    users = {(r["user"], s[1]) for r in registry.token_server.requests for s in r["scope"] if r["status"] == 200}
    assert (ROBOT[0], PRIVATE) in users
    with pytest.raises(Unauthorized):
        Resolver(plain_http=[host]).resolve(f"{host}/{PRIVATE}:v0.33.0-x86_64")
    for namespace in ("intel-inference", "kserve"):
        secret = cluster.api.ok("GET", f"/api/v1/namespaces/{namespace}/secrets/{PULL_SECRET}")
        assert secret["type"] == "kubernetes.io/dockerconfigjson"
        auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
        assert auths[host]["username"] == ROBOT[0] and auths[host]["password"] == ROBOT[1]
    account = cluster.api.ok("GET", "/api/v1/namespaces/intel-inference/serviceaccounts/kserve-intel-vllm")
    assert account["imagePullSecrets"] == [{"name": PULL_SECRET}]
    assert ROBOT[1] not in json.dumps(outputs)

    # A re-pushed tag is a diff of exactly what runs it.
    moved = registry.move_tag("mirror/kserve/kserve-controller", "v0.13.0")
    preview = cli.preview(stack)
    ops = steps_by_op(preview.json())
    assert ops.get("update") == ["Release::helm-kserve"], ops
    assert moved in preview.stdout
    cli.up(stack)
    deployment = cluster.api.ok("GET", "/apis/apps/v1/namespaces/kserve/deployments/kserve-controller-manager")
    assert deployment["spec"]["template"]["spec"]["containers"][1]["image"].endswith("@" + moved)
    cli.destroy(stack)


def printed(result) -> str:
    """What the CLI told the user: the diagnostics' messages of a `--json` run, else its output."""
    try:
        documents = [json.loads(result.stdout)]
    except ValueError:  # `up --json` streams one event per line
        try:
            documents = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        except ValueError:
            return result.output
    found: list[str] = []

    def walk(value):
        if isinstance(value, dict):
            found.extend(v for k, v in value.items() if k == "message" and isinstance(v, str))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(documents)
    return "\n".join(found) + result.stderr


def test_a_missing_tag_is_refused_before_any_resource(env) -> None:
    cluster, cli, registry, repo = env
    stack = "e2e-missing-tag"
    image = f"{registry.host}/team/vllm:9.9"
    registry.push_image("team/vllm", "1.0")  # the repository exists, the tag does not
    # The cluster has no KServe since the test before destroyed its stack: the ownership look (which runs first and
    # would refuse `kserve.install: false` there) is off, so the image resolution is what answers.
    cli.init(stack, {"platform": "xeon", "kserve": {"version": VERSION, "install": False}, "models": [],
                     "runtimes": {"image": image}, "images": {"plainHttp": [registry.host]},
                     "ownership": {"check": "off"}})
    for command in (cli.preview(stack, check=False), cli.up(stack, check=False)):
        assert command.returncode != 0
        expected = (f'kserve-intel:runtimes.image = "{image}": runtime {RUNTIME} (serving stack vllm-0.33) runs '
                    f"image {image}, which cannot be pulled: {image}: tag '9.9' not found in {registry.host}/team/vllm "
                    "(registry said: MANIFEST_UNKNOWN: manifest unknown)")
        assert expected in printed(command), command.output[-3000:]
    kinds = {r["type"] for r in cli.resources(stack)}
    assert kinds <= {"pulumi:pulumi:Stack"}, kinds
    status, _ = cluster.api.request("GET", f"/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/{RUNTIME}")
    assert status == 404
