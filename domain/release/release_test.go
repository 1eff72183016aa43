package release_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"seatledger/domain/release"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func published(version string) release.Published {
	return release.Published{ProductID: "pmm", Version: version, Notes: "Fixes.", Files: []release.File{
		{Name: "pmm-" + version + ".msi", Kind: release.Installer, Size: 123_456, SHA256: strings.Repeat("a1", 32), URL: "https://dl.example.com/pmm/" + version + ".msi"},
		{Name: "Admin Guide.pdf", Kind: release.Document, Size: 42, SHA256: strings.Repeat("B2", 32), URL: "https://dl.example.com/pmm/guide.pdf"},
	}}
}

func publish(t *testing.T, rs release.Releases, p release.Published, now time.Time) release.Releases {
	t.Helper()
	evs, err := rs.Publish(p, now)
	if err != nil || len(evs) != 1 {
		t.Fatalf("publish %s: %v %v", p.Version, evs, err)
	}
	return rs.Evolve(evs[0])
}

// Rule MISC-2: a version is published once; the same contents again is
// a no-op, other contents are refused, a withdrawn version is not listed
// and never published again.
func TestPublish_versions_are_immutable_MISC2(t *testing.T) {
	t.Parallel()
	var rs release.Releases
	rs = publish(t, rs, published("8.1"), t0)
	got, _ := rs.Get("8.1")
	if !got.ReleasedAt.Equal(t0) || got.Files[1].SHA256 != strings.Repeat("b2", 32) {
		t.Fatalf("published %+v", got)
	}
	// A retry, with or without the release date the first one defaulted to.
	for _, p := range []release.Published{published("8.1"), func() release.Published { p := published("8.1"); p.ReleasedAt = t0; return p }()} {
		if evs, err := rs.Publish(p, t0.Add(time.Hour)); err != nil || len(evs) != 0 {
			t.Errorf("the same version again: %v %v", evs, err)
		}
	}
	for name, change := range map[string]func(*release.Published){
		"notes":        func(p *release.Published) { p.Notes = "Other fixes." },
		"a file's URL": func(p *release.Published) { p.Files[0].URL = "https://mirror.example.com/x.msi" },
		"one file":     func(p *release.Published) { p.Files = p.Files[:1] },
		"release date": func(p *release.Published) { p.ReleasedAt = t0.Add(-24 * time.Hour) },
	} {
		p := published("8.1")
		change(&p)
		if _, err := rs.Publish(p, t0); !errors.Is(err, release.ErrImmutable) {
			t.Errorf("%s changed: %v", name, err)
		}
	}
	evs, err := rs.Withdraw("8.1")
	if err != nil || len(evs) != 1 {
		t.Fatalf("withdraw: %v %v", evs, err)
	}
	rs = rs.Evolve(evs[0])
	if evs, err := rs.Withdraw("8.1"); err != nil || len(evs) != 0 {
		t.Errorf("withdrawn twice: %v %v", evs, err)
	}
	if _, err := rs.Withdraw("9"); !errors.Is(err, release.ErrNotFound) {
		t.Errorf("withdrawing what was never published: %v", err)
	}
	if _, err := rs.Publish(published("8.1"), t0); !errors.Is(err, release.ErrWithdrawn) {
		t.Errorf("publishing a withdrawn version: %v", err)
	}
	if len(rs.Listed()) != 0 {
		t.Errorf("withdrawn version listed: %+v", rs.Listed())
	}
}

// Rule MISC-2: every field is checked, and every problem reported at once.
func TestPublish_validates_MISC2(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		change func(*release.Published)
		want   string
	}{
		"version text":         {func(p *release.Published) { p.Version = "v8" }, `version "v8" must be one to four dot-separated numbers`},
		"version five":         {func(p *release.Published) { p.Version = "1.2.3.4.5" }, "one to four"},
		"version empty":        {func(p *release.Published) { p.Version = "" }, "one to four"},
		"version huge":         {func(p *release.Published) { p.Version = "1.1234567890" }, "more than 9 digits"},
		"no file":              {func(p *release.Published) { p.Files = nil }, "at least one file"},
		"size":                 {func(p *release.Published) { p.Files[0].Size = 0 }, "files[0].size must be more than 0"},
		"sha256":               {func(p *release.Published) { p.Files[1].SHA256 = "abc" }, "files[1].sha256 must be 64 hex digits"},
		"http":                 {func(p *release.Published) { p.Files[0].URL = "http://dl.example.com/x" }, "files[0].url must be an absolute https:// URL"},
		"relative":             {func(p *release.Published) { p.Files[0].URL = "/x.msi" }, "files[0].url"},
		"user info":            {func(p *release.Published) { p.Files[0].URL = "https://u:p@dl.example.com/x" }, "files[0].url"},
		"kind":                 {func(p *release.Published) { p.Files[0].Kind = "archive" }, `files[0].kind "archive" must be installer or document`},
		"duplicate name":       {func(p *release.Published) { p.Files[1].Name = p.Files[0].Name }, "appears twice"},
		"slash in name":        {func(p *release.Published) { p.Files[0].Name = "../x.msi" }, "without slashes"},
		"empty name":           {func(p *release.Published) { p.Files[0].Name = "" }, "files[0].name must be 1 to"},
		"X-7 blank name":       {func(p *release.Published) { p.Files[0].Name = " " }, "files[0].name \" \" must be one line of visible text"},
		"X-7 bidi name":        {func(p *release.Published) { p.Files[0].Name = "setup\u202eisr.exe" }, "must be one line of visible text"},
		"X-7 NUL in notes":     {func(p *release.Published) { p.Notes = "new\x00" }, "notes holds a NUL"},
		"X-7 URL with a space": {func(p *release.Published) { p.Files[0].URL = " https://dl.example.com/x" }, "files[0].url must be a URL without spaces"},
		"long notes":           {func(p *release.Published) { p.Notes = strings.Repeat("x", release.MaxNotes+1) }, "notes is longer than"},
		"several problems":     {func(p *release.Published) { p.Version = "x"; p.Files[0].Size = -1 }, "; files[0].size"},
	} {
		p := published("8.1")
		c.change(&p)
		_, err := release.Releases{}.Publish(p, t0)
		if !errors.Is(err, release.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// Rule MISC-2: versions sort by their numeric components, not as text.
func TestCompare_orders_versions_numerically_MISC2(t *testing.T) {
	t.Parallel()
	versions := []string{"10", "9.10", "9.9.1", "9.9", "9.2", "9.10.0", "19.0.2345", "1.02", "1.2", "9.9.0"}
	slices.SortFunc(versions, release.Compare)
	want := []string{"1.02", "1.2", "9.2", "9.9", "9.9.0", "9.9.1", "9.10", "9.10.0", "10", "19.0.2345"}
	if !slices.Equal(versions, want) {
		t.Fatalf("sorted %v, want %v", versions, want)
	}
	var rs release.Releases
	for _, v := range []string{"9.2", "10", "9.10"} {
		rs = publish(t, rs, published(v), t0)
	}
	var listed []string
	for _, r := range rs.Listed() {
		listed = append(listed, r.Version)
	}
	if !slices.Equal(listed, []string{"10", "9.10", "9.2"}) {
		t.Errorf("listed %v, want newest first", listed)
	}
}
