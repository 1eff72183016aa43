package queries_test

import (
	"testing"

	"seatledger/queries"
)

// Issue 22: a feed cursor is opaque but stable: the log position it was
// made from, read back exactly; anything else is refused, never read as
// some other position.
func TestFeedCursor_round_trip_and_refusals(t *testing.T) {
	t.Parallel()
	for _, p := range []uint64{1, 42, 1 << 40, ^uint64(0)} {
		c := queries.FeedCursor(p)
		if got, err := queries.ParseFeedCursor(c); err != nil || got != p {
			t.Errorf("ParseFeedCursor(FeedCursor(%d) = %q) = %d, %v", p, c, got, err)
		}
	}
	for _, bad := range []string{"12", "AQ", "not-a-cursor", "AgAAAAAAAAAq", "AQAAAAAAAAAq=", "AQAAAAAAAAAqAA"} {
		if p, err := queries.ParseFeedCursor(bad); err == nil {
			t.Errorf("ParseFeedCursor(%q) = %d, want a refusal", bad, p)
		}
	}
}
