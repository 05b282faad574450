# cwroles — two entry points on a fresh machine (README.md):
#   make demo   set everything up, start the emulator, run the three stacks end to end
#   make test   set everything up, run the whole test suite (what .ci/run calls)
# Everything here is idempotent and safe to re-run. Nothing here changes your global `pulumi login`:
# this checkout's state stays in .state/ (Pulumi.yaml backend.url, scripts/with-pulumi-env.sh).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup venv pulumi browser demo lint test test-quick test-engine bench clean-state

setup: venv pulumi ## virtualenv + pinned Pulumi CLI (built from Go modules if needed)

venv: $(STAMP)
$(STAMP): pyproject.toml
	@echo "==> virtualenv $(VENV) and the project (editable) with its dev dependencies"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

pulumi: venv
	@echo "==> Pulumi CLI (pinned in scripts/ensure-pulumi.sh and pyproject.toml)"
	@mkdir -p .cwroles && scripts/ensure-pulumi.sh | tail -n1 > .cwroles/pulumi-bin
	@scripts/link-pulumi.sh "$$(cat .cwroles/pulumi-bin)"
	@scripts/with-pulumi-env.sh true

browser: ## headless Chromium for the console test (Debian package)
	@scripts/ensure-chromium.sh

demo: setup ## held to the CI guard: stops what it starts, changes no tracked file
	@scripts/no-leftovers.py scripts/with-pulumi-env.sh $(PY) scripts/demo.py

lint: venv ## ruff on the tree, mypy on the core and the provider (part of `make test`)
	@echo "==> ruff and mypy"
	@$(VENV)/bin/ruff check --quiet .
	@$(PY) scripts/typecheck.py --no-error-summary

QUICK := -m "not engine and not browser" -n auto --dist loadfile

test: setup browser lint ## the quick tests on every core, then the real engine and the browser
	@echo "==> quick tests"
	@scripts/with-pulumi-env.sh $(PY) -m pytest -q $(QUICK)
	@echo "==> engine and browser tests"
	@scripts/with-pulumi-env.sh $(PY) -m pytest -q -m "engine or browser"

test-quick: venv ## everything but the real engine and the browser: under a minute
	@$(PY) -m pytest -q $(QUICK)

test-engine: setup
	@scripts/with-pulumi-env.sh $(PY) -m pytest -q -m engine

bench: setup
	@scripts/with-pulumi-env.sh $(PY) -m bench

clean-state: ## forget local Pulumi state, emulator databases, checklists and the demo's project
	rm -rf .state .cwsim .cwroles/checklists .cwroles/demo
	mkdir -p .state

.PHONY: mutation
mutation: venv ## mutation testing of the verdict, retry and write code (docs/testing.md); not part of `make test`
	@$(PY) scripts/mutation.py --max-children 2 $(if $(ONLY),--only $(ONLY))
