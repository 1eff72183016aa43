package commands

import (
	"context"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/release"
	"seatledger/domain/staff"
)

// ReleasesHandler runs the use cases of the downloads catalog: the back
// office publishes and withdraws the releases of products (rule MISC-2).
type ReleasesHandler struct {
	loader   *Loader
	releases *cache[release.Releases]
}

// NewReleasesHandler returns a ReleasesHandler on loader. It returns an
// error wrapping ErrMissingDependency if loader is nil.
func NewReleasesHandler(loader *Loader) (*ReleasesHandler, error) {
	if err := dependencies("NewReleasesHandler", dep{"a Loader", loader != nil}); err != nil {
		return nil, err
	}
	return &ReleasesHandler{loader: loader, releases: newCache(loader.cacheSize, release.StreamID,
		func(string) release.Releases { return release.Releases{} }, evolveReleases, release.Releases.Clone)}, nil
}

func evolveReleases(r release.Releases, payload any, _ event.Record) release.Releases {
	return r.Evolve(payload)
}

// PublishRelease publishes a version of product productID in the
// downloads catalog (rule MISC-2): the back office's. The product must be
// in the catalog. A zero ReleasedAt is now. Publishing the same version
// with the same contents again changes nothing (it answers where the
// stream stands); with other contents it is refused with
// release.ErrImmutable.
func (h *ReleasesHandler) PublishRelease(ctx context.Context, meta Meta, productID string, r release.Published) (event.AppendResult, error) {
	if err := h.loader.backOffice(ctx, meta.Actor, staff.PermCatalog); err != nil {
		return event.AppendResult{}, err
	}
	if _, err := h.loader.product(ctx, productID); err != nil {
		return event.AppendResult{}, err
	}
	r.ProductID = productID
	return update(ctx, h.loader, h.releases, productID, "PublishRelease", meta,
		func(rs release.Releases, now time.Time) ([]any, error) { return rs.Publish(r, now) })
}

// WithdrawRelease withdraws a version of product productID from the
// downloads catalog (the back office's); it stays in the history.
func (h *ReleasesHandler) WithdrawRelease(ctx context.Context, meta Meta, productID, version string) (event.AppendResult, error) {
	if err := h.loader.backOffice(ctx, meta.Actor, staff.PermCatalog); err != nil {
		return event.AppendResult{}, err
	}
	if _, err := h.loader.product(ctx, productID); err != nil {
		return event.AppendResult{}, err
	}
	return update(ctx, h.loader, h.releases, productID, "WithdrawRelease", meta,
		func(rs release.Releases, _ time.Time) ([]any, error) { return rs.Withdraw(version) })
}

// Catalog returns the downloads catalog of product productID as of its
// stream's latest event. It is shared; never evolve it.
func (h *ReleasesHandler) Catalog(ctx context.Context, productID string) (release.Releases, error) {
	rs, _, err := h.releases.current(ctx, h.loader, productID)
	return rs, err
}
