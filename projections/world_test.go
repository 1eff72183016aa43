package projections_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"seatledger/infra/projection/projectiontest"
	"seatledger/infra/sqldb"
	"seatledger/projections"
)

var t0 = projectiontest.Start

// world is a real event store and read store with some projections
// (infra/projection/projectiontest).
type world = projectiontest.Log

func newWorld(t *testing.T, target sqldb.Target, ps ...projections.Projection) *world {
	return projectiontest.New(t, target, ps...)
}

// sentMail is a scheduled mail timer: its ID and payload.
type sentMail struct {
	id   string
	mail projections.Mail
}

// scheduledMail returns the mail the notifier scheduled (the outbox: the
// timers table) whose template starts with prefix, by timer ID.
func scheduledMail(w *world, prefix string) []sentMail {
	w.TB.Helper()
	rows, err := w.DB.Select(context.Background(), `SELECT id, payload FROM timers WHERE kind = ? ORDER BY id`, projections.TimerKindMail)
	if err != nil {
		w.TB.Fatal(err)
	}
	defer rows.Close()
	var out []sentMail
	for rows.Next() {
		var s sentMail
		var payload string
		if err := rows.Scan(&s.id, &payload); err != nil {
			w.TB.Fatal(err)
		}
		if err := json.Unmarshal([]byte(payload), &s.mail); err != nil {
			w.TB.Fatal(err)
		}
		if strings.HasPrefix(s.mail.Template, prefix) {
			out = append(out, s)
		}
	}
	if err := rows.Err(); err != nil {
		w.TB.Fatal(err)
	}
	return out
}
