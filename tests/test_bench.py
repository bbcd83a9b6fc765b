"""The benchmark's structure (never its timings): it runs, counts and finds the
critical path, and that path does not grow with the number of models."""

from __future__ import annotations

from offline import bench
from offline.engine import Evaluation, Registration


def _reg(urn: str, parent: str = "", dependencies: tuple[str, ...] = ()) -> Registration:
    return Registration(type="t", name=urn, urn=urn, parent=parent, custom=True, inputs={},
                        dependencies=list(dependencies), custom_timeouts={}, additional_secret_outputs=[])


def test_longest_chain_follows_dependencies_and_parents():
    evaluation = Evaluation([
        _reg("a"),
        _reg("b", dependencies=("a",)),
        _reg("component", dependencies=("b",)),
        _reg("child", parent="component"),
        _reg("side", dependencies=("a",)),
        _reg("outside", dependencies=("urn:not-registered",)),
    ], {})
    assert bench.longest_chain(evaluation) == ("a", "b", "component", "child")
    assert bench.longest_chain(Evaluation([], {})) == ()


def test_model_lists_start_with_the_catalogue_then_synthetic_open_models():
    models = bench.model_list("gaudi", 40)
    assert len(models) == 40
    assert models[0] == "meta-llama/Llama-3.1-8B-Instruct"
    synthetic = [m for m in models if isinstance(m, dict)]
    assert synthetic and all(m["gated"] is False and m["id"].startswith("bench-org/") for m in synthetic)
    assert len({m if isinstance(m, str) else m["id"] for m in models}) == 40


def test_bench_runs_and_the_chain_does_not_grow_with_models():
    baseline, one, two = bench.run_benchmark("xeon", sizes=(1, 2), repeat=1)
    assert baseline.models is None and baseline.resources == 0 and baseline.chain_length == 0
    # A ModelDeployment, its claim and its InferenceService per model.
    assert two.resources - one.resources == 3
    assert one.chain_length == two.chain_length > 0
    # The critical path runs through an InferenceService (the traffic routes,
    # created once every model is Ready, may come after it): everything else is up by then.
    for measured in (one, two):
        assert any(":InferenceService::" in urn for urn in measured.chain)
        assert ":InferenceService::" in measured.chain[-1] or ":TrafficRoutes::" in measured.chain[-1]
    assert all(m.seconds > 0 and m.peak_bytes > 0 for m in (one, two))
    report = bench.markdown([baseline, one, two], "xeon", repeat=1)
    assert "| 2 models |" in report and "| empty program |" in report
    assert "met: the dependency chain does not grow" in report
