# kserve-intel: `make test` on a fresh machine creates .venv and runs the suite.
PYTHON ?= python3
VENV   ?= .venv
STACK  ?= xeon
PY     := $(VENV)/bin/python
# checkov cannot share .venv (it pins packaging<24, pulumi needs >=26).
CHECKOV_VENV ?= .venv-checkov
# The registry tests start a real MLflow server from its own venv (mlflow pins other versions too).
MLFLOW_VENV ?= .venv-mlflow
# Pulumi state goes to a local file backend unless you are already logged in.
BACKEND ?= file://$(CURDIR)/.pulumi-state
SET    ?=
# make smoke: URL=<OpenAI base URL> asks every model through it; TOKEN for a gateway.
URL    ?=
TOKEN  ?=
SMOKE_ARGS ?=
# make up ADOPT=1: also take back this stack's objects kept by a version before owner stamps (KSERVE_INTEL_ADOPT=retained,
# docs/shared-clusters.md); what it kept since carries its stamp and needs nothing.
ADOPT  ?=
# Resource operations Pulumi runs at once. Its default is 4 per CPU (8 on 2 cores), and each model's await
# holds one for the model's whole load, so more models than that would roll out in waves (docs/troubleshooting.md).
PARALLEL ?= 64

# The real Pulumi CLI: yours if `pulumi` is on PATH, else the one engine/build.sh builds from Go modules.
PULUMI := engine/with-engine.sh pulumi
# make cluster KSERVE=v0.13.0: the KServe release the local cluster runs.
KSERVE ?= v0.20.0

.PHONY: help envs venv checkov mlflow vllm-parsers option-tables test e2e scale engine cluster bench bench-engine render validate golden schema images smoke preview up destroy down login stack policy-venv

help:
	@echo "make test                    create .venv and run the test suite"
	@echo "make render STACK=xeon       write what a stack would create to build/<stack>/ (offline)"
	@echo "make validate STACK=xeon     validate build/<stack>/ against the upstream schemas"
	@echo "make images STACK=xeon       every image the stack runs, one per line (for skopeo/crane copy to a mirror)"
	@echo "make golden                  refresh tests/golden/ after an intended change"
	@echo "make schema                  refresh schemas/stack-config.schema.json and docs/configuration.md after a config change"
	@echo "make engine                  build the real toolchain from Go modules (cached; prints its bin dir last)"
	@echo "make cluster [KSERVE=v0.13.0]  run a local control plane + KServe in the foreground"
	@echo "make e2e                     the end-to-end tests: real CLI and provider against the local cluster"
	@echo "make bench                   benchmark the program for 1-100 models, write docs/benchmarks.md"
	@echo "make bench-engine            real CLI + provider on the local cluster: preview/up times, peak memory"
	@echo "make scale                   50 models on one stack on the local cluster (not in make e2e)"
	@echo "make preview|up|destroy STACK=xeon   run Pulumi against your cluster, or the local one when none is configured"
	@echo "make down STACK=xeon         destroy the stack and stop the local cluster"
	@echo "make up STACK=xeon ADOPT=1   also take back objects this stack kept before owner stamps (caches, namespace)"
	@echo "make smoke STACK=xeon [URL=http://host/v1] [TOKEN=...]   chat + completion against every model"

# Each venv is built once per machine under ~/.cache/kserve-intel/venvs (keyed by its pinned requirements) and
# linked into the checkout (tools/cached_venv.py): a fresh machine builds them, a second clone reuses them.
CACHED_VENV := $(PYTHON) tools/cached_venv.py

$(VENV)/.installed: requirements.txt requirements-dev.txt tools/cached_venv.py
	$(CACHED_VENV) $(VENV) pip requirements-dev.txt

venv: $(VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt tools/cached_venv.py
	$(CACHED_VENV) $(CHECKOV_VENV) pip requirements-checkov.txt

checkov: $(CHECKOV_VENV)/.installed

# Test-only venvs with one vLLM version's real argument parser each (tools/vllm_parser_venv.py).
VLLM_PARSERS ?= 0.33.0 0.26.0 0.10.2 0.9.0.1
VLLM_PARSER_VENVS := $(foreach v,$(VLLM_PARSERS),.venv-vllm-$(v)/.installed)

.venv-vllm-%/.installed: requirements-vllm-%.txt tools/vllm_parser_venv.py tools/cached_venv.py
	$(CACHED_VENV) .venv-vllm-$* vllm $* requirements-vllm-$*.txt

vllm-parsers: $(VLLM_PARSER_VENVS)

# Regenerate the vLLM option tables from the real parsers (tests/test_option_tables.py fails when they differ).
option-tables: vllm-parsers
	for v in $(VLLM_PARSERS); do .venv-vllm-$$v/bin/python -O tools/option_tables.py vllm kserve_intel/catalog/data/options/vllm-$$v.json || exit 1; done

# template.db: an empty, migrated MLflow store the tests copy, so no test run waits for migrations.
$(MLFLOW_VENV)/.installed: requirements-mlflow.txt tools/cached_venv.py
	$(CACHED_VENV) $(MLFLOW_VENV) mlflow requirements-mlflow.txt

mlflow: $(MLFLOW_VENV)/.installed

# Every test environment, built side by side (their pip downloads and installs overlap; each is independent).
envs:
	@$(MAKE) --no-print-directory -j4 venv checkov mlflow vllm-parsers policy-venv

test: envs
	CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov MLFLOW=$(CURDIR)/$(MLFLOW_VENV)/bin/mlflow $(PY) -m pytest -q

engine:
	@bash engine/build.sh

cluster: venv
	$(PY) -m engine.localcluster --kserve $(KSERVE)

# Two workers by default (the machine kind has two cores; each file starts its own cluster with its own ports,
# Pulumi home and backend, so files run side by side; a file's tests stay together and in order).
E2E_WORKERS ?= 2
e2e: envs
	MLFLOW=$(CURDIR)/$(MLFLOW_VENV)/bin/mlflow $(PY) -m pytest -q -p no:cacheprovider -n $(E2E_WORKERS) --dist loadfile tests/e2e

bench: venv
	$(PY) -m offline.bench --out docs/benchmarks.md

# The real engine against the local cluster (about 10 minutes here); its section of docs/benchmarks.md.
bench-engine: venv
	$(PY) -m offline.bench_engine --parallel $(PARALLEL) --out docs/benchmarks.md

# 50 models on one stack, up and destroy (minutes; not part of .ci/run).
scale: venv policy-venv
	KSERVE_INTEL_SCALE=1 $(PY) -m pytest -q -s -p no:cacheprovider tests/e2e/test_scale.py

render: venv
	$(PY) -m offline.render --stack $(STACK) $(foreach kv,$(SET),--set $(kv))

validate: venv
	$(PY) -m offline.validation build/$(STACK)

images: venv
	@$(PY) -m tools.images --stack $(STACK)

golden: venv
	$(PY) -m offline.golden

schema: venv
	$(PY) -m kserve_intel.config.schema
	$(PY) -m kserve_intel.config.reference

login:
	@$(PULUMI) whoami >/dev/null 2>&1 || $(PULUMI) login $(BACKEND)

stack: login venv
	$(PULUMI) stack select --create $(STACK)

# The policy pack's own environment, as `pulumi preview --policy-pack policy` expects it.
policy/venv/.installed: policy/requirements.txt tools/cached_venv.py
	$(CACHED_VENV) policy/venv pip policy/requirements.txt

policy-venv: policy/venv/.installed

# On your cluster when one is configured (KUBECONFIG, ~/.kube/config, or kubernetes:context in the stack file);
# otherwise on the local simulated cluster, started in the background and reused (engine/deploy.py).
preview up destroy down: venv policy-venv
	$(PY) -m engine.deploy $@ --stack $(STACK) --parallel $(PARALLEL) --backend $(BACKEND) $(if $(ADOPT),--adopt)

smoke: venv
	$(if $(TOKEN),SMOKE_TOKEN=$(TOKEN)) $(PY) -m tools.smoke --stack $(STACK) $(if $(URL),--url $(URL)) $(SMOKE_ARGS)
