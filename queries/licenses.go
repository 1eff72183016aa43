package queries

import (
	"database/sql"
	"errors"
	"time"
)

// The licenses queries (products.go, dashboard.go, subscriptions.go,
// subscription_details.go) read the read model projections.Licenses
// keeps: lic_products, lic_subscriptions, lic_keys, lic_key_admins and
// lic_orders.

// ErrInvalidFilter: a list was asked for with a filter or sort value it
// does not know; the error names the allowed values.
var ErrInvalidFilter = errors.New("queries: invalid filter")

// microsOrNil turns a nullable stored Unix-microsecond time into a UTC
// time, or nil.
func microsOrNil(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := micros(us.Int64)
	return &t
}
