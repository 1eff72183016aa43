package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"

	"seatledger/domain/event"
)

// sliceLog is an in-memory log with the positions given, for testing the
// scan's ordering logic without a database.
type sliceLog struct{ positions []uint64 }

func (l sliceLog) ReadAll(_ context.Context, after uint64, limit int) ([]event.Record, error) {
	i := sort.Search(len(l.positions), func(i int) bool { return l.positions[i] > after })
	var out []event.Record
	for ; i < len(l.positions) && len(out) < limit; i++ {
		out = append(out, event.Record{Position: l.positions[i]})
	}
	return out, nil
}

func positions(n int, step uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i+1) * step
	}
	return out
}

func TestScanLog_delivers_every_event_once_in_order(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		log   []uint64
		after uint64
		head  uint64 // the head when the scan starts; the log may have grown since
	}{
		"contiguous":          {positions(1000, 1), 0, 1000},
		"contiguous from 337": {positions(1000, 1), 337, 1000},
		"grew during scan":    {positions(1000, 1), 0, 640},
		"holes (KurrentDB)":   {positions(1000, 7), 0, 7000},
		"holes after a while": {append(positions(300, 1), positions(700, 1000)[300:]...), 0, 700000},
		"empty":               {nil, 0, 0},
	}
	for name, c := range cases {
		for _, readers := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("%s/readers=%d", name, readers), func(t *testing.T) {
				t.Parallel()
				var got []uint64
				err := ScanLog(context.Background(), sliceLog{c.log}, c.after, c.head, 64, readers, func(page []event.Record) error {
					for _, r := range page {
						got = append(got, r.Position)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				var want []uint64
				for _, p := range c.log {
					if p > c.after {
						want = append(want, p)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("delivered %d events %v…, want %d", len(got), got[:min(len(got), 5)], len(want))
				}
			})
		}
	}
}

func TestScanLog_stops_at_the_first_handler_error(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	pages := 0
	err := ScanLog(context.Background(), sliceLog{positions(1000, 1)}, 0, 1000, 10, 4, func([]event.Record) error {
		pages++
		if pages == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || pages != 3 {
		t.Fatalf("err = %v after %d pages", err, pages)
	}
}
