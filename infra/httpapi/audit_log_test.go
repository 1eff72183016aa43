package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"seatledger/domain/event"
	"seatledger/infra/audit"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore/eventstoretest"
	"seatledger/infra/session"
	"seatledger/infra/sqldb"
	"seatledger/infra/storage"
)

// auditServer serves the audit routes of a SQLite log of 10 events in 2
// streams, checkpointed at sizes 4 and 10.
func auditServer(t *testing.T) (*Server, *audit.Signer, []event.Record) {
	t.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, storage.Options{Database: sqldb.Target{Engine: sqldb.SQLite, DSN: filepath.Join(t.TempDir(), "ledger.db")}, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := audit.NewSigner(audit.DefaultOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := audit.NewCheckpointer(audit.CheckpointerConfig{DB: s.DB, Log: s.Store, Signer: signer, Clock: clock.Real{}, MaxLeaves: 4})
	if err != nil {
		t.Fatal(err)
	}
	// The empty log's checkpoint first, as a ledger started on an empty
	// database signs it.
	if _, err := c.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := s.Store.Append(ctx, fmt.Sprintf("acct-%d", i%2), event.Any(), eventstoretest.NewEvent("test.happened", i)); err != nil {
			t.Fatal(err)
		}
		if i == 3 || i == 9 {
			if _, err := c.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	recs, err := s.Store.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	svc := &audit.Service{Tree: audit.NewTree(s.DB), Log: s.Store, Streams: s.Store, VerifierKey: signer.VerifierKey(), Contiguous: true}
	srv, _ := newTestServer(t, Config{People: &PeopleConfig{Commands: backOfficeCommands(t),
		Reads: (*sqldb.DB)(nil), Sessions: &session.Store{}, TermsVersion: "test", AuditLog: svc}})
	return srv, signer, recs
}

var backOffice = []string{"Authorization", "Bearer " + testToken}

// Rule X-2: the checkpoint, its proofs and the export verify with the
// served public key alone.
func TestAuditLog_checkpoint_proofs_and_export_verify_X2(t *testing.T) {
	t.Parallel()
	srv, signer, recs := auditServer(t)
	w := do(t, srv, http.MethodGet, "/v1/audit/public-key", nil)
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != signer.VerifierKey() {
		t.Fatalf("public key = %d %q", w.Code, w.Body)
	}
	vkey := strings.TrimSpace(w.Body.String())

	w = do(t, srv, http.MethodGet, "/v1/audit/checkpoint", nil, backOffice...)
	latest, err := audit.OpenCheckpoint(w.Body.Bytes(), vkey)
	if w.Code != http.StatusOK || err != nil || latest.Size != 10 || w.Header().Get("X-Ledger-Tree-Size") != "10" {
		t.Fatalf("checkpoint = %d %v %+v", w.Code, err, latest)
	}
	w = do(t, srv, http.MethodGet, "/v1/audit/checkpoint?size=4", nil, backOffice...)
	older, err := audit.OpenCheckpoint(w.Body.Bytes(), vkey)
	if err != nil || older.Size != 4 {
		t.Fatalf("checkpoint of size 4 = %d %v", w.Code, err)
	}

	for _, size := range []uint64{4, 10} {
		root := map[uint64][]byte{4: older.Root, 10: latest.Root}[size]
		for _, r := range recs[:size] {
			w = do(t, srv, http.MethodGet, fmt.Sprintf("/v1/audit/proofs/inclusion?position=%d&size=%d", r.Position, size), nil, backOffice...)
			var p audit.InclusionProof
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != http.StatusOK {
				t.Fatalf("inclusion = %d %s", w.Code, w.Body)
			}
			leaf := audit.LeafHash(r.Position, r.Hash)
			if !bytes.Equal(p.LeafHash, leaf[:]) {
				t.Fatalf("position %d: served leaf differs from the event's", r.Position)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.LeafIndex, p.TreeSize, leaf[:], p.Hashes, root); err != nil {
				t.Fatalf("position %d in %d: %v", r.Position, size, err)
			}
		}
	}
	w = do(t, srv, http.MethodGet, "/v1/audit/proofs/consistency?from=4&to=10", nil, backOffice...)
	var cp audit.ConsistencyProof
	if err := json.Unmarshal(w.Body.Bytes(), &cp); err != nil || w.Code != http.StatusOK {
		t.Fatalf("consistency = %d %s", w.Code, w.Body)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, 4, 10, cp.Hashes, older.Root, latest.Root); err != nil {
		t.Fatal(err)
	}
	// From the empty tree: an empty proof, served as an empty list.
	w = do(t, srv, http.MethodGet, "/v1/audit/proofs/consistency?from=0&to=10", nil, backOffice...)
	var fromEmpty audit.ConsistencyProof
	if err := json.Unmarshal(w.Body.Bytes(), &fromEmpty); err != nil || w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"hashes":[]`) {
		t.Fatalf("consistency from 0 = %d %s", w.Code, w.Body)
	}
	empty, err := audit.OpenCheckpoint([]byte(fromEmpty.FromCheckpoint), vkey)
	if err != nil || empty.Size != 0 {
		t.Fatalf("the empty tree's checkpoint: %+v %v", empty, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, 0, 10, fromEmpty.Hashes, empty.Root, latest.Root); err != nil {
		t.Fatal(err)
	}

	for _, query := range []string{"", "?stream=acct-1", "?type=test.happened&from_position=3&to_position=7", "?size=4"} {
		w = do(t, srv, http.MethodGet, "/v1/audit/export"+query, nil, backOffice...)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("export%s = %d %s", query, w.Code, w.Body)
		}
		against := latest
		if query == "?size=4" {
			against = older
		}
		rep, err := audit.VerifyExport(context.Background(), bytes.NewReader(w.Body.Bytes()), against, vkey)
		if err != nil || rep.Events == 0 {
			t.Fatalf("export%s: %+v %v", query, rep, err)
		}
	}
}

// Rule X-2: bad parameters are 400 invalid-audit-query, unknown sizes and
// positions 404, other callers 401/403; never a 500.
func TestAuditLog_bad_input_is_a_client_error_X2(t *testing.T) {
	t.Parallel()
	srv, _, _ := auditServer(t)
	cases := []struct {
		path   string
		header []string
		status int
		typ    ProblemType
	}{
		{"/v1/audit/checkpoint", nil, 401, ProblemUnauthorized},
		{"/v1/audit/checkpoint", []string{"Authorization", "Bearer nope"}, 401, ProblemUnauthorized},
		{"/v1/audit/checkpoint?size=abc", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/checkpoint?size=-1", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/checkpoint?size=99999999999999999999", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/checkpoint?size=7", backOffice, 404, ProblemNotFound},
		{"/v1/audit/proofs/inclusion", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/proofs/inclusion?position=0", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/proofs/inclusion?position=11", backOffice, 404, ProblemNotFound},
		{"/v1/audit/proofs/inclusion?position=7&size=4", backOffice, 404, ProblemNotFound},
		{"/v1/audit/proofs/inclusion?position=1&size=5", backOffice, 404, ProblemNotFound},
		{"/v1/audit/proofs/consistency?from=4", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/proofs/consistency?from=-1&to=10", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/proofs/consistency?from=0", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/proofs/consistency?from=10&to=4", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/proofs/consistency?from=3&to=10", backOffice, 404, ProblemNotFound},
		{"/v1/audit/export?from_position=9&to_position=2", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/export?stream=a-1&stream_prefix=b-", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/export?to_position=x", backOffice, 400, ProblemAuditQuery},
		{"/v1/audit/export?size=5", backOffice, 404, ProblemNotFound},
	}
	for _, c := range cases {
		w := do(t, srv, http.MethodGet, c.path, nil, append(append([]string{}, c.header...), badInput...)...)
		if w.Code != c.status {
			t.Errorf("%s = %d, want %d: %s", c.path, w.Code, c.status, w.Body)
			continue
		}
		if p := problemOf(t, w); p.Type != c.typ.URI() {
			t.Errorf("%s: problem %s, want %s", c.path, p.Type, c.typ.URI())
		}
	}
}

func TestAuditLog_unconfigured_is_unavailable(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t, Config{People: &PeopleConfig{Commands: backOfficeCommands(t),
		Reads: (*sqldb.DB)(nil), Sessions: &session.Store{}, TermsVersion: "test"}})
	for _, path := range []string{"/v1/audit/public-key", "/v1/audit/checkpoint"} {
		h := backOffice
		if strings.HasSuffix(path, "public-key") {
			h = nil
		}
		if w := do(t, srv, http.MethodGet, path, nil, h...); w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s = %d", path, w.Code)
		}
	}
}
