"""Chart mirrors per release (`chartRepositories`): refusals, and where each release's chart comes from."""

from __future__ import annotations

import pytest

from kserve_intel.builders import kserve as kserve_build
from kserve_intel.builders import autoscaling as scaling, knative, local_model_cache as local_cache
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from tests.conftest import RELEASE, raw_config, run_stack
from tests.test_local_cache import make_plan

MIRROR = "http://127.0.0.1:8879/charts"


def plan(**values):
    return build_plan(load_config(raw_config(platform="xeon", **values)))


def test_default_sources_are_upstream():
    p = plan()
    assert (kserve_build.cert_manager_release(p).chart, kserve_build.cert_manager_release(p).repository) == (
        "cert-manager", "https://charts.jetstack.io")
    crd = kserve_build.crd_release(p)
    assert (crd.chart, crd.repository) == ("oci://ghcr.io/kserve/charts/kserve-crd", None)


def test_http_mirror_names_the_chart_and_the_repository():
    p = plan(chartRepositories={"kserve-crd": MIRROR + "/", "cert-manager": MIRROR})
    crd = kserve_build.crd_release(p)
    assert (crd.name, crd.chart, crd.repository, crd.version) == ("kserve-crd", "kserve-crd", MIRROR, "v0.13.0")
    assert kserve_build.cert_manager_release(p).repository == MIRROR
    # Releases without a mirror keep their upstream source.
    controller = kserve_build.controller_release(p)
    assert (controller.chart, controller.repository) == ("oci://ghcr.io/kserve/charts/kserve", None)


def test_oci_mirror_puts_the_chart_in_the_reference():
    p = plan(chartRepositories={"kserve": "oci://registry.local:5000/mirror/kserve"})
    controller = kserve_build.controller_release(p)
    assert (controller.chart, controller.repository) == ("oci://registry.local:5000/mirror/kserve/kserve", None)


def test_every_release_builder_honours_its_mirror():
    serverless = plan(
        kserve={"version": "v0.20.0", "deploymentMode": "Knative", "knative": "install"},
        chartRepositories={name: MIRROR for name in ("knative-operator", "kserve-resources")},
    )
    assert knative.operator_release(serverless).repository == MIRROR
    assert kserve_build.controller_release(serverless).repository == MIRROR
    keda = plan(
        # Autoscaling acts on models: a stack without models may not enable it (issue 22).
        models=["Qwen/Qwen3-1.7B"], autoscaling={"enabled": True, "engine": "keda", "keda": {"install": True}},
        chartRepositories={"keda": MIRROR},
    )
    assert scaling.keda_release(keda).repository == MIRROR
    cached = make_plan(chartRepositories={"kserve-localmodel-crd": MIRROR, "kserve-localmodel-resources": MIRROR})
    assert local_cache.localmodel_crd_release(cached).repository == MIRROR
    assert local_cache.localmodel_release(cached).repository == MIRROR


@pytest.mark.parametrize(("mirrors", "fragment"), [
    ({"kserve-controller": MIRROR},
     "kserve-intel:chartRepositories.kserve-controller: unknown Helm release; releases the program installs: "
     "cert-manager, kserve-crd, kserve,"),
    ({"kserve-crd": "ftp://mirror/charts"},
     'kserve-intel:chartRepositories.kserve-crd = "ftp://mirror/charts": must be a Helm repository URL'),
    ({"kserve-crd": "charts.example.com"}, "or an OCI registry path (oci://registry.example.com/charts)"),
    ({"keda": MIRROR},
     "kserve-intel:chartRepositories.keda: this stack installs no such release, so the mirror would have no "
     "effect; it installs: cert-manager, kserve, kserve-crd"),
])
def test_bad_mirrors_are_refused_with_one_message(mirrors, fragment):
    with pytest.raises(ConfigError) as caught:
        plan(chartRepositories=mirrors)
    assert fragment in str(caught.value)
    assert len(caught.value.issues) == 1


def test_mirrors_without_an_install_have_no_effect():
    with pytest.raises(ConfigError) as caught:
        plan(kserve={"install": False}, chartRepositories={"kserve-crd": MIRROR})
    assert "it installs: none (kserve.install is false and no add-on is installed)" in str(caught.value)


def test_the_program_registers_the_mirrored_release():
    ev = run_stack("xeon", hfToken="hf_x", chartRepositories={"kserve-crd": MIRROR})
    crd = next(r for r in ev.of_type(RELEASE) if r.inputs["name"] == "kserve-crd")
    assert crd.inputs["chart"] == "kserve-crd"
    assert crd.inputs["repositoryOpts"] == {"repo": MIRROR}
    assert crd.inputs["version"] == "v0.13.0"
