package eventstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"seatledger/domain/event"
)

func tailRecords(from, to uint64) []event.Record {
	var out []event.Record
	for p := from; p <= to; p++ {
		out = append(out, event.Record{Position: p})
	}
	return out
}

func tailPositions(recs []event.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Position
	}
	return out
}

// The tail answers only from one contiguous run of positions: never with
// a gap, never for what it does not hold, and it forgets what fell out.
func TestTail_answers_only_from_a_contiguous_run(t *testing.T) {
	tail := NewTail()
	if _, ok := tail.Read(0, 10); ok {
		t.Fatal("an empty tail answered")
	}
	tail.push(tailRecords(11, 20))
	if got, ok := tail.Read(12, 3); !ok || len(got) != 3 || got[0].Position != 13 || got[2].Position != 15 {
		t.Fatalf("read after 12: %v %v", tailPositions(got), ok)
	}
	if got, ok := tail.Read(10, 100); !ok || len(got) != 10 {
		t.Fatalf("read from the run's start: %v %v", tailPositions(got), ok)
	}
	for _, after := range []uint64{9, 20, 25} { // before the run; caught up; beyond
		if got, ok := tail.Read(after, 10); ok {
			t.Errorf("read after %d answered %v", after, tailPositions(got))
		}
	}
	// Another process appended 21..30: a batch at 31 starts a new run.
	tail.push(tailRecords(31, 32))
	if _, ok := tail.Read(20, 10); ok {
		t.Fatal("the tail answered across a gap")
	}
	if got, ok := tail.Read(30, 10); !ok || len(got) != 2 {
		t.Fatalf("read the new run: %v %v", tailPositions(got), ok)
	}
	// More than it holds: the oldest fall out.
	tail.push(tailRecords(33, 32+tailSize))
	if _, ok := tail.Read(31, 1); ok {
		t.Fatal("the tail answered for a position it no longer holds")
	}
	if got, ok := tail.Read(33, 1); !ok || got[0].Position != 34 {
		t.Fatalf("read near the end: %v %v", tailPositions(got), ok)
	}
	tail.forget()
	if _, ok := tail.Read(40, 1); ok {
		t.Fatal("a forgotten tail answered")
	}
}

// A read within one batch, or to the end of the newest, is answered with
// a part of the committed batch itself, not a copy (issue 21); a read
// across batches is copied, in order and without a gap. Appending to an
// answer never writes into the tail.
func TestTail_shares_a_batch_and_copies_across_batches(t *testing.T) {
	tail := NewTail()
	first, second := tailRecords(1, 10), tailRecords(11, 15)
	tail.push(first)
	tail.push(second)
	got, ok := tail.Read(2, 4)
	if !ok || len(got) != 4 || &got[0] != &first[2] {
		t.Fatalf("read within a batch: %v %v, not shared with the batch", tailPositions(got), ok)
	}
	if got, ok := tail.Read(12, 100); !ok || len(got) != 3 || &got[0] != &second[2] {
		t.Fatalf("read to the newest batch's end: %v %v, not shared", tailPositions(got), ok)
	}
	_ = append(got, event.Record{Position: 99})
	if first[6].Position != 7 {
		t.Fatalf("appending to an answer wrote into the tail: position %d", first[6].Position)
	}
	got, ok = tail.Read(8, 5)
	if want := []uint64{9, 10, 11, 12, 13}; !ok || !slices.Equal(tailPositions(got), want) {
		t.Fatalf("read across batches: %v %v, want %v", tailPositions(got), ok, want)
	}
	if &got[0] == &first[8] {
		t.Fatal("a read across batches shares the first batch: it would need a copy")
	}
	if got, ok := tail.Read(0, 100); !ok || !slices.Equal(tailPositions(got), tailPositions(tailRecords(1, 15))) {
		t.Fatalf("read all: %v %v", tailPositions(got), ok)
	}
}

// tailThenDB answers reads the way a store with a Tail does: from the
// tail's run when it can (ending at this process's last commit), from
// the whole log otherwise.
type tailThenDB struct {
	tail *Tail
	log  []event.Record // positions 1, 2, 3 …
}

func (r *tailThenDB) ReadAll(_ context.Context, after uint64, limit int) ([]event.Record, error) {
	if recs, ok := r.tail.Read(after, limit); ok {
		return recs, nil
	}
	if after >= uint64(len(r.log)) {
		return nil, nil
	}
	return r.log[after:min(uint64(len(r.log)), after+uint64(limit))], nil
}

// Rule X-8: this process committed 1–2 (its tail), another process then
// committed 3, and this process heard of it before its follower read. The
// follower, answered 1–2 from the tail, reads on and delivers 3 at once,
// rather than waiting for the next wake-up or poll.
func TestFollow_reads_on_past_the_tail_to_a_head_it_was_told_of_X8(t *testing.T) {
	t.Parallel()
	tail := NewTail()
	tail.push(tailRecords(1, 2))
	r := &tailThenDB{tail: tail, log: tailRecords(1, 3)}
	wake := NewNotifier()
	wake.Advance(3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan uint64, 3)
	go func() {
		_ = Follow(ctx, r, wake, time.Hour, 0, func(rec event.Record) error { got <- rec.Position; return nil })
	}()
	for want := uint64(1); want <= 3; want++ {
		select {
		case p := <-got:
			if p != want {
				t.Fatalf("delivered %d, want %d", p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("position %d was not delivered: the follower waited although the head was known", want)
		}
	}
}

// Issue 21: a read ahead at the end of the tail's run is answered with
// nothing, not sent to the database, unless a newer head of another
// process is known; before the run, or with nothing held, the database
// answers.
func TestCommitter_ReadTail_knows_nothing_newer_at_its_end(t *testing.T) {
	c := &Committer{tail: NewTail(), notifier: NewNotifier()}
	if _, ok := c.ReadTail(0, 10); ok {
		t.Fatal("an empty tail answered")
	}
	c.tail.push(tailRecords(11, 20))
	c.notifier.Advance(20)
	if got, ok := c.ReadTail(15, 10); !ok || len(got) != 5 {
		t.Fatalf("read in the run: %v %v", tailPositions(got), ok)
	}
	if got, ok := c.ReadTail(20, 10); !ok || len(got) != 0 {
		t.Fatalf("read at the run's end: %v %v, want nothing, known", tailPositions(got), ok)
	}
	if _, ok := c.ReadTail(9, 10); ok {
		t.Fatal("a read from before the run was answered by the tail")
	}
	if _, ok := c.ReadTail(21, 10); ok {
		t.Fatal("a read past the run's end was answered by the tail")
	}
	c.notifier.Advance(23) // another process appended up to 23
	if _, ok := c.ReadTail(20, 10); ok {
		t.Fatal("a read at the run's end was answered by the tail though another process's commit is known")
	}
}
