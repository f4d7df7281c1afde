# Vigia: two commands. `make demo` runs every DAG end to end; `make test` runs the whole suite.
SHELL := /bin/bash
ROOT := $(abspath .)
PYTHON ?= python3.11
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Embedded defaults: SQLite metadata in .airflow/, DuckDB warehouse and sample sources in data/.
export AIRFLOW_HOME ?= $(ROOT)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION ?= False
export VIGIA_DATA_DIR ?= $(ROOT)/data
export GX_ANALYTICS_ENABLED := False
export PATH := $(BIN):$(PATH)

DEMO_SEGMENTS ?= 60
DEMO_ROWS ?= 20000
DEMO_SUS_MUNICIPALITIES ?= 150
DEMO_SUS_ROWS ?= 40000
DEMO_REG_BENEFICIARIES ?= 3000
DEMO_REG_REQUESTS ?= 30000

.PHONY: help venv sample-data demo test test-fast airflow bench clean

help:
	@echo "make demo         set up, generate sample data, run every DAG end to end, print what landed"
	@echo "make test         the whole test suite (unit, DAG validation, integration on DuckDB and PostgreSQL)"
	@echo "make airflow      the Airflow UI (airflow standalone) on the same defaults, http://localhost:8080"
	@echo "make bench        the glosa clustering benchmark (results in docs/benchmarks.md)"
	@echo "make sample-data  regenerate the sample sources in data/sources/"
	@echo "make topology-up  the production topology as local processes (Celery, PostgreSQL, Redis): docs/topology.md"
	@echo "make topology-down  stop it"

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	# the vigia package (include/) is importable from the venv, by Airflow and pytest alike
	echo "$(ROOT)/include" > $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/vigia-include.pth
	touch $(STAMP)

$(AIRFLOW_HOME)/airflow.db: $(STAMP)
	mkdir -p $(AIRFLOW_HOME)
	airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (tail -20 $(AIRFLOW_HOME)/db-migrate.log; exit 1)

sample-data: $(STAMP)
	$(BIN)/python -m vigia.sample_data glosa --segments $(DEMO_SEGMENTS) --rows $(DEMO_ROWS)
	$(BIN)/python -m vigia.sample_data sus --municipalities $(DEMO_SUS_MUNICIPALITIES) --sia-rows $(DEMO_SUS_ROWS)
	$(BIN)/python -m vigia.sample_data regulation --beneficiaries $(DEMO_REG_BENEFICIARIES) --requests $(DEMO_REG_REQUESTS)

# the SUS demo run builds its 12 months of history in the same run
DEMO_CONF_sus_anomaly_scoring := {"build_missing_history": true}
DEMO_DAGS := glosa_clustering sus_anomaly_scoring regulation_model_retraining regulation_decisions

demo: $(STAMP) $(AIRFLOW_HOME)/airflow.db sample-data
	@for dag in $(DEMO_DAGS); do \
	  conf=$$(case $$dag in sus_anomaly_scoring) echo '$(DEMO_CONF_sus_anomaly_scoring)';; *) echo '{}';; esac); \
	  echo "== airflow dags test $$dag -c '$$conf'"; \
	  airflow dags test $$dag -c "$$conf" > $(AIRFLOW_HOME)/demo-$$dag.log 2>&1 \
	    && echo "   success (log: $(AIRFLOW_HOME)/demo-$$dag.log)" \
	    || { tail -40 $(AIRFLOW_HOME)/demo-$$dag.log; echo "   FAILED (log: $(AIRFLOW_HOME)/demo-$$dag.log)"; exit 1; }; \
	done
	$(BIN)/python -m vigia.report

test: $(STAMP)
	$(BIN)/python -m pytest -ra tests

test-fast: $(STAMP)
	$(BIN)/python -m pytest -ra tests/unit tests/dag_validation

airflow: $(STAMP) $(AIRFLOW_HOME)/airflow.db
	@test -f $(VIGIA_DATA_DIR)/sources/glosa.duckdb -a -d $(VIGIA_DATA_DIR)/sources/sus || $(MAKE) sample-data
	AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True airflow standalone

bench: $(STAMP)
	$(BIN)/python bench/glosa_clustering.py
	$(BIN)/python bench/glosa_dag_wall.py

clean:
	rm -rf $(AIRFLOW_HOME) $(VIGIA_DATA_DIR)

# The production topology as local processes: api-server, scheduler, dag-processor, triggerer and
# two Celery workers against this machine's PostgreSQL and Redis (.ci/topology.sh, docs/topology.md).
.PHONY: topology-up topology-down
topology-up: $(STAMP)
	@test -f $(VIGIA_DATA_DIR)/sources/glosa.duckdb -a -d $(VIGIA_DATA_DIR)/sources/sus || $(MAKE) sample-data
	VIGIA_TOPOLOGY_DATA_DIR=$(VIGIA_DATA_DIR) .ci/topology.sh up

topology-down:
	.ci/topology.sh down
