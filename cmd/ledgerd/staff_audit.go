package main

import (
	"context"

	"seatledger/domain/events"
	"seatledger/infra/audit"
	"seatledger/infra/portal"
	"seatledger/queries"
)

// staffAudit is what the staff console's audit pages read over the whole
// log (issue 23): the verification of the log against a signed
// checkpoint, as `ledger verify --database-url` does it, and the finance
// reconciliation, as GET /v1/finance/reconciliation does it. The pages
// authorize the staff person first.
func (m *Main) staffAudit() *portal.StaffAudit {
	registry := events.Registry()
	return &portal.StaffAudit{
		Verify: func(ctx context.Context, note []byte) (audit.Checkpoint, audit.VerifyReport, error) {
			svc := m.audit.service
			if len(note) == 0 {
				latest, err := svc.Checkpoint(ctx, 0)
				if err != nil {
					return audit.Checkpoint{}, audit.VerifyReport{}, err
				}
				note = latest.Note
			}
			cp, err := audit.OpenCheckpoint(note, svc.PublicKey())
			if err != nil {
				return audit.Checkpoint{}, audit.VerifyReport{}, err
			}
			rep, err := audit.VerifyLog(ctx, m.Store, cp, audit.VerifyOptions{Contiguous: m.Config.EventStoreURL == "",
				Tree: audit.NewTree(m.DB), Streams: m.Store})
			return cp, rep, err
		},
		Reconcile: func(ctx context.Context, q queries.ReconciliationQuery) (queries.Reconciliation, error) {
			return queries.Reconcile(ctx, financeLog(m.Store), registry, q)
		},
	}
}
