# flymodel. Quick start: `make run` starts the server, `make test` runs every test.

# sqlc generates internal/db/postgres/internal/pgdb and
# internal/db/sqlite/internal/sqlitedb from queries/ and schema/. Its version
# is pinned here and nowhere else; it is installed once into a cache outside
# the repository (it needs cgo: a few minutes the first time).
SQLC_VERSION := v1.31.1
SQLC := $(HOME)/.cache/flymodel/sqlc-$(SQLC_VERSION)/sqlc

GO ?= go
SHELL := bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build run test test-python generate check-generated generate-openapi check-openapi vet fmt ci bench-api bench-ui bench-artifacts bench-promote bench-python screenshots typecheck-python

## build: the binary, bin/flymodel, stamped with the version
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/flymodel ./cmd/flymodel

## run: the server with no configuration (data in ./flymodel-data)
run:
	$(GO) run ./cmd/flymodel serve

## test: every test (PostgreSQL too when FLYMODEL_TEST_POSTGRES_URL is set), then
## the tests skipped for lack of a service, by reason, and "N passed, N failed, N skipped"
test:
	set -o pipefail; $(GO) test -count=1 -json ./... | $(GO) run ./internal/cmd/testsummary

## test-python: the Python client's tests (python/tests) through their Go driver, verbose
# make test runs them too (cmd/flymodel's TestPythonClient): on SQLite, on
# PostgreSQL + S3 when those are configured, and pip install of python/.
test-python:
	$(GO) test -count=1 -v -run TestPythonClient ./cmd/flymodel

## generate: sqlc's code, then the engine adapters over it
generate: $(SQLC)
	$(SQLC) generate
	$(GO) run ./internal/db/internal/gen
	gofmt -w internal/db

## check-generated: fail when the generated code in the tree is stale
# It regenerates into the tree and fails if that changed any file under
# internal/db (on CI's clean clone: if `git status` shows a change there).
# Comparing checksums rather than `git status` alone lets it pass on a work
# tree with uncommitted hand-written changes.
check-generated: $(SQLC)
	$(SQLC) diff || { echo "check-generated: sqlc's output is stale: run 'make generate' and commit the result" >&2; exit 1; }
	@snapshot() { find internal/db -type f | LC_ALL=C sort | xargs sha256sum; }; \
	before="$$(snapshot)"; \
	$(MAKE) --no-print-directory generate || exit 1; \
	if [ "$$before" != "$$(snapshot)" ]; then \
		echo "check-generated: 'make generate' changed internal/db: run it and commit the result" >&2; \
		diff <(echo "$$before") <(snapshot) | grep '^[<>]' | awk '{print "  " $$3}' | sort -u >&2; \
		git status --porcelain -- internal/db >&2; \
		git diff --stat -- internal/db >&2; \
		exit 1; \
	fi

## generate-openapi: internal/httpapi/openapi.json from openapi.base.json, package api and routes.go
generate-openapi:
	$(GO) generate ./internal/httpapi

## check-openapi: fail when the committed OpenAPI document is stale
check-openapi:
	@before="$$(sha256sum internal/httpapi/openapi.json)"; \
	$(MAKE) --no-print-directory generate-openapi || exit 1; \
	if [ "$$before" != "$$(sha256sum internal/httpapi/openapi.json)" ]; then \
		echo "check-openapi: 'make generate-openapi' changed internal/httpapi/openapi.json: run it and commit the result" >&2; \
		git diff --stat -- internal/httpapi/openapi.json >&2; \
		exit 1; \
	fi

## vet: go vet, and gofmt on every file
vet:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "vet: not gofmt-ed (run 'make fmt'):" >&2; echo "$$unformatted" >&2; exit 1; \
	fi

## typecheck-python: pyright over the Python client, as Python 3.9 sees it (needs Node's npx and
## the npm registry; not part of make test or CI, which never need Node)
typecheck-python:
	cd python && npx --yes pyright@1 --pythonversion 3.9 flymodel tests bench

## fmt: gofmt every file
fmt:
	gofmt -w .

## ci: what .ci/run checks
ci: check-generated check-openapi vet test

$(SQLC):
	@echo "installing sqlc $(SQLC_VERSION) into $(dir $(SQLC)) (once; needs cgo)"
	GOBIN="$(dir $(SQLC))" CGO_ENABLED=1 $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

## bench-api: the HTTP API over loopback, 100,000 versions: req/s, p50, p99
# SQLite, plus PostgreSQL when FLYMODEL_TEST_POSTGRES_URL is set. Flags go in
# BENCH_FLAGS, e.g. make bench-api BENCH_FLAGS='-engine all -duration 30s'.
bench-api:
	$(GO) run ./internal/cmd/benchapi $(BENCH_FLAGS)

## bench-ui: the web UI's server-side render time per page, 100,000 versions and experiments: p50, p99
# SQLite (the seeded file cached under ~/.cache/flymodel/benchui), plus
# PostgreSQL when FLYMODEL_TEST_POSTGRES_URL is set. The pages are the table
# in internal/cmd/benchui/pages.go. Flags go in BENCH_FLAGS, e.g.
# make bench-ui BENCH_FLAGS='-engine all -requests 1000 -pages namespace'.
bench-ui:
	$(GO) run ./internal/cmd/benchui $(BENCH_FLAGS)

## bench-artifacts: upload and download of a 1 GiB artifact on the filesystem store
# MB/s beside dd conv=fsync to the same disk, and the server's peak RSS,
# through a real `flymodel serve`. Flags go in BENCH_FLAGS, e.g.
# make bench-artifacts BENCH_FLAGS='-size 256MiB -dir /srv/scratch'.
bench-artifacts:
	$(GO) run ./internal/cmd/benchblob $(BENCH_FLAGS)

## bench-promote: promotion of a version of one 1 GiB artifact (filesystem: hard link; S3: server-side copy)
# seconds and bytes through the process, then 100 versions of 20 small
# artifacts promoted in a row (promotions/s). S3 when
# FLYMODEL_TEST_S3_ENDPOINT is set. Flags go in BENCH_FLAGS.
bench-promote:
	$(GO) run ./internal/cmd/benchblob promote $(BENCH_FLAGS)

## bench-python: 1 GiB upload and download with the Python client beside the Go client (flymodel upsert / pull)
# in the same run against one real serve: MB/s medians of 3 runs and the
# Python/Go ratio. SQLite + filesystem; PostgreSQL + S3 with the harness's
# FLYMODEL_PYTEST_DATABASE_URL / FLYMODEL_PYTEST_STORAGE_TOML. Flags go in
# BENCH_FLAGS, e.g. make bench-python BENCH_FLAGS='--size 256MiB --runs 5'.
bench-python: build
	FLYMODEL_PYTEST_BINARY=$(CURDIR)/bin/flymodel python3 python/bench/transfer.py $(BENCH_FLAGS)

## screenshots: PNGs of the web UI's pages into docs/screenshots (needs Chromium)
# A throwaway serve seeded with --test-data multi_region plus generated
# versions, experiments and artifacts; the pages are the table in
# internal/cmd/screenshots. Chromium as for the browser tests (FLYMODEL_CHROMIUM).
screenshots: build
	$(GO) run ./internal/cmd/screenshots -flymodel bin/flymodel -out docs/screenshots $(SCREENSHOT_FLAGS)
