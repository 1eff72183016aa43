package eventstore

import (
	"context"
	"fmt"
	"sync"

	"seatledger/domain/event"
)

// ScanLog calls fn with the log's events after the given position, page
// by page, in position order, until the log is exhausted; memory stays
// bounded by a few pages whatever the log's size. It is how rebuilds and
// replays read the whole log.
//
// With readers > 1, pages up to head (the log head when the scan starts)
// are read by that many goroutines at once and delivered in order: on
// the SQL backends positions are contiguous, so page k is exactly the
// positions after+k·pageSize+1 … after+(k+1)·pageSize. Each page is
// checked against that; should a backend's positions have holes
// (KurrentDB), the scan notices at the first such page and goes on
// sequentially from the last event delivered, so nothing is skipped or
// delivered twice.
func ScanLog(ctx context.Context, r LogReader, after, head uint64, pageSize, readers int, fn func([]event.Record) error) error {
	if pageSize < 1 {
		return fmt.Errorf("eventstore: scan page size %d", pageSize)
	}
	if readers > 1 && head > after {
		var err error
		if after, err = scanParallel(ctx, r, after, head, pageSize, readers, fn); err != nil {
			return err
		}
	}
	for {
		page, err := r.ReadAll(ctx, after, pageSize)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := fn(page); err != nil {
			return err
		}
		after = page[len(page)-1].Position
	}
}

type scanResult struct {
	page []event.Record
	err  error
}

type scanJob struct {
	after uint64
	out   chan scanResult
}

// scanParallel delivers the contiguous pages up to head and returns the
// position of the last event it delivered.
func scanParallel(ctx context.Context, r LogReader, after, head uint64, pageSize, readers int, fn func([]event.Record) error) (uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	jobs := make(chan scanJob)
	ordered := make(chan scanJob, 2*readers) // bounds the pages in flight
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				page, err := r.ReadAll(ctx, j.after, pageSize)
				j.out <- scanResult{page, err}
			}
		}()
	}
	go func() {
		defer close(ordered)
		defer close(jobs)
		for from := after; from < head; from += uint64(pageSize) {
			j := scanJob{after: from, out: make(chan scanResult, 1)}
			select {
			case ordered <- j:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }() // cancel first: it unblocks the producer
	delivered := after
	for j := range ordered {
		var res scanResult
		select {
		case res = <-j.out:
		case <-ctx.Done():
			return delivered, ctx.Err()
		}
		if res.err != nil {
			return delivered, res.err
		}
		contiguous := len(res.page) > 0 && res.page[0].Position == j.after+1 &&
			res.page[len(res.page)-1].Position == j.after+uint64(len(res.page))
		if !contiguous || j.after != delivered {
			return delivered, nil // holes in the positions: the caller goes on one page at a time
		}
		if err := fn(res.page); err != nil {
			return delivered, err
		}
		delivered = res.page[len(res.page)-1].Position
		if len(res.page) < pageSize {
			return delivered, nil
		}
	}
	return delivered, ctx.Err()
}
