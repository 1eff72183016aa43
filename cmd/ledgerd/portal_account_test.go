package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"seatledger/infra/sqldb/sqldbtest"
)

// acctPersonID returns the person ID of the users list's link named name.
func acctPersonID(t *testing.T, p *page, acc, name string) string {
	t.Helper()
	re := regexp.MustCompile(`href="/accounts/` + regexp.QuoteMeta(acc) + `/users/([0-9a-f-]{36})[^"]*">` + regexp.QuoteMeta(name) + `</a>`)
	m := re.FindStringSubmatch(p.HTML)
	if m == nil {
		t.Fatalf("%s has no link to %s:\n%s", p.URL, name, p.HTML)
	}
	return m[1]
}

// acctLacks fails the test if the last page shows any of texts.
func acctLacks(t *testing.T, p *page, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(p.HTML, s) {
			t.Fatalf("%s shows %q:\n%s", p.URL, s, p.HTML)
		}
	}
}

// The personal profile and the security settings without JavaScript:
// the name is changed (wrong input is the API's problem next to the
// field and changes nothing), the password is changed and every other
// session ends, and an API token is shown once, works, and is revoked
// (MEM-1, MEM-2).
func TestPortalAccount_profile_password_and_tokens_MEM1_MEM2(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	ada := signUpPage(t, m, "Ada", "ada@example.com")

	// The profile: name, address, not verified yet, the accounts (MEM-2).
	ada.Get("/me").Want(200, "Personal profile", "ada@example.com", "not verified", `value="Ada"`, `value="Tester"`,
		"Personal account", "Account admin", `href="/me" aria-current="page"`)

	// MEM-1: a name is required; the API's reason stands next to the field.
	ada.Post("/me", url.Values{"first_name": {"  "}, "last_name": {"Lovelace"}}).
		Want(400, `id="e-first_name"`, "First name is required.", `value="Lovelace"`)
	ada.Get("/me").Want(200, `value="Ada"`, `value="Tester"`)
	ada.Post("/me", url.Values{"first_name": {"Augusta"}, "last_name": {"Lovelace"}}).
		Want(200, "Your name is changed.", "Augusta Lovelace", `value="Augusta"`)
	if ada.URL != "/me" {
		t.Fatalf("after the change the browser is at %s", ada.URL)
	}

	// A second browser signed in as Ada.
	other := newPage(t, m)
	other.Post("/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}, "next": {"/me"}}).Want(200, "Personal profile")

	// The password: a wrong current one is the API's problem next to the
	// field (4xx) and changes nothing; nor does a weak new one.
	const newPW = "tangerine vault orbit"
	ada.Get("/me/security").Want(200, "Change your password", "You have no API tokens.", `href="/me/security" aria-current="page"`)
	ada.Post("/me/password", url.Values{"current_password": {"not my password"}, "new_password": {newPW}})
	ada.Want(http.StatusUnauthorized, `id="e-current_password"`, "the password is wrong")
	acctLacks(t, ada, "not my password", newPW)
	ada.Post("/me/password", url.Values{"current_password": {pw}, "new_password": {"short"}}).
		Want(400, `id="e-new_password"`, "at least 12 characters")
	other.Get("/me").Want(200, "Personal profile") // the other session lives on
	newPage(t, m).Post("/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}, "next": {"/me"}}).
		Want(200, "Personal profile") // the old password still works

	// Changed: the other session ends, this one stays.
	ada.Post("/me/password", url.Values{"current_password": {pw}, "new_password": {newPW}}).
		Want(200, "Your password is changed.", "has been signed out", "this browser stays signed in")
	other.Get("/me").Want(200, "Sign in")
	if !strings.HasPrefix(other.URL, "/signin") {
		t.Fatalf("the other session still opens %s", other.URL)
	}
	ada.Get("/me").Want(200, "Personal profile")
	newPage(t, m).Post("/signin", url.Values{"email": {"ada@example.com"}, "password": {newPW}, "next": {"/me"}}).
		Want(200, "Personal profile")

	// API tokens: a name is required; the token is shown once.
	ada.Get("/me/security")
	ada.Post("/me/tokens", url.Values{"name": {" "}}).Want(400, `id="e-name"`, "name is required")
	ada.Get("/me/security").Want(200, "You have no API tokens.")
	ada.Post("/me/tokens", url.Values{"name": {"ci"}}).Want(http.StatusCreated, "will not be shown again", `Token “ci”`)
	tok := regexp.MustCompile(`id="new-token" value="(slt_[^"]+)"`).FindStringSubmatch(ada.HTML)
	if tok == nil {
		t.Fatalf("no token on the page:\n%s", ada.HTML)
	}
	script := newClient(t, m)
	script.bearer = tok[1]
	script.must(200, "GET", "/v1/me", nil)
	ada.Get("/me/security").Want(200, "<td>ci</td>", "Revoke")
	acctLacks(t, ada, tok[1]) // never shown again
	revoke := regexp.MustCompile(`action="(/me/tokens/[0-9a-f-]{36}/revoke)"`).FindStringSubmatch(ada.HTML)
	if revoke == nil {
		t.Fatalf("no revoke form:\n%s", ada.HTML)
	}
	ada.Post(revoke[1], url.Values{"token_name": {"ci"}}).Want(200, "The API token “ci” is revoked", "You have no API tokens.")
	script.must(401, "GET", "/v1/me", nil)
	ada.Post(revoke[1], url.Values{"token_name": {"ci"}}).Want(404, "Not found") // revoked already: the API's problem
}

// A business account through the portal without JavaScript: created from
// the personal profile, its company edited, people invited, one joining
// as a new person from the mailed link, the users list searched and
// filtered, a member promoted with a note, blocked, unblocked and
// deleted; a regular member sees no admin actions and a crafted role
// change is the API's 403; the last admin cannot leave or be deleted
// (MEM-3, MEM-4, MEM-5, MEM-7, MEM-8, MEM-9).
func TestPortalAccount_business_account_and_users_MEM3_MEM4_MEM5_MEM7_MEM8_MEM9(t *testing.T) {
	m, smtp := peopleServer(t, sqldbtest.SQLite(t))
	const wait = 10 * time.Second
	ada := signUpPage(t, m, "Ada", "ada@example.com")

	// MEM-3: wrong company details are the API's reasons next to the fields; nothing is created.
	ada.Get("/me").Want(200, "Create a business account")
	ada.Post("/me/accounts", url.Values{"company.name": {"Acme GmbH"}, "company.country": {"Switzerland"}, "company.zip": {""}, "company.phone": {"call us"}})
	ada.Want(400, `id="e-company.country"`, "two-letter ISO 3166", `id="e-company.zip"`, "ZIP or postal code is required.",
		`id="e-company.phone"`, "Phone may hold only digits", `value="Acme GmbH"`)
	ada.Get("/me").Want(200)
	acctLacks(t, ada, "Acme")

	// MEM-3: created; its admin lands on its business profile.
	ada.Post("/me/accounts", url.Values{"company.name": {"Acme GmbH"}, "company.city": {"Schaffhausen"}, "company.country": {"ch"},
		"company.zip": {"8200"}, "company.phone": {"+41 52 672 20 30"}})
	ada.Want(200, "The business account Acme GmbH is created", "Support code", "Account admin", "Schaffhausen", "<dd>CH</dd>", "Member since")
	found := regexp.MustCompile(`^/accounts/([0-9a-f-]{36})/profile$`).FindStringSubmatch(ada.URL)
	if found == nil {
		t.Fatalf("after creating the account the browser is at %s", ada.URL)
	}
	acc := found[1]
	base := "/accounts/" + acc
	ada.Get("/me").Want(200, `href="/switch?account=`+acc+`">Acme GmbH</a>`)

	// MEM-3: the admin edits the company; a wrong phone changes nothing.
	ada.Get(base+"/profile/edit").Want(200, "<dialog open", "Edit company information", `value="8200"`, `value="Schaffhausen"`)
	company := url.Values{"company.name": {"Acme GmbH"}, "company.street": {"Hauptstrasse 1"}, "company.city": {"Schaffhausen"},
		"company.country": {"CH"}, "company.zip": {"8200"}, "company.phone": {"ring twice"}}
	ada.Post(base+"/profile", company).Want(400, "<dialog open", `id="e-company.phone"`, "Phone may hold only digits", `value="Hauptstrasse 1"`)
	ada.Get(base + "/profile").Want(200)
	acctLacks(t, ada, "Hauptstrasse")
	company.Set("company.phone", "+41 52 672 20 30")
	ada.Post(base+"/profile", company).Want(200, "The company information is saved.", "Hauptstrasse 1")

	// MEM-9: the last admin cannot leave.
	ada.Get(base+"/profile/leave").Want(200, "<dialog open", "Leave Acme GmbH?")
	ada.Post(base+"/profile/leave", nil).Want(409, "Last account admin")
	ada.Get(base+"/profile").Want(200, "Account admin")

	// MEM-4: invitations, several at once, in German; a wrong address invites nobody.
	ada.Get(base+"/users").Want(200, "Ada Tester", "ada@example.com</td>", "Invite users", "Pending invitations")
	adaID := acctPersonID(t, ada, acc, "Ada Tester")
	ada.Get(base+"/users/invite").Want(200, "<dialog open", "Send invitations")
	ada.Post(base+"/users/invite", url.Values{"emails": {"bob@example.com, not-an-address"}, "language": {"de"}}).
		Want(400, "<dialog open", `id="e-emails"`, "not an email address")
	ada.Get(base + "/users").Want(200)
	acctLacks(t, ada, "bob@example.com")
	ada.Post(base+"/users/invite", url.Values{"emails": {"bob@example.com\ncyd@example.com, dan@example.com"}, "language": {"de"}}).
		Want(200, "Invitation sent to bob@example.com, cyd@example.com, dan@example.com.", "bob@example.com</td>", "cyd@example.com</td>", "<td>de</td>")

	// MEM-4: an invitation is withdrawn.
	withdraw := regexp.MustCompile(`(?s)cyd@example\.com</td>.*?action="(/accounts/[^"]+/invitations/[0-9a-f-]{36}/revoke)"`).FindStringSubmatch(ada.HTML)
	if withdraw == nil {
		t.Fatalf("no withdraw form for cyd:\n%s", ada.HTML)
	}
	ada.Post(withdraw[1], url.Values{"email": {"cyd@example.com"}}).Want(200, "The invitation of cyd@example.com is withdrawn", "bob@example.com</td>")
	acctLacks(t, ada, "cyd@example.com</td>")

	// MEM-4: Bob opens the mailed link in a fresh browser and joins as a new person.
	q := linkQuery(t, smtp.WaitFor(t, "bob@example.com", "Einladung", wait))
	bob := newPage(t, m)
	// The page names the company and the inviter, in the invitation's
	// language (issue 20).
	bob.Get("/invitations/accept?"+q.Encode()).Want(200, `<html lang="de">`, "Ich bin neu hier",
		"Ada Tester hat Sie eingeladen, dem Geschäftskonto Acme GmbH bei seatledger beizutreten.", "Die Einladung gilt für bob@example.com bis zum ")
	// A forged token learns nothing of the account and gets no form.
	forged := url.Values{"account": {q.Get("account")}, "invitation": {q.Get("invitation")}, "token": {"forged"}}
	stranger := newPage(t, m).Get("/invitations/accept?" + forged.Encode())
	if stranger.Status < 400 || strings.Contains(stranger.HTML, "Acme") || strings.Contains(stranger.HTML, `name="mode"`) {
		t.Fatalf("a forged invitation link: %d\n%s", stranger.Status, stranger.HTML)
	}
	bob.Post("/invitations/accept", url.Values{"account": {q.Get("account")}, "invitation": {q.Get("invitation")}, "token": {q.Get("token")},
		"mode": {"new"}, "first_name": {"Bob"}, "last_name": {"Builder"}, "email": {"bob@example.com"}, "password": {pw}, "accept_terms": {"on"}})
	if bob.URL != base {
		t.Fatalf("after joining Bob is at %s, not the account:\n%s", bob.URL, bob.HTML)
	}
	bob.Get(base+"/profile").Want(200, "Acme GmbH", "Regular member")
	// The link works once: opened again it says so, without forms.
	if again := newPage(t, m).Get("/invitations/accept?" + q.Encode()); again.Status != 410 || strings.Contains(again.HTML, `name="mode"`) {
		t.Fatalf("a used invitation link: %d\n%s", again.Status, again.HTML)
	}

	// MEM-5: a regular member sees the users, but no admin actions.
	bob.Get(base+"/users").Want(200, "Bob Builder", "Ada Tester")
	acctLacks(t, bob, "Invite users", "Pending invitations", "/revoke")
	bobID := acctPersonID(t, bob, acc, "Bob Builder")
	bob.Get(base+"/users/"+adaID).Want(200, "<dialog open", "Only account admins")
	acctLacks(t, bob, "Save role", "/block", "/delete")
	// A crafted role change: the API's 403 problem, nothing changes.
	bob.Post(base+"/users/"+bobID+"/role", url.Values{"role": {"admin"}, "note": {"self-service"}}).Want(403, "Forbidden", "<dialog open")
	bob.Get(base+"/profile").Want(200, "Regular member")

	// Dan has an account; signed in, he joins from his link and then leaves (MEM-4, MEM-9).
	dan := signUpPage(t, m, "Dan", "dan@example.com")
	vq := linkQuery(t, smtp.WaitFor(t, "dan@example.com", "Confirm your email", wait))
	dan.Get("/verify-email?"+vq.Encode()).Want(200, "Verify your email address")
	dan.Post("/verify-email", url.Values{"person": {vq.Get("person")}, "token": {vq.Get("token")}}).Want(200, "Your email address is verified.")
	dq := linkQuery(t, smtp.WaitFor(t, "dan@example.com", "Einladung", wait))
	dan.Get("/invitations/accept?"+dq.Encode()).Want(200, "Als angemeldete Person beitreten", "Acme GmbH")
	dan.Post("/invitations/accept", url.Values{"account": {dq.Get("account")}, "invitation": {dq.Get("invitation")}, "token": {dq.Get("token")}})
	dan.Get(base+"/profile/leave").Want(200, "Leave Acme GmbH?", "Regular member")
	dan.Post(base+"/profile/leave", nil).Want(200, "You have left the business account Acme GmbH.")
	if dan.URL != "/me" {
		t.Fatalf("after leaving Dan is at %s", dan.URL)
	}
	acctLacks(t, dan, "switch?account="+acc)

	// Back as the admin: Bob's join was another browser's write, so wait for it.
	eventually(t, "Bob in Ada's users list", func() bool {
		return strings.Contains(ada.Get(base+"/users").HTML, "bob@example.com</td>") && !strings.Contains(ada.HTML, "dan@example.com</td>")
	})
	ada.Get(base+"/users?q=BOB").Want(200, "bob@example.com</td>", `value="BOB"`)
	acctLacks(t, ada, "ada@example.com</td>")
	ada.Get(base+"/users?role=admin").Want(200, `<option value="admin" selected>`, "ada@example.com</td>")
	acctLacks(t, ada, "bob@example.com</td>", "Pending invitations")
	ada.Get(base+"/users?status=blocked").Want(200, "No member matches.")
	ada.Get(base+"/users?status=invited").Want(200, "No member matches.", "No pending invitation.")

	// MEM-9: the last admin cannot step down; nor can an admin delete themselves (they leave).
	ada.Get(base+"/users/"+adaID).Want(200, "<dialog open", "This is you", "Save role")
	acctLacks(t, ada, "Block Ada Tester", "/delete")
	ada.Post(base+"/users/"+adaID+"/role", url.Values{"role": {"member"}, "member_name": {"Ada Tester"}}).Want(409, "Last account admin", "<dialog open")
	ada.Post(base+"/users/"+adaID+"/delete", url.Values{"member_name": {"Ada Tester"}}).Want(403, "cannot remove themselves", "<dialog open")
	ada.Get(base+"/profile").Want(200, "Account admin")

	// MEM-7: promote Bob with a note; a role the API does not know is refused next to the field.
	ada.Get(base+"/users/"+bobID+"?role=admin").Want(200, "<dialog open", "Bob Builder", "Save role", `<option value="member" selected>`)
	ada.Post(base+"/users/"+bobID+"/role", url.Values{"role": {"owner"}, "member_name": {"Bob Builder"}}).Want(400, `id="e-role"`)
	ada.Post(base+"/users/"+bobID+"/role", url.Values{"role": {"admin"}, "note": {"runs IT now"}, "member_name": {"Bob Builder"}}).
		Want(200, "Bob Builder is now an account admin.")
	ada.Get(base+"/users?role=admin").Want(200, "bob@example.com</td>", "ada@example.com</td>")
	eventually(t, "Bob sees his new role", func() bool { return strings.Contains(bob.Get(base+"/profile").HTML, "<dd>Account admin</dd>") })

	// MEM-8: block and unblock; Bob is told by mail.
	ada.Post(base+"/users/"+bobID+"/block", url.Values{"member_name": {"Bob Builder"}}).
		Want(200, "Bob Builder is blocked", "<dialog open", `<span class="badge blocked">blocked</span>`, "Unblock Bob Builder")
	smtp.WaitFor(t, "bob@example.com", "gesperrt", wait)
	ada.Get(base+"/users?status=blocked").Want(200, "bob@example.com</td>")
	ada.Post(base+"/users/"+bobID+"/unblock", url.Values{"member_name": {"Bob Builder"}}).
		Want(200, "Bob Builder is unblocked", `<span class="badge active">active</span>`, "Block Bob Builder")

	// MEM-8: delete, after a confirmation.
	ada.Get(base+"/users/"+bobID+"/delete").Want(200, "<dialog open", "Delete Bob Builder from the account?")
	ada.Post(base+"/users/"+bobID+"/delete", url.Values{"member_name": {"Bob Builder"}}).
		Want(200, "Bob Builder is removed from the account")
	acctLacks(t, ada, "bob@example.com</td>")
	eventually(t, "Bob locked out", func() bool { return bob.Get(base+"/profile").Status == http.StatusForbidden })

	// A personal account has no business pages.
	ada.Get("/accounts/" + acctPersonalID(t, ada) + "/users").Want(404)
}

// acctPersonalID reads the person's personal account from /me.
func acctPersonalID(t *testing.T, p *page) string {
	t.Helper()
	p.Get("/me")
	m := regexp.MustCompile(`href="/switch\?account=([^"]+)">Personal account</a>`).FindStringSubmatch(p.HTML)
	if m == nil {
		t.Fatalf("no personal account on /me:\n%s", p.HTML)
	}
	return m[1]
}

// MEM-1: the API and the portal sign in through one access desk, so a
// guesser cannot double its tries by switching edges: the portal's sign-in
// at sign-up and four wrong passwords through the API use up the client's
// five tries on the address, and the portal's sign-in form from it is
// refused (429, the wait in words), even with the right password; the
// same client on another address is not held back by Ada's failures.
func TestPortalAccount_sign_in_limits_are_shared_with_the_API_MEM1(t *testing.T) {
	m, _ := peopleServer(t, sqldbtest.SQLite(t))
	signUpPage(t, m, "Ada", "ada@example.com")
	api := newClient(t, m)
	for i := range 4 {
		if r := api.do("POST", "/v1/session", map[string]any{"email": "ada@example.com", "password": "not the password"}); r.status != 401 {
			t.Fatalf("API guess %d = %d %s", i+1, r.status, r.raw)
		}
	}
	guesser := newPage(t, m)
	guesser.Post("/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}}).
		Want(http.StatusTooManyRequests, "too many attempts; try again in")
	acctLacks(t, guesser, "Personal profile")
	other := newPage(t, m)
	other.Post("/signin", url.Values{"email": {"bob@example.com"}, "password": {"not the password"}}).Want(http.StatusUnauthorized)
}
