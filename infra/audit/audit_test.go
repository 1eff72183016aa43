package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"seatledger/domain/event"
	"seatledger/infra/audit"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/infra/storage"
)

// logged is a log built through the real store and checkpointed, with the
// checkpoint an auditor saved.
type logged struct {
	target sqldb.Target
	signer *audit.Signer
	note   []byte // the auditor's checkpoint: the first checkpointedEvents events
	cp     audit.Checkpoint
}

const (
	streams            = 4
	checkpointedEvents = 30
	laterEvents        = 3
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newSigner(t testing.TB) *audit.Signer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := audit.NewSigner(audit.DefaultOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t testing.TB, target sqldb.Target) *storage.Storage {
	t.Helper()
	s, err := storage.Open(context.Background(), storage.Options{Database: target, Clock: clock.Real{}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendEvents(t testing.TB, s *storage.Storage, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := s.Store.Append(context.Background(), fmt.Sprintf("acct-%d", i%streams), event.Any(),
			eventstoretest.NewEvent("test.happened", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func checkpointer(t testing.TB, s *storage.Storage, signer *audit.Signer, maxLeaves int) *audit.Checkpointer {
	t.Helper()
	c, err := audit.NewCheckpointer(audit.CheckpointerConfig{DB: s.DB, Log: s.Store, Signer: signer, Clock: clock.Real{},
		MaxLeaves: maxLeaves, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// buildLog appends checkpointedEvents events round-robin to streams
// acct-0…3 (position p is in stream acct-(p-1)%4), checkpoints them in
// rounds of 7 (so later rounds resume from the stored nodes), appends
// laterEvents more and checkpoints again; the auditor keeps the first
// full checkpoint.
func buildLog(t testing.TB, target sqldb.Target) logged {
	t.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, storage.Options{Database: target, Clock: clock.Real{}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := logged{target: target, signer: newSigner(t)}
	appendEvents(t, s, 0, checkpointedEvents)
	cp, err := checkpointer(t, s, l.signer, 7).CatchUp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != checkpointedEvents || cp.LastPosition != checkpointedEvents {
		t.Fatalf("checkpoint covers %d events up to position %d", cp.Size, cp.LastPosition)
	}
	l.note = cp.Note
	if l.cp, err = audit.OpenCheckpoint(cp.Note, l.signer.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, checkpointedEvents, laterEvents)
	// A new checkpointer (a restart) resumes from the stored tree.
	if cp, err = checkpointer(t, s, l.signer, 0).CatchUp(ctx); err != nil || cp.Size != checkpointedEvents+laterEvents {
		t.Fatalf("after a restart the checkpoint covers %d events, %v", cp.Size, err)
	}
	return l
}

func (l logged) verify(t testing.TB) (audit.VerifyReport, error) {
	t.Helper()
	s := open(t, l.target) // a fresh store: nothing read from memory
	return audit.VerifyLog(context.Background(), s.Store, l.cp, audit.VerifyOptions{Contiguous: true,
		Tree: audit.NewTree(s.DB), Streams: s.Store, PageSize: 8})
}

func exec(t testing.TB, db *sqldb.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), db.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func swapPositions(t testing.TB, db *sqldb.DB, a, b uint64) {
	exec(t, db, `UPDATE events SET position = -1 WHERE position = ?`, a)
	exec(t, db, `UPDATE events SET position = ? WHERE position = ?`, a, b)
	exec(t, db, `UPDATE events SET position = ? WHERE position = -1`, b)
}

// rewriteChain alters the event at position and recomputes the chain of
// its stream from there on, as a forger with database access would.
func rewriteChain(t testing.TB, s *storage.Storage, position uint64) {
	t.Helper()
	ctx := context.Background()
	recs, err := s.Store.ReadAll(ctx, position-1, 1)
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	stream, from := recs[0].StreamID, recs[0].Version
	all, err := s.Store.ReadStream(ctx, stream, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var prev []byte
	for _, r := range all {
		if r.Version == from {
			r.Data = json.RawMessage(`{"n":-1}`)
		}
		if r.Version >= from {
			r.Hash = event.ChainHash(prev, r)
			exec(t, s.DB, `UPDATE events SET data = ?, hash = ? WHERE position = ?`, []byte(r.Data), r.Hash, r.Position)
		}
		prev = r.Hash
	}
}

// Rule X-2: rows altered, deleted, reordered or forged directly in SQLite
// and PostgreSQL are each caught by verify, which names the first bad event.
func TestVerifyLog_names_tampered_rows_X2(t *testing.T) {
	type want struct {
		reason   audit.Reason
		position uint64
		detail   string
	}
	cases := []struct {
		name   string
		tamper func(t *testing.T, s *storage.Storage)
		want   want
	}{
		{"update data", func(t *testing.T, s *storage.Storage) {
			exec(t, s.DB, `UPDATE events SET data = ? WHERE position = 7`, []byte(`{"n":999}`))
		}, want{audit.ReasonAltered, 7, "content hashes"}},
		{"delete row", func(t *testing.T, s *storage.Storage) {
			exec(t, s.DB, `DELETE FROM events WHERE position = 9`)
		}, want{audit.ReasonRemoved, 9, "from position 8 to 10"}},
		{"swap within a stream", func(t *testing.T, s *storage.Storage) {
			swapPositions(t, s.DB, 1, 5) // acct-0 versions 1 and 2
		}, want{audit.ReasonReordered, 1, "before version 1 of its stream, which is at position 5"}},
		{"swap across streams", func(t *testing.T, s *storage.Storage) {
			swapPositions(t, s.DB, 2, 3) // acct-1 v1 and acct-2 v1: both chains still hold
		}, want{audit.ReasonReordered, 2, "at position 3"}},
		{"forged chain", func(t *testing.T, s *storage.Storage) {
			rewriteChain(t, s, 10)
		}, want{audit.ReasonAltered, 10, "chain was rewritten"}},
		{"forged chain and tree", func(t *testing.T, s *storage.Storage) {
			rewriteChain(t, s, 10)
			exec(t, s.DB, `UPDATE audit_nodes SET hash = ? WHERE level = 0 AND idx = 9`, bytes.Repeat([]byte{7}, 32))
		}, want{audit.ReasonAltered, 0, "stored tree was altered too"}},
		{"truncated tail", func(t *testing.T, s *storage.Storage) {
			exec(t, s.DB, `DELETE FROM events WHERE position > 25`)
		}, want{audit.ReasonRemoved, 26, "ends after 25 events"}},
	}
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		t.Run("untouched", func(t *testing.T) {
			l := buildLog(t, target)
			rep, err := l.verify(t)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Events != checkpointedEvents+laterEvents || rep.Beyond != laterEvents || rep.Streams != streams {
				t.Errorf("report %+v", rep)
			}
		})
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var l logged
				switch target.Engine {
				case sqldb.SQLite:
					l = buildLog(t, sqldbtest.SQLite(t))
				default:
					l = buildLog(t, sqldbtest.Postgres(t))
				}
				c.tamper(t, open(t, l.target))
				_, err := l.verify(t)
				var te *audit.TamperError
				if !errors.As(err, &te) || !errors.Is(err, audit.ErrTampered) {
					t.Fatalf("verify = %v, want a tamper error", err)
				}
				if te.Reason != c.want.reason || te.Position != c.want.position || !strings.Contains(te.Error(), c.want.detail) {
					t.Fatalf("verify = %v (reason %s, position %d), want %s at %d with %q", err, te.Reason, te.Position, c.want.reason, c.want.position, c.want.detail)
				}
				if te.Position > 0 && te.Reason != audit.ReasonRemoved && (te.StreamID == "" || te.EventID == "") {
					t.Errorf("%v does not name the event", err)
				}
			})
		}
	})
}

func TestOpenCheckpoint_refuses_other_keys_and_malformed_notes_X2(t *testing.T) {
	t.Parallel()
	signer, other := newSigner(t), newSigner(t)
	cp := audit.Checkpoint{Origin: audit.DefaultOrigin, Size: 3, Root: bytes.Repeat([]byte{1}, 32)}
	note, err := signer.SignCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := audit.OpenCheckpoint(note, signer.VerifierKey())
	if err != nil || got.Size != 3 || !bytes.Equal(got.Root, cp.Root) {
		t.Fatalf("open = %v, %v", got, err)
	}
	if _, err := audit.OpenCheckpoint(note, other.VerifierKey()); !errors.Is(err, audit.ErrUntrustedCheckpoint) {
		t.Errorf("another key: %v", err)
	}
	altered := bytes.Replace(note, []byte("\n3\n"), []byte("\n4\n"), 1)
	if _, err := audit.OpenCheckpoint(altered, signer.VerifierKey()); !errors.Is(err, audit.ErrUntrustedCheckpoint) {
		t.Errorf("altered size: %v", err)
	}
	for name, msg := range map[string]string{"empty": "", "no signature": "seatledger\n3\nAAAA\n", "garbage": "hello\n\n— x y\n"} {
		if _, err := audit.OpenCheckpoint([]byte(msg), signer.VerifierKey()); !errors.Is(err, audit.ErrMalformedCheckpoint) && !errors.Is(err, audit.ErrUntrustedCheckpoint) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := audit.OpenCheckpoint(note, "not a key"); !errors.Is(err, audit.ErrMalformedCheckpoint) {
		t.Errorf("bad key: %v", err)
	}
	// A body that is not a checkpoint, properly signed, is malformed.
	bad, err := audit.NewSigner(audit.DefaultOrigin, ed25519.NewKeyFromSeed(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.OpenCheckpoint(mustSign(t, bad, "seatledger\nx\nroot\n"), bad.VerifierKey()); !errors.Is(err, audit.ErrMalformedCheckpoint) {
		t.Errorf("bad body: %v", err)
	}
}

func mustSign(t *testing.T, s *audit.Signer, text string) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// Leaves and nodes are RFC 6962's (the library's hasher agrees).
func TestLeafHash_is_RFC6962(t *testing.T) {
	t.Parallel()
	h := bytes.Repeat([]byte{9}, 32)
	got := audit.LeafHash(42, h)
	if want := rfc6962.DefaultHasher.HashLeaf(audit.LeafData(42, h)); !bytes.Equal(got[:], want) {
		t.Fatal("leaf hash differs from RFC 6962's")
	}
}

// Rule X-2: proofs from the stored tree verify against signed roots.
func TestProofs_verify_against_checkpoints_X2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	target := sqldbtest.SQLite(t)
	s := open(t, target)
	signer := newSigner(t)
	c := checkpointer(t, s, signer, 5)
	var sizes []uint64
	for round := range 4 {
		appendEvents(t, s, round*6, 6)
		cp, err := c.CatchUp(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, cp.Size)
	}
	svc := &audit.Service{Tree: audit.NewTree(s.DB), Log: s.Store, Streams: s.Store, VerifierKey: signer.VerifierKey(), Contiguous: true}
	recs, err := s.Store.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range sizes {
		cpNote, err := svc.Checkpoint(ctx, size)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := audit.OpenCheckpoint(cpNote.Note, svc.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs[:size] {
			p, err := svc.InclusionProof(ctx, r.Position, size)
			if err != nil {
				t.Fatal(err)
			}
			leaf := audit.LeafHash(r.Position, r.Hash)
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.LeafIndex, p.TreeSize, leaf[:], p.Hashes, cp.Root); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", r.Position, size, err)
			}
		}
		if _, err := svc.InclusionProof(ctx, size+1, size); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("position beyond the checkpoint: %v", err)
		}
		for _, from := range sizes {
			if from > size {
				continue
			}
			p, err := svc.ConsistencyProof(ctx, from, size)
			if err != nil {
				t.Fatal(err)
			}
			old, err := audit.OpenCheckpoint([]byte(p.FromCheckpoint), svc.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, from, size, p.Hashes, old.Root, cp.Root); err != nil {
				t.Fatalf("consistency %d→%d: %v", from, size, err)
			}
			// An empty proof is served as "hashes": [], not null.
			if b, _ := json.Marshal(p); from == size && !bytes.Contains(b, []byte(`"hashes":[]`)) {
				t.Errorf("consistency %d→%d is served as %s", from, size, b)
			}
		}
	}
	if _, err := svc.ConsistencyProof(ctx, 1, sizes[0]); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("consistency from an unsigned size: %v", err)
	}
	if _, err := svc.Checkpoint(ctx, 999); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("unknown checkpoint: %v", err)
	}
}

func exportOf(t *testing.T, l logged, f audit.Filter) []string {
	t.Helper()
	s := open(t, l.target)
	svc := &audit.Service{Tree: audit.NewTree(s.DB), Log: s.Store, Streams: s.Store, Contiguous: true}
	var b bytes.Buffer
	if _, err := svc.Export(context.Background(), &b, f, l.cp.Size); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(b.String(), "\n")
	return lines[:len(lines)-1] // after the last newline
}

func verifyExport(l logged, lines []string) (audit.VerifyReport, error) {
	return audit.VerifyExport(context.Background(), strings.NewReader(strings.Join(lines, "")), l.cp, l.signer.VerifierKey())
}

// Rule X-2: an export verifies on its own, and edited, dropped, swapped or
// added lines are caught.
func TestVerifyExport_catches_edited_lines_X2(t *testing.T) {
	t.Parallel()
	l := buildLog(t, sqldbtest.SQLite(t))
	lines := exportOf(t, l, audit.Filter{})
	if len(lines) != 1+checkpointedEvents {
		t.Fatalf("%d lines", len(lines))
	}
	if rep, err := verifyExport(l, lines); err != nil || rep.Events != checkpointedEvents {
		t.Fatalf("verify = %+v, %v", rep, err)
	}
	edit := func(f func([]string) []string) []string { return f(append([]string(nil), lines...)) }
	forged := strings.Replace(lines[30], `"position":30`, `"position":31`, 1)
	cases := map[string]struct {
		lines  []string
		reason audit.Reason
		line   uint64
	}{
		"edited":   {edit(func(ls []string) []string { ls[5] = strings.Replace(ls[5], `{"n":4}`, `{"n":40}`, 1); return ls }), audit.ReasonAltered, 6},
		"dropped":  {edit(func(ls []string) []string { return append(ls[:8:8], ls[9:]...) }), audit.ReasonRemoved, 0},
		"swapped":  {edit(func(ls []string) []string { ls[3], ls[4] = ls[4], ls[3]; return ls }), audit.ReasonReordered, 4},
		"appended": {edit(func(ls []string) []string { return append(ls, forged) }), audit.ReasonAdded, 32},
		"glued":    {edit(func(ls []string) []string { ls[30] = strings.TrimSuffix(ls[30], "\n") + forged; return ls }), audit.ReasonAltered, 31},
		"garbled":  {edit(func(ls []string) []string { ls[2] = "{not json\n"; return ls }), audit.ReasonAltered, 3},
	}
	for name, c := range cases {
		_, err := verifyExport(l, c.lines)
		var te *audit.TamperError
		if !errors.As(err, &te) || te.Reason != c.reason || (c.line > 0 && te.Line != c.line) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := verifyExport(l, lines[1:]); !errors.Is(err, audit.ErrNotAnExport) {
		t.Errorf("no header: %v", err)
	}
	other := newSigner(t)
	if _, err := audit.VerifyExport(context.Background(), strings.NewReader(strings.Join(lines, "")), l.cp, other.VerifierKey()); !errors.Is(err, audit.ErrUntrustedCheckpoint) {
		t.Errorf("another key: %v", err)
	}
}

// Rule X-2: a filtered export proves each line by itself.
func TestVerifyExport_filtered_lines_carry_proofs_X2(t *testing.T) {
	t.Parallel()
	l := buildLog(t, sqldbtest.SQLite(t))
	for _, f := range []audit.Filter{{StreamID: "acct-1"}, {StreamPrefix: "acct-"}, {Type: "test.happened", FromPosition: 5, ToPosition: 12}} {
		lines := exportOf(t, l, f)
		rep, err := verifyExport(l, lines)
		if err != nil || rep.Proofs != uint64(len(lines)-1) || rep.Proofs == 0 {
			t.Fatalf("%+v: verify = %+v, %v", f, rep, err)
		}
	}
	lines := exportOf(t, l, audit.Filter{StreamID: "acct-1"})
	altered := append([]string(nil), lines...)
	altered[2] = strings.Replace(altered[2], `"n":5`, `"n":6`, 1)
	if _, err := verifyExport(l, altered); !errors.Is(err, audit.ErrTampered) {
		t.Errorf("altered line: %v", err)
	}
	dropped := append(append([]string(nil), lines[:2]...), lines[3:]...)
	if _, err := verifyExport(l, dropped); !errors.Is(err, audit.ErrTampered) {
		t.Errorf("dropped line: %v", err)
	}
}
