package queries_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"seatledger/domain/product"
	"seatledger/domain/release"
	"seatledger/domain/subscription"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/projections"
	"seatledger/queries"
)

// downloadsLog runs the licenses and downloads projections.
type downloadsLog struct{ *licenseLog }

func newDownloadsLog(t *testing.T, target sqldb.Target) *downloadsLog {
	return &downloadsLog{&licenseLog{newTestLog(t, target, projections.Licenses{}, projections.Downloads{})}}
}

// publishedRelease is version v of productID with an installer and a
// document.
func publishedRelease(productID, v string) release.Published {
	return release.Published{ProductID: productID, Version: v, ReleasedAt: at(day), Notes: "notes " + v, Files: []release.File{
		{Name: productID + "-" + v + ".msi", Kind: release.Installer, Size: 1000, SHA256: strings.Repeat("ab", 32), URL: "https://dl.example.com/" + v + ".msi"},
		{Name: "Guide.pdf", Kind: release.Document, Size: 20, SHA256: strings.Repeat("cd", 32), URL: "https://dl.example.com/" + v + ".pdf"},
	}}
}

// Rule MISC-2: an account's downloads list the products of its active
// (or in-grace) subscriptions that have releases; a product's versions
// come newest first by their numbers, not as text, without withdrawn
// ones; a version's files come in the order published. Who may list is
// asked with HasActiveSubscription; Entitlements finds the subscriptions
// that entitle to MDM certificates (MISC-1).
func TestDownloads_version_selector_orders_numerically_MISC2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		ctx := context.Background()
		d := newDownloadsLog(t, target)
		d.Append(product.StreamID("pmm"), product.Defined{ProductID: "pmm", Name: "mac Management", Model: product.ManagedComputers, MajorVersion: 8})
		d.Append(product.StreamID("ras"), product.Defined{ProductID: "ras", Name: "Remote Application Server", Model: product.ConcurrentUsers, MajorVersion: 19})
		d.Append(product.StreamID("tools"), product.Defined{ProductID: "tools", Name: "Tools", Model: product.ConcurrentUsers})
		d.sub("a", purchased("a", "pmm", 50, subscription.Year, subscription.Online, at(365*day)), subscription.Registered{AccountID: "acc-1", By: "p-1"})
		d.sub("b", purchased("b", "ras", 5, subscription.Year, subscription.Online, at(365*day)), subscription.Registered{AccountID: "acc-1", By: "p-1"},
			subscription.GraceStarted{End: at(365 * day)}, subscription.Expired{End: at(365 * day)})
		d.sub("c", purchased("c", "tools", 5, subscription.Year, subscription.Online, at(365*day)), subscription.Registered{AccountID: "acc-1", By: "p-1"})
		d.sub("d", purchased("d", "ras", 5, subscription.Year, subscription.Online, at(365*day)), subscription.Registered{AccountID: "acc-2", By: "p-2"},
			subscription.GraceStarted{End: at(365 * day)})
		for _, v := range []string{"8.1", "8.10", "8.9", "8.9.1", "10", "11", "9.0"} {
			d.Append(release.StreamID("pmm"), publishedRelease("pmm", v))
		}
		d.Append(release.StreamID("pmm"), release.Withdrawn{Version: "11"})
		d.Append(release.StreamID("ras"), publishedRelease("ras", "19.0.2345"))
		d.Rebuild()
		d.Rebuild() // a rebuild reproduces what it built

		// "tools" has no releases; "ras" of acc-1 expired.
		products, err := queries.DownloadProducts(ctx, d.DB, "acc-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(products) != 1 || products[0] != (queries.DownloadProduct{ProductID: "pmm", Name: "mac Management", Model: "managed_computers",
			LatestVersion: "10", LatestReleasedAt: at(day)}) {
			t.Errorf("acc-1 downloads %+v", products)
		}
		if products, err := queries.DownloadProducts(ctx, d.DB, "acc-2"); err != nil || len(products) != 1 || products[0].LatestVersion != "19.0.2345" {
			t.Errorf("acc-2 (in grace) downloads %+v, %v", products, err)
		}
		if products, err := queries.DownloadProducts(ctx, d.DB, "acc-404"); err != nil || len(products) != 0 {
			t.Errorf("a stranger's downloads %+v, %v", products, err)
		}

		releases, err := queries.Releases(ctx, d.DB, "pmm")
		if err != nil {
			t.Fatal(err)
		}
		var versions []string
		for _, r := range releases {
			versions = append(versions, r.Version)
			if r.Files != 2 || r.Notes != "notes "+r.Version || !r.ReleasedAt.Equal(at(day)) {
				t.Errorf("release %+v", r)
			}
		}
		if want := []string{"10", "9.0", "8.10", "8.9.1", "8.9", "8.1"}; !reflect.DeepEqual(versions, want) {
			t.Errorf("versions %v, want %v (numeric order, withdrawn 11 left out)", versions, want)
		}

		files, err := queries.ReleaseFiles(ctx, d.DB, "pmm", "8.10")
		if err != nil {
			t.Fatal(err)
		}
		if want := []queries.ReleaseFile{
			{Name: "pmm-8.10.msi", Kind: "installer", Size: 1000, SHA256: strings.Repeat("ab", 32), URL: "https://dl.example.com/8.10.msi"},
			{Name: "Guide.pdf", Kind: "document", Size: 20, SHA256: strings.Repeat("cd", 32), URL: "https://dl.example.com/8.10.pdf"},
		}; !reflect.DeepEqual(files, want) {
			t.Errorf("files %+v", files)
		}
		for _, v := range []string{"11", "7", "8.1.0"} {
			if _, err := queries.ReleaseFiles(ctx, d.DB, "pmm", v); !errors.Is(err, queries.ErrNotFound) {
				t.Errorf("files of %s: %v, want ErrNotFound", v, err)
			}
		}

		for _, c := range []struct {
			account, product string
			want             bool
		}{{"acc-1", "pmm", true}, {"acc-1", "ras", false}, {"acc-2", "ras", true}, {"acc-2", "pmm", false}, {"acc-404", "pmm", false}} {
			if got, err := queries.HasActiveSubscription(ctx, d.DB, c.account, c.product); err != nil || got != c.want {
				t.Errorf("%s has %s: %v, %v", c.account, c.product, got, err)
			}
		}
		ent := queries.Entitlements{DB: d.DB}
		for _, c := range []struct {
			account string
			model   product.Model
			want    string
		}{{"acc-1", product.ManagedComputers, "[a]"}, {"acc-1", product.ConcurrentUsers, "[c]"}, {"acc-2", product.ConcurrentUsers, "[d]"}, {"acc-2", product.ManagedComputers, "[]"}} {
			ids, err := ent.ActiveSubscriptions(ctx, c.account, c.model)
			if err != nil || fmt.Sprint(ids) != c.want {
				t.Errorf("%s %s: %v, %v; want %s", c.account, c.model, ids, err, c.want)
			}
		}
	})
}
