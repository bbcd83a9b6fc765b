"""Monitoring, KEDA, routes and the GenAI gateway per serving backend (vLLM, TGI, OVMS, custom).

Plans for other backends are made with a test-only fake: a normal plan whose
models' serving stacks get another `backend` / `openai_path` / `metrics_path`
(dataclasses.replace on the frozen RuntimePlan and ServingStack). Every object
is validated strictly against the vendored CRDs; every TGI/OVMS metric a query
reads is checked against tests/data/backend_metrics.yaml (taken from upstream
source at the pinned tags).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from kserve_intel.builders import dashboard as dashboards
from kserve_intel import plan as plan_module
from kserve_intel.rules import autoscaling as scaling_rules
from kserve_intel.rules import serving_stacks
from kserve_intel.builders import monitoring as build
from kserve_intel.builders import autoscaling as keda
from kserve_intel.builders import traffic
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from offline.validation import validate_object
from tests.conftest import raw_config
from tests.test_traffic import ALL_ROUTES, apisix_upstream, gateway_upstream, nginx_upstream

DATA = yaml.safe_load((Path(__file__).parent / "data" / "backend_metrics.yaml").read_text())
MODELS = ["Qwen/Qwen3-4B-Instruct-2507", "meta-llama/Llama-3.1-8B-Instruct"]
MONITORING = {"enabled": True}
KEDA = {"enabled": True, "engine": "keda", "minReplicas": 1, "maxReplicas": 4}


def base_plan(version="v0.20.0", **extra):
    values = {"platform": "xeon", "kserve": {"version": version}, "models": MODELS, "hfToken": "hf_x",
              "monitoring": MONITORING, **extra}
    secrets = ["kserve-intel:hfToken"] + (["kserve-intel:apisix"] if "apisix" in extra else [])
    return build_plan(load_config(raw_config(**values), secrets), stack="prod")


def with_backends(plan, *stacks):
    """The plan with model i on backend stacks[i] = (backend, openai_path[, metrics_path]); None: unchanged."""
    models = []
    for model, spec in zip(plan.models, stacks + (None,) * (len(plan.models) - len(stacks))):
        if spec is not None:
            backend, openai_path, *metrics = spec
            fields = {"backend": backend, "openai_path": openai_path}
            if metrics:
                fields["metrics_path"] = metrics[0]
            runtime = model.runtime
            model = replace(model, runtime=replace(runtime, stack=replace(runtime.stack, **fields)))
        models.append(model)
    return replace(plan, models=tuple(models))


def exposed(source: str) -> set[str]:
    names = set()
    for name, kind in DATA["sources"][source]["metrics"].items():
        names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"} if kind == "histogram" else {name}
    return names


def rules(plan) -> list[dict]:
    (group,) = build.prometheus_rule(plan)["spec"]["groups"]
    return group["rules"]


def board(plan) -> dict:
    return json.loads(build.dashboard_json(plan))


def queries(plan) -> list[tuple[str, str]]:
    found = [(f"alert {r['alert']} {r['labels'].get('backend', 'vllm')}", r["expr"]) for r in rules(plan)]
    found += [(f"panel {p['id']} {p['title']}", t["expr"]) for p in board(plan)["panels"] for t in p.get("targets", [])]
    found += [(f"variable {v['name']}", v["query"]["query"]) for v in board(plan)["templating"]["list"] if v["type"] == "query"]
    for model in plan.models:
        if model.scaling.engine == "keda" and model.scaling.metric in scaling_rules.KEDA_BACKEND_METRICS[model.backend]:
            found.append((f"keda {model.name}", keda.keda_query(model, model.scaling.metric)))
    return found


TGI = ("tgi", "/v1")
OVMS = ("ovms", "/v1")
MIXES = {
    "vllm+tgi": (None, TGI),
    "tgi-only": (TGI, TGI),
    "vllm+ovms": (None, OVMS),
    "tgi+ovms": (TGI, OVMS),
    "ovms-only": (OVMS, OVMS),
}


# --- PodMonitor ------------------------------------------------------------------------------


def test_vllm_only_pod_monitor_is_unchanged_by_the_backend_code():
    monitor = build.pod_monitor(base_plan())
    assert monitor["metadata"]["name"] == "kserve-intel-intel-inference-vllm"
    assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "vllm"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert [r["action"] for r in endpoint["relabelings"]] == ["replace", "replace"]


@pytest.mark.parametrize("mix", MIXES)
def test_backends_on_the_same_metrics_path_share_one_endpoint(mix):
    # vLLM, TGI (API port) and OVMS (REST port, --metrics_enable) all serve /metrics on the serving port.
    plan = with_backends(base_plan(), *MIXES[mix])
    monitor = build.pod_monitor(plan)
    assert validate_object(monitor) == []
    assert monitor["metadata"]["name"] == "kserve-intel-intel-inference-models"
    # Selects every backend's predictor pods, not only those named vllm.
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/component": "inference-server", "app.kubernetes.io/part-of": "kserve-intel"}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http1", "/metrics")
    assert "keep" not in [r["action"] for r in endpoint["relabelings"]]


def test_each_distinct_metrics_path_gets_an_endpoint_keeping_only_its_models():
    plan = with_backends(base_plan(), None, ("custom", "/v3", "/stats/prometheus"))
    monitor = build.pod_monitor(plan)
    assert validate_object(monitor) == []
    vllm_endpoint, custom_endpoint = monitor["spec"]["podMetricsEndpoints"]
    assert (vllm_endpoint["path"], custom_endpoint["path"]) == ("/metrics", "/stats/prometheus")
    for endpoint, model in zip((vllm_endpoint, custom_endpoint), plan.models):
        keep = endpoint["relabelings"][0]
        assert keep == {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
                        "regex": model.name}
        # Prometheus anchors the regex: the other model's pods are dropped.
        other = next(m for m in plan.models if m is not model)
        assert re.fullmatch(keep["regex"], model.name) and not re.fullmatch(keep["regex"], other.name)
        assert endpoint["relabelings"][1]["targetLabel"] == "inferenceservice"


def test_no_pod_monitor_when_no_server_has_a_metrics_endpoint():
    plan = with_backends(base_plan(), ("custom", "/v1", None), ("custom", "/v1", None))
    assert build.pod_monitor(plan) is None


# --- alerts ----------------------------------------------------------------------------------------

VLLM_ONLY_ALERTS = {"KServeIntelRequestsQueueing", "KServeIntelTimeToFirstTokenHigh", "KServeIntelKVCacheNearlyFull"}
EVERY_BACKEND = {"KServeIntelModelNotReady", "KServeIntelPodRestarting"}


def alert_keys(plan) -> set[tuple[str, str]]:
    return {(r["alert"], r["labels"].get("backend", "any" if r["alert"] in EVERY_BACKEND else "vllm")) for r in rules(plan)}


def test_alerts_per_backend_in_use():
    every = {(name, "any") for name in EVERY_BACKEND}
    vllm = {(name, "vllm") for name in VLLM_ONLY_ALERTS}
    assert alert_keys(base_plan()) == every | vllm
    assert alert_keys(with_backends(base_plan(), *MIXES["vllm+tgi"])) == every | vllm | {("KServeIntelRequestsQueueing", "tgi")}
    # TGI: no time-to-first-token or KV-cache metric, so only its queue alert.
    assert alert_keys(with_backends(base_plan(), *MIXES["tgi-only"])) == every | {("KServeIntelRequestsQueueing", "tgi")}
    # OVMS: no queue, TTFT or KV-cache metric: readiness and restarts only.
    assert alert_keys(with_backends(base_plan(), *MIXES["ovms-only"])) == every
    assert alert_keys(with_backends(base_plan(), *MIXES["vllm+ovms"])) == every | vllm


def test_tgi_queue_alert_reads_tgi_queue_size_per_inferenceservice():
    plan = with_backends(base_plan(monitoring={"enabled": True, "alerts": {"waitingRequests": 7}}), *MIXES["tgi-only"])
    (queue,) = [r for r in rules(plan) if r["alert"] == "KServeIntelRequestsQueueing"]
    assert queue["expr"] == 'sum by (namespace, inferenceservice) (tgi_queue_size{namespace="intel-inference"}) > 7'
    assert queue["labels"] == {"severity": "warning", "backend": "tgi"}
    assert "inferenceservice" in queue["annotations"]["summary"]
    restart = next(r for r in rules(plan) if r["alert"] == "KServeIntelPodRestarting")
    assert "vLLM" not in restart["annotations"]["summary"] + restart["annotations"]["description"]


# --- dashboard ---------------------------------------------------------------------------------------


def rows(plan) -> dict[str, list[str]]:
    """Row title -> the titles of the panels under it."""
    result: dict[str, list[str]] = {}
    current = None
    for panel in board(plan)["panels"]:
        if panel["type"] == "row":
            current = panel["title"]
            result[current] = []
        else:
            result.setdefault(current, []).append(panel["title"])
    return result


VLLM_PANELS = ["Request rate", "Queue", "Time to first token", "Time per output token", "Tokens per second",
               "KV-cache usage", "Replicas", "End-to-end request latency"]
TGI_PANELS = ["Request rate", "Queue", "Time in queue", "Time per output token", "Tokens per second", "Replicas",
              "End-to-end request latency"]
OVMS_PANELS = ["Request rate", "Requests in process", "Graph processing time", "Replicas"]


def test_vllm_only_dashboard_has_no_rows():
    assert rows(base_plan()) == {None: VLLM_PANELS}
    assert board(base_plan())["title"] == "vLLM models (intel-inference)"


def test_dashboard_has_a_row_per_backend_with_the_panels_it_can_feed():
    assert rows(with_backends(base_plan(), *MIXES["vllm+tgi"])) == {
        "vLLM models": VLLM_PANELS, "TGI (text-generation-inference) models": TGI_PANELS}
    assert rows(with_backends(base_plan(), *MIXES["tgi+ovms"])) == {
        "TGI (text-generation-inference) models": TGI_PANELS, "OVMS (OpenVINO Model Server) models": OVMS_PANELS}
    ovms = rows(with_backends(base_plan(), *MIXES["ovms-only"]))
    assert ovms == {"OVMS (OpenVINO Model Server) models": OVMS_PANELS}
    for absent in ("Time to first token", "Time per output token", "Tokens per second", "KV-cache usage", "Queue"):
        assert absent not in ovms["OVMS (OpenVINO Model Server) models"]
    assert "Time to first token" not in TGI_PANELS and "KV-cache usage" not in TGI_PANELS


@pytest.mark.parametrize("mix", MIXES)
def test_mixed_dashboards_are_well_formed_and_validate(mix):
    plan = with_backends(base_plan(monitoring={"enabled": True, "grafanaDashboard": {"mode": "operator"}}), *MIXES[mix])
    assert validate_object(build.grafana_dashboard(plan)) == []
    assert validate_object(build.prometheus_rule(plan)) == []
    parsed = board(plan)
    assert parsed["title"] == "Models (intel-inference)"
    ids = [p["id"] for p in parsed["panels"]]
    assert len(ids) == len(set(ids))
    cells = set()
    for panel in parsed["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and (grid["x"], grid["y"]) not in cells
        cells.add((grid["x"], grid["y"]))
    variables = [v["name"] for v in parsed["templating"]["list"]]
    assert variables == (["datasource", "namespace", "model", "inferenceservice"] if "vllm" in mix
                         else ["datasource", "namespace", "inferenceservice"])
    used = {m for p in parsed["panels"] for t in p.get("targets", []) for m in re.findall(r"\$(\w+)", t["expr"])}
    assert used <= set(variables) | {"__rate_interval"}
    for panel in parsed["panels"]:
        for target in panel.get("targets", []):
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
            if re.search(r"\b(tgi|ovms)_", target["expr"]):
                # TGI and OVMS series name no model: they are selected by InferenceService.
                assert 'inferenceservice=~"$inferenceservice"' in target["expr"]


def test_ovms_latency_is_converted_from_microseconds():
    plan = with_backends(base_plan(), *MIXES["ovms-only"])
    (panel,) = [p for p in board(plan)["panels"] if p["title"] == "Graph processing time"]
    assert panel["fieldConfig"]["defaults"]["unit"] == "s"
    for target in panel["targets"]:
        assert "ovms_graph_processing_time_us_bucket" in target["expr"] and target["expr"].endswith(" / 1000000")


# --- metric names against the backends' source ----------------------------------------------


def names_in(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:tgi|ovms)_[a-z0-9_]+)", expr))


@pytest.mark.parametrize("mix", MIXES)
def test_every_tgi_and_ovms_metric_a_query_reads_is_exported(mix):
    plan = with_backends(base_plan(autoscaling=KEDA), *MIXES[mix])
    every = exposed("tgi") | exposed("ovms")
    found = queries(plan)
    backend_names = set()
    for where, expr in found:
        unknown = names_in(expr) - every
        assert not unknown, f"{where}: {unknown}"
        backend_names |= names_in(expr)
        # Every other series a query selects: vLLM's and kube-state-metrics' (tests/test_monitoring.py) or Prometheus' own.
        for name in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", expr):
            assert name.startswith(("vllm:", "kube_", "tgi_", "ovms_")) or name in DATA["prometheus"], f"{where}: {name}"
    if "tgi" in mix:
        assert backend_names & exposed("tgi")
        assert "tgi_queue_size" in {n for w, e in found if w.startswith("keda") for n in names_in(e)}
    if "ovms" in mix:
        assert backend_names & exposed("ovms")


def test_tgi_queries_never_use_a_total_suffix_or_a_model_label():
    plan = with_backends(base_plan(autoscaling=KEDA), *MIXES["tgi-only"])
    for where, expr in queries(plan):
        assert "_total" not in " ".join(names_in(expr)), where
        if names_in(expr):
            assert "model_name" not in expr, where


def test_the_name_check_would_catch_a_misspelt_metric():
    assert "tgi_queue_size" in exposed("tgi") and "tgi_queue_size_total" not in exposed("tgi")
    assert "ovms_graph_processing_time_us_bucket" in exposed("ovms")
    assert "ovms_requests_success_total" not in exposed("ovms")
    assert "tgi_time_to_first_token_bucket" not in exposed("tgi")


# --- KEDA ------------------------------------------------------------------------------------------------


def test_keda_waiting_on_tgi_reads_its_queue_for_the_models_pods():
    plan = with_backends(base_plan(autoscaling=KEDA), None, TGI)
    vllm_model, tgi_model = plan.models
    assert keda.keda_query(vllm_model, "waiting") == keda.vllm_query(vllm_model, "waiting")
    assert keda.keda_query(tgi_model, "waiting") == f"sum(tgi_queue_size{{{keda.pod_selector(tgi_model)}}})"
    assert list(scaling_rules.backend_metric_issues(plan.models)) == []
    # KServe v0.15+: its own KEDA block; before: our ScaledObject, its trigger named after the backend.
    predictor, _ = keda.predictor_scaling(plan, tgi_model)
    (metric,) = predictor["autoScaling"]["metrics"]
    assert metric["external"]["metric"]["query"] == keda.keda_query(tgi_model, "waiting")
    old = with_backends(base_plan("v0.13.0", autoscaling=KEDA), None, TGI)
    obj = keda.scaled_object(old, old.models[1])
    assert validate_object(obj, kserve_version="v0.13.0") == []
    (trigger,) = obj["spec"]["triggers"]
    assert trigger["name"] == "tgi-waiting" and trigger["metadata"]["query"].startswith("sum(tgi_queue_size{")
    assert keda.scaled_object(old, old.models[0])["spec"]["triggers"][0]["name"] == "vllm-waiting"


REFUSED = [
    ("tgi", "ttft", "TGI exports no time-to-first-token metric; allowed for backend tgi: waiting"),
    ("ovms", "waiting", "OVMS exports no queue length for an LLM"),
    ("ovms", "ttft", "OVMS exports no time-to-first-token metric; backend ovms cannot scale with KEDA; "
                     "use autoscaling.engine hpa (cpu, memory)"),
    ("custom", "waiting", "a custom runtime's metrics are not known; backend custom cannot scale with KEDA"),
]


@pytest.mark.parametrize("backend,metric,fragment", REFUSED)
def test_keda_metric_a_backend_cannot_feed_is_refused_naming_the_model(backend, metric, fragment):
    plan = with_backends(base_plan(autoscaling={**KEDA, "metric": metric}), None, (backend, "/v1"))
    (issue,) = scaling_rules.backend_metric_issues(plan.models)
    text = issue.render()
    assert text.startswith(f'kserve-intel:autoscaling.metric = "{metric}": models[1] ({plan.models[1].name}) '
                           f"runs backend {backend}: ")
    assert fragment in text
    with pytest.raises(ValueError):
        keda.keda_query(plan.models[1], metric)


def test_other_engines_are_not_checked_against_backend_metrics():
    plan = with_backends(base_plan(version="v0.20.0", autoscaling={"enabled": True, "engine": "hpa"}), OVMS, OVMS)
    assert list(scaling_rules.backend_metric_issues(plan.models)) == []


def test_build_plan_refuses_before_any_resource(monkeypatch):
    # The backend comes from the model's serving stack: make every stack TGI for this build.
    in_use, resolve = serving_stacks.in_use, serving_stacks.resolve_model
    monkeypatch.setattr(serving_stacks, "in_use", lambda config: [replace(s, backend="tgi") for s in in_use(config)])
    monkeypatch.setattr(serving_stacks, "resolve_model", lambda config, m: replace(resolve(config, m), backend="tgi"))
    config = load_config(raw_config(platform="xeon", models=MODELS, hfToken="hf_x",
                                    autoscaling={**KEDA, "metric": "ttft"}), ["kserve-intel:hfToken"])
    with pytest.raises(ConfigError) as caught:
        plan_module.build_plan(config)
    message = str(caught.value)
    assert "(2 problems)" in message
    assert 'kserve-intel:autoscaling.metric = "ttft": models[0] (' in message
    assert "models[1] (" in message and "TGI exports no time-to-first-token metric" in message


# --- routes ---------------------------------------------------------------------------------------------

V3 = ("custom", "/v3")
REQUESTS_V3 = [
    ("/{m}/v1/chat/completions", "/v3/chat/completions"),
    ("/{m}/v1/completions", "/v3/completions"),
    ("/{m}/v1/models", "/v3/models"),
    ("/{m}/health", "/health"),
    ("/{m}/metrics", "/metrics"),
]


def routed_plan(**extra):
    return with_backends(base_plan(**{**ALL_ROUTES, **extra}), None, V3)


def nginx(ingresses: list[dict], uri: str) -> str | None:
    """ingress-nginx orders the regex locations of a host by path length, longest first; first match wins."""
    main = [i for i in ingresses if i["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/canary") != "true"]
    for ingress in sorted(main, key=lambda i: -len(i["spec"]["rules"][0]["http"]["paths"][0]["path"])):
        upstream = nginx_upstream(ingress, uri)
        if upstream is not None:
            return upstream
    return None


def apisix(route: dict, uri: str) -> str | None:
    """APISIX's radixtree: the longest matching prefix's rule."""
    candidates = sorted(route["spec"]["http"], key=lambda r: -len(r["match"]["paths"][0]))
    for rule in candidates:
        upstream = apisix_upstream({"spec": {"http": [rule]}}, uri)
        if upstream is not None:
            return upstream
    return None


def gateway(route: dict, uri: str) -> str | None:
    """Gateway API: the longest matching PathPrefix's rule."""
    candidates = sorted(route["spec"]["rules"], key=lambda r: -len(r["matches"][0]["path"]["value"]))
    for rule in candidates:
        upstream = gateway_upstream({"spec": {"rules": [rule]}}, uri)
        if upstream is not None:
            return upstream
    return None


@pytest.mark.parametrize("public,upstream", REQUESTS_V3)
def test_public_v1_reaches_a_server_whose_api_is_under_another_path(public, upstream):
    plan = routed_plan()
    vllm_model, v3_model = plan.models
    uri = public.format(m=v3_model.name)
    assert apisix(traffic.apisix_route(plan, v3_model), uri) == upstream
    assert nginx(traffic.ingresses(plan, v3_model), uri) == upstream
    assert gateway(traffic.http_route(plan, v3_model), uri) == upstream
    # The /v1 model keeps one route of each kind, rewriting as before.
    same = public.format(m=vllm_model.name)
    expected = upstream.replace("/v3/", "/v1/")
    assert len(traffic.ingresses(plan, vllm_model)) == 1
    assert len(traffic.apisix_route(plan, vllm_model)["spec"]["http"]) == 1
    assert len(traffic.http_route(plan, vllm_model)["spec"]["rules"]) == 1
    assert apisix(traffic.apisix_route(plan, vllm_model), same) == expected
    assert nginx(traffic.ingresses(plan, vllm_model), same) == expected
    assert gateway(traffic.http_route(plan, vllm_model), same) == expected


def test_v1_lookalikes_are_not_rewritten():
    plan = routed_plan()
    model = plan.models[1]
    uri = f"/{model.name}/v1x/models"
    assert nginx(traffic.ingresses(plan, model), uri) == "/v1x/models"
    assert gateway(traffic.http_route(plan, model), uri) == "/v1x/models"


def test_host_routing_rewrites_v1_to_the_servers_path():
    plan = routed_plan(ingress={**ALL_ROUTES["ingress"], "routing": "host"})
    model = plan.models[1]
    main, openai = traffic.ingresses(plan, model)
    assert openai["metadata"]["name"] == f"{main['metadata']['name']}-openai"
    assert openai["spec"]["rules"][0]["host"] == main["spec"]["rules"][0]["host"] == f"{model.name}.llm.example.com"
    assert nginx_upstream(openai, "/v1/chat/completions") == "/v3/chat/completions"
    assert nginx_upstream(openai, "/health") is None


@pytest.mark.parametrize("version", ["v0.13.0", "v0.20.0"])
def test_rewrite_routes_validate_strictly_with_and_without_a_canary(version):
    canary = {"canary": {"trafficPercent": 10, "extraArgs": ["--max-num-seqs", "8"]}} if version == "v0.20.0" else {}
    models = [MODELS[0], {"id": MODELS[1], **canary}]
    plan = with_backends(base_plan(version, models=models, **ALL_ROUTES), None, V3)
    model = plan.models[1]
    objects = [*traffic.ingresses(plan, model), traffic.apisix_route(plan, model), traffic.http_route(plan, model)]
    for obj in objects:
        assert validate_object(obj, kserve_version=version) == [], obj["metadata"]["name"]
    names = [o["metadata"]["name"] for o in objects if o["kind"] == "Ingress"]
    assert len(names) == len(set(names))
    if canary:
        assert len(names) == 4  # main, canary, and both for /v1 -> /v3
        openai_canary = next(o for o in objects if o["metadata"]["name"].endswith("-canary-openai"))
        assert openai_canary["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"] == "/v3/$2"
        assert openai_canary["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "10"
        http = traffic.http_route(plan, model)
        assert all(len(rule["backendRefs"]) == 2 for rule in http["spec"]["rules"])


def test_a_server_api_at_the_root_is_reached_from_v1():
    plan = with_backends(base_plan(**ALL_ROUTES), None, ("custom", "/"))
    model = plan.models[1]
    uri = f"/{model.name}/v1/chat/completions"
    assert apisix(traffic.apisix_route(plan, model), uri) == "/chat/completions"
    assert nginx(traffic.ingresses(plan, model), uri) == "/chat/completions"
    assert gateway(traffic.http_route(plan, model), uri) == "/chat/completions"
    assert validate_object(traffic.http_route(plan, model)) == []


def test_routes_output_keeps_v1_for_clients_and_kserve_routes_show_the_servers_path():
    plan = routed_plan()
    model = plan.models[1]
    endpoints = traffic.public_endpoints(plan, model)
    assert endpoints["ingress"] == f"https://llm.example.com/{model.name}/v1"
    assert endpoints["apisix"] == f"llm.example.com/{model.name}/v1"
    assert endpoints["gatewayApi"] == f"/{model.name}/v1"
    kserve_routes = with_backends(base_plan(gatewayApi={**ALL_ROUTES["gatewayApi"], "routes": "kserve"}), None, V3)
    assert traffic.public_endpoints(kserve_routes, kserve_routes.models[1])["gatewayApi"].endswith("/v3")
    assert traffic.public_endpoints(kserve_routes, kserve_routes.models[0])["gatewayApi"].endswith("/v1")


def test_genai_gateway_points_each_model_at_its_own_base_path():
    plan = with_backends(base_plan(genaiGateway={"enabled": True}), TGI, V3)
    entries = yaml.safe_load(traffic.genai_gateway_models(plan)["data"]["config.yaml"])["model_list"]
    bases = [e["litellm_params"]["api_base"] for e in entries]
    assert bases == [f"http://{m.name}-predictor.{m.namespace}.svc.cluster.local{p}" for m, p in zip(plan.models, ("/v1", "/v3"))]
    assert bases == [m.openai_base_url for m in plan.models]


# --- the program (Pulumi mocks): the path `pulumi up` takes --------------------------------------


@pytest.fixture
def stacks_as(monkeypatch):
    """Make every serving stack of the next run use these fields (as the lead's backends will)."""
    def patch(**fields):
        in_use, resolve = serving_stacks.in_use, serving_stacks.resolve_model
        monkeypatch.setattr(serving_stacks, "in_use", lambda config: [replace(s, **fields) for s in in_use(config)])
        monkeypatch.setattr(serving_stacks, "resolve_model", lambda config, m: replace(resolve(config, m), **fields))
    return patch


def test_program_monitors_tgi_models_with_their_own_rules_and_dashboard(stacks_as):
    from tests.conftest import run_stack

    stacks_as(backend="tgi")
    evaluation = run_stack("xeon", hfToken="hf_x", monitoring={"enabled": True})
    (monitor,) = [o for o in evaluation.objects() if o["kind"] == "PodMonitor"]
    assert monitor["metadata"]["name"] == "kserve-intel-intel-inference-models"
    assert "app.kubernetes.io/name" not in monitor["spec"]["selector"]["matchLabels"]
    (rule,) = [o for o in evaluation.objects() if o["kind"] == "PrometheusRule"]
    exprs = " ".join(r["expr"] for r in rule["spec"]["groups"][0]["rules"])
    assert "tgi_queue_size" in exprs and "vllm:" not in exprs
    (board,) = [o for o in evaluation.objects() if o["kind"] == "ConfigMap" and "dashboard" in o["metadata"]["name"]]
    text = next(iter(board["data"].values()))
    assert "tgi_request_success" in text and "vllm:" not in text
    assert evaluation.outputs["monitoring"]["podMonitor"] == "kserve-intel-intel-inference-models"
    for obj in (monitor, rule, board):
        assert validate_object(obj) == [], obj["kind"]


def test_program_routes_a_v3_server_from_the_public_v1(stacks_as):
    from tests.conftest import run_stack

    stacks_as(backend="custom", openai_path="/v3")
    evaluation = run_stack("xeon", hfToken="hf_x", ingress={"enabled": True, "host": "llm.example.com"},
                           gatewayApi=ALL_ROUTES["gatewayApi"])
    ingresses = [o for o in evaluation.objects() if o["kind"] == "Ingress"]
    names = {o["metadata"]["name"] for o in ingresses}
    models = {o["metadata"]["labels"]["app.kubernetes.io/instance"] for o in ingresses}
    assert names == {f"{m}-route" for m in models} | {f"{m}-route-openai" for m in models}
    for model in models:
        uri = f"/{model}/v1/chat/completions"
        assert nginx([o for o in ingresses if o["metadata"]["labels"]["app.kubernetes.io/instance"] == model], uri) == "/v3/chat/completions"
    routes = [o for o in evaluation.objects() if o["kind"] == "HTTPRoute"]
    assert routes and all(gateway(r, f"/{r['metadata']['labels']['app.kubernetes.io/instance']}/v1/models") == "/v3/models"
                          for r in routes)
    for obj in ingresses + routes:
        assert validate_object(obj) == [], obj["metadata"]["name"]
    assert all(entry["ingress"].endswith("/v1") for entry in evaluation.outputs["routes"])
    assert all(m["openaiBaseUrl"].endswith("/v3") for m in evaluation.outputs["models"])
