"""Monitoring: config, PodMonitor, PrometheusRule, Grafana dashboard, program wiring.

Every object is validated strictly against the vendored Prometheus Operator and
Grafana Operator CRDs; every metric a query reads is checked against the list
taken from vLLM's source (tests/data/vllm_metrics.yaml).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
import yaml

from kserve_intel.builders import dashboard as dashboards
from kserve_intel import naming
from kserve_intel.builders import promql
from kserve_intel.builders import monitoring as build
from kserve_intel.builders.model import inference_service
from kserve_intel.builders.runtime import cluster_serving_runtime
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from kserve_intel.catalog.serving_stacks import STACKS
from offline.validation import validate_object
from tests.conftest import raw_config, run_stack

METRICS = yaml.safe_load((Path(__file__).parent / "data" / "vllm_metrics.yaml").read_text())
PLATFORMS = ("xeon", "gaudi", "gaudi3")
VERSIONS = ("v0.13.0", "v0.20.0")
PODMONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
GRAFANA = "kubernetes:grafana.integreatly.org/v1beta1:GrafanaDashboard"
NAMESPACE = "kubernetes:core/v1:Namespace"
ON = {"enabled": True}


def make_plan(platform="gaudi", monitoring=None, stack="prod", **extra):
    values = {"platform": platform, "models": ["Qwen/Qwen2.5-7B-Instruct"], "monitoring": monitoring or ON, **extra}
    return build_plan(load_config(raw_config(**values)), stack=stack)


def config_error(**values) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(raw_config(platform="xeon", **values))
    return str(caught.value)


# --- config -------------------------------------------------------------------------


def test_monitoring_defaults():
    monitoring = load_config(raw_config(platform="xeon")).monitoring
    assert monitoring.enabled is False
    assert monitoring.prometheus_selector == {"release": "observability"}
    assert (monitoring.interval, monitoring.scrape_timeout) == ("30s", "10s")
    alerts = monitoring.alerts
    assert (alerts.enabled, alerts.not_ready_for, alerts.for_, alerts.waiting_requests, alerts.ttft_p95_seconds,
            alerts.kv_cache_usage, alerts.restarts_per_hour) == (True, "15m", "10m", 10, 5.0, 0.9, 3)
    board = monitoring.grafana_dashboard
    assert (board.enabled, board.mode, board.namespace) == (True, "configmap", None)
    assert board.sidecar_label == {"grafana_dashboard": "1"}
    assert board.instance_selector == {"dashboards": "grafana"}


def test_storage_is_retained_by_default():
    assert load_config(raw_config(platform="xeon")).storage.retain_on_destroy is True


BAD = [
    ({"monitoring": {"interval": "1m"}}, 'monitoring.interval = "1m": has no effect unless monitoring.enabled is true'),
    ({"monitoring": {"alerts": {"enabled": False}}}, "monitoring.alerts = {\"enabled\": false}: has no effect unless monitoring.enabled"),
    ({"monitoring": {"enabled": True, "interval": "30 s"}}, "monitoring.interval = \"30 s\": must be a Prometheus duration"),
    ({"monitoring": {"enabled": True, "interval": "10s", "scrapeTimeout": "15s"}},
     'monitoring.scrapeTimeout = "15s": must not exceed monitoring.interval (10s)'),
    ({"monitoring": {"enabled": True, "prometheusSelector": {}}}, "monitoring.prometheusSelector = {}: must name at least one label"),
    ({"monitoring": {"enabled": True, "prometheusSelector": {"release": "bad value!"}}}, "is not a valid label value"),
    ({"monitoring": {"enabled": True, "alerts": {"kvCacheUsage": 1.5}}}, "monitoring.alerts.kvCacheUsage = 1.5: Input should be less than or equal to 1"),
    ({"monitoring": {"enabled": True, "alerts": {"ttftP95Seconds": 0}}}, "monitoring.alerts.ttftP95Seconds = 0: Input should be greater than 0"),
    ({"monitoring": {"enabled": True, "alerts": {"for": "ten minutes"}}}, 'monitoring.alerts.for = "ten minutes": must be a Prometheus duration'),
    ({"monitoring": {"enabled": True, "alerts": {"enabled": False, "waitingRequests": 5}}},
     "monitoring.alerts.waitingRequests = 5: has no effect unless monitoring.alerts.enabled is true"),
    ({"monitoring": {"enabled": True, "alerts": {"restarts": 2}}}, "monitoring.alerts.restarts = 2: unknown key; allowed keys: enabled, notReadyFor, for,"),
    ({"monitoring": {"enabled": True, "grafanaDashboard": {"mode": "sidecar"}}}, "monitoring.grafanaDashboard.mode = \"sidecar\": Input should be 'configmap' or 'operator'"),
    ({"monitoring": {"enabled": True, "grafanaDashboard": {"instanceSelector": {"a": "b"}}}},
     "monitoring.grafanaDashboard.instanceSelector = {\"a\": \"b\"}: has no effect when monitoring.grafanaDashboard.mode is 'configmap'"),
    ({"monitoring": {"enabled": True, "grafanaDashboard": {"mode": "operator", "sidecarLabel": {"a": "b"}}}},
     "monitoring.grafanaDashboard.sidecarLabel = {\"a\": \"b\"}: has no effect when monitoring.grafanaDashboard.mode is 'operator'"),
    ({"monitoring": {"enabled": True, "grafanaDashboard": {"enabled": False, "namespace": "observability"}}},
     "monitoring.grafanaDashboard.namespace = \"observability\": has no effect when monitoring.grafanaDashboard.enabled is false"),
    ({"monitoring": {"enabled": True, "grafanaDashboard": {"mode": "operator", "instanceSelector": {}}}},
     "monitoring.grafanaDashboard.instanceSelector = {}: must name at least one label"),
    ({"monitoring": {"enabled": True, "grafanaDashboard": {"namespace": "Observability"}}},
     "monitoring.grafanaDashboard.namespace = \"Observability\": must be a DNS-1123 label"),
    ({"storage": {"enabled": False, "retainOnDestroy": True}},
     "storage.retainOnDestroy = true: has no effect when storage.enabled is false"),
]


@pytest.mark.parametrize("values,fragment", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_monitoring_config_names_the_key_value_and_rule(values, fragment):
    assert fragment in config_error(**values)


# --- PodMonitor -------------------------------------------------------------------


def test_pod_monitor_scrapes_every_vllm_pod_of_the_namespace_on_the_api_port():
    plan = make_plan(monitoring={"enabled": True, "interval": "15s", "scrapeTimeout": "5s"})
    monitor = build.pod_monitor(plan)
    assert monitor["metadata"]["name"] == "kserve-intel-intel-inference-vllm"
    assert monitor["metadata"]["namespace"] == "intel-inference"
    assert monitor["metadata"]["labels"]["release"] == "observability"
    assert monitor["metadata"]["labels"]["kserve-intel/stack"] == "prod"
    assert monitor["spec"]["selector"] == {"matchLabels": {
        "app.kubernetes.io/name": "vllm", "app.kubernetes.io/component": "inference-server",
        "app.kubernetes.io/part-of": "kserve-intel"}}
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["intel-inference"]}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"], endpoint["interval"], endpoint["scrapeTimeout"]) == ("http1", "/metrics", "15s", "5s")
    assert {r["targetLabel"]: r["sourceLabels"] for r in endpoint["relabelings"]} == {
        "inferenceservice": ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
        "stack": ["__meta_kubernetes_pod_label_kserve_intel_stack"],
    }


@pytest.mark.parametrize("platform,version", list(itertools.product(PLATFORMS, VERSIONS)))
def test_pod_monitor_selects_the_pods_kserve_creates(platform, version):
    # The predictor labels reach the pods; the runtime names its port http1 and
    # vLLM serves /metrics on it.
    plan = make_plan(platform, kserve={"version": version})
    selector = build.pod_monitor(plan)["spec"]["selector"]["matchLabels"]
    for model in plan.models:
        pod_labels = inference_service(plan, model, with_token=False)["spec"]["predictor"]["labels"]
        assert selector.items() <= pod_labels.items()
        assert pod_labels[naming.STACK_LABEL] == "prod"
        assert pod_labels["app.kubernetes.io/instance"] == model.name
    (container,) = cluster_serving_runtime(plan)["spec"]["containers"]
    assert {"name": build.METRICS_PORT_NAME, "containerPort": 8080, "protocol": "TCP"} in container["ports"]
    assert container["args"][container["args"].index("--port") + 1] == "8080"


def test_custom_prometheus_selector_labels_monitor_and_rule():
    plan = make_plan(monitoring={"enabled": True, "prometheusSelector": {"prometheus": "main", "team": "ml"}})
    for obj in (build.pod_monitor(plan), build.prometheus_rule(plan)):
        labels = obj["metadata"]["labels"]
        assert labels["prometheus"] == "main" and labels["team"] == "ml"
        assert "release" not in labels


# --- PrometheusRule ------------------------------------------------------------------


def _rules(plan):
    (group,) = build.prometheus_rule(plan)["spec"]["groups"]
    return {rule["alert"]: rule for rule in group["rules"]}


def test_alerts_users_act_on_with_configured_thresholds():
    plan = make_plan(monitoring={"enabled": True, "alerts": {
        "notReadyFor": "30m", "for": "5m", "waitingRequests": 25, "ttftP95Seconds": 2.5,
        "kvCacheUsage": 0.85, "restartsPerHour": 4}})
    rules = _rules(plan)
    assert set(rules) == {"KServeIntelModelNotReady", "KServeIntelRequestsQueueing", "KServeIntelTimeToFirstTokenHigh",
                          "KServeIntelKVCacheNearlyFull", "KServeIntelPodRestarting"}
    not_ready = rules["KServeIntelModelNotReady"]
    assert (not_ready["for"], not_ready["labels"]["severity"]) == ("30m", "critical")
    deployments = '{namespace="intel-inference",deployment=~".+-predictor(-[0-9]+-deployment)?"}'
    assert not_ready["expr"] == (
        f"label_replace((max by (namespace, deployment) (kube_deployment_spec_replicas{deployments}) >= 1) "
        f"unless (max by (namespace, deployment) (kube_deployment_status_replicas_available{deployments}) >= 1), "
        '"inferenceservice", "$1", "deployment", "(.+)-predictor(-[0-9]+-deployment)?")')
    queue = rules["KServeIntelRequestsQueueing"]
    assert queue["expr"] == 'sum by (namespace, model_name) (vllm:num_requests_waiting{namespace="intel-inference"}) > 25'
    assert queue["for"] == "5m"
    ttft = rules["KServeIntelTimeToFirstTokenHigh"]["expr"]
    assert ttft.startswith("histogram_quantile(0.95, sum by (le, namespace, model_name) "
                           '(rate(vllm:time_to_first_token_seconds_bucket{namespace="intel-inference"}[5m])))')
    assert ttft.endswith(" > 2.5")
    kv = rules["KServeIntelKVCacheNearlyFull"]["expr"]
    assert "vllm:kv_cache_usage_perc" in kv and "vllm:gpu_cache_usage_perc" in kv and kv.endswith(" > 0.85")
    restarts = rules["KServeIntelPodRestarting"]
    assert restarts["expr"] == ('sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total'
                                '{namespace="intel-inference",container="kserve-container",pod=~".+-predictor-.+"}[1h])) >= 4')
    assert "for" not in restarts
    for rule in rules.values():
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


@pytest.mark.parametrize("deployment,owner", [
    ("qwen2-5-7b-instruct-predictor", "qwen2-5-7b-instruct"),                   # RawDeployment / Standard
    ("qwen2-5-7b-instruct-predictor-00002-deployment", "qwen2-5-7b-instruct"),  # Serverless revision
    ("qwen2-5-7b-instruct-canary-predictor", "qwen2-5-7b-instruct-canary"),     # v0.20 Standard canary
])
def test_readiness_alert_finds_the_predictor_deployment_of_every_mode(deployment, owner):
    # Prometheus anchors label regexes; label_replace's groups are those of the whole match.
    assert re.fullmatch(promql.PREDICTOR_DEPLOYMENT, deployment)
    assert re.fullmatch(promql.PREDICTOR_DEPLOYMENT_OWNER, deployment).group(1) == owner
    assert re.fullmatch(promql.PREDICTOR_POD, f"{deployment}-5d9f7c6b8-x2x9q")
    assert not re.fullmatch(promql.PREDICTOR_DEPLOYMENT, "qwen2-5-7b-instruct-weights")


def test_alerts_are_scoped_to_the_stack_namespace():
    rules = _rules(make_plan(namespace="llm-prod"))
    for rule in rules.values():
        assert 'namespace="llm-prod"' in rule["expr"], rule["alert"]
        assert "intel-inference" not in rule["expr"]


# --- dashboard ---------------------------------------------------------------------


def test_configmap_dashboard_for_the_grafana_sidecar():
    plan = make_plan(monitoring={"enabled": True, "grafanaDashboard": {"namespace": "observability"}})
    board = build.grafana_dashboard(plan)
    assert board["kind"] == "ConfigMap"
    assert board["metadata"]["namespace"] == "observability"
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    ((key, text),) = board["data"].items()
    assert key == "kserve-intel-intel-inference-dashboard.json"
    parsed = json.loads(text)
    assert parsed["uid"] == "kserve-intel-intel-inference"
    assert parsed["templating"]["list"][1]["current"]["value"] == "intel-inference"


def test_operator_dashboard_for_the_grafana_operator():
    plan = make_plan(monitoring={"enabled": True, "grafanaDashboard": {"mode": "operator", "instanceSelector": {"dashboards": "main"}}})
    board = build.grafana_dashboard(plan)
    assert board["apiVersion"] == "grafana.integreatly.org/v1beta1" and board["kind"] == "GrafanaDashboard"
    assert board["spec"]["instanceSelector"] == {"matchLabels": {"dashboards": "main"}}
    assert board["spec"]["allowCrossNamespaceImport"] is True
    assert json.loads(board["spec"]["json"])["title"] == "vLLM models (intel-inference)"
    assert "grafana_dashboard" not in board["metadata"]["labels"]


def test_dashboard_uid_fits_grafana_and_is_stable():
    long = "a" * 50
    uid = build.dashboard_uid(long)
    assert len(uid) <= 40 and uid == build.dashboard_uid(long) and uid != build.dashboard_uid("a" * 49)


def test_dashboard_has_every_panel_the_operator_needs():
    board = dashboards.vllm_dashboard("intel-inference", "uid", "t")
    json.loads(json.dumps(board))  # plain JSON
    titles = [p["title"] for p in board["panels"]]
    assert titles == ["Request rate", "Queue", "Time to first token", "Time per output token", "Tokens per second",
                      "KV-cache usage", "Replicas", "End-to-end request latency"]
    ids = [p["id"] for p in board["panels"]]
    assert len(set(ids)) == len(ids)
    cells = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        cell = (grid["x"], grid["y"])
        assert cell not in cells
        cells.add(cell)
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs) and panel["targets"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
    latency = {p["title"]: [t["legendFormat"] for t in p["targets"]] for p in board["panels"]}
    for title in ("Time to first token", "Time per output token"):
        assert latency[title] == ["{{model_name}} p50", "{{model_name}} p95", "{{model_name}} p99"]
    names = [v["name"] for v in board["templating"]["list"]]
    assert names == ["datasource", "namespace", "model"]
    used = {m for p in board["panels"] for t in p["targets"] for m in re.findall(r"\$(\w+)", t["expr"])}
    assert used <= {"namespace", "model", "__rate_interval"}


# --- metric names against vLLM's source ---------------------------------------------


def _exposed(source: str) -> set[str]:
    names = set()
    for name, kind in METRICS["sources"][source]["metrics"].items():
        if kind == "counter":
            names.add(name if name.endswith("_total") else name + "_total")
        elif kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


def _queries(plan) -> list[tuple[str, str]]:
    queries = [(rule["alert"], rule["expr"]) for rule in _rules(plan).values()]
    board = json.loads(build.dashboard_json(plan))
    queries += [(f"panel {p['title']} {t['refId']}", t["expr"]) for p in board["panels"] for t in p["targets"]]
    queries += [(f"variable {v['name']}", v["query"]["query"]) for v in board["templating"]["list"] if v["type"] == "query"]
    return queries


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(vllm:[a-z0-9_:]+|kube_[a-z0-9_]+)", expr))


def test_every_metric_a_query_reads_is_exported_by_vllm_or_kube_state_metrics():
    every_vllm = set().union(*(_exposed(s) for s in METRICS["sources"]))
    ksm = set(METRICS["kube_state_metrics"])
    queries = _queries(make_plan())
    assert len(queries) > 20
    for where, expr in queries:
        names = _metric_names(expr)
        assert names, where
        unknown = names - every_vllm - ksm
        assert not unknown, f"{where}: {unknown}"


@pytest.mark.parametrize("source", METRICS["default_images"] + ["vllm-newer"])
def test_every_vllm_query_has_data_on_each_vllm_version(source):
    # A query that reads a renamed metric names both; on every version at least
    # one of them, and every metric of a query without alternatives, exists.
    exposed = _exposed(source)
    for where, expr in _queries(make_plan()):
        names = {n for n in _metric_names(expr) if n.startswith("vllm:")}
        if not names:
            continue
        if " or " in expr:
            assert names & exposed, f"{where} reads nothing {source} exports: {names}"
        else:
            assert names <= exposed, f"{where}: {names - exposed} missing in {source}"


def test_renamed_metrics_are_read_under_both_names():
    joined = " ".join(expr for _, expr in _queries(make_plan()))
    for old, new in (("vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"),
                     ("vllm:time_per_output_token_seconds", "vllm:inter_token_latency_seconds")):
        assert old in joined and new in joined
    # The Habana fork has only the old KV-cache name, the newest vLLM only the new one.
    assert "vllm:kv_cache_usage_perc" not in _exposed("habana-vllm-fork-v0")
    assert "vllm:gpu_cache_usage_perc" not in _exposed("vllm-newer")


# --- against the installed vLLM sources of every serving stack ----------------------

def _declared_in_vllm(version: str) -> set[str]:
    """Metric names declared in one vLLM version's metrics modules (the parser venv's wheel sources)."""
    site = next((Path(__file__).resolve().parent.parent / f".venv-vllm-{version}").glob("lib/python*/site-packages"),
                None)
    assert site is not None, f".venv-vllm-{version} missing: `make test` builds it (make vllm-parsers)"
    files = [*site.glob("vllm/v1/metrics/*.py"), *site.glob("vllm/engine/metrics*.py")]
    assert files, f"no metrics modules in {site}"
    names = set()
    for path in files:
        names |= set(re.findall(r"[\"'](vllm:[a-z0-9_]+)[\"']", path.read_text()))
    return {n[:-len("_total")] if n.endswith("_total") else n for n in names}


def _base_name(name: str) -> str:
    """A queried series name back to the declared metric (prometheus_client adds these suffixes)."""
    for suffix in ("_bucket", "_sum", "_count", "_total"):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


STACK_VERSIONS = sorted({s.parser_version for s in STACKS.values() if s.backend == "vllm"})


@pytest.fixture(scope="module")
def declared() -> dict[str, set[str]]:
    return {version: _declared_in_vllm(version) for version in STACK_VERSIONS}


def test_every_queried_vllm_metric_is_declared_by_some_stacks_vllm(declared):
    # Read from the wheels themselves (vllm/v1/metrics/loggers.py, vllm/engine/metrics.py), not the yaml.
    every = set().union(*declared.values())
    assert "vllm:num_requests_running" in every and "vllm:num_requests_queued" not in every
    for where, expr in _queries(make_plan()):
        unknown = {n for n in _metric_names(expr) if n.startswith("vllm:") and _base_name(n) not in every}
        assert not unknown, f"{where}: {unknown} is declared by none of vLLM {', '.join(STACK_VERSIONS)}"


@pytest.mark.parametrize("version", STACK_VERSIONS)
def test_every_vllm_query_has_data_on_each_stacks_vllm(declared, version):
    # A renamed metric is read as `a or b`: one of them must exist in each stack's version.
    for where, expr in _queries(make_plan()):
        names = {_base_name(n) for n in _metric_names(expr) if n.startswith("vllm:")}
        if not names:
            continue
        if " or " in expr:
            assert names & declared[version], f"{where} reads nothing vLLM {version} declares: {names}"
        else:
            assert names <= declared[version], f"{where}: {names - declared[version]} missing in vLLM {version}"


def test_the_name_check_would_catch_a_misspelt_metric():
    exposed = _exposed("vllm-v1") | _exposed("habana-vllm-fork-v0")
    assert "vllm:num_requests_queued" not in exposed
    assert "vllm:time_to_first_token_seconds_bucket" in exposed
    assert promql.REQUEST_SUCCESS in exposed and promql.GENERATION_TOKENS in exposed


# --- strict schema validation --------------------------------------------------------

MODES = {
    "configmap": {"enabled": True},
    "operator": {"enabled": True, "grafanaDashboard": {"mode": "operator"}},
    "no-alerts-no-dashboard": {"enabled": True, "alerts": {"enabled": False}, "grafanaDashboard": {"enabled": False}},
}


@pytest.mark.parametrize("platform,version,mode", list(itertools.product(PLATFORMS, VERSIONS, MODES)))
def test_monitoring_objects_validate_strictly_against_the_operator_crds(platform, version, mode):
    plan = make_plan(platform, MODES[mode], kserve={"version": version})
    objects = [build.pod_monitor(plan), build.prometheus_rule(plan), build.grafana_dashboard(plan)]
    for obj in objects:
        assert validate_object(obj, kserve_version=version) == [], obj["kind"]


def test_validation_would_catch_a_misplaced_monitoring_field():
    monitor = build.pod_monitor(make_plan())
    monitor["spec"]["podMetricsEndpoints"][0]["portName"] = "http1"
    assert any("portName" in e for e in validate_object(monitor))
    rule = build.prometheus_rule(make_plan())
    rule["spec"]["groups"][0]["rules"][0]["for"] = "15 minutes"
    assert validate_object(rule) != []
    board = build.grafana_dashboard(make_plan(monitoring=MODES["operator"]))
    del board["spec"]["instanceSelector"]
    assert any("instanceSelector" in e for e in validate_object(board))


# --- the program --------------------------------------------------------------------


def test_monitoring_is_off_by_default_and_registers_nothing():
    evaluation = run_stack("xeon")
    (component,) = evaluation.of_type("kserve-intel:index:Monitoring")
    assert not [r for r in evaluation.registrations if r.parent == component.urn]
    assert evaluation.outputs["monitoring"] == {"enabled": False}


@pytest.mark.parametrize("stack", PLATFORMS)
def test_monitoring_component_registers_monitor_rule_and_dashboard(stack):
    evaluation = run_stack(stack, hfToken="hf_x", monitoring={"enabled": True})
    (component,) = evaluation.of_type("kserve-intel:index:Monitoring")
    children = {r.type for r in evaluation.registrations if r.parent == component.urn}
    assert children == {PODMONITOR, RULE, CONFIGMAP}
    namespace = next(r for r in evaluation.of_type(NAMESPACE) if r.inputs["metadata"]["name"] == "intel-inference")
    for child in (r for r in evaluation.registrations if r.parent == component.urn):
        # Created after the namespace, deleted before it; not waiting for the models.
        assert namespace.urn in child.dependencies
        assert not any("InferenceService" in d for d in child.dependencies)
        assert child.inputs["metadata"]["labels"]["kserve-intel/stack"] == stack
    assert evaluation.outputs["monitoring"] == {
        "enabled": True, "podMonitor": "kserve-intel-intel-inference-vllm",
        "prometheusSelector": {"release": "observability"},
        "prometheusRule": "kserve-intel-intel-inference-alerts", "dashboardUid": "kserve-intel-intel-inference",
    }
    for obj in evaluation.objects():
        if obj["kind"] in ("PodMonitor", "PrometheusRule", "ConfigMap"):
            assert validate_object(obj) == [], obj["kind"]


def test_operator_mode_registers_a_grafana_dashboard():
    evaluation = run_stack("gaudi3", hfToken="hf_x", monitoring={"enabled": True, "grafanaDashboard": {"mode": "operator"}})
    (board,) = evaluation.of_type(GRAFANA)
    assert board.inputs["spec"]["instanceSelector"] == {"matchLabels": {"dashboards": "grafana"}}
    assert evaluation.of_type(CONFIGMAP) == []


def test_pods_carry_the_stack_label_for_log_queries():
    evaluation = run_stack("xeon", storage={"enabled": False})
    for isvc in evaluation.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService"):
        labels = isvc.inputs["spec"]["predictor"]["labels"]
        assert labels["kserve-intel/stack"] == "xeon"
        assert labels["app.kubernetes.io/instance"] == isvc.inputs["metadata"]["name"]


def _keys(model, prefix):
    from pydantic import BaseModel
    for name, info in model.model_fields.items():
        key = f"{prefix}.{info.alias or name}"
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _keys(annotation, key)
        else:
            yield key


def test_every_new_key_is_in_the_readme_configuration_table():
    from kserve_intel.config.monitoring import MonitoringConfig
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    keys = [*_keys(MonitoringConfig, "monitoring"), "storage.retainOnDestroy"]
    assert len(keys) == 17
    for key in keys:
        assert f"| `{key}` |" in readme, key
