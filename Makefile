# The test command the README gives and CI runs. Tests that need PostgreSQL
# read SCIM_BRIDGE_TEST_POSTGRES_DSN; tests that need promtool find it on PATH.
# Tests that cannot run here skip, and `make test` ends with one line per
# reason, so what did not run is never mistaken for a pass.
GO ?= go
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report "context deadline exceeded" at the deadline on a busy machine
# (golang/go#75804, fixed in Go 1.27) although nothing failed.
FUZZTIME ?= 10000x

# testreport prints `go test -json` as plain `go test` does and records the
# skipped tests.
REPORT := bin/testreport
SKIPPED_UNIT := bin/skipped-unit.txt
SKIPPED_CHART := bin/skipped-chart.txt

.PHONY: test unit chart fuzz build schema bench

# Run alone, unit and chart list their skipped tests at their end; under
# test the list comes once, at the very end.
test: LIST_SKIPPED_AT_END := 1
test: unit chart fuzz build
	@$(REPORT) -list $(SKIPPED_UNIT) $(SKIPPED_CHART)

unit: $(REPORT)
	$(GO) vet ./...
	$(GO) test -json -count=1 -timeout 30m ./... | $(REPORT) -skipped $(SKIPPED_UNIT) $(if $(LIST_SKIPPED_AT_END),,-list-skipped)

chart: $(REPORT)
	cd charts && $(GO) vet ./...
	cd charts && $(GO) test -json -count=1 -timeout 15m ./... | ../$(REPORT) -skipped ../$(SKIPPED_CHART) $(if $(LIST_SKIPPED_AT_END),,-list-skipped)

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzPatch$$' -fuzztime $(FUZZTIME) ./bridge/scim
	$(GO) test -run '^$$' -fuzz '^FuzzFilter$$' -fuzztime $(FUZZTIME) ./bridge/scim
	$(GO) test -run '^$$' -fuzz '^FuzzFastPatchOps$$' -fuzztime $(FUZZTIME) ./bridge/scim

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$$(git describe --tags --always 2>/dev/null || echo dev)" -o bin/scim-bridge ./cmd/scim-bridge
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/gainsight-sim ./cmd/gainsight-sim

# The SCIM front end's figures (README "Performance"): cmd/scim-load starts
# the bridge with the demo's configuration on SQLite at 10,000 and 100,000
# users (and on PostgreSQL when SCIM_BRIDGE_TEST_POSTGRES_DSN is set),
# seeds them through SCIM creates, drives each scenario at c=32 and prints
# one table. About ten minutes; not part of make test. BENCH_FLAGS adds
# flags (--duration 5s, --scenarios create,username-eq, --pprof DIR).
BENCH_FLAGS ?=
bench: build
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/scim-load ./cmd/scim-load
	bin/scim-load --bridge bin/scim-bridge --users 10000,100000 --store sqlite$(if $(SCIM_BRIDGE_TEST_POSTGRES_DSN),$(comma)postgres) $(BENCH_FLAGS)

comma := ,

$(REPORT): $(wildcard internal/tools/testreport/*.go) go.mod
	$(GO) build -o $@ ./internal/tools/testreport

# The chart's values.schema.json describes the config file under "config";
# regenerate it after changing the config structs (a test fails until then).
schema:
	$(GO) generate ./config
