// Package migrations holds the SQL schema of the ledger, one folder per
// engine (sqlite, postgres), embedded in the binary and applied with goose.
// Files are numbered; a number is never reused or edited once released.
package migrations

import "embed"

// FS holds sqlite/*.sql and postgres/*.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
