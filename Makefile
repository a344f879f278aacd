# The two commands: `make run` brings the lab up, `make test` passes the tests.
GO      ?= go
BIN     := bin
SCENARIO ?= flash-sale
export CGO_ENABLED := 0

.PHONY: all build run test vet bench bench-alb clean

all: build

build:
	$(GO) build -o $(BIN)/lab ./cmd/lab
	$(GO) build -o $(BIN)/simplydone ./cmd/simplydone

## run: the flash sale: load, scaling, a killed instance, a verdict (about 3 wall minutes)
run: build
	$(BIN)/lab run $(SCENARIO)

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

## test: formatting, vet, and every test (unit and integration, real processes)
test: vet
	$(GO) test -count=1 -timeout 8m ./...

## bench: Go benchmarks with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-alb: requests per second through the lab ALB, HAProxy and directly
bench-alb:
	bash bench/alb.sh

clean:
	rm -rf $(BIN)
