package main

import (
	"fmt"
	"net/http"
	"testing"

	"seatledger/infra/httpapi/openapitest"
)

// validateExchanges makes m's server validate every exchange it serves
// against the OpenAPI document it serves (issue 19), and fails t, when it
// ends, with one line per mismatch naming the operation and the problem.
// Call it before m.Run. Requests sent invalid on purpose carry
// openapitest.InvalidRequestHeader: only their responses are validated.
// Benchmarks are left alone: they measure the server, not the validator.
func validateExchanges(t testing.TB, m *Main) {
	t.Helper()
	if _, bench := t.(*testing.B); bench {
		return
	}
	report := openapitest.Collect(t)
	m.WrapHandler = func(h http.Handler) http.Handler {
		v, err := openapitest.Served(h)
		if err != nil {
			report(fmt.Sprintf("openapi: the served document: %v", err))
			return h
		}
		return v.Handler(h, report)
	}
}
