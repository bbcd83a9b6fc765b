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


def test_engine_report_section_is_replaced_and_kept_by_make_bench(tmp_path):
    from offline.bench_engine import END, START, Run, Size, kept_section, markdown, replace_section

    results = {"cluster_seconds": 20.0, "destroy": {"1 model": 3.0, "20 models": 9.0}, "parallel": 64,
               "preview": [Size("empty program", None, [Run(2.0, {"CLI": 100 * 1024})]),
                           Size("1 model", 1, [Run(4.0, {"CLI": 120 * 1024, "provider": 60 * 1024})]),
                           Size("50 models", 50, [Run(6.45, {"CLI": 150 * 1024})])],
               "up": [Size("1 model", 1, [Run(25.0)]), Size("20 models", 20, [Run(30.0)])]}
    section = markdown(results, repeat=1, ready_delay=20)
    assert section.startswith(START) and section.rstrip().endswith(END)
    assert "| 1 model | 4.00 s | 2.00x |" in section and "| 120 MiB |" in section
    assert "met: preview cost per additional model under 100 ms (50 ms, from 1 to 50 models)" in section
    assert "met: `up` of 20 models within 1.5x of 1 model (1.20x" in section
    report = tmp_path / "benchmarks.md"
    report.write_text("# Benchmarks\n\nmock figures\n")
    replace_section(report, section)
    replace_section(report, section.replace("4.00 s", "5.00 s"))  # a second run replaces, never appends
    text = report.read_text()
    assert text.count(START) == 1 and "5.00 s" in text and "mock figures" in text
    assert kept_section(report).startswith(START) and "5.00 s" in kept_section(report)
