// Package pgtest gives integration tests a PostgreSQL database of their
// own on the server the ledger's tests talk to (see EnvURL), created empty
// and dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that holds the URL of the test
// server's maintenance database, the one tests connect to in order to
// create and drop their own. The user needs the CREATEDB privilege.
const EnvURL = "LEDGER_TEST_POSTGRES_URL"

// DefaultURL is used when EnvURL is unset: the local server, trust auth.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// namePrefix starts every test database's name, so that leftovers of an
// interrupted run are easy to find and drop.
const namePrefix = "seatledger_test_"

// BaseURL returns the maintenance database's URL: EnvURL's value or DefaultURL.
func BaseURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates an empty database with a random name and returns its
// URL; the database is dropped (with its remaining connections) when tb
// ends. When the server cannot be reached it skips tb, unless the
// environment variable CI is "true": there a missing server must fail the
// build, not skip it quietly.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	base := BaseURL()
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("pgtest: %s must be a postgres:// URL", EnvURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		msg := "pgtest: PostgreSQL is not reachable at " + redact(u) + " (set " + EnvURL + " to use another server): " + err.Error()
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	defer conn.Close(ctx)
	name := namePrefix + randomSuffix(tb)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() { drop(tb, base, name) })
	u.Path = "/" + name
	return u.String()
}

// drop removes the database, ending the sessions a failed test left open.
func drop(tb testing.TB, base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Errorf("pgtest: connect to drop database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		tb.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

func randomSuffix(tb testing.TB) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("pgtest: random database name: %v", err)
	}
	return hex.EncodeToString(b[:])
}

func redact(u *url.URL) string {
	c := *u
	if _, has := c.User.Password(); has {
		c.User = url.UserPassword(c.User.Username(), "xxxxx")
	}
	return c.String()
}
