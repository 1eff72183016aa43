package projections

import (
	"context"
	"testing"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/installation"
)

// nopTx runs nothing: the benchmarks below measure a projection's own
// work per event (dispatch, decoding, building the statement), not the
// database's.
type nopTx struct{}

func (nopTx) Exec(context.Context, string, ...any) error          { return nil }
func (nopTx) QueryRow(context.Context, string, ...any) Row        { return nopRow{} }
func (nopTx) Query(context.Context, string, ...any) (Rows, error) { return nil, nil }

type nopRow struct{}

func (nopRow) Scan(...any) error { return nil }

// BenchmarkApply measures the hottest event of the log, a current usage
// report (USE-1), through the projection that applies it and through
// two that do not: the per-event cost a batch pays in each.
//
//	go test -run XXX -bench BenchmarkApply -benchmem ./projections
func BenchmarkApply(b *testing.B) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	report := installation.UsageReported{Seats: 7, Quota: 10, ObservedAt: at, Current: true}
	data, v, err := registry.Encode(installation.TypeUsageReported, report)
	if err != nil {
		b.Fatal(err)
	}
	rec := event.Record{Position: 1, StreamID: "installation-i-1", Version: 2, Type: installation.TypeUsageReported,
		SchemaVersion: v, Data: data, RecordedAt: at}
	ctx := context.Background()
	for _, p := range []Projection{Installations{}, Licenses{}, Notifier{}} {
		b.Run(p.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Apply(ctx, nopTx{}, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
