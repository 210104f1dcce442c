# Two commands: `make run` serves the demo, `make test` runs lint and the whole suite.
# Both set up everything they need on a fresh Debian machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint system-deps prod-demo bench-deps clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-test.txt | $(BIN)/activate
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-test.txt > $(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; exit 1; }
	touch $@

run: $(VENV)/.installed
	$(FLASK) cm init
	$(FLASK) cm demo
	@echo "Serving on http://$(HOST):$(PORT)/staff/login  (Ctrl-C to stop)"
	$(FLASK) cm serve --host $(HOST) --port $(PORT)

# The production layout on this machine: PostgreSQL on a unix socket, migrations,
# the demo clinic, gunicorn (gunicorn.conf.py, CM_ENV=production) on 127.0.0.1:$PORT
# (8000 unless PORT is set in the environment) and one scheduler. Ctrl-C stops all.
prod-demo: NEED_CHROMIUM = no
prod-demo: system-deps $(VENV)/.installed
	$(BIN)/python scripts/prod_demo.py

# Debian's PostgreSQL server and Chromium (not for prod-demo), installed with apt-get
# when missing.
NEED_CHROMIUM ?= yes
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ "$(NEED_CHROMIUM)" = no ] || [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing >/dev/null; \
	fi

# What the benchmarks need (bench/README.md): the venv, Debian's PostgreSQL server
# and wrk, installed with apt-get when missing.
bench-deps: NEED_CHROMIUM = no
bench-deps: system-deps $(VENV)/.installed
	@command -v wrk >/dev/null || { \
		echo "Installing: wrk"; \
		if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q wrk >/dev/null; \
	}

# axe-core, injected into pages by the browser tests' accessibility checks.
node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The timeout only guards against a hang: the suite takes about 20 minutes on 2 cores.
test: system-deps lint node_modules/.installed
	timeout 3000 $(BIN)/pytest -q --output test-results --screenshot only-on-failure

clean:
	rm -rf $(VENV) test-results instance
