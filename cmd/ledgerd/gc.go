package main

import (
	"runtime/debug"

	"seatledger/infra/config"
)

// serverGCPercent is how far the heap grows past what the last collection
// left live before the next one, in percent, unless the operator sets GOGC
// (issue 21). A usage report leaves about 30 KB of garbage; at Go's
// default of 100 the collector took 15% of the CPU a report costs
// (BenchmarkUsageIngest profiles). At 400 it collects a quarter as often,
// for a heap that peaks at five times the live one (tens of MB live).
const serverGCPercent = 400

// tuneGC sets the collector for a server process: serverGCPercent, unless
// GOGC is set, which the runtime has applied already. GOMEMLIMIT, if set,
// still bounds the heap as the runtime documents.
func tuneGC(getenv config.Getenv) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}
