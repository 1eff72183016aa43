package queries

import (
	"context"
	"fmt"
	"time"

	"seatledger/domain/invalid"
)

// The downloads queries (rule MISC-2) read the read model
// projections.Downloads keeps (dl_releases, dl_files), joined with the
// licenses read model for an account's subscriptions. Withdrawn versions
// are never listed. Versions are ordered by their numeric components
// ("2.10" after "2.9"), then as text.

// newestFirst orders the dl_releases rows of alias t newest version first.
func newestFirst(t string) string {
	return t + ".v1 DESC, " + t + ".v2 DESC, " + t + ".v3 DESC, " + t + ".v4 DESC, " + t + ".version DESC"
}

// DownloadProduct is one product on an account's downloads page.
type DownloadProduct struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	Model     string `json:"model"`
	// LatestVersion is the newest version listed, released at
	// LatestReleasedAt.
	LatestVersion    string    `json:"latest_version"`
	LatestReleasedAt time.Time `json:"latest_released_at"`
}

// DownloadProducts returns the products of account accountID's
// subscriptions that are active or in grace and that have at least one
// version listed, by product name (ignoring ASCII case), then ID.
func DownloadProducts(ctx context.Context, db DB, accountID string) ([]DownloadProduct, error) {
	if accountID == "" {
		return nil, invalid.New(ErrInvalidFilter, "account_id", "account_id is required")
	}
	rows, err := db.Select(ctx, `SELECT s.product_id, COALESCE(p.name, s.product_id), COALESCE(p.model, ''), r.version, r.released_at
		FROM (SELECT DISTINCT product_id FROM lic_subscriptions WHERE account_id = ? AND status IN ('active', 'grace')) s
		JOIN dl_releases r ON r.product_id = s.product_id AND r.version = (
			SELECT l.version FROM dl_releases l WHERE l.product_id = s.product_id AND l.withdrawn = 0
			ORDER BY `+newestFirst("l")+` LIMIT 1)
		LEFT JOIN lic_products p ON p.product_id = s.product_id
		ORDER BY LOWER(COALESCE(p.name, s.product_id)), COALESCE(p.name, s.product_id), s.product_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("queries: downloads of %s: %w", accountID, err)
	}
	defer rows.Close()
	out := []DownloadProduct{}
	for rows.Next() {
		var (
			p  DownloadProduct
			at int64
		)
		if err := rows.Scan(&p.ProductID, &p.Name, &p.Model, &p.LatestVersion, &at); err != nil {
			return nil, fmt.Errorf("queries: downloads of %s: %w", accountID, err)
		}
		p.LatestReleasedAt = micros(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ReleaseSummary is one entry of a product's version selector.
type ReleaseSummary struct {
	Version    string    `json:"version"`
	ReleasedAt time.Time `json:"released_at"`
	Notes      string    `json:"notes"`
	// Files counts the version's files.
	Files int `json:"files"`
}

// Releases returns the versions of product productID listed for download,
// newest first.
func Releases(ctx context.Context, db DB, productID string) ([]ReleaseSummary, error) {
	rows, err := db.Select(ctx, `SELECT r.version, r.released_at, r.notes,
			(SELECT COUNT(*) FROM dl_files f WHERE f.product_id = r.product_id AND f.version = r.version)
		FROM dl_releases r WHERE r.product_id = ? AND r.withdrawn = 0
		ORDER BY `+newestFirst("r"), productID)
	if err != nil {
		return nil, fmt.Errorf("queries: releases of %s: %w", productID, err)
	}
	defer rows.Close()
	out := []ReleaseSummary{}
	for rows.Next() {
		var (
			r  ReleaseSummary
			at int64
		)
		if err := rows.Scan(&r.Version, &at, &r.Notes, &r.Files); err != nil {
			return nil, fmt.Errorf("queries: releases of %s: %w", productID, err)
		}
		r.ReleasedAt = micros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReleaseFile is one downloadable file of a version.
type ReleaseFile struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // installer | document
	// Size is in bytes.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	URL    string `json:"url"`
}

// ReleaseFiles returns the files of version version of product productID,
// in the order they were published; ErrNotFound when the version is not
// listed (never published, withdrawn, or not in the read model yet).
func ReleaseFiles(ctx context.Context, db DB, productID, version string) ([]ReleaseFile, error) {
	rows, err := db.Select(ctx, `SELECT f.name, f.kind, f.size, f.sha256, f.url
		FROM dl_releases r JOIN dl_files f ON f.product_id = r.product_id AND f.version = r.version
		WHERE r.product_id = ? AND r.version = ? AND r.withdrawn = 0
		ORDER BY f.seq`, productID, version)
	if err != nil {
		return nil, fmt.Errorf("queries: files of %s %s: %w", productID, version, err)
	}
	defer rows.Close()
	out := []ReleaseFile{}
	for rows.Next() {
		var f ReleaseFile
		if err := rows.Scan(&f.Name, &f.Kind, &f.Size, &f.SHA256, &f.URL); err != nil {
			return nil, fmt.Errorf("queries: files of %s %s: %w", productID, version, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 { // a listed version has at least one file
		return nil, fmt.Errorf("%w: version %s of %s", ErrNotFound, version, productID)
	}
	return out, nil
}
