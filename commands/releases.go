package commands

import (
	"context"
	"time"

	"seatledger/domain/event"
	"seatledger/domain/release"
)

func evolveReleases(r release.Releases, payload any, _ event.Record) release.Releases {
	return r.Evolve(payload)
}

// PublishRelease publishes a version of product productID in the
// downloads catalog (rule MISC-2): the back office's. The product must be
// in the catalog. A zero ReleasedAt is now. Publishing the same version
// with the same contents again changes nothing (it answers where the
// stream stands); with other contents it is refused with
// release.ErrImmutable.
func (h *Handler) PublishRelease(ctx context.Context, meta Meta, productID string, r release.Published) (event.AppendResult, error) {
	if err := backOffice(meta, "publishes releases"); err != nil {
		return event.AppendResult{}, err
	}
	if _, err := h.Product(ctx, productID); err != nil {
		return event.AppendResult{}, err
	}
	r.ProductID = productID
	return update(ctx, h, h.releases, productID, "PublishRelease", meta,
		func(rs release.Releases, now time.Time) ([]any, error) { return rs.Publish(r, now) })
}

// WithdrawRelease withdraws a version of product productID from the
// downloads catalog (the back office's); it stays in the history.
func (h *Handler) WithdrawRelease(ctx context.Context, meta Meta, productID, version string) (event.AppendResult, error) {
	if err := backOffice(meta, "withdraws releases"); err != nil {
		return event.AppendResult{}, err
	}
	if _, err := h.Product(ctx, productID); err != nil {
		return event.AppendResult{}, err
	}
	return update(ctx, h, h.releases, productID, "WithdrawRelease", meta,
		func(rs release.Releases, _ time.Time) ([]any, error) { return rs.Withdraw(version) })
}

// Releases returns the downloads catalog of product productID as of its
// stream's latest event. It is shared; never evolve it.
func (h *Handler) Releases(ctx context.Context, productID string) (release.Releases, error) {
	rs, _, err := h.releases.current(ctx, h, productID)
	return rs, err
}
