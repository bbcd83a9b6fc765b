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

.PHONY: help venv checkov test render validate golden preview up destroy login stack

help:
	@echo "make test                    create .venv and run the test suite"
	@echo "make render STACK=xeon       write what a stack would create to build/<stack>/ (offline)"
	@echo "make validate STACK=xeon     validate build/<stack>/ against the upstream schemas"
	@echo "make preview|up|destroy STACK=xeon   run Pulumi against your cluster"

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

test: venv checkov
	CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest -q

render: venv
	$(PY) -m offline.render --stack $(STACK) $(foreach kv,$(SET),--set $(kv))

validate: venv
	$(PY) -m kserve_intel.validation build/$(STACK)

login:
	@pulumi whoami >/dev/null 2>&1 || pulumi login $(BACKEND)

stack: login venv
	pulumi stack select --create $(STACK)

preview: stack
	pulumi preview --stack $(STACK) --diff

up: stack
	pulumi up --stack $(STACK)

destroy: stack
	pulumi destroy --stack $(STACK)
