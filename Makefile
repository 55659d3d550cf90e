# Two commands matter: `make demo` and `make test`. Both build .venv from the lock
# (requirements.lock, hashes checked), then install shocktwin itself without dependencies.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out/demo
LOCK   := requirements.lock
BENCH_LOCK := requirements-bench.lock
BENCH_VENV := .venv-bench
# The newest releases of every dependency, in their own venv: drift shows up here first.
LATEST := .venv-latest

.PHONY: demo test test-all test-latest lint bench lock clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

STORE  := $(OUT)/plant.duckdb

# The modelled demo plant, then the bundled real data ingested into an embedded store and
# replayed: a plant whose supplier lead times are drawn from recorded SCMS deliveries, and
# a plate line whose ONNX surface-inspection gate decides on recorded Steel Plates features.
# Then two quarterly reviews of the bundled cases into one history store: the quality
# system as it is (2026-Q3), then prepared (2026-Q4), and the management-review report over
# them in English and Simplified Chinese (out/demo/report.html, out/demo/report.zh-CN.html).
# Exit codes 1 (hypothesis violated, a test failed) and 4 (undecided) are findings, not
# failures. --resume --replace make a second `make demo` cheap: every finished run is taken
# from the review folders and each review is written again in its place.
REVIEWS := $(OUT)/reviews.duckdb

demo: $(VENV)/.installed
	$(BIN)/shocktwin run scenarios/reference/demo_plant.yaml --out $(OUT)/demo-plant --force || test $$? -eq 1 -o $$? -eq 4
	$(BIN)/shocktwin ingest data/scms_delivery_history/SCMS_Delivery_History_Dataset.csv --format scms --db $(STORE)
	$(BIN)/shocktwin ingest data/secom_labels_uci/secom_labels.data --format secom --db $(STORE)
	$(BIN)/shocktwin ingest data/steel_plates_faults_uci/Faults.NNA --format steel-plates --db $(STORE)
	$(BIN)/shocktwin run scenarios/replay/valve_scms.yaml --out $(OUT)/replay --force || test $$? -eq 1 -o $$? -eq 4
	$(BIN)/shocktwin run scenarios/replay/steel_ai.yaml --out $(OUT)/steel-ai --force || test $$? -eq 1 -o $$? -eq 4
	$(BIN)/shocktwin campaign quarterly_as_is --review 2026-Q3 --history $(REVIEWS) \
	    --out $(OUT)/review-2026-Q3 --executor process --resume --replace || test $$? -eq 1
	$(BIN)/shocktwin campaign quarterly_prepared --review 2026-Q4 --history $(REVIEWS) \
	    --out $(OUT)/review-2026-Q4 --executor process --resume --replace || test $$? -eq 1
	$(BIN)/shocktwin report $(OUT)/review-2026-Q4 --history $(REVIEWS) -o $(OUT)/report.html
	$(BIN)/shocktwin report $(OUT)/review-2026-Q4 --history $(REVIEWS) --lang zh-CN \
	    -o $(OUT)/report.zh-CN.html

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -m "not slow" -q

test-all: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q

# The same checks against whatever was released last: run on a schedule (examples/ci), and
# before `make lock`, so a new release that breaks us is seen before it is locked in.
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(LATEST)/bin/python -m pip install -q --disable-pip-version-check --upgrade -e '.[dev]'
	$(LATEST)/bin/ruff check .
	$(LATEST)/bin/python -m mypy
	$(LATEST)/bin/python -m pytest -m "not slow" -q -p no:cacheprovider

# Re-resolve the locks from pyproject.toml (needs the network). The current pins are kept
# where they still fit (a dependency added or changed moves only what it must); with
# UPGRADE=1 everything moves to the newest releases that fit. uv is used only to write the
# files; installing them needs nothing but pip. requirements.lock is what users, CI and
# `make test` install; requirements-bench.lock adds the benchmark's peers (the bench extra)
# to exactly those pins, for `make bench`'s own venv.
UPGRADE ?=
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --disable-pip-version-check uv
	printf 'setuptools>=77\nwheel\npip\n' > .venv-lock/build.in
	grep -v '^#' $(LOCK) > .venv-lock/lock.txt
	.venv-lock/bin/uv pip compile pyproject.toml .venv-lock/build.in --extra dev --universal \
	    --fork-strategy fewest $(if $(UPGRADE),--upgrade,) \
	    --python-version 3.11 --generate-hashes --no-header -o .venv-lock/lock.txt
	{ printf '# The whole dependency set, locked with hashes: `make lock` writes it (read the README,\n'; \
	  printf '# "Dependencies", before changing it), `make test` and `make demo` install exactly this.\n'; \
	  sed 's|-r \.venv-lock/build\.in|the build tools (setuptools, wheel, pip)|' .venv-lock/lock.txt; } > $(LOCK)
	grep -v '^#' $(BENCH_LOCK) > .venv-lock/bench.txt
	sed -e '/^ *--hash/d' -e '/^ *#/d' -e 's/ \\$$//' $(LOCK) > .venv-lock/pins.txt
	.venv-lock/bin/uv pip compile pyproject.toml .venv-lock/build.in --extra dev --extra bench \
	    --universal --fork-strategy fewest -c .venv-lock/pins.txt \
	    --python-version 3.11 --generate-hashes --no-header -o .venv-lock/bench.txt
	{ printf "# The benchmark's dependency set: the whole of requirements.lock (the same pins) and the peers\n"; \
	  printf '# bench/peers.py compares against (the bench extra), locked with hashes. `make lock` writes\n'; \
	  printf "# it; \`make bench\` installs exactly this into a venv of its own (.venv-bench), so users and\n"; \
	  printf '# CI never install the peers and what they bring.\n'; \
	  sed -e 's|-r \.venv-lock/build\.in|the build tools (setuptools, wheel, pip)|' \
	      -e 's|-c \.venv-lock/pins\.txt|requirements.lock|' .venv-lock/bench.txt; } > $(BENCH_LOCK)
	rm -rf .venv-lock

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m mypy

# The benchmarks run in a venv of their own: the same pins as .venv plus the peers they
# compare against (requirements-bench.lock), which nothing else installs. Its interpreter
# starts 0.15 s slower (a peer's dependency patches Jinja2 from a .pth file), so start-up
# is measured with the product's own venv.
$(BENCH_VENV)/.installed: pyproject.toml $(BENCH_LOCK)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r $(BENCH_LOCK)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

bench: $(BENCH_VENV)/.installed $(VENV)/.installed
	BENCH_PYTHON=$(abspath $(BIN)/python) $(BENCH_VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) $(LATEST) $(BENCH_VENV) out .pytest_cache .mypy_cache .ruff_cache
