package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"seatledger/infra/audit"
	"seatledger/infra/sqldb/sqldbtest"
)

// FuzzOpenCheckpoint feeds checkpoint notes, as an auditor hands them to
// `ledger verify --checkpoint`, to OpenCheckpoint (issue 16): it never
// panics, refuses with ErrMalformedCheckpoint or ErrUntrustedCheckpoint,
// and what it accepts is a checkpoint signed by the key.
func FuzzOpenCheckpoint(f *testing.F) {
	signer, err := audit.NewSigner(audit.DefaultOrigin, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		f.Fatal(err)
	}
	good, err := signer.SignCheckpoint(audit.Checkpoint{Origin: audit.DefaultOrigin, Size: 3, Root: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("seatledger\n3\nAAAA\n"))
	f.Add([]byte("seatledger\n3\n" + strings.Repeat("A", 44) + "\n\n— seatledger x\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		cp, err := audit.OpenCheckpoint(msg, signer.VerifierKey())
		switch {
		case err == nil && (cp.Origin != audit.DefaultOrigin || len(cp.Root) != 32):
			t.Fatalf("accepted %+v from %q", cp, msg)
		case err != nil && !errors.Is(err, audit.ErrMalformedCheckpoint) && !errors.Is(err, audit.ErrUntrustedCheckpoint):
			t.Fatalf("refused with an unexpected error: %v", err)
		}
	})
}

// FuzzVerifyExport feeds NDJSON exports, as an auditor hands them to
// `ledger verify --export`, to VerifyExport against a real checkpoint
// (issue 16): it never panics, and never verifies an export that differs
// from the one the ledger wrote, line for line.
func FuzzVerifyExport(f *testing.F) {
	l := buildLog(f, sqldbtest.SQLite(f))
	s := open(f, l.target)
	svc := &audit.Service{Tree: audit.NewTree(s.DB), Log: s.Store, Streams: s.Store, Contiguous: true}
	var whole, filtered bytes.Buffer
	if _, err := svc.Export(context.Background(), &whole, audit.Filter{}, l.cp.Size); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.Export(context.Background(), &filtered, audit.Filter{StreamPrefix: "acct-1"}, l.cp.Size); err != nil {
		f.Fatal(err)
	}
	genuine := map[string]bool{whole.String(): true, filtered.String(): true}
	f.Add(whole.Bytes())
	f.Add(filtered.Bytes())
	header, _, _ := strings.Cut(whole.String(), "\n")
	f.Add([]byte(header + "\n{}\n"))
	f.Add([]byte(header + "\n" + `{"position":1,"data":"\u0000"}` + "\n"))
	f.Fuzz(func(t *testing.T, export []byte) {
		rep, err := audit.VerifyExport(context.Background(), bytes.NewReader(export), l.cp, l.signer.VerifierKey())
		// What verifies holds events, each proved: by the checkpoint's
		// root (a whole export) or by its own inclusion proof.
		if err == nil && !genuine[string(export)] && (rep.Events == 0 || rep.Proofs != 0 && rep.Proofs != rep.Events) {
			t.Fatalf("verified %+v from %q", rep, export)
		}
	})
}
