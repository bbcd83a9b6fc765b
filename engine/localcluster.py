"""A local Kubernetes control plane with the real KServe controller, for tests and people.

Everything runs as child processes on 127.0.0.1, built from Go modules by `engine/build.sh`:
etcd, kube-apiserver (RBAC, Pod Security Admission, its own CA), kube-controller-manager,
kube-scheduler, kwok (fake nodes and pods: no kubelet, no containers, no images) and the KServe
manager of one release, whose webhooks the API server calls by URL.

    with LocalCluster(bin_dir, kserve_version="v0.20.0") as cluster:
        print(cluster.kubeconfig)

    python -m engine.localcluster [--kserve v0.13.0] [--bin-dir DIR]

What is emulated and what is not: see EMULATION below (also printed by `--help`).
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from kserve_intel.catalog.kserve import release

ENGINE_DIR = Path(__file__).resolve().parent
ROOT = ENGINE_DIR.parent
CRD_DIR = ROOT / "schemas" / "crds"

EMULATION = """\
Emulated: a real API server (admission: RBAC, Pod Security, ServiceAccount, DefaultStorageClass,
RuntimeClass ...), real controllers (namespace, garbage collector, deployment, replicaset,
statefulset, daemonset, job, endpoints, endpointslice, serviceaccount + token, pod GC, PV binder,
disruption, root CA publisher), the real scheduler, and KServe's real controller and webhooks.
kwok fakes nodes (Ready, with labels, capacity and taints of Xeon / Gaudi2 / Gaudi3 machines) and
pods (Running + Ready after an optional delay; Job pods complete; deleted pods go away).
Storage: any claim (any class, size, access mode; default class "kwok-volume") gets a
PersistentVolume of its size from kwok's volume stages (read from the module, widened from one class
to all); the volume is bookkeeping only (no data, no capacity limit, claim selectors and dataSource
ignored), deleted with its claim when reclaimPolicy is Delete.
Pods: labelled kserve-intel.local/never-ready=true stay Pending, never Ready; ready_delay_seconds
(or the pod annotation pod-ready.stage.kwok.x-k8s.io/delay, e.g. "20s") delays Running+Ready.
Gaudi2 and Gaudi3 nodes share the NFD PCI label kserve_intel/catalog/platforms.py selects on; they differ in the label
habana.ai/gaudi.product and kserve-intel.local/platform.
The KServe manager's webhook server listens on all interfaces (no host flag); everything else on
127.0.0.1. KServe's LLMInferenceService CRDs and controller are not installed.
Not emulated: containers (no image is pulled, nothing listens: probes, exec, logs and port-forward
do not work), Service and pod networking (10.x addresses are bookkeeping only), kube-proxy, DNS,
the HPA controller and metrics API, node heartbeats and node lifecycle (nodes never go NotReady),
Knative, Istio, cert-manager, Prometheus, KEDA, Gateway controllers (only their CRDs are there).
"""

# Labels, taints and sizes of the fake nodes: what kserve_intel/catalog/platforms.py selects on.
PLATFORM_LABEL = "kserve-intel.local/platform"
NEVER_READY_LABEL = "kserve-intel.local/never-ready"
READY_DELAY_ANNOTATION = "pod-ready.stage.kwok.x-k8s.io/delay"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
GAUDI_RESOURCE = "habana.ai/gaudi"
# KServe's label on every pod of an InferenceService.
ISVC_LABEL = "serving.kserve.io/inferenceservice"


@dataclass(frozen=True)
class NodeKind:
    platform: str
    labels: dict[str, str]
    capacity: dict[str, str]
    taints: tuple[dict[str, str], ...] = ()


NODE_KINDS: tuple[NodeKind, ...] = (
    # Two-socket Xeon (Sapphire/Granite Rapids class): room for several 32-CPU/128Gi vLLM pods.
    NodeKind(
        "xeon",
        {
            "feature.node.kubernetes.io/cpu-cpuid.AVX512VNNI": "true",
            "feature.node.kubernetes.io/cpu-cpuid.AMXBF16": "true",
            "feature.node.kubernetes.io/cpu-cpuid.AMXINT8": "true",
            "node.kubernetes.io/instance-type": "xeon-2s",
        },
        {"cpu": "256", "memory": "2Ti", "pods": "110", "ephemeral-storage": "4Ti"},
    ),
    # HLS-Gaudi2 / Gaudi3 servers: 8 cards each, the Habana device plugin's resource and taint.
    NodeKind(
        "gaudi2",
        {
            "feature.node.kubernetes.io/pci-1200_1da3.present": "true",
            "habana.ai/gaudi.product": "gaudi2",
            "node.kubernetes.io/instance-type": "hls-gaudi2",
        },
        {"cpu": "160", "memory": "2Ti", "pods": "110", "ephemeral-storage": "8Ti", GAUDI_RESOURCE: "8"},
        ({"key": GAUDI_RESOURCE, "value": "present", "effect": "NoSchedule"},),
    ),
    NodeKind(
        "gaudi3",
        {
            "feature.node.kubernetes.io/pci-1200_1da3.present": "true",
            "habana.ai/gaudi.product": "gaudi3",
            "node.kubernetes.io/instance-type": "hls-gaudi3",
        },
        {"cpu": "192", "memory": "3Ti", "pods": "110", "ephemeral-storage": "8Ti", GAUDI_RESOURCE: "8"},
        ({"key": GAUDI_RESOURCE, "value": "present", "effect": "NoSchedule"},),
    ),
)

# Vendored CRDs of the optional features (monitoring, autoscaling, routing, dashboards, certificates).
OPTIONAL_CRD_DIRS = (
    "prometheus-operator/v0.93.0",
    "keda/v2.20.2",
    "gateway-api/v1.6.1-standard",
    "apisix-ingress-controller/2.2.0",
    "grafana-operator/v5.24.0",
    "cert-manager/v1.21.1",
)

CONTROLLERS = (
    "namespace-controller", "garbage-collector-controller", "deployment-controller",
    "replicaset-controller", "statefulset-controller", "daemonset-controller", "job-controller",
    "endpoints-controller", "endpointslice-controller", "endpointslice-mirroring-controller",
    "serviceaccount-controller", "serviceaccount-token-controller", "pod-garbage-collector-controller",
    "persistentvolume-binder-controller", "disruption-controller", "root-ca-certificate-publisher-controller",
    "ttl-after-finished-controller", "cronjob-controller", "clusterrole-aggregation-controller",
    # The StorageObjectInUseProtection admission plugin adds finalizers these two remove: without
    # them, deleting a claim or volume hangs.
    "persistentvolumeclaim-protection-controller", "persistentvolume-protection-controller",
    "service-cidr-controller",
)

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kserve")
# The ports each component serves on (keys of LocalCluster.ports).
COMPONENT_PORTS = {"etcd": ("etcd", "etcd-peer"), "kube-apiserver": ("kube-apiserver",),
                   "kube-controller-manager": ("kube-controller-manager",), "kube-scheduler": ("kube-scheduler",),
                   "kwok": ("kwok",), "kserve": ("kserve-webhook", "kserve-probe")}


class ClusterError(RuntimeError):
    pass


def _crd_name(path: Path) -> str:
    """metadata.name of a CRD file, without parsing megabytes of YAML in Python."""
    match = re.search(r"^  name: ['\"]?([a-z0-9.-]+)['\"]?\s*$", path.read_text(), re.M)
    if not match:
        return yaml.safe_load(path.read_text())["metadata"]["name"]
    return match.group(1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reserve_port() -> tuple[int, socket.socket]:
    """A free port and a socket bound to it on every interface (not listening), held until the component that
    is to serve on it starts: while it is held, no other process (another cluster on the machine, an outgoing
    connection's ephemeral port) can be given it, so parallel clusters cannot collide."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("0.0.0.0", 0))
    return sock.getsockname()[1], sock


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.25,
              on_fail: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        time.sleep(interval)
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}"
                       + (f" (last error: {last})" if last else "") + on_fail())


def go_module_dir(wrapper: Path, module: str) -> Path:
    """Directory of `module` in the module cache, as the wrapper module in `wrapper` pins it, downloaded first
    when the cache lacks it (a binary built earlier does not mean its module is still in this module cache)."""
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    out = subprocess.run(["go", "mod", "download", "-json", module], cwd=wrapper, env=env,
                         capture_output=True, text=True)
    try:
        directory = json.loads(out.stdout).get("Dir", "") if out.stdout.strip() else ""
    except json.JSONDecodeError:
        directory = ""
    if out.returncode != 0 or not directory or not Path(directory).is_dir():
        raise ClusterError(f"go mod download {module} in {wrapper} failed: {(out.stderr or out.stdout).strip()}")
    return Path(directory)


def kserve_wrapper(version: str) -> Path:
    """engine/kserve-v0.NN folder whose component.sh pins `version`."""
    for comp in sorted(ENGINE_DIR.glob("kserve-*/component.sh")):
        for line in comp.read_text().splitlines():
            if line.strip() == f"VERSION={version}":
                return comp.parent
    raise ClusterError(f"no engine/kserve-*/component.sh pins KServe {version}")


def build_engine(components: tuple[str, ...] = ("kubernetes", "etcd", "kwok", "kserve-v0.20", "kserve-v0.15",
                                                "kserve-v0.13")) -> Path:
    """Run engine/build.sh (cached after the first time) and return its bin dir (its last line)."""
    out = subprocess.run([str(ENGINE_DIR / "build.sh"), *components], stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise ClusterError(f"engine/build.sh {' '.join(components)} failed (exit {out.returncode})")
    return Path(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------- PKI

class _Pki:
    """One CA signs everything: API server serving cert, admin client cert, webhook serving cert."""

    def __init__(self, directory: Path):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.x509.oid import NameOID

        self.x509, self.hashes, self.ser, self.ec, self.NameOID = x509, hashes, serialization, ec, NameOID
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kserve-intel-local-ca")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_pem = self.ca_cert.public_bytes(serialization.Encoding.PEM)
        (directory / "ca.crt").write_bytes(self.ca_pem)
        # Service-account token signing key (RSA: what every client expects of RS256 tokens).
        sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (directory / "sa.key").write_bytes(sa.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.TraditionalOpenSSL,
                                                            serialization.NoEncryption()))
        (directory / "sa.pub").write_bytes(sa.public_key().public_bytes(serialization.Encoding.PEM,
                                                                       serialization.PublicFormat.SubjectPublicKeyInfo))

    def issue(self, stem: str, common_name: str, *, organizations: tuple[str, ...] = (),
              dns: tuple[str, ...] = (), ips: tuple[str, ...] = (), client: bool = False,
              directory: Path | None = None) -> tuple[Path, Path]:
        x509, NameOID = self.x509, self.NameOID
        key = self.ec.generate_private_key(self.ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(self.ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if client
                                                  else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.ca_key, self.hashes.SHA256())
        out = directory or self.dir
        out.mkdir(parents=True, exist_ok=True)
        crt, keyfile = out / f"{stem}.crt", out / f"{stem}.key"
        crt.write_bytes(cert.public_bytes(self.ser.Encoding.PEM))
        keyfile.write_bytes(key.private_bytes(self.ser.Encoding.PEM, self.ser.PrivateFormat.TraditionalOpenSSL,
                                              self.ser.NoEncryption()))
        return crt, keyfile


# ------------------------------------------------------------------------------------- API access

class _Api:
    """Minimal HTTPS client for the API server (the admin identity), stdlib only."""

    def __init__(self, port: int, ca: Path, cert: Path, key: Path):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=str(ca))
        self.ctx.load_cert_chain(str(cert), str(key))

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
                timeout: float = 30) -> tuple[int, Any]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)
        try:
            data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            conn.request(method, path, body=data, headers={"Content-Type": content_type, "Accept": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return resp.status, parsed

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, obj = self.request(method, path, body, **kw)
        if status >= 300:
            raise ClusterError(f"{method} {path}: HTTP {status}: {obj}")
        return obj

    def create(self, path: str, body: Any) -> None:
        """POST, treating AlreadyExists as success (start() after a restart of the cluster)."""
        status, obj = self.request("POST", path, body)
        if status >= 300 and status != 409:
            raise ClusterError(f"POST {path}: HTTP {status}: {obj}")


# ------------------------------------------------------------------------------------- processes

@dataclass
class _Proc:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen | None = None


class LocalCluster:
    """A local control plane plus KServe. `start()` returns the kubeconfig path."""

    def __init__(self, bin_dir: str | os.PathLike, kserve_version: str = "v0.20.0",
                 workdir: str | os.PathLike | None = None, ready_delay_seconds: float = 0,
                 nodes_per_platform: int = 3, install_kserve: bool = True):
        self.bin_dir = Path(bin_dir)
        self.kserve_version = kserve_version if kserve_version.startswith("v") else "v" + kserve_version
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else None
        self.ready_delay_seconds = ready_delay_seconds
        # InferenceServices whose pods stay unready (configure_pods): a model that never loads.
        self.never_ready_isvcs: frozenset[str] = frozenset()
        self.nodes_per_platform = nodes_per_platform
        self.install_kserve = install_kserve
        self.kubeconfig: Path | None = None
        self.ports: dict[str, int] = {}
        self._reserved: dict[str, socket.socket] = {}
        self._procs: dict[str, _Proc] = {}
        self._api: _Api | None = None
        self._lock = threading.Lock()
        self.start_seconds: float | None = None

    # -- public ---------------------------------------------------------------------------------

    def __enter__(self) -> "LocalCluster":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def api(self) -> _Api:
        assert self._api is not None, "cluster not started"
        return self._api

    def log_path(self, name: str) -> Path:
        assert self.workdir is not None
        return self.workdir / "logs" / f"{name}.log"

    def node_names(self, platform: str) -> list[str]:
        return [f"{platform}-{i}" for i in range(self.nodes_per_platform)]

    def start(self) -> Path:
        began = time.monotonic()
        try:
            self._prepare()
            self.start_component("etcd")
            self.start_component("kube-apiserver")
            self.start_component("kube-controller-manager")
            self.start_component("kube-scheduler")
            self._bootstrap()
            self._start_kwok()
            if self.install_kserve:
                self._install_kserve()
                self.start_component("kserve")
            self._wait_nodes_ready()
        except BaseException:
            self.stop(keep_workdir=True)
            raise
        self.start_seconds = time.monotonic() - began
        assert self.kubeconfig is not None
        return self.kubeconfig

    def stop(self, keep_workdir: bool = False) -> None:
        for name in reversed(COMPONENTS):
            if name in self._procs:
                self.stop_component(name)
        for held in self._reserved.values():
            held.close()
        self._reserved.clear()
        if self._own_workdir and self.workdir and not keep_workdir and not os.environ.get("KSERVE_INTEL_KEEP_CLUSTER"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def stop_component(self, name: str, timeout: float = 20) -> None:
        """Stop one component (its whole process group): SIGTERM, then SIGKILL."""
        proc = self._procs.get(name)
        if proc is None or proc.popen is None or proc.popen.poll() is not None:
            return
        pgid = proc.popen.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            proc.popen.wait(10)
        except ProcessLookupError:
            pass
        # Anything left in the group (children of the component).
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.log.close() if hasattr(proc, "log") else None  # type: ignore[attr-defined]

    def configure_pods(self, ready_delay_seconds: float | None = None,
                       never_ready_isvcs: frozenset[str] | set[str] | None = None) -> None:
        """Change how fake pods behave from now on (kwok restarts with new stages; running pods keep their
        state, pods still Pending are looked at again): the readiness delay, and the InferenceServices
        whose pods never turn Ready (a model that cannot start)."""
        if ready_delay_seconds is not None:
            self.ready_delay_seconds = ready_delay_seconds
        if never_ready_isvcs is not None:
            self.never_ready_isvcs = frozenset(never_ready_isvcs)
        self.stop_component("kwok")
        self._procs.pop("kwok", None)  # redefine: the stages file is written from the new settings
        self._start_kwok()

    def remove_nodes(self, platform: str) -> list[str]:
        """Delete the platform's fake nodes (their pods are evicted by the garbage collector); add_nodes restores."""
        names = self.node_names(platform)
        for node in names:
            self.api.request("DELETE", f"/api/v1/nodes/{node}")
        return names

    def add_nodes(self, platform: str | None = None) -> None:
        """(Re)create the fake nodes of one platform (all when None) and wait until kwok reports them Ready."""
        for kind in NODE_KINDS:
            if platform in (None, kind.platform):
                self._create_nodes(kind)
        self._wait_nodes_ready()

    def _start_kwok(self, attempts: int = 3) -> None:
        """kwok v0.8.0 sometimes panics while registering its CEL types at start (easycel getTrait, seen once
        in a clean-clone CI run); a restart gets past it. Any other failure still fails after the attempts."""
        for attempt in range(1, attempts + 1):
            try:
                self.start_component("kwok")
                return
            except ClusterError:
                proc = self._procs.get("kwok")
                if attempt == attempts or proc is None or proc.popen is None or proc.popen.poll() is None:
                    raise

    def start_component(self, name: str) -> None:
        """(Re)start one component with the arguments and ports chosen at start, then wait until it serves."""
        if name not in COMPONENTS:
            raise ValueError(f"unknown component {name!r}; one of {COMPONENTS}")
        proc = self._procs.get(name) or self._define(name)
        self._procs[name] = proc
        if proc.popen is not None and proc.popen.poll() is None:
            return
        for port in COMPONENT_PORTS[name]:  # hand the held ports over to the component
            held = self._reserved.pop(port, None)
            if held is not None:
                held.close()
        log = open(self.log_path(name), "ab")
        log.write(f"\n===== start {time.strftime('%H:%M:%S')}: {' '.join(proc.argv)}\n".encode())
        log.flush()
        proc.popen = subprocess.Popen(proc.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env={**os.environ, **proc.env}, cwd=self.workdir, start_new_session=True)
        proc.log = log  # type: ignore[attr-defined]
        self._wait_serving(name)

    def running(self, name: str) -> bool:
        proc = self._procs.get(name)
        return bool(proc and proc.popen and proc.popen.poll() is None)

    def failure_report(self) -> str:
        lines = ["\ncomponent logs:"]
        for name in COMPONENTS:
            path = self.log_path(name) if self.workdir else None
            if path and path.exists():
                state = "running" if self.running(name) else "not running"
                lines.append(f"  {name} ({state}): {path}")
        return "\n".join(lines)

    # -- internals -------------------------------------------------------------------------------

    def _bin(self, name: str) -> str:
        path = self.bin_dir / name
        if not os.access(path, os.X_OK):
            raise ClusterError(f"missing binary {path}: run engine/build.sh")
        return str(path)

    def _prepare(self) -> None:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="kserve-intel-cluster-"))
        for sub in ("logs", "pki", "etcd", "kserve-tmp"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        for comp in ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                     "kwok", "kserve-webhook", "kserve-probe"):
            if comp not in self.ports:
                self.ports[comp], self._reserved[comp] = reserve_port()
        pki_dir = self.workdir / "pki"
        if not (pki_dir / "admin.crt").exists():
            pki = _Pki(pki_dir)
            pki.issue("apiserver", "kube-apiserver", ips=("127.0.0.1", "10.96.0.1"),
                      dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                           "kubernetes.default.svc.cluster.local"))
            pki.issue("admin", "kserve-intel-admin", organizations=("system:masters",), client=True)
            # controller-runtime's default cert dir under $TMPDIR.
            pki.issue("tls", "kserve-webhook", ips=("127.0.0.1",), dns=("localhost",),
                      directory=self.workdir / "kserve-tmp" / "k8s-webhook-server" / "serving-certs")
        self._api = _Api(self.ports["kube-apiserver"], pki_dir / "ca.crt", pki_dir / "admin.crt", pki_dir / "admin.key")
        self.kubeconfig = self.workdir / "kubeconfig"
        b64 = lambda p: base64.b64encode((pki_dir / p).read_bytes()).decode()  # noqa: E731
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "kserve-intel-local",
            "clusters": [{"name": "kserve-intel-local", "cluster": {
                "server": f"https://127.0.0.1:{self.ports['kube-apiserver']}",
                "certificate-authority-data": b64("ca.crt")}}],
            "users": [{"name": "admin", "user": {"client-certificate-data": b64("admin.crt"),
                                                 "client-key-data": b64("admin.key")}}],
            "contexts": [{"name": "kserve-intel-local", "context": {"cluster": "kserve-intel-local", "user": "admin"}}],
        }))
        os.chmod(self.kubeconfig, 0o600)

    def _define(self, name: str) -> _Proc:
        wd, p, pki, kc = self.workdir, self.ports, self.workdir / "pki", str(self.kubeconfig)
        assert wd is not None
        if name == "etcd":
            peer = f"http://127.0.0.1:{p['etcd-peer']}"
            client = f"http://127.0.0.1:{p['etcd']}"
            return _Proc(name, [self._bin("etcd"), "--name=local", f"--data-dir={wd / 'etcd'}",
                                f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
                                f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                                f"--initial-cluster=local={peer}", "--unsafe-no-fsync=true",
                                "--quota-backend-bytes=8589934592", "--log-level=warn"])
        if name == "kube-apiserver":
            return _Proc(name, [
                self._bin("kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{p['etcd']}",
                "--bind-address=127.0.0.1", f"--secure-port={p['kube-apiserver']}",
                "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
                f"--cert-dir={pki}", f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}", f"--client-ca-file={pki / 'ca.crt'}",
                "--authorization-mode=RBAC", "--allow-privileged=true",
                # It taints every new node not-ready until the node lifecycle controller (not run:
                # fake nodes send no heartbeats) lifts it.
                "--disable-admission-plugins=TaintNodesByCondition",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--profiling=false", "--v=1",
            ])
        # No authentication/authorization kubeconfig: their /healthz is always allowed, nothing else is used.
        common = [f"--kubeconfig={kc}", "--bind-address=127.0.0.1", "--leader-elect=false"]
        if name == "kube-controller-manager":
            return _Proc(name, [self._bin("kube-controller-manager"), *common,
                                f"--secure-port={p['kube-controller-manager']}",
                                "--controllers=" + ",".join(CONTROLLERS),
                                f"--service-account-private-key-file={pki / 'sa.key'}",
                                f"--root-ca-file={pki / 'ca.crt'}", "--use-service-account-credentials=false",
                                "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10", "--v=1"])
        if name == "kube-scheduler":
            return _Proc(name, [self._bin("kube-scheduler"), *common, f"--secure-port={p['kube-scheduler']}", "--v=2"])
        if name == "kwok":
            stages = wd / "kwok-stages.yaml"
            stages.write_text(yaml.safe_dump_all(self._kwok_stages(), sort_keys=False))
            return _Proc(name, [self._bin("kwok"), f"--kubeconfig={kc}", f"--config={stages}",
                                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                                "--cidr=10.244.0.1/16", "--node-ip=10.1.0.1",
                                f"--server-address=127.0.0.1:{p['kwok']}"])
        if name == "kserve":
            return _Proc(name, [self._bin(f"kserve-manager-{self.kserve_version}"), f"--kubeconfig={kc}",
                                "--metrics-addr=0", f"--health-probe-addr=127.0.0.1:{p['kserve-probe']}",
                                f"--webhook-port={p['kserve-webhook']}", "--leader-elect=false"],
                         env={"POD_NAMESPACE": "kserve", "TMPDIR": str(wd / "kserve-tmp"), "KUBECONFIG": kc})
        raise ValueError(name)

    def _fail(self, name: str) -> str:
        path = self.log_path(name)
        tail = ""
        if path.exists():
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-25:])
        return f"\n--- last lines of {path} ---\n{tail}" + self.failure_report()

    def _alive(self, name: str) -> None:
        if not self.running(name):
            raise ClusterError(f"{name} exited (code {self._procs[name].popen.returncode})" + self._fail(name))

    def _wait_serving(self, name: str) -> None:
        fail = lambda: self._fail(name)  # noqa: E731

        def tls_health(port: int, path: str) -> Callable[[], bool]:
            def check() -> bool:
                self._alive(name)
                ctx = ssl._create_unverified_context()  # components' self-signed serving certs
                conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
                try:
                    conn.request("GET", path)
                    return conn.getresponse().status == 200
                finally:
                    conn.close()
            return check

        if name == "etcd":
            def etcd_ok() -> bool:
                self._alive(name)
                conn = http.client.HTTPConnection("127.0.0.1", self.ports["etcd"], timeout=5)
                try:
                    conn.request("GET", "/health")
                    return b'"health":"true"' in conn.getresponse().read()
                finally:
                    conn.close()
            wait_for("etcd /health", etcd_ok, 60, on_fail=fail)
        elif name == "kube-apiserver":
            def readyz() -> bool:
                self._alive(name)
                return self.api.request("GET", "/readyz", timeout=5)[0] == 200
            wait_for("kube-apiserver /readyz", readyz, 120, on_fail=fail)
        elif name == "kube-controller-manager":
            wait_for("kube-controller-manager /healthz", tls_health(self.ports[name], "/healthz"), 60, on_fail=fail)
        elif name == "kube-scheduler":
            wait_for("kube-scheduler /healthz", tls_health(self.ports[name], "/healthz"), 60, on_fail=fail)
        elif name == "kwok":
            def kwok_ok() -> bool:
                self._alive(name)
                conn = http.client.HTTPConnection("127.0.0.1", self.ports["kwok"], timeout=5)
                try:
                    conn.request("GET", "/healthz")
                    return conn.getresponse().status == 200
                finally:
                    conn.close()
            wait_for("kwok /healthz", kwok_ok, 60, on_fail=fail)
        elif name == "kserve":
            def probe() -> bool:
                self._alive(name)
                conn = http.client.HTTPConnection("127.0.0.1", self.ports["kserve-probe"], timeout=5)
                try:
                    conn.request("GET", "/readyz")
                    return conn.getresponse().status == 200
                finally:
                    conn.close()
            wait_for("KServe manager /readyz", probe, 120, on_fail=fail)
            wait_for("KServe webhooks to answer the API server", self._webhooks_answer, 60, on_fail=fail)

    # -- objects ---------------------------------------------------------------------------------

    def _kubectl_apply(self, paths: list[Path]) -> None:
        argv = [self._bin("kubectl"), f"--kubeconfig={self.kubeconfig}", "apply", "--server-side",
                "--force-conflicts", "--field-manager=kserve-intel-localcluster"]
        for path in paths:
            argv += ["-f", str(path)]
        out = subprocess.run(argv, capture_output=True, text=True)
        if out.returncode != 0:
            raise ClusterError(f"kubectl apply failed: {out.stderr.strip()}")

    def _create_nodes(self, kind: NodeKind) -> None:
        api = self.api
        for node in self.node_names(kind.platform):
            labels = {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                      "type": "kwok", PLATFORM_LABEL: kind.platform, **kind.labels}
            api.create("/api/v1/nodes", {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node, "labels": labels, "annotations": {KWOK_NODE_ANNOTATION: "fake"}},
                "spec": {"taints": [dict(t) for t in kind.taints]},
            })
            # Capacity lives in status: set it before kwok initialises the node (which keeps it).
            api.ok("PATCH", f"/api/v1/nodes/{node}/status",
                   {"status": {"capacity": kind.capacity, "allocatable": kind.capacity}},
                   content_type="application/merge-patch+json")

    def _bootstrap(self) -> None:
        api = self.api
        for kind in NODE_KINDS:
            self._create_nodes(kind)
        api.create("/apis/node.k8s.io/v1/runtimeclasses", {
            "apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "habana"}, "handler": "habana"})
        # Default StorageClass: kwok's own (module file), served by the volume stages below.
        for doc in self._kwok_module_docs("volume/fast/storage-class.yaml"):
            api.create("/apis/storage.k8s.io/v1/storageclasses", doc)
        crds = [p for d in OPTIONAL_CRD_DIRS for p in sorted((CRD_DIR / d).glob("*.yaml"))]
        if self.install_kserve:
            crds += self._kserve_crds()
        self._kubectl_apply(crds)
        names = [_crd_name(p) for p in crds]

        def established() -> bool:
            for crd in names:
                obj = api.ok("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}")
                conds = {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}
                if conds.get("Established") != "True":
                    return False
            return True
        wait_for("CRDs established", established, 60)
        wait_for("default ServiceAccount in namespace default",
                 lambda: api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200, 60,
                 on_fail=lambda: self._fail("kube-controller-manager"))

    def _kserve_crds(self) -> list[Path]:
        """The vendored CRDs (schemas/crds/kserve/<tag>/) when they are of exactly this release;
        the ones not vendored (LocalModelNodeGroup: validation treats it as unvendored) are read
        from the module. LLMInferenceService CRDs (2 MB each, a separate controller) are left out."""
        vendored = CRD_DIR / "kserve" / self.kserve_version
        files = sorted(vendored.glob("*.yaml")) if vendored.is_dir() else []
        have = {p.name for p in files}
        for path in sorted((self._kserve_dir() / "config" / "crd" / "full").rglob("serving.kserve.io_*.yaml")):
            if path.name not in have and "llminferenceservice" not in path.name:
                files.append(path)
        return files

    def _kwok_dir(self) -> Path:
        if not hasattr(self, "_kwok_module"):
            self._kwok_module = go_module_dir(ENGINE_DIR / "kwok", "sigs.k8s.io/kwok")
        return self._kwok_module

    def _kwok_module_docs(self, rel: str) -> list[dict]:
        path = self._kwok_dir() / "kustomize" / "stage" / rel
        return [d for d in yaml.safe_load_all(path.read_text()) if d]

    def _kwok_stages(self) -> list[dict]:
        """kwok's 'fast' stages read from the module, with two changes: pod readiness can wait
        (ready_delay_seconds, or the pod annotation pod-ready.stage.kwok.x-k8s.io/delay, e.g. "20s")
        and a pod labelled kserve-intel.local/never-ready stays Pending, never Ready; and the volume
        stages provision a PersistentVolume for a claim of any storage class."""
        stages: list[dict] = []
        stages += self._kwok_module_docs("node/fast/node-initialize.yaml")
        for rel in ("pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml"):
            for doc in self._kwok_module_docs(rel):
                if doc["metadata"]["name"] == "pod-ready":
                    doc["spec"]["selector"]["matchExpressions"].append(
                        {"key": f'.metadata.labels["{NEVER_READY_LABEL}"]', "operator": "DoesNotExist"})
                    if self.never_ready_isvcs:
                        doc["spec"]["selector"]["matchExpressions"].append(
                            {"key": f'.metadata.labels["{ISVC_LABEL}"]', "operator": "NotIn",
                             "values": sorted(self.never_ready_isvcs)})
                    doc["spec"]["delay"] = {
                        "durationMilliseconds": int(self.ready_delay_seconds * 1000),
                        "durationFrom": {"expressionFrom": f'.metadata.annotations["{READY_DELAY_ANNOTATION}"]'},
                    }
                stages.append(doc)
        for rel in ("pvc-provision.yaml", "pv-bind.yaml", "pv-delete.yaml", "pvc-delete.yaml"):
            for doc in self._kwok_module_docs(f"volume/fast/{rel}"):
                doc = copy.deepcopy(doc)
                exprs = doc["spec"]["selector"]["matchExpressions"]
                kind = doc["spec"]["resourceRef"]["kind"]
                for expr in exprs:
                    if expr.get("cel", {}).get("expression", "").strip() == "self.spec.storageClassName == 'kwok-volume'":
                        # Claims: any class. Volumes: only those these stages provisioned.
                        expr["cel"]["expression"] = (
                            "true" if kind == "PersistentVolumeClaim" else
                            "has(self.metadata.annotations) && "
                            "'pv.kubernetes.io/provisioned-by' in self.metadata.annotations && "
                            "self.metadata.annotations['pv.kubernetes.io/provisioned-by'] == 'kwok.x-k8s.io/volume'")
                exprs[:] = [e for e in exprs if e.get("cel", {}).get("expression") != "true"]
                stages.append(doc)
        return stages

    def _wait_nodes_ready(self) -> None:
        expected = {n for k in NODE_KINDS for n in self.node_names(k.platform)}

        def ready() -> bool:
            self._alive("kwok")
            items = self.api.ok("GET", "/api/v1/nodes")["items"]
            ok = {n["metadata"]["name"] for n in items
                  if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))}
            return expected <= ok
        wait_for("fake nodes Ready", ready, 60, on_fail=lambda: self._fail("kwok"))

    # -- KServe ----------------------------------------------------------------------------------

    def _kserve_dir(self) -> Path:
        if not hasattr(self, "_kserve_module"):
            self._kserve_module = go_module_dir(kserve_wrapper(self.kserve_version), "github.com/kserve/kserve")
        return self._kserve_module

    def _install_kserve(self) -> None:
        api = self.api
        # The label the real install puts on its namespace; the pod-mutating webhook skips such namespaces.
        api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": "kserve", "labels": {"control-plane": "kserve-controller-manager"}}})
        src = self._kserve_dir() / "config" / "configmap" / "inferenceservice.yaml"
        cms = [d for d in yaml.safe_load_all(src.read_text()) if d and d.get("kind") == "ConfigMap"]
        if len(cms) != 1:
            raise ClusterError(f"expected one ConfigMap in {src}")
        cm = cms[0]
        deploy = json.loads(cm["data"]["deploy"])
        # "RawDeployment" up to v0.15, "Standard" from v0.16 (the old name still accepted there).
        deploy["defaultDeploymentMode"] = release(self.kserve_version).raw_mode
        cm["data"]["deploy"] = json.dumps(deploy, indent=2)
        cm["metadata"] = {"name": "inferenceservice-config", "namespace": "kserve"}
        status, _ = api.request("POST", "/api/v1/namespaces/kserve/configmaps", cm)
        if status == 409:
            api.ok("PUT", "/api/v1/namespaces/kserve/configmaps/inferenceservice-config", cm)
        elif status >= 300:
            raise ClusterError(f"creating inferenceservice-config: HTTP {status}")
        self._register_webhooks()

    def _register_webhooks(self) -> None:
        """KServe's own webhook manifests of this release, pointed at the local manager by URL."""
        src = self._kserve_dir() / "config" / "webhook" / "manifests.yaml"
        ca = base64.b64encode((self.workdir / "pki" / "ca.crt").read_bytes()).decode()
        base = f"https://127.0.0.1:{self.ports['kserve-webhook']}"
        for doc in yaml.safe_load_all(src.read_text()):
            if not doc or doc.get("kind") not in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
                continue
            doc = copy.deepcopy(doc)
            doc["metadata"] = {"name": doc["metadata"]["name"]}
            for hook in doc["webhooks"]:
                path = hook["clientConfig"]["service"]["path"]
                hook["clientConfig"] = {"url": base + path, "caBundle": ca}
                hook["timeoutSeconds"] = 10
            plural = "mutatingwebhookconfigurations" if doc["kind"].startswith("Mutating") else "validatingwebhookconfigurations"
            coll = f"/apis/admissionregistration.k8s.io/v1/{plural}"
            status, _ = self.api.request("POST", coll, doc)
            if status == 409:
                current = self.api.ok("GET", f"{coll}/{doc['metadata']['name']}")
                doc["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                self.api.ok("PUT", f"{coll}/{doc['metadata']['name']}", doc)
            elif status >= 300:
                raise ClusterError(f"registering {doc['kind']} {doc['metadata']['name']}: HTTP {status}")

    def _webhooks_answer(self) -> bool:
        """A server-side dry run of an InferenceService create goes through both KServe webhooks."""
        self._alive("kserve")
        isvc = {
            "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "webhook-probe", "namespace": "kserve"},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "pvc://probe/model"}}},
        }
        status, obj = self.api.request(
            "POST", "/apis/serving.kserve.io/v1beta1/namespaces/kserve/inferenceservices?dryRun=All", isvc)
        if status in (200, 201):
            # Both webhooks fail closed (failurePolicy: Fail): success means both answered.
            return True
        message = obj.get("message", "") if isinstance(obj, dict) else str(obj)
        if "failed calling webhook" in message or "connection refused" in message:
            return False
        raise ClusterError(f"dry-run InferenceService rejected: HTTP {status}: {message}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.localcluster", description=__doc__.split("\n")[0],
                                     epilog=EMULATION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kserve", default="v0.20.0", help="KServe release (v0.20.0, v0.15.2 or v0.13.0)")
    parser.add_argument("--bin-dir", help="engine binaries (default: run engine/build.sh and use its last line)")
    parser.add_argument("--workdir", help="state and logs (default: a new temporary directory, removed at exit)")
    parser.add_argument("--ready-delay", type=float, default=0, help="seconds before a pod turns Ready")
    parser.add_argument("--nodes-per-platform", type=int, default=3)
    parser.add_argument("--no-kserve", action="store_true", help="control plane and fake nodes only")
    parser.add_argument("--ready-file", help="write {pid, kubeconfig, kserve, workdir} as JSON here once the cluster "
                                             "serves (removed at stop): how `make up` finds a cluster it started")
    args = parser.parse_args(argv)
    kserve = args.kserve if args.kserve.startswith("v") else "v" + args.kserve
    bin_dir = Path(args.bin_dir) if args.bin_dir else build_engine(
        ("kubernetes", "etcd", "kwok") + (() if args.no_kserve else (kserve_wrapper(kserve).name,)))
    cluster = LocalCluster(bin_dir, kserve, workdir=args.workdir, ready_delay_seconds=args.ready_delay,
                           nodes_per_platform=args.nodes_per_platform, install_kserve=not args.no_kserve)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        kubeconfig = cluster.start()
    except ClusterError as exc:
        print(f"cluster failed to start: {exc}", file=sys.stderr)
        return 1
    try:
        what = "without KServe" if args.no_kserve else f"with KServe {kserve}"
        print(f"local cluster {what} up in {cluster.start_seconds:.1f}s; logs in {cluster.workdir / 'logs'}")
        print(f"kubeconfig: {kubeconfig}")
        stack = "gaudi3" if kserve == "v0.20.0" else "xeon"
        print(f"KUBECONFIG={kubeconfig} make up STACK={stack}", flush=True)
        if args.ready_file:
            Path(args.ready_file).write_text(json.dumps({
                "pid": os.getpid(), "kubeconfig": str(kubeconfig), "kserve": None if args.no_kserve else kserve,
                "workdir": str(cluster.workdir), "started": time.time(), "start_seconds": cluster.start_seconds}))
        while not stop.wait(2):
            for name in COMPONENTS:
                if name in cluster._procs and not cluster.running(name):
                    print(f"{name} exited; see {cluster.log_path(name)}", file=sys.stderr)
                    stop.set()
    finally:
        if args.ready_file:
            Path(args.ready_file).unlink(missing_ok=True)
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
