# Two commands matter: `make demo` and `make test`. Both build .venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out/demo

.PHONY: demo test test-all lint bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.runtime

STORE  := $(OUT)/plant.duckdb

# The modelled demo plant, then the bundled real data ingested into an embedded store and
# replayed: a plant whose supplier lead times are drawn from recorded SCMS deliveries, and
# a plate line whose ONNX surface-inspection gate decides on recorded Steel Plates features;
# then the reference cases and their management-review report (out/demo/report.html).
# Exit code 1 (hypothesis violated) is a finding, not a failure.
demo: $(VENV)/.runtime
	$(BIN)/shocktwin run scenarios/reference/demo_plant.yaml --out $(OUT) || test $$? -eq 1
	$(BIN)/shocktwin ingest data/scms_delivery_history/SCMS_Delivery_History_Dataset.csv --format scms --db $(STORE)
	$(BIN)/shocktwin ingest data/secom_labels_uci/secom_labels.data --format secom --db $(STORE)
	$(BIN)/shocktwin ingest data/steel_plates_faults_uci/Faults.NNA --format steel-plates --db $(STORE)
	$(BIN)/shocktwin run scenarios/replay/valve_scms.yaml --out $(OUT)/replay || test $$? -eq 1
	$(BIN)/shocktwin run scenarios/replay/steel_ai.yaml --out $(OUT)/steel-ai || test $$? -eq 1
	$(BIN)/shocktwin run valve_earthquake --out $(OUT)/valve-earthquake || test $$? -eq 1
	$(BIN)/shocktwin run column_discontinued --out $(OUT)/column-discontinued || test $$? -eq 1
	$(BIN)/shocktwin run photoresist_switch --out $(OUT)/photoresist-switch || test $$? -eq 1
	$(BIN)/shocktwin run regulation_change --out $(OUT)/regulation-change || test $$? -eq 1
	$(BIN)/shocktwin mtd column_discontinued --executor process --out $(OUT)/column-mtd --resume || test $$? -eq 1
	$(BIN)/shocktwin report $(OUT)/valve-earthquake $(OUT)/column-discontinued $(OUT)/column-mtd \
	    $(OUT)/photoresist-switch $(OUT)/regulation-change -o $(OUT)/report.html

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -m "not slow" -q

test-all: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/python -m mypy

bench: $(VENV)/.dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
