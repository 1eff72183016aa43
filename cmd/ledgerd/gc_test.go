package main

import (
	"runtime/debug"
	"testing"
)

// Issue 21: ledgerd collects at serverGCPercent unless the operator set
// GOGC, which then stands.
func TestTuneGC_sets_the_server_percent_unless_GOGC_is_set(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != serverGCPercent {
		t.Errorf("without GOGC the GC percent is %d, want %d", got, serverGCPercent)
	}
	tuneGC(func(key string) string {
		if key == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set the GC percent became %d, want the operator's 100", got)
	}
}
