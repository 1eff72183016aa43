package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// BenchmarkClockAdvance measures what a clock advance costs now that it
// steps through every timer due on its way and answers once their
// effects are recorded (rule X-6): a farm suspended for overuse is
// re-validated every 20 minutes, so each advance of a day fires 72
// timers, each recording an event and waiting for the process managers.
// It reports timers/s and the milliseconds one day of advance takes.
//
//	go test -run XXX -bench BenchmarkClockAdvance -benchtime 20x ./cmd/ledgerd
func BenchmarkClockAdvance(b *testing.B) {
	for _, engine := range []struct {
		name   string
		target func(testing.TB) sqldb.Target
	}{{"sqlite", sqldbtest.SQLite}, {"postgres", sqldbtest.Postgres}} {
		b.Run(engine.name, func(b *testing.B) {
			m := benchServer(b, engine.target(b))
			cred := activateFleet(b, m, 1)[0]
			base := "http://" + m.Addr()
			if err := postReport(http.DefaultClient, base, cred, 0, 49); err != nil { // 49 of 50 seats
				b.Fatal(err)
			}
			over, _ := http.NewRequest(http.MethodPost, base+"/v1/installation/usage", bytes.NewBufferString(`{"seats":60}`))
			over.Header.Set("Content-Type", "application/json")
			over.Header.Set("Authorization", "Bearer "+cred)
			if resp, err := http.DefaultClient.Do(over); err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("report 60 of 50: %v %v", resp, err)
			}
			advanceFor := func(d time.Duration) int {
				req, _ := http.NewRequest(http.MethodPost, base+"/admin/clock/advance", bytes.NewBufferString(`{"by":"`+d.String()+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+adminToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				var state struct {
					Fired int `json:"timers_fired"`
				}
				if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &state) != nil {
					b.Fatalf("advance %s: %d %s", d, resp.StatusCode, raw)
				}
				return state.Fired
			}
			advanceFor(7*24*time.Hour + 2*time.Hour) // the grace ends; suspended an hour later
			fired := 0
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				fired += advanceFor(24 * time.Hour)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if fired < 72*b.N {
				b.Fatalf("%d timers fired over %d days, want the farm's 72 re-validations a day", fired, b.N)
			}
			b.ReportMetric(float64(fired)/elapsed.Seconds(), "timers/s")
			b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms/day")
			b.ReportMetric(0, "ns/op")
			b.Logf("%s: %d timers in %d days: %s", engine.name, fired, b.N, fmt.Sprint(elapsed.Round(time.Millisecond)))
		})
	}
}
