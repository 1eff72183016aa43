package main

import (
	"context"

	"seatledger/domain/event"
	"seatledger/infra/eventstore"
	"seatledger/infra/httpapi"
	"seatledger/queries"
)

// How a finance reconciliation reads the log: pages of 2,000 events, two
// readers at once (the replay benchmark's best on these two vCPUs).
const (
	financePageSize = 2000
	financeReaders  = 2
)

// financeLog is the whole log for finance reconciliations (issue 7):
// eventstore.ScanLog from the first event, reading in parallel up to the
// head at the start, then on to the log's end. The reconciliation stops
// it at the period's end.
func financeLog(s eventstore.Store) queries.LogScan {
	return func(ctx context.Context, fn func([]event.Record) error) error {
		head, err := s.Head(ctx)
		if err != nil {
			return err
		}
		return eventstore.ScanLog(ctx, s, 0, head, financePageSize, financeReaders, fn)
	}
}

// withFinance lets the API reconcile over the store's log.
func (m *Main) withFinance(api *httpapi.PeopleConfig) *httpapi.PeopleConfig {
	api.FinanceLog = financeLog(m.Store)
	return api
}
