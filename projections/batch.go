package projections

import (
	"context"
	"math/bits"
	"strings"

	"seatledger/domain/event"
)

// BatchApplier is a projection that applies a run of records, in log
// order, in fewer statements than one record at a time, leaving its rows
// exactly as applying them one by one would. The appends apply their
// inline projections this way (issue 21): a batch of usage reports from
// many installations then costs a few multi-row statements instead of
// three per report, which on PostgreSQL are each a step of the commit's
// pipeline while the append lock is held.
type BatchApplier interface {
	Projection
	ApplyBatch(ctx context.Context, tx Tx, records []event.Record) error
}

// maxBatchRows caps the rows of one multi-row statement; a larger run is
// written in several.
const maxBatchRows = 64

// rowBatch gathers the rows of one multi-row statement. The statement
// is sent with a number of rows padded to a power of two, the padding all
// NULL, so that an engine caching a plan per statement (PostgreSQL: pgx
// prepares each statement once per connection) sees at most seven
// statements, not one per run length; each statement must ignore a row
// whose first column is NULL. Every value is cast to its column's type,
// since PostgreSQL cannot infer a parameter's type inside VALUES.
type rowBatch struct {
	statement *batchStatement
	args      []any
	rows      int
}

// batchStatement is a multi-row statement: its text for each padded
// number of rows, built once.
type batchStatement struct {
	types []string  // SQL type of each column
	text  [7]string // by log2 of the rows: 1 … maxBatchRows
}

// newBatchStatement builds sql's statements for types' columns; sql
// returns the statement around the body of its VALUES clause.
func newBatchStatement(sql func(values string) string, types ...string) *batchStatement {
	s := &batchStatement{types: types}
	for i := range s.text {
		s.text[i] = sql(valuesList(types, 1<<i))
	}
	return s
}

func (s *batchStatement) batch() *rowBatch { return &rowBatch{statement: s} }

// add queues one row; len(row) must be len(b.types).
func (b *rowBatch) add(row ...any) {
	b.args = append(b.args, row...)
	b.rows++
}

// flush writes the queued rows and forgets them.
func (b *rowBatch) flush(ctx context.Context, tx Tx) error {
	for b.rows > 0 {
		n := min(b.rows, maxBatchRows)
		width := len(b.statement.types)
		args := b.args[:n*width]
		size := bits.Len(uint(n - 1)) // log2 of n rounded up to a power of two
		args = append(args[:len(args):len(args)], make([]any, (1<<size-n)*width)...)
		if err := tx.Exec(ctx, b.statement.text[size], args...); err != nil {
			return err
		}
		b.args, b.rows = b.args[n*width:], b.rows-n
	}
	b.args = b.args[:0]
	return nil
}

// valuesList is the body of a VALUES clause of rows rows of
// placeholders, each cast to its column's type. Both engines name the
// columns column1, column2, … .
func valuesList(types []string, rows int) string {
	var s strings.Builder
	for r := range rows {
		if r > 0 {
			s.WriteString(", ")
		}
		s.WriteByte('(')
		for i, typ := range types {
			if i > 0 {
				s.WriteString(", ")
			}
			s.WriteString("CAST(? AS " + typ + ")")
		}
		s.WriteByte(')')
	}
	return s.String()
}
