package queries

import (
	"context"
	"errors"
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

// ErrNoEntitlement is matched by the error of a download read for a
// product the account has no active or in-grace subscription of (MISC-2).
var ErrNoEntitlement = errors.New("queries: no active subscription of the product")

// ErrNoSuchRelease is matched by the error of a read of a version the
// product does not have.
var ErrNoSuchRelease = errors.New("queries: no such release")

// DownloadsReadModel holds the products' releases and files.
const DownloadsReadModel = "downloads"

// DownloadProducts is the use case of an account's downloads page
// (MISC-2): v must be allowed to view account accountID (from its
// events), and the read sees v's last write.
func (q *Reads) DownloadProducts(ctx context.Context, v Viewer, accountID string) ([]DownloadProduct, error) {
	if err := q.authorizeAccount(ctx, v, accountID, LicensesReadModel, DownloadsReadModel); err != nil {
		return nil, err
	}
	return DownloadProducts(ctx, q.db, accountID)
}

// ProductReleases is a product's version selector: its versions, newest
// first, and the files of the version selected.
type ProductReleases struct {
	ProductID string           `json:"product_id"`
	Versions  []ReleaseSummary `json:"versions"`
	Version   string           `json:"version"`
	Files     []ReleaseFile    `json:"files"`
}

// authorizeDownloads lets v read product productID's downloads in account
// accountID if the account has an active or in-grace subscription of it
// (else an error matching ErrNoEntitlement), once the read models have
// reached v's last write.
func (q *Reads) authorizeDownloads(ctx context.Context, v Viewer, accountID, productID string) error {
	if err := q.authorizeAccount(ctx, v, accountID, LicensesReadModel, DownloadsReadModel); err != nil {
		return err
	}
	ok, err := HasActiveSubscription(ctx, q.db, accountID, productID)
	if err != nil {
		return err
	}
	if !ok {
		return &queryError{ErrNoEntitlement, fmt.Sprintf("the account has no active subscription of %s, whose downloads these are", productID)}
	}
	return nil
}

// releaseFiles reads the files of a version; an unknown version is an
// *InputError of "version" matching ErrNoSuchRelease.
func (q *Reads) releaseFiles(ctx context.Context, productID, version string) ([]ReleaseFile, error) {
	files, err := ReleaseFiles(ctx, q.db, productID, version)
	if errors.Is(err, ErrNotFound) {
		return nil, invalidInput("version", ErrNoSuchRelease, "%s has no version %s to download", productID, version)
	}
	return files, err
}

// Releases is the use case of a product's version selector (MISC-2): the
// product's versions and the files of version (default: the newest), for
// those who may read its downloads in account accountID.
func (q *Reads) Releases(ctx context.Context, v Viewer, accountID, productID, version string) (ProductReleases, error) {
	if err := q.authorizeDownloads(ctx, v, accountID, productID); err != nil {
		return ProductReleases{}, err
	}
	versions, err := Releases(ctx, q.db, productID)
	if err != nil {
		return ProductReleases{}, err
	}
	if version == "" && len(versions) > 0 {
		version = versions[0].Version
	}
	out := ProductReleases{ProductID: productID, Versions: versions, Version: version, Files: []ReleaseFile{}}
	if version != "" {
		if out.Files, err = q.releaseFiles(ctx, productID, version); err != nil {
			return ProductReleases{}, err
		}
	}
	return out, nil
}

// ReleaseFiles is the use case of one version's files, for those who may
// read the product's downloads in account accountID.
func (q *Reads) ReleaseFiles(ctx context.Context, v Viewer, accountID, productID, version string) ([]ReleaseFile, error) {
	if err := q.authorizeDownloads(ctx, v, accountID, productID); err != nil {
		return nil, err
	}
	return q.releaseFiles(ctx, productID, version)
}
