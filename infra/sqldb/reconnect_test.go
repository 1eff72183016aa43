package sqldb_test

import (
	"context"
	"net"
	"net/url"
	"testing"

	"seatledger/infra/postgres/pgtest"
	"seatledger/infra/sqldb"
)

// Rule X-8: when the server drops every connection (a restart, a
// failover), the pool's broken connections never fail the reads that
// come next: each is found broken, discarded and the read asked again on
// a new connection.
func TestPostgres_reads_survive_the_loss_of_every_pooled_connection_X8(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Target{Engine: sqldb.Postgres, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Several connections in the pool, each checked out again less than a
	// second ago (pgx pings only connections idle for longer).
	for range 2 {
		conns := make([]interface{ Close() error }, 4)
		for i := range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
		}
		for _, c := range conns {
			c.Close()
		}
	}
	killer, err := sqldb.Open(ctx, sqldb.Target{Engine: sqldb.Postgres, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	var killed int
	if err := killer.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&killed); err != nil || killed < 4 {
		t.Fatalf("terminated %d sessions, %v", killed, err)
	}
	for i := range 8 {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
			t.Fatalf("read %d after the server dropped the pool's connections: %v", i, err)
		}
	}
}

// Rule X-8: the database URL may list several hosts; the first that takes
// a read-write session is used.
func TestPostgres_multi_host_URL_X8(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	u.Host = dead + "," + u.Host
	q := u.Query()
	q.Set("target_session_attrs", "read-write")
	u.RawQuery = q.Encode()
	target, err := sqldb.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sqldb.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}
