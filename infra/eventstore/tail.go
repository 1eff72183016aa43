package eventstore

import (
	"sync"

	"seatledger/domain/event"
)

// tailSize is how many of the latest committed events a Tail keeps.
const tailSize = 16384

// Tail keeps the latest events this process committed, in position
// order, so that the log's followers — every projection follows the log,
// and reads ahead of what it was handed — read what was just appended
// from memory instead of each querying the database for the same rows.
// It holds one contiguous run of positions: a batch that does not follow
// the run (another process appended in between, or a commit's outcome
// was unknown) starts a new one, and a read from before the run goes to
// the database. So it never answers with a gap.
type Tail struct {
	mu   sync.RWMutex
	ring []event.Record // ring[i] holds position first+i, modulo the capacity
	// first is the position of the oldest event held, next the position
	// after the newest; first == next: empty.
	first, next uint64
}

// NewTail returns an empty Tail.
func NewTail() *Tail { return &Tail{ring: make([]event.Record, tailSize)} }

// push adds a committed batch, whose positions are contiguous.
func (t *Tail) push(records []event.Record) {
	if len(records) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if records[0].Position != t.next || t.first == t.next {
		t.first, t.next = records[0].Position, records[0].Position // start a new run
	}
	for _, r := range records {
		t.ring[r.Position%tailSize] = r
		t.next = r.Position + 1
	}
	if t.next-t.first > tailSize {
		t.first = t.next - tailSize
	}
}

// forget empties the tail: after a commit whose outcome is unknown.
func (t *Tail) forget() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.first, t.next = 0, 0
}

// Read returns up to limit events after position after, and whether the
// tail could answer: it can when after is within or at the end of its
// run (an empty answer then means nothing newer was committed here; the
// caller still reads the database, which other processes may have
// written).
func (t *Tail) Read(after uint64, limit int) ([]event.Record, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.first == t.next || after+1 < t.first || after+1 >= t.next {
		return nil, false
	}
	n := min(uint64(limit), t.next-(after+1))
	out := make([]event.Record, 0, n)
	for p := after + 1; p < after+1+n; p++ {
		out = append(out, t.ring[p%tailSize])
	}
	return out, true
}

// ReadKnown is Read, except that at the end of its run the tail answers
// too, with nothing: no newer event was committed here. Another process
// may have appended since, which only the database tells; a follower
// learns of it from its notifier or its poll.
func (t *Tail) ReadKnown(after uint64, limit int) ([]event.Record, bool) {
	if recs, ok := t.Read(after, limit); ok {
		return recs, true
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return nil, t.first != t.next && after+1 == t.next
}
