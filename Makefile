# proxylab: each target runs one proxylab command. `make` alone lists them.
# Variables: MODE (ipvs|iptables|nftables), K8S (e.g. 1.33), SCHEDULER (rr, wrr, ...),
#            CLUSTER (default proxylab), ARGS (extra options for the command).

.DEFAULT_GOAL := help
SHELL := /bin/bash

MODE      ?= ipvs
K8S       ?=
SCHEDULER ?= rr
CLUSTER   ?= proxylab
ARGS      ?=

NODE_MODULES := node_modules/.package-lock.json
BUILD        := dist/.build-stamp
SOURCES      := $(shell find src wasm -name '*.ts' 2>/dev/null)
PROXYLAB      = node bin/proxylab.js --cluster $(CLUSTER)
K8S_FLAG      = $(if $(K8S),--k8s $(K8S),)

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(BUILD): $(NODE_MODULES) $(SOURCES) tsconfig.json
	npm run --silent build
	@touch $@

##@ Setup
help: ## list the targets (this text)
	@awk 'BEGIN {FS = ":.*## "} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo; echo "  Variables: MODE=$(MODE) K8S=$(K8S) SCHEDULER=$(SCHEDULER) CLUSTER=$(CLUSTER)"

doctor: $(BUILD) ## check this machine (Docker engine, kind, kubectl, IPVS modules)
	$(PROXYLAB) doctor $(ARGS)

tools: $(BUILD) ## put the pinned kind and kubectl in ./.bin (sha256-verified)
	$(PROXYLAB) tools $(ARGS)

up: $(BUILD) ## create the kind cluster (1 control plane + 2 workers) and wait for it
	$(PROXYLAB) up --mode iptables $(K8S_FLAG) $(ARGS)

lab: $(BUILD) ## everything: cluster, kube-proxy in MODE, web sample, every check
	$(PROXYLAB) lab --mode $(MODE) $(K8S_FLAG) $(ARGS)

##@ Lab steps
modules: $(BUILD) ## load the IPVS kernel modules into the Docker engine's kernel (through a node)
	$(PROXYLAB) modules $(ARGS)

node-tools: $(BUILD) ## install ipvsadm, ipset and conntrack in every node
	$(PROXYLAB) node-tools $(ARGS)

ipvs: $(BUILD) ## switch kube-proxy to IPVS (modules, node tools, switch, flush leftovers)
	$(PROXYLAB) mode ipvs --scheduler $(SCHEDULER) $(ARGS)

iptables: $(BUILD) ## switch kube-proxy back to iptables
	$(PROXYLAB) mode iptables $(ARGS)

nftables: $(BUILD) ## switch kube-proxy to nftables (Kubernetes >= 1.31)
	$(PROXYLAB) mode nftables $(ARGS)

scheduler: $(BUILD) ## switch the IPVS scheduler: make scheduler SCHEDULER=sh
	$(PROXYLAB) scheduler $(SCHEDULER) $(ARGS)

flush-nat: $(BUILD) ## remove the rules the previous proxy mode left behind
	$(PROXYLAB) flush-nat $(ARGS)

web: $(BUILD) ## deploy the nginx web sample (2 replicas, ClusterIP + NodePort)
	$(PROXYLAB) web $(ARGS)

traffic: $(BUILD) ## send 20 requests to the web service, count answers per pod
	$(PROXYLAB) traffic $(ARGS)

bare: $(BUILD) ## IPVS NAT and DR mode by hand, no Docker needed
	$(PROXYLAB) bare $(ARGS)

scale: $(BUILD) ## iptables vs IPVS vs nftables at 100..5000 services (--bare: no cluster)
	$(PROXYLAB) scale $(ARGS)

##@ Inspect
inspect: $(BUILD) ## every node's datapath joined to the Services (table; ARGS=--json)
	$(PROXYLAB) inspect $(ARGS)

status: $(BUILD) ## cluster, version, mode per node, web sample, last check
	$(PROXYLAB) status $(ARGS)

##@ Checks
check: $(BUILD) ## run labs/ipvs and compare every output with the doc
	$(PROXYLAB) check labs/ipvs $(ARGS)

smoke: $(BUILD) ## exactly what a CI job runs (lab + every check + JUnit)
	node scripts/smoke.mjs --cluster $(CLUSTER) --mode $(MODE) $(K8S_FLAG) $(ARGS)

test: $(BUILD) ## install and build what the tests need, then run every test tier
	bash scripts/test-deps.sh
	npm test

interrupt-session: $(BUILD) ## Ctrl-C at every step of make lab on the fake toolchain: a table (ARGS=--steps 9-12)
	npm run --silent interrupt-session -- $(ARGS)
.PHONY: interrupt-session

bench: $(NODE_MODULES) ## the benchmarks (parsers, process overhead, VM, lab)
	npm run --silent bench

lint: $(NODE_MODULES) ## typecheck, lint, format check; actionlint + shellcheck on the workflows
	npx tsc -p tsconfig.test.json
	npm run --silent lint
	npm run --silent format:check
	node scripts/lint-workflows.mjs

##@ Cleanup
down: $(BUILD) ## delete the cluster and its kubeconfig (ARGS=--all: every proxylab cluster)
	$(PROXYLAB) down $(ARGS)

.PHONY: help doctor tools up lab modules node-tools ipvs iptables nftables scheduler flush-nat web traffic bare scale inspect status check smoke test bench lint down
