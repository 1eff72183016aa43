// Package release is the downloads catalog of one product (rule MISC-2):
// the versions the back office published, each with its installation
// files and documents. A version is immutable once published: publishing
// it again with the same contents changes nothing (a retry), with other
// contents is refused, and a withdrawn version is never published again
// (publish a new version instead).
//
// The aggregate is one stream per product, "release-<product ID>".
package release

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"seatledger/domain/invalid"
	"seatledger/domain/text"

	"seatledger/domain/event"
)

// Stable event type names of the release stream.
const (
	TypePublished = "release.published"
	TypeWithdrawn = "release.withdrawn"
)

// Kind is what a file of a release is.
type Kind string

// The kinds of files.
const (
	Installer Kind = "installer"
	Document  Kind = "document"
)

// File is one downloadable file of a release.
type File struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the file's SHA-256, 64 lower-case hex digits, for the
	// customer to check the download.
	SHA256 string `json:"sha256"`
	// URL is where the file is downloaded from: absolute https.
	URL string `json:"url"`
}

// Published: the back office published a version of the product.
type Published struct {
	ProductID string `json:"product_id"`
	Version   string `json:"version"`
	// ReleasedAt is the version's release date as shown to customers.
	ReleasedAt time.Time `json:"released_at"`
	Notes      string    `json:"notes"`
	Files      []File    `json:"files"`
}

// Withdrawn: the back office withdrew a version from the catalog (a
// broken build, say). It stays in the history; it is no longer listed.
type Withdrawn struct {
	Version string `json:"version"`
}

// Register adds the release stream's events to reg.
func Register(reg *event.Registry) {
	reg.Register(TypePublished, 1, Published{})
	reg.Register(TypeWithdrawn, 1, Withdrawn{})
}

// The catalog's errors.
var (
	ErrInvalid   = errors.New("release: invalid release")
	ErrImmutable = errors.New("release: a published version cannot change")
	ErrWithdrawn = errors.New("release: the version was withdrawn")
	ErrNotFound  = errors.New("release: no such version")
)

// Limits of a release's fields.
const (
	MaxFiles        = 50
	MaxNotes        = 10_000 // characters
	MaxFileName     = 255    // characters
	MaxURL          = 2048   // bytes
	maxComponentLen = 9      // digits of a version component: it fits an int32
)

// Release is one version as published.
type Release struct {
	Published
	Withdrawn bool
}

// Releases is the catalog of one product as of its events.
type Releases struct {
	productID string
	versions  map[string]Release
	version   uint64
}

// StreamID returns the release stream of product productID.
func StreamID(productID string) string { return "release-" + productID }

// Version returns how many events were folded.
func (r Releases) Version() uint64 { return r.version }

// Get returns version v, withdrawn or not.
func (r Releases) Get(v string) (Release, bool) {
	rel, ok := r.versions[v]
	return rel, ok
}

// Listed returns the versions not withdrawn, newest first (by numeric
// components, see Compare).
func (r Releases) Listed() []Release {
	var out []Release
	for _, rel := range r.versions {
		if !rel.Withdrawn {
			out = append(out, rel)
		}
	}
	slices.SortFunc(out, func(a, b Release) int { return Compare(b.Version, a.Version) })
	return out
}

// Clone returns a copy that shares nothing with r.
func (r Releases) Clone() Releases {
	r.versions = maps.Clone(r.versions)
	return r
}

// Evolve applies one event.
func (r Releases) Evolve(payload any) Releases {
	r.version++
	switch e := payload.(type) {
	case Published:
		if r.versions == nil {
			r.versions = map[string]Release{}
		}
		r.productID = e.ProductID
		r.versions[e.Version] = Release{Published: e}
	case Withdrawn:
		if rel, ok := r.versions[e.Version]; ok {
			rel.Withdrawn = true
			r.versions[e.Version] = rel
		}
	}
	return r
}

var versionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,3}$`)

// ParseVersion returns the numeric components of a version of one to four
// dot-separated numbers ("19", "19.2", "19.2.1.2345"), each of at most 9
// digits; missing components are -1, so that "1.2" sorts before "1.2.0".
func ParseVersion(v string) ([4]int, error) {
	c := [4]int{-1, -1, -1, -1}
	if !versionPattern.MatchString(v) {
		return c, fmt.Errorf("%w: version %q must be one to four dot-separated numbers, such as 19.2.1", ErrInvalid, v)
	}
	for i, part := range strings.Split(v, ".") {
		if len(part) > maxComponentLen {
			return c, fmt.Errorf("%w: version %q has a component of more than %d digits", ErrInvalid, v, maxComponentLen)
		}
		c[i], _ = strconv.Atoi(part)
	}
	return c, nil
}

// Compare orders versions by their numeric components ("2.10" after
// "2.9"), a missing component before 0 ("1.2" before "1.2.0"), and equal
// numbers as text ("1.02" before "1.2"); a version that does not parse
// sorts before every one that does.
func Compare(a, b string) int {
	ca, errA := ParseVersion(a)
	cb, errB := ParseVersion(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	for i := range ca {
		if ca[i] != cb[i] {
			if ca[i] < cb[i] {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}

// Publish publishes version p.Version with its files. A zero ReleasedAt
// is now. Publishing a version again with the same notes and files (and
// the same release date, when one is given) changes nothing; with other
// contents it is refused with ErrImmutable, and a withdrawn version with
// ErrWithdrawn.
func (r Releases) Publish(p Published, now time.Time) ([]any, error) {
	p, err := normalize(p)
	if err != nil {
		return nil, err
	}
	if old, ok := r.versions[p.Version]; ok {
		if old.Withdrawn {
			return nil, fmt.Errorf("%w: version %s of %s; publish a new version instead", ErrWithdrawn, p.Version, p.ProductID)
		}
		if p.ReleasedAt.IsZero() {
			p.ReleasedAt = old.ReleasedAt // a retry without a date keeps the first one
		}
		if !same(old.Published, p) {
			return nil, fmt.Errorf("%w: version %s of %s is published with other contents; publish a new version instead",
				ErrImmutable, p.Version, p.ProductID)
		}
		return nil, nil
	}
	if p.ReleasedAt.IsZero() {
		p.ReleasedAt = now
	}
	p.ReleasedAt = p.ReleasedAt.UTC().Truncate(time.Microsecond) // what the read model keeps
	return []any{p}, nil
}

// Withdraw withdraws version v; withdrawing it again changes nothing.
func (r Releases) Withdraw(v string) ([]any, error) {
	rel, ok := r.versions[v]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %s of %s", ErrNotFound, v, r.productID)
	case rel.Withdrawn:
		return nil, nil
	}
	return []any{Withdrawn{Version: v}}, nil
}

// same reports whether two publications of a version have the same contents.
func same(a, b Published) bool {
	return a.ProductID == b.ProductID && a.Version == b.Version && a.ReleasedAt.Equal(b.ReleasedAt) &&
		a.Notes == b.Notes && slices.Equal(a.Files, b.Files)
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// normalize lower-cases what has one spelling (a SHA-256) and checks
// every field, reporting every problem at once; nothing is trimmed (rule
//
func normalize(p Published) (Published, error) {
	var problems []string
	if _, err := ParseVersion(p.Version); err != nil {
		problems = append(problems, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	}
	if reason := text.Check("notes", p.Notes, text.Free, MaxNotes); reason != "" {
		problems = append(problems, reason)
	}
	if !p.ReleasedAt.IsZero() {
		p.ReleasedAt = p.ReleasedAt.UTC().Truncate(time.Microsecond)
	}
	switch {
	case len(p.Files) == 0:
		problems = append(problems, "files: a release needs at least one file")
	case len(p.Files) > MaxFiles:
		problems = append(problems, fmt.Sprintf("files: at most %d, not %d", MaxFiles, len(p.Files)))
	}
	files := make([]File, len(p.Files))
	seen := map[string]bool{}
	for i, f := range p.Files {
		at := fmt.Sprintf("files[%d]", i)
		f.SHA256 = strings.ToLower(f.SHA256)
		if err := checkFileName(f.Name); err != "" {
			problems = append(problems, at+".name "+err)
		} else if seen[f.Name] {
			problems = append(problems, fmt.Sprintf("%s.name %q appears twice", at, f.Name))
		}
		seen[f.Name] = true
		if f.Kind != Installer && f.Kind != Document {
			problems = append(problems, fmt.Sprintf("%s.kind %q must be installer or document", at, f.Kind))
		}
		if f.Size <= 0 {
			problems = append(problems, fmt.Sprintf("%s.size must be more than 0 bytes", at))
		}
		if !sha256Pattern.MatchString(f.SHA256) {
			problems = append(problems, at+".sha256 must be 64 hex digits")
		}
		if err := checkURL(f.URL); err != "" {
			problems = append(problems, at+".url "+err)
		}
		files[i] = f
	}
	p.Files = files
	return p, invalid.Fields(problems).Err(ErrInvalid)
}

func checkFileName(name string) string {
	switch {
	case name == "" || utf8.RuneCountInString(name) > MaxFileName:
		return fmt.Sprintf("must be 1 to %d characters", MaxFileName)
	case text.Check("", name, text.Name, MaxFileName) != "" || strings.ContainsAny(name, "/\\"):
		return fmt.Sprintf("%q must be one line of visible text without slashes", name)
	case name == "." || name == "..":
		return fmt.Sprintf("%q is not a file name", name)
	}
	return ""
}

func checkURL(raw string) string {
	if len(raw) > MaxURL {
		return fmt.Sprintf("must be at most %d bytes", MaxURL)
	}
	if reason := text.Check("", raw, text.Identifier, MaxURL); reason != "" || strings.Contains(raw, " ") {
		return "must be a URL without spaces, control or invisible characters"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "must be an absolute https:// URL with a host and no user information"
	}
	return ""
}
