package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/product"
	"seatledger/domain/release"
	"seatledger/infra/eventstore"
)

// release81 is version 8.1 of "pmm" with an installer and a guide.
func release81() release.Published {
	return release.Published{Version: "8.1", Notes: "Apple DEP enrollment.", Files: []release.File{
		{Name: "pmm-8.1.msi", Kind: release.Installer, Size: 48_000_000, SHA256: strings.Repeat("0f", 32), URL: "https://dl.example.com/pmm/8.1/pmm.msi"},
		{Name: "Administrator's Guide.pdf", Kind: release.Document, Size: 2_000_000, SHA256: strings.Repeat("e3", 32), URL: "https://dl.example.com/pmm/8.1/guide.pdf"},
	}}
}

// Rule MISC-2: the back office publishes a version of a product in the
// catalog; the same version again with the same contents appends nothing,
// with other contents is refused (versions are immutable); nobody else
// publishes, and an unknown product has no releases.
func TestPublishRelease_is_idempotent_and_immutable_MISC2(t *testing.T) {
	forEachEngine(t, func(t *testing.T, h *commands.Set, store eventstore.Store) {
		ctx := context.Background()
		must(t)(h.Orders.DefineProduct(ctx, backOffice, productPMM))
		res := must(t)(h.Releases.PublishRelease(ctx, backOffice, "pmm", release81()))
		if res.StreamID != release.StreamID("pmm") || res.LastVersion != 1 {
			t.Fatalf("published %+v", res)
		}
		head, _ := store.Head(ctx)
		again := must(t)(h.Releases.PublishRelease(ctx, backOffice, "pmm", release81()))
		if now, _ := store.Head(ctx); now != head || again.LastVersion != 1 {
			t.Errorf("the same release again appended: head %d → %d, %+v", head, now, again)
		}
		changed := release81()
		changed.Files[0].SHA256 = strings.Repeat("11", 32)
		if _, err := h.Releases.PublishRelease(ctx, backOffice, "pmm", changed); !errors.Is(err, release.ErrImmutable) {
			t.Errorf("other contents: %v", err)
		}
		if _, err := h.Releases.PublishRelease(ctx, as("ada"), "pmm", release81()); !errors.Is(err, account.ErrForbidden) {
			t.Errorf("a person publishing: %v", err)
		}
		if _, err := h.Releases.PublishRelease(ctx, backOffice, "nope", release81()); !errors.Is(err, product.ErrNotFound) {
			t.Errorf("an unknown product: %v", err)
		}
		bad := release81()
		bad.Version = "8.1-beta"
		if _, err := h.Releases.PublishRelease(ctx, backOffice, "pmm", bad); !errors.Is(err, release.ErrInvalid) {
			t.Errorf("a bad version: %v", err)
		}
		rs, err := h.Releases.Catalog(ctx, "pmm")
		if err != nil {
			t.Fatal(err)
		}
		got, ok := rs.Get("8.1")
		if !ok || got.ProductID != "pmm" || !got.ReleasedAt.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) || len(got.Files) != 2 {
			t.Errorf("release %+v", got)
		}
		must(t)(h.Releases.WithdrawRelease(ctx, backOffice, "pmm", "8.1"))
		if _, err := h.Releases.PublishRelease(ctx, backOffice, "pmm", release81()); !errors.Is(err, release.ErrWithdrawn) {
			t.Errorf("republishing a withdrawn version: %v", err)
		}
	})
}
