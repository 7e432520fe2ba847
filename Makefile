# Two commands for a fresh machine: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SOURCES := src tests bench conformance

.PHONY: setup run test pytest conformance check unit integration system demo demo-down bench-api bench-goalstate bench-nodes bench-replicas bench-takeover bench-dataplane bench-cni bench-firewalls bench-qos fmt clean proto

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/alcor server

check: setup
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy
	$(BIN)/lint-imports

# The pytest suites and the conformance suites side by side (two cores), each one's output whole.
test: check
	$(MAKE) --no-print-directory -j2 --output-sync=target pytest conformance

pytest: setup
	$(BIN)/python -m pytest

# tempest and neutron-tempest-plugin against `alcor server` with a real Keystone (docs/conformance.md).
conformance: setup
	$(BIN)/python conformance/run.py

unit: setup
	$(BIN)/python -m pytest tests/unit

integration: setup
	$(BIN)/python -m pytest tests/integration

system: setup
	$(BIN)/python -m pytest tests/system

# root: simulated hosts, agents and one VPC on this machine (see README "See it work")
demo: setup
	$(BIN)/alcor demo

demo-down: setup
	$(BIN)/alcor demo --down

bench-api: setup
	$(BIN)/python bench/api.py

bench-goalstate: setup
	$(BIN)/python bench/goalstate.py

bench-nodes: setup
	$(BIN)/python bench/nodes.py

# Needs PostgreSQL's server (Debian's postgresql): starts a private cluster of its own.
bench-replicas: setup
	$(BIN)/python bench/replicas.py

# Needs PostgreSQL's server too (or --store sqlite): two southbound replicas, one killed.
bench-takeover: setup
	$(BIN)/python bench/takeover.py

# Needs root: network namespaces and real agents (docs/benchmarks.md).
bench-dataplane: setup
	$(BIN)/python bench/dataplane.py

# firewall groups: a policy of 1,000 rules programmed on one host (root), an ACL change to 100 hosts
bench-firewalls: setup
	$(BIN)/python bench/firewalls.py

# root: a QoS change on 1,000 ports of one host, through the linux driver (issue 15)
bench-qos: setup
	$(BIN)/python bench/qos.py

# root: alcor-cni on a simulated node, ADD latency in bursts of 10 and pods per second
bench-cni: setup
	$(BIN)/python bench/cni.py

# The goal-state protocol's generated code (checked in; a unit test fails when it is stale).
PROTO_OUT ?= src
proto:
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m grpc_tools.protoc -Iproto \
		--python_out=$(PROTO_OUT) --grpc_python_out=$(PROTO_OUT) \
		--mypy_out=$(PROTO_OUT) --mypy_grpc_out=$(PROTO_OUT) proto/alcor/v1/southbound.proto

fmt: setup
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

clean:
	rm -rf $(VENV) alcor.db alcor.db-wal alcor.db-shm
