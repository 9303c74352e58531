# WeatherInsight — `make demo` and `make test` work on a fresh machine with only Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3.11
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)

.PHONY: bootstrap setup demo api explorer-assets test lint typecheck unit bench airflow docs

bootstrap:  ## install uv with pip if it is missing
	@command -v uv >/dev/null 2>&1 || [ -x $(HOME)/.local/bin/uv ] || \
	  $(PYTHON) -m pip install --user --quiet uv || \
	  $(PYTHON) -m pip install --user --quiet --break-system-packages uv

setup: bootstrap  ## create .venv from uv.lock with every extra
	$(UV) sync --frozen --all-extras --compile-bytecode --python $(PYTHON)
	@# uv compiles site-packages only; the editable package's own modules too, so that a process started
	@# under PYTHONDONTWRITEBYTECODE=1 does not recompile them every time (issue #19).
	$(UV) run --frozen python -m compileall -q src

demo: setup  ## build a DWD mirror, serve it on loopback and run the pipeline on the embedded default
	$(UV) run --frozen python -m weatherinsight.cli.demo

api: setup  ## serve the demo's data: the explorer at http://127.0.0.1:8000/, the API under /v1, docs at /docs (uses demo/demo.env when the demo wrote it)
	set -a; if [ -f demo/demo.env ]; then . demo/demo.env; fi; set +a; $(UV) run --frozen weatherinsight api serve

explorer-assets:  ## rebuild the explorer's map outline from the pinned npm package (web/package-lock.json)
	cd web && npm ci --ignore-scripts --no-audit --no-fund && node build.mjs

lint: setup
	$(UV) run --frozen ruff check src tests dags benchmarks scripts
	$(UV) run --frozen ruff format --check src tests dags benchmarks scripts
	$(UV) run --frozen lint-imports  # the layers of docs/architecture.md (.importlinter)

typecheck: setup
	$(UV) run --frozen mypy

unit: setup
	bash scripts/ensure-services.sh
	$(UV) run --frozen pytest -n 2 --dist loadgroup

test: lint typecheck unit  ## everything CI runs: ruff, import-linter, mypy, the whole pytest suite on real services

docs: setup  ## build the docs site (MkDocs + Material, strict, works offline) into ./site — open site/index.html
	NO_MKDOCS_2_WARNING=1 $(UV) run --frozen mkdocs build --strict -d site

bench: setup  ## every benchmark in turn (benchmarks/README.md: what each measures; api needs Debian's wrk)
	set -e; for b in startup parse daily_parse mirror ingest stage aggregate archive periods api explorer; do echo "== benchmarks/$$b.py"; $(UV) run --frozen python benchmarks/$$b.py; done

airflow: setup  ## a local Airflow 3 (api-server, scheduler, dag-processor) on the machine's PostgreSQL, DAGs from ./dags
	bash scripts/airflow-local.sh
