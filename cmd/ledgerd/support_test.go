package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/infra/mail/mailtest"
	"seatledger/infra/sqldb"
	"seatledger/infra/sqldb/sqldbtest"
)

// upload is one file of a multipart request.
type upload struct{ name, contentType, data string }

// formFile is one file of a multipart form, in its field.
type formFile struct{ field, name, contentType, data string }

// multipartBody encodes text fields and files as multipart/form-data and
// returns the body and its content type.
func multipartBody(fields map[string]string, files ...formFile) (*bytes.Buffer, string) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f.field+`"; filename="`+f.name+`"`)
		h.Set("Content-Type", f.contentType)
		part, _ := w.CreatePart(h)
		_, _ = io.WriteString(part, f.data)
	}
	_ = w.Close()
	return &body, w.FormDataContentType()
}

// multipart sends a multipart/form-data POST with text fields and files
// named "attachments".
func (c *client) multipart(path string, fields map[string]string, files ...upload) reply {
	c.t.Helper()
	parts := make([]formFile, len(files))
	for i, f := range files {
		parts[i] = formFile{"attachments", f.name, f.contentType, f.data}
	}
	body, ctype := multipartBody(fields, parts...)
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodPost, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	return c.send(req)
}

// signedUp signs up name and returns a client with a personal API token.
func signedUp(t *testing.T, m *Main, name string) (*client, string) {
	t.Helper()
	c := newClient(t, m)
	id := c.must(201, "POST", "/v1/signup", signUpBody(name, name+"@example.com")).str("person_id")
	verifyEmail(t, m, id)
	c.must(200, "POST", "/v1/session", map[string]any{"email": name + "@example.com", "password": pw})
	c.bearer = c.must(201, "POST", "/v1/me/tokens", map[string]any{"name": "test"}).str("token")
	return c, id
}

// csrPEM returns a PEM certificate signing request for key.
func csrPEM(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "mdm.acme.example", Organization: []string{"Acme"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// noMailTo fails if a message whose subject contains subject reached rcpt.
func noMailTo(t *testing.T, smtp *mailtest.Server, rcpt, subject string) {
	t.Helper()
	for _, msg := range smtp.Messages() {
		if strings.Contains(strings.Join(msg.To, ","), rcpt) && strings.Contains(msg.Subject, subject) {
			t.Errorf("%s was mailed %q", rcpt, msg.Subject)
		}
	}
}

// Support tickets, MDM certificates and downloads end to end through the
// HTTP API of the real server on SQLite and PostgreSQL, with mail over a
// real SMTP server (rules TKT-1..4, MISC-1, MISC-2).
func TestSupport_end_to_end_TKT1_TKT2_TKT3_TKT4_MISC1_MISC2(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, target sqldb.Target) {
		m, smtp := peopleServer(t, target)
		const wait = 15 * time.Second
		office := newClient(t, m)
		office.bearer = adminToken
		office.must(200, "PUT", "/v1/products/ras", map[string]any{"name": "Remote Application Server", "model": "concurrent_users"})
		office.must(200, "PUT", "/v1/products/pms", map[string]any{"name": "Proxy Management Server", "model": "managed_computers"})
		pms := office.must(201, "POST", "/v1/orders", map[string]any{"kind": "purchase", "order_id": "sup-1", "product_id": "pms", "seats": 50,
			"period": "1y", "channel": "online", "support_plan": "premium"})

		// ada registers the key, creating Acme; bob and eve join as
		// members, cyd as an admin.
		ada, _ := signedUp(t, m, "ada")
		acc := ada.must(201, "POST", "/v1/keys/register", map[string]any{"key": pms.str("key"),
			"company": map[string]any{"name": "Acme GmbH", "country": "DE", "zip": "8200", "phone": "+41 52 672 20 30"}}).str("account_id")
		links := linkKeyOf(m)
		ids := map[string]string{}
		clients := map[string]*client{}
		inv := ada.must(201, "POST", "/v1/accounts/"+acc+"/invitations", map[string]any{"emails": []string{"bob@example.com", "cyd@example.com", "eve@example.com"}})
		for i, name := range []string{"bob", "cyd", "eve"} {
			c, id := signedUp(t, m, name)
			invID := inv.body["invitation_ids"].([]any)[i].(string)
			c.must(200, "POST", "/v1/invitations/accept", map[string]any{"account_id": acc, "invitation_id": invID,
				"token": links.Token(account.TokenInvitation, invID)})
			clients[name], ids[name] = c, id
		}
		bob, cyd, eve := clients["bob"], clients["cyd"], clients["eve"]
		ada.must(200, "PUT", "/v1/accounts/"+acc+"/members/"+ids["cyd"]+"/role", map[string]any{"role": "admin"})

		// TKT-1: a member opens a ticket; the channel is recorded; the ID is shown.
		T := "/v1/accounts/" + acc + "/tickets"
		if r := bob.must(400, "POST", T, map[string]any{"product_id": "ras", "category": "technical", "description": " ", "channel": map[string]any{"kind": "email"}}); !strings.Contains(r.raw, "description") {
			t.Errorf("an empty description: %s", r.raw)
		}
		if r := bob.must(400, "POST", T, map[string]any{"product_id": "ras", "category": "gossip", "description": "x", "channel": map[string]any{"kind": "email"}}); !strings.Contains(r.raw, "licensing") {
			t.Errorf("an unknown category does not name the known ones: %s", r.raw)
		}
		opened := bob.must(201, "POST", T, map[string]any{"product_id": "ras", "category": "technical", "subject": "Farm does not start",
			"description": "The farm stops after the update.", "channel": map[string]any{"kind": "call", "call_at": clockStart.Add(48 * time.Hour)}})
		tid := opened.str("ticket_id")
		if !strings.HasPrefix(tid, "T-") {
			t.Fatalf("ticket ID %q", tid)
		}
		K := "/v1/tickets/" + tid

		// TKT-3: every admin sees it; another member does not.
		for _, c := range []*client{ada, cyd} {
			c.minPos = bob.minPos
			if r := c.must(200, "GET", T, nil); !strings.Contains(r.raw, tid) {
				t.Errorf("an admin's list lacks the ticket: %s", r.raw)
			}
		}
		eve.minPos = bob.minPos
		if r := eve.must(200, "GET", T, nil); strings.Contains(r.raw, tid) {
			t.Errorf("another member lists bob's ticket: %s", r.raw)
		}
		eve.must(403, "GET", K, nil)

		// TKT-3: the owner adds watchers, who must be admins.
		if r := bob.must(422, "PUT", K+"/watchers/"+ids["eve"], nil); r.problemType() != "watcher-not-admin" {
			t.Errorf("a member as watcher: %s", r.raw)
		}
		ada.must(403, "PUT", K+"/watchers/"+ids["cyd"], nil)
		bob.must(200, "PUT", K+"/watchers/"+ids["cyd"], nil)

		// Support replies: the owner and the watcher are mailed, nobody else.
		office.must(201, "POST", K+"/replies", map[string]any{"body": "Please send the log file."})
		smtp.WaitFor(t, "bob@example.com", tid, wait)
		smtp.WaitFor(t, "cyd@example.com", tid, wait)

		// TKT-2: the owner replies with attachments; forged or oversized ones are refused.
		if r := bob.multipart(K+"/replies", map[string]string{"body": "Here it is."}, upload{"shot.png", "image/png", "<html><script>alert(1)</script></html>"}); r.status != 415 && r.status != 400 {
			t.Errorf("a forged content type: %d %s", r.status, r.raw)
		} else if r.problemType() != "attachment-type" {
			t.Errorf("a forged content type: %s", r.raw)
		}
		if r := bob.multipart(K+"/replies", map[string]string{"body": "big"}, upload{"big.txt", "text/plain", strings.Repeat("x", 5<<20+1)}); r.status != 413 {
			t.Errorf("an oversized file: %d %s", r.status, r.raw)
		}
		sent := bob.multipart(K+"/replies", map[string]string{"body": "Here it is."}, upload{"farm.log", "text/plain", "12:00 farm stopped\n"})
		if sent.status != 201 {
			t.Fatalf("reply with a file: %d %s", sent.status, sent.raw)
		}
		att := sent.body["attachments"].([]any)[0].(map[string]any)["attachment_id"].(string)
		ada.minPos = bob.minPos
		file := ada.do("GET", K+"/attachments/"+att, nil)
		if file.status != 200 || file.raw != "12:00 farm stopped\n" || file.header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(file.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("attachment download: %d %v %q", file.status, file.header, file.raw)
		}
		eve.must(403, "GET", K+"/attachments/"+att, nil)

		// TKT-2: resolved by support; survey once; reopen; close.
		bob.must(409, "POST", K+"/survey", map[string]any{"rating": 5})
		office.must(200, "PUT", K+"/status", map[string]any{"status": "resolved"})
		smtp.WaitFor(t, "cyd@example.com", "resolved", wait)
		bob.must(400, "POST", K+"/survey", map[string]any{"rating": 6})
		bob.must(200, "POST", K+"/survey", map[string]any{"rating": 5, "feedback": "Quick and kind."})
		bob.must(409, "POST", K+"/survey", map[string]any{"rating": 4})
		bob.must(200, "POST", K+"/reopen", nil)
		bob.must(200, "POST", K+"/close", nil)
		office.must(409, "PUT", K+"/status", map[string]any{"status": "in_progress"})
		noMailTo(t, smtp, "ada@example.com", tid)
		noMailTo(t, smtp, "eve@example.com", tid)

		// TKT-4: My Tickets, filtered by status.
		second := bob.must(201, "POST", T, map[string]any{"product_id": "pms", "category": "licensing", "description": "Second one", "channel": map[string]any{"kind": "email"}}).str("ticket_id")
		current := bob.must(200, "GET", T+"?status=current", nil)
		closed := bob.must(200, "GET", T+"?status=closed", nil)
		if !strings.Contains(current.raw, second) || strings.Contains(current.raw, tid) || !strings.Contains(closed.raw, tid) || strings.Contains(closed.raw, second) {
			t.Errorf("current %s\nclosed %s", current.raw, closed.raw)
		}
		details := bob.must(200, "GET", K, nil)
		if details.str("status") != "closed" || len(details.body["replies"].([]any)) != 2 || len(details.body["watchers"].([]any)) != 1 || details.body["survey"] == nil {
			t.Errorf("ticket page: %s", details.raw)
		}

		// MISC-1: an admin of an account with an active managed-computers
		// subscription has a CSR signed; bad CSRs and other callers are refused.
		M := "/v1/accounts/" + acc + "/mdm/certificates"
		p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		issued := ada.must(201, "POST", M, map[string]any{"csr": csrPEM(t, p256)})
		block, _ := pem.Decode([]byte(issued.str("certificate")))
		caBlock, _ := pem.Decode([]byte(issued.str("ca_certificate")))
		if block == nil || caBlock == nil {
			t.Fatalf("issued: %s", issued.raw)
		}
		cert, err1 := x509.ParseCertificate(block.Bytes)
		ca, err2 := x509.ParseCertificate(caBlock.Bytes)
		if err1 != nil || err2 != nil || cert.CheckSignatureFrom(ca) != nil || cert.Subject.CommonName != "mdm.acme.example" {
			t.Errorf("certificate: %v %v", err1, err2)
		}
		weak, _ := rsa.GenerateKey(rand.Reader, 1024)
		for name, csr := range map[string]string{"garbage": "hello", "RSA 1024": csrPEM(t, weak)} {
			if r := ada.must(400, "POST", M, map[string]any{"csr": csr}); r.problemType() != "invalid-csr" {
				t.Errorf("%s: %s", name, r.raw)
			}
		}
		bob.must(403, "POST", M, map[string]any{"csr": csrPEM(t, p256)})
		if r := ada.must(200, "GET", M, nil); len(r.body["certificates"].([]any)) != 1 {
			t.Errorf("certificates: %s", r.raw)
		}
		// An account without a managed-computers subscription has none.
		other := eve.must(201, "POST", "/v1/accounts", map[string]any{"company": map[string]any{"name": "Eve Ltd", "country": "GB", "zip": "1", "phone": "1"}}).str("account_id")
		if r := eve.must(403, "POST", "/v1/accounts/"+other+"/mdm/certificates", map[string]any{"csr": csrPEM(t, p256)}); r.problemType() != "no-entitlement" {
			t.Errorf("no subscription: %s", r.raw)
		}

		// MISC-2: releases of the account's products, newest version first.
		file1 := map[string]any{"name": "pms-setup.exe", "kind": "installer", "size": 1234, "sha256": strings.Repeat("ab", 32), "url": "https://downloads.example/pms-setup.exe"}
		for _, v := range []string{"7.1", "7.10", "7.2"} {
			office.must(200, "PUT", "/v1/products/pms/releases/"+v, map[string]any{"notes": "Release " + v, "files": []any{file1}})
		}
		office.must(200, "PUT", "/v1/products/ras/releases/19.0", map[string]any{"notes": "RAS", "files": []any{file1}})
		ada.minPos = office.minPos
		if r := ada.must(200, "GET", "/v1/accounts/"+acc+"/downloads", nil); !strings.Contains(r.raw, "pms") || strings.Contains(r.raw, `"ras"`) {
			t.Errorf("download products: %s", r.raw)
		}
		versions := ada.must(200, "GET", "/v1/accounts/"+acc+"/downloads/pms", nil)
		if vs, _ := json.Marshal(versions.body["versions"]); !strings.Contains(string(vs), "7.10") || strings.Index(string(vs), "7.10") > strings.Index(string(vs), `"7.2"`) {
			t.Errorf("versions not newest first: %s", versions.raw)
		}
		if r := ada.must(200, "GET", "/v1/accounts/"+acc+"/downloads/pms/7.2", nil); !strings.Contains(r.raw, "pms-setup.exe") {
			t.Errorf("files: %s", r.raw)
		}
		ada.must(403, "GET", "/v1/accounts/"+acc+"/downloads/ras", nil)
		eve.must(403, "GET", "/v1/accounts/"+other+"/downloads/pms", nil)
	})
}
