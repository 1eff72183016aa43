package mdm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"seatledger/domain/mdm"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func issued(serial string) mdm.CertificateIssued {
	return mdm.CertificateIssued{Serial: serial, Subject: "CN=mdm.acme.example,O=Acme GmbH", NotBefore: t0, NotAfter: t0.AddDate(1, 0, 0),
		FingerprintSHA256: strings.Repeat("ab", 32), By: "ada", SubscriptionID: "sub-1", Certificate: []byte{0x30}}
}

// Rule MISC-1: issued certificates are recorded whole, listed oldest
// first, found by the version that issued them; a serial is never
// recorded twice.
func TestIssue_MISC1(t *testing.T) {
	t.Parallel()
	var c mdm.Certificates
	for i, serial := range []string{"0a1b", "ff"} {
		evs, err := c.Issue(issued(serial))
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %v %v", serial, evs, err)
		}
		c = c.Evolve(evs[0], t0.Add(time.Duration(i)*time.Hour))
	}
	list := c.List()
	if len(list) != 2 || list[0].Serial != "0a1b" || list[1].Serial != "ff" || list[1].IssuedBy != "ada" || !list[1].IssuedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("list %+v", list)
	}
	if got, ok := c.At(2); !ok || got.Serial != "ff" || c.Version() != 2 {
		t.Errorf("at version 2: %+v %v", got, ok)
	}
	if _, err := c.Issue(issued("ff")); !errors.Is(err, mdm.ErrDuplicateSerial) {
		t.Errorf("the same serial again: %v", err)
	}
	// A clone does not share the list with what it was cloned from.
	shared := c.Clone().Evolve(issued("01"), t0)
	if len(c.List()) != 2 || len(shared.List()) != 3 {
		t.Error("clone shares its list")
	}
	for name, bad := range map[string]func(*mdm.CertificateIssued){
		"serial upper case": func(e *mdm.CertificateIssued) { e.Serial = "0A" },
		"serial too long":   func(e *mdm.CertificateIssued) { e.Serial = strings.Repeat("1", 41) },
		"no subject":        func(e *mdm.CertificateIssued) { e.Subject = " " },
		"ends before start": func(e *mdm.CertificateIssued) { e.NotAfter = e.NotBefore },
		"fingerprint":       func(e *mdm.CertificateIssued) { e.FingerprintSHA256 = "abc" },
		"nobody":            func(e *mdm.CertificateIssued) { e.By = "" },
	} {
		e := issued("0c")
		bad(&e)
		if _, err := c.Issue(e); !errors.Is(err, mdm.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
