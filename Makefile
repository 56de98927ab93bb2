# The one entry point for checks: `make test` is what the README and CI run.
# It installs what the tests need (see DEBS) when it is missing.

GO        ?= go
# Every module is tested on its own, as its users build it: go.work is only
# for `go run ./cmd/circuitdemo` from the root.
export GOWORK := off
# Every module of the repository: the core and the nested ones.
MODULES   := $(patsubst ./%,%,$(patsubst %/go.mod,%,$(shell find . -name go.mod -not -path './.git/*' | sort)))
FUZZ      := $(shell grep -ho '^func Fuzz[A-Za-z0-9_]*' *_test.go 2>/dev/null | sed 's/^func //')
# A count, not a duration: a duration races the fuzz coordinator's deadline in
# Go 1.26 (golang/go#75804) and fails with "context deadline exceeded" when the
# machine is loaded. 100000 inputs take 8 to 20 s a target here.
FUZZTIME  ?= 100000x
# Every package of the core module is held to MINCOVER% of its statements.
MINCOVER  ?= 90

.PHONY: test deps fmt vet race cover fuzz bench-smoke bench demo

test: deps fmt vet cover race fuzz bench-smoke
	@echo "make test: all checks passed"

# The Debian packages the tests start for real: redis-server (redisstore),
# prometheus and promtool (circuitprom), chromium (circuitdebug's browser test).
DEBS      := redis-server:redis-server prometheus:prometheus promtool:prometheus chromium:chromium

deps:
	@missing=; for d in $(DEBS); do command -v $${d%%:*} >/dev/null 2>&1 || missing="$$missing $${d#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for the tests:$$missing"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@for d in $(DEBS); do command -v $${d%%:*} >/dev/null 2>&1 || { echo "missing $${d%%:*} after install"; exit 1; }; done
	@redis-server --version; prometheus --version 2>&1 | head -1; chromium --version

fmt:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt -l lists these files:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do echo "go vet $$m"; (cd $$m && $(GO) vet ./...); done

# The core module's tests under -race, with the coverage gate.
cover:
	@set -e; out=$$(mktemp); \
	$(GO) test -race -count=1 -cover ./... 2>&1 | tee $$out; \
	awk -v min=$(MINCOVER) ' \
		/^ok/ && /coverage:/ { for (i = 1; i <= NF; i++) if ($$i == "coverage:") { c = $$(i+1); sub("%", "", c); \
			if (c + 0 < min) { printf "coverage %s%% of %s is below %s%%\n", c, $$2, min; bad = 1 } } } \
		/^FAIL/ { bad = 1 } \
		END { exit bad }' $$out; rc=$$?; rm -f $$out; exit $$rc

# The nested modules' tests under -race (the core's run in cover).
race:
	@set -e; for m in $(filter-out .,$(MODULES)); do echo "go test -race $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done

fuzz:
	@set -e; for f in $(FUZZ); do echo "fuzz $$f for $(FUZZTIME)"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) .; done

# Every benchmark once, so that none can rot; no timing is asserted.
bench-smoke:
	@set -e; for m in $(MODULES); do echo "bench smoke $$m"; (cd $$m && $(GO) test -run '^$$' -bench . -benchtime 100x ./... >/dev/null); done

# The side-by-side table against the peer libraries (README, Performance).
bench:
	$(GO) -C benchmarks run ./cmd/benchtable -count 5

demo:
	GOWORK= $(GO) run ./cmd/circuitdemo
