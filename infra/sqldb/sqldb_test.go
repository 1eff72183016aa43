package sqldb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	ok := map[string]sqldb.Target{
		"":                                       {Engine: sqldb.SQLite, DSN: sqldb.DefaultSQLitePath},
		"./data/x.db":                            {Engine: sqldb.SQLite, DSN: "./data/x.db"},
		"sqlite:/var/lib/ledger.db":              {Engine: sqldb.SQLite, DSN: "/var/lib/ledger.db"},
		"sqlite:///var/lib/ledger.db":            {Engine: sqldb.SQLite, DSN: "/var/lib/ledger.db"},
		"postgres://u:p@db:5432/ledger":          {Engine: sqldb.Postgres, DSN: "postgres://u:p@db:5432/ledger"},
		"postgresql://db/ledger?sslmode=disable": {Engine: sqldb.Postgres, DSN: "postgresql://db/ledger?sslmode=disable"},
	}
	for in, want := range ok {
		got, err := sqldb.ParseURL(in)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"mysql://root@db/ledger":           "unsupported scheme",
		"postgres:///ledger":               "names no host",
		"sqlite:":                          "names no SQLite file",
		"ledger.db?_pragma=synchronous(0)": "options are set by the ledger",
		"postgres://u:secret@db:5432/x%zz": "not a valid URL",
	}
	for in, want := range bad {
		_, err := sqldb.ParseURL(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q) err = %v, want one saying %q", in, err, want)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q) error reveals the password: %v", in, err)
		}
	}
}

func TestRedact_hides_only_the_password(t *testing.T) {
	t.Parallel()
	got := sqldb.Redact("postgres://ledger:s3cret@db:5432/ledger?sslmode=require")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "ledger:xxxxx@db:5432/ledger?sslmode=require") {
		t.Fatalf("Redact = %q", got)
	}
	if got := sqldb.Redact("./data/ledger.db"); got != "./data/ledger.db" {
		t.Fatalf("Redact of a path = %q", got)
	}
}

func TestRebind_numbers_placeholders_outside_strings_for_PostgreSQL(t *testing.T) {
	t.Parallel()
	q := `SELECT * FROM t WHERE a = ? AND b = '?' AND c IN (?, ?)`
	if got := sqldb.SQLite.Rebind(q); got != q {
		t.Errorf("SQLite rebind changed the query: %s", got)
	}
	for range 2 { // rewritten, then remembered
		if got, want := sqldb.Postgres.Rebind(q), `SELECT * FROM t WHERE a = $1 AND b = '?' AND c IN ($2, $3)`; got != want {
			t.Errorf("Postgres rebind = %s, want %s", got, want)
		}
	}
	// Characters beyond ASCII pass through whole, in strings and out.
	if got, want := sqldb.Postgres.Rebind(`SELECT 'café ?' AS ü FROM t WHERE ö = ?`), `SELECT 'café ?' AS ü FROM t WHERE ö = $1`; got != want {
		t.Errorf("Postgres rebind = %s, want %s", got, want)
	}
	// Queries built per call are answered right beyond the number of
	// queries Rebind remembers.
	for n := range 5000 {
		q := fmt.Sprintf("SELECT * FROM t WHERE a = ? AND b = %d AND c IN (?, ?)", n)
		if got, want := sqldb.Postgres.Rebind(q), fmt.Sprintf("SELECT * FROM t WHERE a = $1 AND b = %d AND c IN ($2, $3)", n); got != want {
			t.Fatalf("Postgres rebind = %s, want %s", got, want)
		}
	}
}

// Both engines migrate from the embedded files, and a second run applies nothing.
func TestMigrate_is_idempotent_on_both_engines(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		db := sqldbtest.Open(t, target) // migrates once
		n, err := sqldb.Migrate(t.Context(), db)
		if err != nil || n != 0 {
			t.Fatalf("second migration applied %d, %v", n, err)
		}
		pending, err := sqldb.PendingMigrations(t.Context(), db)
		if err != nil || pending != 0 {
			t.Fatalf("pending = %d, %v", pending, err)
		}
	})
}

// syncSetting reads, inside tx, how the engine commits: SQLite's
// synchronous (2 FULL, 1 NORMAL), PostgreSQL's synchronous_commit.
func syncSetting(t *testing.T, tx *sqldb.Tx, engine sqldb.Engine) string {
	t.Helper()
	query := "SHOW synchronous_commit"
	if engine == sqldb.SQLite {
		query = "PRAGMA synchronous"
	}
	var v string
	if err := tx.QueryRowContext(t.Context(), query).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// An append is fsynced before it is acknowledged; a read model's
// transaction (BeginRebuildable) is not, and it writes the same database,
// in the same order with the other writers.
func TestBeginRebuildable_relaxes_only_its_own_commit(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		db := sqldbtest.Open(t, target)
		want := map[sqldb.Engine][2]string{sqldb.SQLite: {"2", "1"}, sqldb.Postgres: {"on", "off"}}[target.Engine]
		for i := range 3 { // and the pool's connections stay as they were
			durable, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := syncSetting(t, durable, target.Engine); got != want[0] {
				t.Errorf("round %d: a durable transaction commits with %s, want %s", i, got, want[0])
			}
			if _, err := durable.ExecContext(t.Context(), db.Rebind("INSERT INTO projection_checkpoints (name, position, updated_at, status) VALUES (?, 0, 0, 'live')"),
				"durable-"+strings.Repeat("x", i)); err != nil {
				t.Fatal(err)
			}
			if err := durable.Commit(); err != nil {
				t.Fatal(err)
			}
			relaxed, err := db.BeginRebuildable(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got := syncSetting(t, relaxed, target.Engine); got != want[1] {
				t.Errorf("round %d: a rebuildable transaction commits with %s, want %s", i, got, want[1])
			}
			if _, err := relaxed.ExecContext(t.Context(), db.Rebind("UPDATE projection_checkpoints SET position = position + 1 WHERE name = ?"),
				"durable-"+strings.Repeat("x", i)); err != nil {
				t.Fatal(err)
			}
			if err := relaxed.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		var total int
		if err := db.QueryRowContext(t.Context(), "SELECT SUM(position) FROM projection_checkpoints WHERE name LIKE 'durable-%'").Scan(&total); err != nil || total != 3 {
			t.Fatalf("the rebuildable writes are not all visible: %d, %v", total, err)
		}
	})
}

// Issue 21: on SQLite every transaction of a process, durable or
// rebuildable, and every write outside one, runs on one connection, whose page cache then stays valid
// from one transaction to the next. A TEMP table lives on its connection
// only, so it shows which connection a transaction ran on.
func TestSQLite_transactions_share_one_connection(t *testing.T) {
	db := sqldbtest.Open(t, sqldbtest.SQLite(t))
	begin := []struct {
		name  string
		begin func() (*sqldb.Tx, error)
	}{
		{"durable", func() (*sqldb.Tx, error) { return db.BeginTx(t.Context(), nil) }},
		{"rebuildable", func() (*sqldb.Tx, error) { return db.BeginRebuildable(t.Context()) }},
	}
	for i := range 6 {
		b := begin[i%2]
		if err := db.PingContext(t.Context()); err != nil { // the readers' pool in between
			t.Fatal(err)
		}
		tx, err := b.begin()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			_, err = tx.ExecContext(t.Context(), "CREATE TEMP TABLE connection_marker (n INTEGER)")
		} else {
			_, err = tx.ExecContext(t.Context(), "INSERT INTO connection_marker (n) VALUES (?)", i)
		}
		if err != nil {
			t.Fatalf("transaction %d (%s) on another connection than the first: %v", i, b.name, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// A statement outside a transaction writes on the same connection.
	if _, err := db.ExecContext(t.Context(), "INSERT INTO connection_marker (n) VALUES (?)", 6); err != nil {
		t.Fatalf("a write outside a transaction ran on another connection: %v", err)
	}
}

// Issue 21: on the one write connection, a transaction whose context ends
// is rolled back by its owner's Rollback, not by database/sql on a
// goroutine of its own, which could land in the next transaction.
func TestSQLite_a_cancelled_transaction_never_ends_the_next_one(t *testing.T) {
	db := sqldbtest.Open(t, sqldbtest.SQLite(t))
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE numbers (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	const rounds = 200
	for i := range rounds {
		ctx, cancel := context.WithCancel(t.Context())
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO numbers (n) VALUES (-1)"); err != nil {
			t.Fatal(err)
		}
		cancel()
		_ = tx.Rollback()
		next, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatalf("round %d: the transaction after a cancelled one: %v", i, err)
		}
		if _, err := next.ExecContext(t.Context(), "INSERT INTO numbers (n) VALUES (?)", i); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := next.Commit(); err != nil {
			t.Fatalf("round %d: commit after a cancelled transaction: %v", i, err)
		}
	}
	var n, cancelled int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*), COUNT(*) FILTER (WHERE n < 0) FROM numbers").Scan(&n, &cancelled); err != nil {
		t.Fatal(err)
	}
	if n != rounds || cancelled != 0 {
		t.Fatalf("%d rows, %d of the cancelled transactions': want %d and none", n, cancelled, rounds)
	}
}

// BenchmarkRebind rebinds the statement a usage report's projection runs,
// as every projection statement on PostgreSQL is rebound.
func BenchmarkRebind(b *testing.B) {
	q := `INSERT INTO inst_usage_days (installation_id, day, peak, last_report_at, last_observed_at, quota)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (installation_id, day) DO UPDATE SET
			peak = CASE WHEN excluded.peak > inst_usage_days.peak THEN excluded.peak ELSE inst_usage_days.peak END,
			quota = CASE WHEN excluded.last_observed_at >= inst_usage_days.last_observed_at OR inst_usage_days.quota IS NULL
				THEN excluded.quota ELSE inst_usage_days.quota END`
	b.ReportAllocs()
	for b.Loop() {
		sqldb.Postgres.Rebind(q)
	}
}
