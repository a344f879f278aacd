# The two commands: `make run` brings the lab up, `make test` passes the tests.
GO      ?= go
BIN     := bin
SCENARIO ?= flash-sale
export CGO_ENABLED := 0

.PHONY: all build run run-deps test test-long test-deps vet bench bench-alb bench-flash bench-db bench-agents bench-inprocess soak scenarios clean

all: build

## build: bin/lab, one static binary that carries SimplyDone (`lab simplydone`) for both runtimes
build:
	$(GO) build -o $(BIN)/lab ./cmd/lab

## run: the flash sale: load, scaling, a killed instance, a verdict (about 3 wall minutes)
run: build run-deps
	$(BIN)/lab run $(SCENARIO)

## run-deps: install (as root) what a run needs beyond the lab: Debian's PostgreSQL server, for stacks with a database
run-deps:
	@bash scripts/test-deps.sh postgresql

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

## test: formatting, vet, and every test (unit and integration: real processes,
## real containers, a real terminal). Packages run one at a time (-p 1), except
## the lab package's, which wait on a scaled clock and run beside the others
## (scripts/gotest.sh says why that is safe); about 8 minutes.
test: vet test-deps
	GO=$(GO) bash scripts/gotest.sh 15m

## test-long: every test, the long ones too (comparisons of two runs, the CPU
## burner, second runs of what another test covers); about 15 minutes. Each
## long test says why it is long when `make test` skips it. One package at a
## time: the long tests include a CPU burner, which would starve the others.
test-long: vet test-deps
	LAB_TEST_LONG=1 $(GO) test -count=1 -p 1 -timeout 30m ./...

## test-deps: install (as root) and start what the tests need: Docker engine, tmux, chromium, PostgreSQL
test-deps:
	@bash scripts/test-deps.sh

## bench: Go benchmarks with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-alb: requests per second through the lab ALB, HAProxy and directly
bench-alb:
	bash bench/alb.sh

## bench-flash: pacer accuracy, the lab's own CPU per request, flash-sale capacity in rps and in users (scaled and unscaled), the built-in chaos scenarios; one SUMMARY table (about an hour; STAGES=... and the ladders shorten it, see bench/flashsale.sh)
bench-flash:
	bash bench/flashsale.sh

## bench-agents: the controller's CPU, RSS and bytes per agent (K agents on 127.0.10x.250, I instances each; about 25 min; ROUNDS=3)
bench-agents: build
	LAB=bin/lab bash bench/agents.sh

## bench-inprocess: a scenario (SCENARIO=instance-kill) with its zones on agents in the lab's process (the default) and as the lab's own (--agents-in-process=false), ROUNDS (3) alternated; the lab's own CPU, verdicts, p99
bench-inprocess: build
	LAB=bin/lab bash bench/inprocess.sh

## bench-db: the read-heavy sale on stage 2 (multi-az) and stage 3 (read-replicas), compared (about 3 min a round; ROUNDS=3)
bench-db: build
	bash bench/readreplicas.sh bin/lab $${ROUNDS:-1}

## soak: an hour at a steady rate; the lab's memory and goroutines before and after (SOAK_DURATION=10m SPEED=30 for a short one)
soak:
	bash bench/soak.sh

## scenarios: every built-in scenario once on the process runtime, a table of verdicts (about 11 min);
## DRIVERS="process docker" for both; RUN_FLAGS=--agents-in-process=false runs the zones as the lab's own, not on agents in its process
scenarios: build
	bash bench/scenarios.sh $(BIN)/lab $(or $(DRIVERS),process)

clean:
	rm -rf $(BIN)
