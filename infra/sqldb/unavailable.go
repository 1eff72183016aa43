package sqldb

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUnavailable reports whether err says the database could not be
// reached or was lost, rather than that it refused what was asked: no
// connection could be made, a connection broke, or the server is shutting
// down, starting up, or read-only (a standby, or a primary being demoted
// in a failover). Such an error passes when the database is back, so it
// is retried, or answered with 503, never with 500 (rule X-8). An
// operation that failed with it may or may not have taken effect.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var (
		pgErr   *pgconn.PgError
		connErr *pgconn.ConnectError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &pgErr):
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // admin or crash shutdown, cannot connect now
			return true
		case pgErr.Code == "25006": // read-only SQL transaction: a standby, or a demoted primary
			return true
		case pgErr.Code == "53300": // too many connections: the server is full for a moment
			return true
		}
		return false
	case errors.As(err, &connErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF): // the server went away mid-answer
		return true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	return pgconn.SafeToRetry(err)
}
