# kserve-intel: `make test` on a fresh machine creates .venv and runs the suite.
PYTHON ?= python3
VENV   ?= .venv
STACK  ?= xeon
PY     := $(VENV)/bin/python
# checkov cannot share .venv (it pins packaging<24, pulumi needs >=26).
CHECKOV_VENV ?= .venv-checkov
# Pulumi state goes to a local file backend unless you are already logged in.
BACKEND ?= file://$(CURDIR)/.pulumi-state
SET    ?=
# make smoke: URL=<OpenAI base URL> asks every model through it; TOKEN for a gateway.
URL    ?=
TOKEN  ?=
SMOKE_ARGS ?=
# make up ADOPT=1: adopt the namespace and model caches a previous destroy retained.
ADOPT  ?=

.PHONY: help venv checkov vllm-parsers test bench render validate golden schema smoke preview up destroy login stack policy-venv

help:
	@echo "make test                    create .venv and run the test suite"
	@echo "make render STACK=xeon       write what a stack would create to build/<stack>/ (offline)"
	@echo "make validate STACK=xeon     validate build/<stack>/ against the upstream schemas"
	@echo "make golden                  refresh tests/golden/ after an intended change"
	@echo "make schema                  refresh schemas/stack-config.schema.json after a config change"
	@echo "make bench                   benchmark the program for 1-100 models, write docs/benchmarks.md"
	@echo "make preview|up|destroy STACK=xeon   run Pulumi against your cluster"
	@echo "make up STACK=xeon ADOPT=1   up after a destroy: adopt the retained namespace and model caches"
	@echo "make smoke STACK=xeon [URL=http://host/v1] [TOKEN=...]   chat + completion against every model"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check -q -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV_VENV)/.installed

# Test-only venvs with one vLLM version's real argument parser each (tools/vllm_parser_venv.py).
VLLM_PARSERS ?= 0.26.0
VLLM_PARSER_VENVS := $(foreach v,$(VLLM_PARSERS),.venv-vllm-$(v)/.installed)

.venv-vllm-%/.installed: requirements-vllm-%.txt tools/vllm_parser_venv.py
	$(PYTHON) tools/vllm_parser_venv.py $* .venv-vllm-$* requirements-vllm-$*.txt
	touch $@

vllm-parsers: $(VLLM_PARSER_VENVS)

test: venv checkov vllm-parsers
	CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest -q

bench: venv
	$(PY) -m offline.bench --out docs/benchmarks.md

render: venv
	$(PY) -m offline.render --stack $(STACK) $(foreach kv,$(SET),--set $(kv))

validate: venv
	$(PY) -m kserve_intel.validation build/$(STACK)

golden: venv
	$(PY) -m offline.golden

schema: venv
	$(PY) -m kserve_intel.config_schema

login:
	@pulumi whoami >/dev/null 2>&1 || pulumi login $(BACKEND)

stack: login venv
	pulumi stack select --create $(STACK)

# The policy pack's own environment, as `pulumi preview --policy-pack policy` expects it.
policy/venv/.installed: policy/requirements.txt
	$(PYTHON) -m venv policy/venv
	policy/venv/bin/pip install --disable-pip-version-check -q -r policy/requirements.txt
	touch $@

policy-venv: policy/venv/.installed

preview: stack policy-venv
	pulumi preview --stack $(STACK) --diff --policy-pack policy

up: stack policy-venv
	$(if $(ADOPT),PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true) pulumi up --stack $(STACK) --policy-pack policy

destroy: stack
	pulumi destroy --stack $(STACK)

smoke: venv
	$(if $(TOKEN),SMOKE_TOKEN=$(TOKEN)) $(PY) -m tools.smoke --stack $(STACK) $(if $(URL),--url $(URL)) $(SMOKE_ARGS)
