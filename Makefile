# The test command the README gives and CI runs. Tests that need PostgreSQL
# read SCIM_BRIDGE_TEST_POSTGRES_DSN; tests that need promtool find it on PATH.
GO ?= go
FUZZTIME ?= 10s

.PHONY: test unit chart fuzz build schema

test: unit chart fuzz build

unit:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

chart:
	cd charts && $(GO) vet ./... && $(GO) test -count=1 -timeout 15m ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzPatch$$' -fuzztime $(FUZZTIME) ./bridge/scim
	$(GO) test -run '^$$' -fuzz '^FuzzFilter$$' -fuzztime $(FUZZTIME) ./bridge/scim

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$$(git describe --tags --always 2>/dev/null || echo dev)" -o bin/scim-bridge ./cmd/scim-bridge
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/gainsight-sim ./cmd/gainsight-sim

# The chart's values.schema.json describes the config file under "config";
# regenerate it after changing the config structs (a test fails until then).
schema:
	$(GO) generate ./config
