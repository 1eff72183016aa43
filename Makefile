# seatledger — the event-sourced licensing ledger.
# `make run` starts the server on the embedded SQLite default; `make test`
# runs every test (PostgreSQL suites included) with the race detector.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK ?= golang.org/x/vuln/cmd/govulncheck@v1.9.0
# The Go vulnerability database, as the module proxy serves it (its OSV
# files): vuln.go.dev is not reachable from every machine that runs make
# lint, so the database govulncheck reads is built from this module.
VULNDB      ?= golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
PKGS        := ./...
# BENCHTIME is a duration; "Nx" repeats each whole replay or live run N times.
BENCHTIME   ?= 3s
# FUZZTIME is how long `make fuzz` runs each fuzz target; FUZZPARALLEL how
# many fuzzing workers each uses (the machines are small and shared).
FUZZTIME     ?= 1m
FUZZPARALLEL ?= 1

export PATH := $(PATH):/usr/local/go/bin:$(shell $(GO) env GOPATH 2>/dev/null)/bin

# Every go command of the project runs on Go 1.27.3, which the go command
# fetches from the module proxy on first use: Go 1.26.8, the machines' own,
# has vulnerabilities in net/http, crypto/tls, crypto/x509, html/template,
# net/textproto and os that govulncheck reports (GO-2026-6599 to
# GO-2026-6809), fixed in 1.27.3. go.mod names it as its toolchain too.
export GOTOOLCHAIN := go1.27.3

# BIN is where run, demo and build put the binaries.
BIN         ?= bin

.PHONY: run demo build test test-short test-cluster lint lint-openapi lint-vuln vectors bench bench-cli bench-ingest bench-ingest-cli bench-webhooks fuzz postgres chromium python3-cryptography

## run: start ledgerd on ./data/ledger.db (SQLite), real clock, http://127.0.0.1:8080. On a terminal it prints one
## line with the portal's address (every log line: ARGS=--log-format=json); settings by environment (see README) or
## ARGS='--clock=simulated …'. The port is checked before ./data is touched; Ctrl-C stops it with exit 0. It runs the
## built binary itself, not `go run`, whose exit status 1 after Ctrl-C made make report an error.
run:
	@$(GO) build -o $(BIN)/ledgerd ./cmd/ledgerd
	@exec $(BIN)/ledgerd $(ARGS)

## demo: one command to a living portal. A fresh demo ledger in ./data/demo (emptied first) on the simulated clock,
## with a generated admin token (./data/demo/admin-token) and the installations' call limit off, seeded by
## `ledger demo` over its API once it listens (a vendor and a customer: products, subscriptions, sublicenses, weeks
## of farm usage with an overuse and a suspension, a proxy server over its limit, members, tickets); it prints how to
## sign in; Ctrl-C stops it. LEDGER_ADDR moves it off 127.0.0.1:8080.
demo:
	@$(GO) build -o $(BIN)/ ./cmd/ledgerd ./cmd/ledger
	@rm -rf data/demo && mkdir -p data/demo && chmod 700 data/demo
	@cd data/demo && (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > admin-token) && \
	export LEDGER_ADMIN_TOKEN="$$(cat admin-token)" LEDGER_CLOCK=simulated LEDGER_INSTALLATION_CALL_LIMIT=off \
		LEDGER_URL="http://$${LEDGER_ADDR:-127.0.0.1:8080}" && \
	{ "$(abspath $(BIN))/ledger" demo --wait 1m & } && exec "$(abspath $(BIN))/ledgerd" $(ARGS)

## build: compile ledgerd and ledger into ./bin
build:
	$(GO) build -o $(BIN)/ ./cmd/ledgerd ./cmd/ledger

## test: every test with -race; PostgreSQL is started first when it is down
test: postgres chromium python3-cryptography
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

## test-cluster: rule X-8 on one machine: 3 ledgerd processes over a PostgreSQL primary and its
## synchronous standby (Debian's binaries, loopback ports, temporary directories), kill -9 of ledgerd
## processes and of the primary, promotion of the standby; prints the acknowledged writes, the
## failover time and usage reports/s with 1 and 3 processes (about two minutes)
test-cluster:
	LEDGER_CLUSTER_TEST=1 $(GO) test -count=1 -timeout 15m -v -run TestCluster ./cmd/ledgerd/cluster

## test-short: the same without the race detector, for a quick loop
test-short:
	$(GO) test -count=1 $(PKGS)

## lint: gofmt, go vet, staticcheck, domain/ importing only the standard library, commands/, queries/ and
## projections/ importing no infra/ package, the OpenAPI document, and govulncheck
lint: lint-openapi lint-vuln
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	@bad=$$($(GO) list -f '{{range .Imports}}{{.}} {{end}}' ./domain/... | tr ' ' '\n' | grep -v '^seatledger/domain' | grep '\.' || true); \
	if [ -n "$$bad" ]; then echo "domain/ imports third-party packages:"; echo "$$bad"; exit 1; fi
	@bad=$$($(GO) list -f '{{$$p := .ImportPath}}{{range .Imports}}{{$$p}} imports {{.}}{{"\n"}}{{end}}' ./commands/... ./queries/... ./projections/... | grep ' imports seatledger/infra/' || true); \
	if [ -n "$$bad" ]; then echo "commands/, queries/ and projections/ must not import infra/ (imports point cmd → infra → {commands, queries, projections} → domain):"; echo "$$bad"; exit 1; fi

## lint-openapi: infra/httpapi/openapi.json has no error and no warning under Redocly CLI's recommended
## rules (recommended-strict: warnings are errors); the CLI is pinned by tools/openapi-lint/package-lock.json
lint-openapi:
	@command -v npm >/dev/null || { echo "lint-openapi: Node.js and npm are needed (Debian: apt-get install nodejs npm)"; exit 1; }
	@npm ci --prefix tools/openapi-lint --no-audit --no-fund --loglevel=error >/dev/null
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true tools/openapi-lint/node_modules/.bin/redocly lint \
		--config tools/openapi-lint/redocly.yaml --format=stylish infra/httpapi/openapi.json

## lint-vuln: govulncheck finds no vulnerability that the code reaches, in the modules it requires and in the
## standard library of the toolchain above; its database is built from $(VULNDB) once per machine (in the Go
## build cache) with that module's own indexdb, and read with -db file://
VULNDB_DIR = $(shell $(GO) env GOCACHE)/seatledger-vulndb/$(subst /,_,$(VULNDB))
lint-vuln:
	@dir="$(VULNDB_DIR)"; if [ ! -s "$$dir/index/db.json" ]; then \
		echo "lint-vuln: building the vulnerability database from $(VULNDB) (once per machine)"; \
		src=$$($(GO) mod download -json $(VULNDB) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$$/\1/p'); \
		[ -d "$$src/data/osv" ] || { echo "lint-vuln: $(VULNDB) has no data/osv"; exit 1; }; \
		rm -rf "$$dir.tmp" && mkdir -p "$$(dirname "$$dir")" && \
		$(GO) run $(subst golang.org/x/vulndb@,golang.org/x/vulndb/cmd/indexdb@,$(VULNDB)) -vulns "$$src/data/osv" -out "$$dir.tmp" && \
		rm -rf "$$dir" && mv "$$dir.tmp" "$$dir"; \
	fi
	$(GO) run $(GOVULNCHECK) -db file://$(VULNDB_DIR) $(PKGS)

## vectors: rewrite testdata/vectors/*.json from the code, after a deliberate change of a format (docs/formats.md)
vectors:
	$(GO) test -count=1 -run Vectors ./domain/event ./infra/offline ./infra/audit ./infra/orderhook -update-vectors

## bench: the Go benchmarks of the event stores (SQLite and PostgreSQL)
bench: postgres
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./infra/sqlite ./infra/postgres

## bench-ingest: usage-report ingest end to end on SQLite and PostgreSQL (BenchmarkUsageIngest: 64 installations
## over HTTP, INGEST_REPORTS reports, INGEST_COUNT runs per engine): reports/s, p50/p99, cpu-ms/report, allocs/report,
## B/report, and on PostgreSQL raw single-row INSERT commits/s and the ratio, in the same run
INGEST_REPORTS ?= 30000
INGEST_COUNT   ?= 3
bench-ingest: postgres
	$(GO) test -run '^$$' -bench BenchmarkUsageIngest -benchtime $(INGEST_REPORTS)x -count $(INGEST_COUNT) -timeout 30m ./cmd/ledgerd

## bench-webhooks: webhook delivery under ingest load on SQLite and PostgreSQL (BenchmarkWebhookDelivery: 100 endpoints
## on 100 accounts, one never answering, WEBHOOK_RATE usage reports/s for WEBHOOK_DURATION, WEBHOOK_COUNT runs): the live
## endpoints' delivery p50/p99 and deliveries/s, and the ingest rate and p99 with and without the endpoints
WEBHOOK_RATE     ?= 1000
WEBHOOK_DURATION ?= 10s
WEBHOOK_COUNT    ?= 1
bench-webhooks: postgres
	$(GO) test -run '^$$' -bench BenchmarkWebhookDelivery -benchtime 1x -count $(WEBHOOK_COUNT) -timeout 30m ./cmd/ledgerd \
		-args -webhooks.rate $(WEBHOOK_RATE) -webhooks.duration $(WEBHOOK_DURATION)

## bench-ingest-cli: `ledger bench ingest` from another process against a fresh ledgerd on SQLite, then on a new
## PostgreSQL database (dropped afterwards), 64 installations for INGEST_DURATION each
INGEST_DURATION ?= 30s
bench-ingest-cli: postgres
	$(GO) build -o $(BIN)/ ./cmd/ledgerd ./cmd/ledger
	tools/bench-ingest $(BIN) $(INGEST_DURATION)

## fuzz: run every Go fuzz target (every func Fuzz… in a _test.go file) for
## FUZZTIME each; `make test` runs their seed corpora (testdata/fuzz) only.
## A failing input is written to the package's testdata/fuzz: commit it
## with the fix, so that `make test` keeps checking it.
fuzz: postgres
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		pkg=$$(dirname $$f); \
		for t in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
			echo "== $$pkg $$t for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s -timeout 0 -parallel $(FUZZPARALLEL) $$pkg; \
		done; \
	done

## postgres: start the local PostgreSQL cluster when it is not answering
postgres:
	@.ci/ensure-postgres

## screenshots: regenerate the README's pictures of the portal (infra/portal/doc/PAGE-WIDTH.png: the dashboard,
## a subscription, the farms list, a farm's details and a history, at 1280 and 360 px) with the browser test that
## measures every main page on phones; it seeds its own data, so the pictures change only when the pages do
.PHONY: screenshots
SCREENSHOT_PAGES := dashboard subscription farms farm-details history
screenshots: chromium
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	PORTAL_SCREENSHOTS=$$dir $(GO) test -count=1 -run '^TestPortalBrowser_every_main_page_fits_a_phone$$' ./cmd/ledgerd; \
	mkdir -p infra/portal/doc; \
	for page in $(SCREENSHOT_PAGES); do for width in 1280 360; do \
		cp "$$dir/$$page-$$width.png" infra/portal/doc/; echo "infra/portal/doc/$$page-$$width.png"; \
	done; done

## chromium: install Debian's Chromium for the browser tests when /usr/bin/chromium is missing
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		sudo=; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi; \
		apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get"; \
		$$apt install -y --no-install-recommends chromium \
		|| { $$apt update && $$apt install -y --no-install-recommends chromium; }; \
	fi

## python3-cryptography: install Debian's python3-cryptography (Ed25519 for docs/examples/verify_vectors.py,
## which docs/vectors_test.go runs with /usr/bin/python3) when /usr/bin/python3 cannot import it
python3-cryptography:
	@if ! /usr/bin/python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null; then \
		sudo=; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi; \
		apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get"; \
		$$apt install -y --no-install-recommends python3-cryptography \
		|| { $$apt update && $$apt install -y --no-install-recommends python3-cryptography; }; \
	fi
