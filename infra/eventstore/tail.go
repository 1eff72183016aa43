package eventstore

import (
	"sort"
	"sync"

	"seatledger/domain/event"
)

// tailSize is how many of the latest committed events a Tail keeps, at
// least (it drops whole batches, oldest first).
const tailSize = 16384

// Tail keeps the latest events this process committed, in position
// order, so that the log's followers — every projection follows the log,
// and reads ahead of what it was handed — read what was just appended
// from memory instead of each querying the database for the same rows.
// It holds one contiguous run of positions: a batch that does not follow
// the run (another process appended in between, or a commit's outcome
// was unknown) starts a new one, and a read from before the run goes to
// the database. So it never answers with a gap.
//
// It keeps the committed batches themselves, and a read within one batch
// is answered with a part of it rather than a copy (issue 21: the copies
// were a sixth of the bytes a usage report allocated, a dozen followers
// each copying every event). Its records are therefore shared: readers
// must not modify them, as eventstore.Store's ReadAll says.
type Tail struct {
	mu sync.RWMutex
	// batches is the run, oldest first: each batch's positions follow the
	// previous one's. held counts their events.
	batches [][]event.Record
	held    int
}

// NewTail returns an empty Tail.
func NewTail() *Tail { return &Tail{} }

// push adds a committed batch, whose positions are contiguous. The tail
// keeps records: the committer never touches a committed batch again.
func (t *Tail) push(records []event.Record) {
	if len(records) == 0 {
		return
	}
	records = records[max(0, len(records)-tailSize):len(records):len(records)]
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.batches) == 0 || records[0].Position != t.next() {
		t.clear() // start a new run
	}
	t.batches = append(t.batches, records)
	t.held += len(records)
	for t.held-len(t.batches[0]) >= tailSize {
		t.held -= len(t.batches[0])
		t.batches[0] = nil // for the collector
		t.batches = t.batches[1:]
	}
}

// forget empties the tail: after a commit whose outcome is unknown.
func (t *Tail) forget() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clear()
}

func (t *Tail) clear() {
	clear(t.batches)
	t.batches, t.held = t.batches[:0], 0
}

// first and next are the position of the oldest event held and the
// position after the newest; both 0 when empty. Under mu.
func (t *Tail) first() uint64 {
	if len(t.batches) == 0 {
		return 0
	}
	return t.batches[0][0].Position
}

func (t *Tail) next() uint64 {
	if len(t.batches) == 0 {
		return 0
	}
	last := t.batches[len(t.batches)-1]
	return last[len(last)-1].Position + 1
}

// Read returns up to limit events after position after, and whether the
// tail could answer: it can when after+1 is within its run. The answer
// is a part of the batch holding after+1 when it ends within that batch
// or that batch is the newest (no copy); otherwise it is copied from the
// batches it spans. The records are shared: do not modify them.
func (t *Tail) Read(after uint64, limit int) ([]event.Record, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	from := after + 1
	if len(t.batches) == 0 || from < t.first() || from >= t.next() {
		return nil, false
	}
	i := sort.Search(len(t.batches), func(i int) bool {
		b := t.batches[i]
		return b[len(b)-1].Position >= from
	})
	b := t.batches[i]
	off := int(from - b[0].Position)
	limit = max(0, limit)
	if end := off + limit; end <= len(b) {
		return b[off:end:end], true
	}
	if i == len(t.batches)-1 {
		return b[off:len(b):len(b)], true
	}
	out := make([]event.Record, 0, min(uint64(limit), t.next()-from))
	for _, b := range t.batches[i:] {
		out = append(out, b[off:min(len(b), off+limit-len(out))]...)
		off = 0
		if len(out) == limit {
			break
		}
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
	return nil, len(t.batches) > 0 && after+1 == t.next()
}
