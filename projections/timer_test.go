package projections

import (
	"regexp"
	"testing"
)

// Rule X-4 made exactly-once for timers: a handler that runs twice for one
// timer proposes the same event IDs, so the second append is a no-op.
func TestTimer_EventID_is_a_stable_UUID_per_timer_and_step(t *testing.T) {
	t.Parallel()
	a := Timer{ID: "overuse-grace/inst-1/ev-9"}
	b := Timer{ID: "overuse-grace/inst-2/ev-9"}
	uuidV5 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if got := a.EventID("deactivate"); !uuidV5.MatchString(got) {
		t.Fatalf("EventID = %q, want a version 5 UUID", got)
	}
	if again := (Timer{ID: "overuse-grace/inst-1/ev-9"}); a.EventID("deactivate") != again.EventID("deactivate") {
		t.Error("the same timer and step gave two IDs")
	}
	if a.EventID("deactivate") == a.EventID("notify") || a.EventID("deactivate") == b.EventID("deactivate") {
		t.Error("different timers or steps share an ID")
	}
}
