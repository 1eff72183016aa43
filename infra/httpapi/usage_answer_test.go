package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"seatledger/domain/installation"
)

// The typed answer to a usage report (issue 21) is byte for byte the map
// it replaced, for each state of a farm's grace (USE-3..5) and for a proxy
// server, which has none (USE-6).
func TestUsageAnswer_encodes_as_the_map_it_replaced_USE3_USE4_USE5(t *testing.T) {
	ends := time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		grace     *graceAnswer
		graceEnds *time.Time
		overLimit bool
		want      map[string]any
	}{
		{"proxy server", nil, nil, false, map[string]any{}},
		{"grace available", &graceAnswer{State: installation.GraceAvailable}, nil, false,
			map[string]any{"grace": map[string]any{"state": installation.GraceAvailable}}},
		{"grace running", &graceAnswer{State: installation.GraceRunning, Ends: &ends}, &ends, false,
			map[string]any{"grace": map[string]any{"state": installation.GraceRunning, "ends": ends}, "grace_ends": ends}},
		{"grace used, over the limit", &graceAnswer{State: installation.GraceUsed, Ended: &ends}, nil, true,
			map[string]any{"grace": map[string]any{"state": installation.GraceUsed, "ended": ends}, "over_limit": true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			typed := usageAnswer{Grace: c.grace, GraceEnds: c.graceEnds, InstallationID: "i-1", OverLimit: c.overLimit,
				OverQuota: true, Peak: 9, Position: 42, Quota: 8, Seats: 9, Status: installation.Active}
			m := c.want
			m["installation_id"], m["status"], m["seats"], m["quota"], m["peak"], m["over_quota"], m["position"] =
				"i-1", installation.Active, 9, 8, 9, true, uint64(42)
			got, err := json.Marshal(typed)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("typed answer\n%s\nwant the map's\n%s", got, want)
			}
		})
	}
}
