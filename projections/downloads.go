package projections

import (
	"context"
	"strings"

	"seatledger/domain/event"
	"seatledger/domain/release"
)

// Downloads is the read model of the downloads catalog (rule MISC-2): per
// product, the versions published with their numeric components for the
// version selector's order, and each version's files. Who may see a
// product's downloads (a member of an account with an active subscription
// of it) is decided by the caller, not here.
//
// A version never changes once published (the release aggregate refuses
// other contents), so its rows are inserted once and only the withdrawn
// flag is ever updated: applying an event twice leaves the rows as
// applying it once did.
type Downloads struct{}

var _ Projection = Downloads{}

// Name implements Projection.
func (Downloads) Name() string { return "downloads" }

// Tables implements Projection.
func (Downloads) Tables() []string { return []string{"dl_releases", "dl_files"} }

var downloadsTable = newTable("downloads",
	on(Downloads.published),
	on(Downloads.withdrawn),
)

// Apply implements Projection.
func (d Downloads) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return downloadsTable.apply(d, ctx, tx, rec)
}

// EventTypes implements Selective.
func (Downloads) EventTypes() []string { return downloadsTable.eventTypes() }

func (Downloads) published(ctx context.Context, tx Tx, rec event.Record, e release.Published) error {
	v, err := release.ParseVersion(e.Version)
	if err != nil {
		return err // the aggregate validated it: a bug, never skipped
	}
	if err := tx.Exec(ctx, `INSERT INTO dl_releases (product_id, version, v1, v2, v3, v4, released_at, notes, published_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (product_id, version) DO NOTHING`,
		e.ProductID, e.Version, v[0], v[1], v[2], v[3], e.ReleasedAt.UnixMicro(), e.Notes, rec.RecordedAt.UnixMicro()); err != nil {
		return err
	}
	for i, f := range e.Files {
		if err := tx.Exec(ctx, `INSERT INTO dl_files (product_id, version, seq, name, kind, size, sha256, url)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (product_id, version, name) DO NOTHING`,
			e.ProductID, e.Version, i, f.Name, string(f.Kind), f.Size, f.SHA256, f.URL); err != nil {
			return err
		}
	}
	return nil
}

func (Downloads) withdrawn(ctx context.Context, tx Tx, rec event.Record, e release.Withdrawn) error {
	product, _ := strings.CutPrefix(rec.StreamID, "release-")
	return tx.Exec(ctx, `UPDATE dl_releases SET withdrawn = 1 WHERE product_id = ? AND version = ?`, product, e.Version)
}
