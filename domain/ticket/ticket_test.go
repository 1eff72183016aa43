package ticket_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/ticket"
)

var (
	t0    = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	draft = ticket.Draft{AccountID: "acc-1", Owner: "bob", ProductID: "ras", Category: "activation",
		Description: "The farm does not activate.\nIt says the key is invalid.", Channel: "email"}
	opened = ticket.Opened{TicketID: "T-7K2M-QX9P", AccountID: "acc-1", Owner: "bob", ProductID: "ras",
		Category: ticket.CategoryActivation, Subject: "The farm does not activate.",
		Description: draft.Description, Channel: ticket.Channel{Kind: ticket.ChannelEmail}}
	pdf = ticket.Attachment{AttachmentID: "att-1", Name: "log.pdf", ContentType: "application/pdf", Size: 10,
		SHA256: strings.Repeat("ab", 32)}
)

func given(events ...any) ticket.Ticket {
	var t ticket.Ticket
	for i, e := range events {
		t = t.Evolve(e, t0.Add(time.Duration(i)*time.Minute))
	}
	return t
}

func status(s ticket.Status) ticket.StatusChanged {
	return ticket.StatusChanged{Status: s, By: ticket.SupportAuthor("anna")}
}

// Rule TKT-1: a member opens a ticket for a product with a category and a
// required description; the subject defaults to the description's first
// line; the support channel is recorded, a call with its booked time.
func TestOpen_TKT1(t *testing.T) {
	t.Parallel()
	call := t0.Add(48 * time.Hour)
	past := t0.Add(-time.Hour)
	long := strings.Repeat("word ", 40)
	cases := []struct {
		name   string
		change func(*ticket.Draft)
		known  bool
		want   func(*ticket.Opened) // nil: refused
		phrase string
	}{
		{"by email", func(*ticket.Draft) {}, true, func(*ticket.Opened) {}, ""},
		{"with a subject", func(d *ticket.Draft) { d.Subject = "Activation fails" },
			true, func(o *ticket.Opened) { o.Subject = "Activation fails" }, ""},
		{"X-7 a subject with white space around it", func(d *ticket.Draft) { d.Subject = "  Activation fails " }, true, nil, "white space"},
		{"X-7 a subject with a right-to-left override", func(d *ticket.Draft) { d.Subject = "Activation\u202e fails" }, true, nil, "invisible"},
		{"X-7 a description kept as written, with its marks", func(d *ticket.Draft) { d.Description = "  \u202bשלום\u202c 🚀 \"x\" \\\n\tdone\n" },
			true, func(o *ticket.Opened) {
				o.Description = "  \u202bשלום\u202c 🚀 \"x\" \\\n\tdone\n"
				o.Subject = "שלום 🚀 \"x\" \\"
			}, ""},
		{"X-7 a description with invalid UTF-8", func(d *ticket.Draft) { d.Description = "a\xff\xfeb" }, true, nil, "not valid UTF-8"},
		{"X-7 a description with an escape sequence", func(d *ticket.Draft) { d.Description = "a\x1b[2Jb" }, true, nil, "control character"},
		{"a long first line is shortened", func(d *ticket.Draft) { d.Description = long },
			true, func(o *ticket.Opened) {
				o.Description = long
				o.Subject = strings.TrimSpace(strings.Repeat("word ", 24)[:119]) + "…"
			}, ""},
		{"a booked call", func(d *ticket.Draft) { d.Channel, d.CallAt = "call", &call },
			true, func(o *ticket.Opened) { o.Channel = ticket.Channel{Kind: ticket.ChannelCall, CallAt: &call} }, ""},
		{"no description", func(d *ticket.Draft) { d.Description = "  \n " }, true, nil, "description is required"},
		{"unknown category names the allowed ones", func(d *ticket.Draft) { d.Category = "sales" }, true, nil,
			"licensing, installation, activation, technical, billing, other"},
		{"unknown product", func(*ticket.Draft) {}, false, nil, `product "ras" is not in the catalog`},
		{"unknown channel", func(d *ticket.Draft) { d.Channel = "skype" }, true, nil, "channel"},
		{"a call without a time", func(d *ticket.Draft) { d.Channel = "call" }, true, nil, "needs call_at"},
		{"a call in the past", func(d *ticket.Draft) { d.Channel, d.CallAt = "call", &past }, true, nil, "not in the future"},
		{"a time for email", func(d *ticket.Draft) { d.CallAt = &call }, true, nil, "only for channel call"},
		{"a subject of two lines", func(d *ticket.Draft) { d.Subject = "a\nb" }, true, nil, "control character"},
		{"a subject too long", func(d *ticket.Draft) { d.Subject = strings.Repeat("x", 121) }, true, nil, "longer than 120"},
		{"a description too long", func(d *ticket.Draft) { d.Description = strings.Repeat("x", 10_001) }, true, nil, "longer than 10000"},
		{"X-7 a NUL byte", func(d *ticket.Draft) { d.Description = "a\x00b" }, true, nil, "NUL"},
		{"no owner", func(d *ticket.Draft) { d.Owner = "" }, true, nil, "opened by a person"},
	}
	for _, c := range cases {
		d := draft
		c.change(&d)
		evs, err := ticket.Ticket{}.Open(opened.TicketID, d, c.known, t0)
		if c.want == nil {
			if !errors.Is(err, ticket.ErrInvalid) || !strings.Contains(err.Error(), c.phrase) {
				t.Errorf("%s: err = %v, want ErrInvalid with %q", c.name, err, c.phrase)
			}
			continue
		}
		want := opened
		c.want(&want)
		if err != nil || len(evs) != 1 || !reflect.DeepEqual(evs[0], want) {
			t.Errorf("%s: got %+v, %v\nwant %+v", c.name, evs, err, want)
		}
	}
	if _, err := given(opened).Open(opened.TicketID, draft, true, t0); !errors.Is(err, ticket.ErrInvalid) {
		t.Errorf("opening an existing ticket again: %v", err)
	}
	tk := given(opened)
	if tk.Status() != ticket.StatusOpen || tk.Owner() != "bob" || tk.AccountID() != "acc-1" || !tk.OpenedAt().Equal(t0) {
		t.Errorf("opened ticket %+v", tk)
	}
}

// Rule TKT-1: the ticket ID shown to the member is short, unambiguous and
// survives being typed in lower case or with look-alike letters.
func TestID_TKT1(t *testing.T) {
	t.Parallel()
	id := ticket.FormatID([8]byte{0, 1, 2, 31, 32, 255, 100, 7})
	if id != "T-012Z-0Z47" || !ticket.ValidID(id) {
		t.Fatalf("FormatID = %q", id)
	}
	for _, c := range []struct {
		in    string
		valid bool
	}{
		{"t-012z-0z47", true}, {" T-O12Z-OZ47 ", true}, {"T-I12Z-0Z47", true},
		{"T-012Z-0ZMU", false}, {"T-012Z0ZM7", false}, {"X-012Z-0ZM7", false}, {"T-012Z-0ZM", false}, {"", false},
	} {
		if got := ticket.ValidID(ticket.NormalizeID(c.in)); got != c.valid {
			t.Errorf("ValidID(NormalizeID(%q)) = %v", c.in, got)
		}
	}
	if ticket.ValidID("t-012z-0z47") {
		t.Error("a lower-case ID is canonical")
	}
}

// Rule TKT-2: statuses move as support works; members reply (with
// attachments), close a current ticket, reopen a resolved one and fill
// a survey on a resolved one, once.
func TestDecisions_TKT2(t *testing.T) {
	t.Parallel()
	member := "bob"
	support := ticket.SupportAuthor("anna")
	type when func(ticket.Ticket) ([]any, error)
	cases := []struct {
		name  string
		given []any
		when  when
		then  []any
		err   error
		words string
	}{
		{"support moves open to in progress", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.ChangeStatus("in_progress", support) },
			[]any{status(ticket.StatusInProgress)}, nil, ""},
		{"support resolves", []any{opened, status(ticket.StatusInProgress)},
			func(t ticket.Ticket) ([]any, error) { return t.ChangeStatus("resolved", support) },
			[]any{status(ticket.StatusResolved)}, nil, ""},
		{"issue 23: support assigns the ticket to a staff person", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.Assign("s1", "Sue Support", "staff:s1") },
			[]any{ticket.Assigned{StaffID: "s1", Name: "Sue Support", By: "staff:s1"}}, nil, ""},
		{"issue 23: assigned to the same person again changes nothing", []any{opened, ticket.Assigned{StaffID: "s1", Name: "Sue", By: "staff:s1"}},
			func(t ticket.Ticket) ([]any, error) { return t.Assign("s1", "Sue", "staff:s1") }, nil, ticket.ErrNoChange, "already"},
		{"issue 23: another takes it over", []any{opened, ticket.Assigned{StaffID: "s1", Name: "Sue", By: "staff:s1"}},
			func(t ticket.Ticket) ([]any, error) { return t.Assign("s2", "Tom", "staff:s2") },
			[]any{ticket.Assigned{StaffID: "s2", Name: "Tom", By: "staff:s2"}}, nil, ""},
		{"issue 23: a closed ticket is not assigned", []any{opened, ticket.Closed{By: member}},
			func(t ticket.Ticket) ([]any, error) { return t.Assign("s1", "Sue", "staff:s1") }, nil, ticket.ErrStatus, "closed"},
		{"support does not close", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.ChangeStatus("closed", support) }, nil, ticket.ErrInvalid, "only the member closes"},
		{"an unknown status", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.ChangeStatus("done", support) }, nil, ticket.ErrInvalid, "open, in_progress"},
		{"the same status", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.ChangeStatus("open", support) }, nil, ticket.ErrNoChange, "open already"},
		{"a closed ticket stays closed", []any{opened, ticket.Closed{By: member}},
			func(t ticket.Ticket) ([]any, error) { return t.ChangeStatus("open", support) }, nil, ticket.ErrStatus, "closed"},
		{"X-7 a member replies with a file; the text is kept as written", []any{opened},
			func(t ticket.Ticket) ([]any, error) {
				return t.Reply("r-1", member, false, " here is the log ", []ticket.Attachment{pdf})
			},
			[]any{ticket.Replied{ReplyID: "r-1", Author: member, Body: " here is the log ", Attachments: []ticket.Attachment{pdf}}}, nil, ""},
		{"X-7 an attachment name with a right-to-left override", []any{opened},
			func(t ticket.Ticket) ([]any, error) {
				evil := pdf
				evil.Name = "invoice\u202efdp.exe"
				return t.Reply("r-1", member, false, "see file", []ticket.Attachment{evil})
			}, nil, ticket.ErrInvalid, "file name"},
		{"X-7 a reply with a NUL", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.Reply("r-1", member, false, "a\x00b", nil) }, nil, ticket.ErrInvalid, "NUL"},
		{"a member's reply reopens a ticket awaiting them (choice)", []any{opened, status(ticket.StatusAwaitingCustomer)},
			func(t ticket.Ticket) ([]any, error) { return t.Reply("r-1", member, false, "done", nil) },
			[]any{ticket.Replied{ReplyID: "r-1", Author: member, Body: "done"}, ticket.StatusChanged{Status: ticket.StatusOpen, By: member}}, nil, ""},
		{"support's reply leaves the status", []any{opened, status(ticket.StatusAwaitingCustomer)},
			func(t ticket.Ticket) ([]any, error) { return t.Reply("r-1", support, true, "any news?", nil) },
			[]any{ticket.Replied{ReplyID: "r-1", Author: support, FromSupport: true, Body: "any news?"}}, nil, ""},
		{"a member replies to a resolved ticket", []any{opened, status(ticket.StatusResolved)},
			func(t ticket.Ticket) ([]any, error) { return t.Reply("r-1", member, false, "thanks", nil) },
			[]any{ticket.Replied{ReplyID: "r-1", Author: member, Body: "thanks"}}, nil, ""},
		{"no reply to a closed ticket", []any{opened, ticket.Closed{By: member}},
			func(t ticket.Ticket) ([]any, error) { return t.Reply("r-1", member, false, "hello", nil) }, nil, ticket.ErrStatus, "closed"},
		{"an empty reply", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.Reply("r-1", member, false, "  ", nil) }, nil, ticket.ErrInvalid, "write a reply"},
		{"eleven files", []any{opened},
			func(t ticket.Ticket) ([]any, error) {
				files := make([]ticket.Attachment, 11)
				for i := range files {
					files[i] = pdf
					files[i].AttachmentID = string(rune('a' + i))
				}
				return t.Reply("r-1", member, false, "logs", files)
			}, nil, ticket.ErrInvalid, "at most 10 files"},
		{"a file too large", []any{opened},
			func(t ticket.Ticket) ([]any, error) {
				big := pdf
				big.Size = ticket.MaxAttachmentBytes + 1
				return t.Reply("r-1", member, false, "logs", []ticket.Attachment{big})
			}, nil, ticket.ErrInvalid, "1 to 5242880"},
		{"a file named with a path", []any{opened},
			func(t ticket.Ticket) ([]any, error) {
				p := pdf
				p.Name = "../etc/passwd"
				return t.Reply("r-1", member, false, "logs", []ticket.Attachment{p})
			}, nil, ticket.ErrInvalid, "without path"},
		{"an attachment ID used before", []any{opened, ticket.Replied{ReplyID: "r-0", Author: member, Attachments: []ticket.Attachment{pdf}}},
			func(t ticket.Ticket) ([]any, error) {
				return t.Reply("r-1", member, false, "again", []ticket.Attachment{pdf})
			},
			nil, ticket.ErrInvalid, "no ID of its own"},
		{"a person posing as support", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.Reply("r-1", member, true, "hi", nil) }, nil, ticket.ErrInvalid, "author"},
		{"close an open ticket", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.Close(member) }, []any{ticket.Closed{By: member}}, nil, ""},
		{"close a ticket awaiting the customer", []any{opened, status(ticket.StatusAwaitingCustomer)},
			func(t ticket.Ticket) ([]any, error) { return t.Close(member) }, []any{ticket.Closed{By: member}}, nil, ""},
		{"a resolved ticket is not current", []any{opened, status(ticket.StatusResolved)},
			func(t ticket.Ticket) ([]any, error) { return t.Close(member) }, nil, ticket.ErrStatus, "the ticket is resolved"},
		{"close twice", []any{opened, ticket.Closed{By: member}},
			func(t ticket.Ticket) ([]any, error) { return t.Close(member) }, nil, ticket.ErrNoChange, "closed already"},
		{"reopen a resolved ticket", []any{opened, status(ticket.StatusResolved)},
			func(t ticket.Ticket) ([]any, error) { return t.Reopen(member) }, []any{ticket.Reopened{By: member}}, nil, ""},
		{"reopen an open ticket", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.Reopen(member) }, nil, ticket.ErrStatus, "the ticket is open"},
		{"reopen a closed ticket", []any{opened, ticket.Closed{By: member}},
			func(t ticket.Ticket) ([]any, error) { return t.Reopen(member) }, nil, ticket.ErrStatus, "the ticket is closed"},
		{"survey a resolved ticket", []any{opened, status(ticket.StatusResolved)},
			func(t ticket.Ticket) ([]any, error) { return t.SubmitSurvey(5, " great ", member) },
			[]any{ticket.SurveySubmitted{Rating: 5, Feedback: " great ", By: member}}, nil, ""},
		{"X-7 survey feedback with invalid UTF-8", []any{opened, status(ticket.StatusResolved)},
			func(t ticket.Ticket) ([]any, error) { return t.SubmitSurvey(5, "gr\xc0\xafeat", member) }, nil, ticket.ErrInvalid, "UTF-8"},
		{"survey an open ticket", []any{opened},
			func(t ticket.Ticket) ([]any, error) { return t.SubmitSurvey(5, "", member) }, nil, ticket.ErrStatus, "the ticket is open"},
		{"survey twice (choice: once per ticket)", []any{opened, status(ticket.StatusResolved), ticket.SurveySubmitted{Rating: 4, By: member},
			ticket.Reopened{By: member}, status(ticket.StatusResolved)},
			func(t ticket.Ticket) ([]any, error) { return t.SubmitSurvey(1, "", member) }, nil, ticket.ErrNoChange, "submitted already"},
		{"a rating of six", []any{opened, status(ticket.StatusResolved)},
			func(t ticket.Ticket) ([]any, error) { return t.SubmitSurvey(6, "", member) }, nil, ticket.ErrInvalid, "from 1 to 5"},
		{"nothing to act on", nil,
			func(t ticket.Ticket) ([]any, error) { return t.Close(member) }, nil, ticket.ErrNotFound, ""},
	}
	for _, c := range cases {
		evs, err := c.when(given(c.given...))
		switch {
		case c.err != nil && (!errors.Is(err, c.err) || !strings.Contains(err.Error(), c.words)):
			t.Errorf("%s: err = %v, want %v with %q", c.name, err, c.err, c.words)
		case c.err == nil && (err != nil || !reflect.DeepEqual(evs, c.then)):
			t.Errorf("%s: got %#v, %v\nwant %#v", c.name, evs, err, c.then)
		}
	}
	tk := given(opened, status(ticket.StatusInProgress), ticket.Replied{ReplyID: "r-1", Author: member, Attachments: []ticket.Attachment{pdf}},
		status(ticket.StatusResolved), ticket.Reopened{By: member})
	if tk.Status() != ticket.StatusOpen || tk.Replies() != 1 || tk.Version() != 5 {
		t.Errorf("after the events: %+v", tk)
	}
	if a, ok := tk.Attachment("att-1"); !ok || a != pdf {
		t.Errorf("attachment att-1: %+v, %v", a, ok)
	}
	if _, ok := tk.Attachment("att-2"); ok {
		t.Error("an unreferenced attachment belongs to the ticket")
	}
}

// acct is business account acc-1: ada (admin, creator), bob (member,
// the tickets' owner), cyd (admin), dan (blocked admin), eve (member).
func acct(t *testing.T) account.Account {
	t.Helper()
	var a account.Account
	for i, e := range []any{
		account.Created{AccountID: "acc-1", CreatorID: "ada", SupportCode: "S", Company: account.Company{Name: "A", Country: "DE", ZIP: "1", Phone: "1"}},
		account.MemberJoined{PersonID: "bob"}, account.MemberJoined{PersonID: "cyd"}, account.MemberJoined{PersonID: "dan"},
		account.MemberJoined{PersonID: "eve"},
		account.RoleChanged{PersonID: "cyd", Role: account.RoleAdmin, By: "ada"},
		account.RoleChanged{PersonID: "dan", Role: account.RoleAdmin, By: "ada"},
		account.MemberBlocked{PersonID: "dan", By: "ada"},
	} {
		a = a.Evolve(e, t0.Add(time.Duration(i)*time.Minute))
	}
	return a
}

// Rule TKT-3: watchers are the account's unblocked admins, added and
// removed by the owner.
func TestWatchers_TKT3(t *testing.T) {
	t.Parallel()
	a := acct(t)
	tk := given(opened)
	if evs, err := tk.AddWatcher(a, "cyd", "bob"); err != nil || !reflect.DeepEqual(evs, []any{ticket.WatcherAdded{PersonID: "cyd", By: "bob"}}) {
		t.Fatalf("add cyd: %v, %v", evs, err)
	}
	for _, c := range []struct {
		person string
		err    error
	}{
		{"eve", ticket.ErrNotAdmin}, // a regular member
		{"dan", ticket.ErrNotAdmin}, // a blocked admin
		{"zed", ticket.ErrNotAdmin}, // not in the account
		{"bob", ticket.ErrInvalid},  // the owner
		{"", ticket.ErrInvalid},     // nobody
	} {
		if _, err := tk.AddWatcher(a, c.person, "bob"); !errors.Is(err, c.err) {
			t.Errorf("add %q: %v, want %v", c.person, err, c.err)
		}
	}
	tk = given(opened, ticket.WatcherAdded{PersonID: "cyd", By: "bob"})
	if _, err := tk.AddWatcher(a, "cyd", "bob"); !errors.Is(err, ticket.ErrNoChange) {
		t.Errorf("add cyd twice: %v", err)
	}
	if got := tk.Watchers(); !reflect.DeepEqual(got, []string{"cyd"}) || !tk.IsWatcher("cyd") {
		t.Errorf("watchers %v", got)
	}
	if evs, err := tk.RemoveWatcher("cyd", "bob"); err != nil || !reflect.DeepEqual(evs, []any{ticket.WatcherRemoved{PersonID: "cyd", By: "bob"}}) {
		t.Errorf("remove cyd: %v, %v", evs, err)
	}
	if _, err := tk.RemoveWatcher("ada", "bob"); !errors.Is(err, ticket.ErrNoChange) {
		t.Errorf("remove a non-watcher: %v", err)
	}
	if tk = tk.Clone().Evolve(ticket.WatcherRemoved{PersonID: "cyd"}, t0); len(tk.Watchers()) != 0 {
		t.Errorf("watchers after removal: %v", tk.Watchers())
	}
}

// Rules TKT-3, X-5, MEM-8: the account's unblocked admins view and manage
// every ticket; the owner their own; only the owner manages watchers; the
// back office acts as support only; everyone else is refused alike,
// whether the ticket exists or not.
func TestAuthorize_TKT3_X5(t *testing.T) {
	t.Parallel()
	a := acct(t)
	tk := given(opened)
	person := func(id string) event.Actor { return event.Actor{Kind: event.ActorPerson, ID: id} }
	backOffice := event.Actor{Kind: event.ActorBackOffice, ID: "admin-token"}
	cases := []struct {
		actor  event.Actor
		action ticket.Action
		ok     bool
	}{
		{person("bob"), ticket.ActionView, true},      // the owner, a regular member
		{person("bob"), ticket.ActionManage, true},    // closes, reopens, surveys
		{person("bob"), ticket.ActionReply, true},     // replies
		{person("bob"), ticket.ActionWatchers, true},  // the owner alone manages watchers
		{person("bob"), ticket.ActionSupport, false},  // not support
		{person("ada"), ticket.ActionView, true},      // an admin
		{person("cyd"), ticket.ActionManage, true},    // any admin
		{person("cyd"), ticket.ActionWatchers, false}, // but not the watchers
		{person("dan"), ticket.ActionView, false},     // a blocked admin (MEM-8)
		{person("eve"), ticket.ActionView, false},     // another member's ticket
		{person("zed"), ticket.ActionView, false},     // a stranger
		{backOffice, ticket.ActionView, true},         // support reads
		{backOffice, ticket.ActionSupport, true},      // and moves the status
		{backOffice, ticket.ActionReply, true},        // and replies as support
		{backOffice, ticket.ActionManage, false},      // but never acts as the customer
		{backOffice, ticket.ActionWatchers, false},    //
		{event.Actor{Kind: event.ActorInstallation, ID: "i"}, ticket.ActionView, false},
	}
	for _, c := range cases {
		err := tk.Authorize(c.actor, a, c.action)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, account.ErrForbidden)) {
			t.Errorf("%s %s: err = %v, want allowed=%v", c.actor, c.action, err, c.ok)
		}
	}
	// a ticket that does not exist and another account's ticket get
	// the very same answer as one the person may not see.
	foreign := given(ticket.Opened{TicketID: "T-AAAA-BBBB", AccountID: "acc-2", Owner: "zed"})
	stranger := tk.Authorize(person("eve"), a, ticket.ActionView)
	for name, err := range map[string]error{
		"missing": ticket.Ticket{}.Authorize(person("eve"), a, ticket.ActionView),
		"foreign": foreign.Authorize(person("ada"), a, ticket.ActionView),
	} {
		if err == nil || err.Error() != stranger.Error() {
			t.Errorf("%s ticket: %v; want the same answer as %v", name, err, stranger)
		}
	}
	if err := (ticket.Ticket{}).Authorize(backOffice, account.Account{}, ticket.ActionView); !errors.Is(err, ticket.ErrNotFound) {
		t.Errorf("back office, missing ticket: %v", err)
	}
	// A personal account's owner is its admin.
	mine := given(ticket.Opened{TicketID: "T-AAAA-CCCC", AccountID: account.PersonalID("pat"), Owner: "pat"})
	if err := mine.Authorize(person("pat"), account.Personal("pat"), ticket.ActionWatchers); err != nil {
		t.Errorf("personal account's owner: %v", err)
	}
}

// Rule TKT-4: current tickets are open, in progress or awaiting the
// customer; resolved and closed ones are not.
func TestStatus_current_TKT4(t *testing.T) {
	t.Parallel()
	var current []string
	for _, s := range ticket.Statuses() {
		if s.Current() {
			current = append(current, s.String())
		}
	}
	if strings.Join(current, ",") != "open,in_progress,awaiting_customer" {
		t.Errorf("current statuses %v", current)
	}
}

// fieldsOf returns the named fields of an *invalid.Error, in order.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var e *invalid.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not an *invalid.Error", err)
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Name)
	}
	return names
}

// Rules TKT-1, TKT-2, TKT-3: every refused request names the fields it is
// about, so that a form can show each problem next to its input.
func TestRefusals_name_their_fields_TKT1_TKT2_TKT3(t *testing.T) {
	t.Parallel()
	past := t0.Add(-time.Hour)
	many := ticket.Draft{AccountID: "acc-1", Owner: "bob", Category: "sales", Subject: "a\nb", Description: " ",
		Channel: "call", CallAt: &past}
	_, err := ticket.Ticket{}.Open("T-7K2M-QX9P", many, true, t0)
	if got, want := fieldsOf(t, err), []string{"product_id", "category", "description", "subject", "channel.call_at"}; !slices.Equal(got, want) {
		t.Errorf("open: fields %v, want %v (%v)", got, want, err)
	}
	skype := draft
	skype.Channel = "skype"
	if _, err := (ticket.Ticket{}).Open("T-7K2M-QX9P", skype, true, t0); !slices.Equal(fieldsOf(t, err), []string{"channel.kind"}) {
		t.Errorf("open on skype: %v", err)
	}
	bad := pdf
	bad.Size = 0
	_, err = given(opened).Reply("r-1", "bob", false, "a\x00", []ticket.Attachment{bad})
	if got, want := fieldsOf(t, err), []string{"body", "attachments"}; !slices.Equal(got, want) {
		t.Errorf("reply: fields %v, want %v (%v)", got, want, err)
	}
	_, err = given(opened, status(ticket.StatusResolved)).SubmitSurvey(0, strings.Repeat("x", ticket.MaxFeedbackLength+1), "bob")
	if got, want := fieldsOf(t, err), []string{"rating", "feedback"}; !slices.Equal(got, want) {
		t.Errorf("survey: fields %v, want %v (%v)", got, want, err)
	}
	_, err = given(opened).ChangeStatus("done", ticket.SupportAuthor("anna"))
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"status"}) {
		t.Errorf("status: fields %v (%v)", got, err)
	}
	_, err = given(opened).AddWatcher(account.Account{}, "bob", "bob")
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"person_id"}) {
		t.Errorf("watcher: fields %v (%v)", got, err)
	}
}
