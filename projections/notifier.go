package projections

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/subscription"
	"seatledger/domain/ticket"
	"seatledger/domain/webhook"
)

// Notifier decides which events are told by mail and puts each message in
// the outbox — a mail timer (TimerKindMail) scheduled in the same
// transaction as its checkpoint, so a message exists if and only if the
// event was processed, and a replay never mails twice (the timer's ID is
// the event's). infra/mail sends them. It keeps what it needs to address
// and word the mail: people's names and addresses, company names, the
// language each member was invited in (rules MEM-1, MEM-4, MEM-8), each
// ticket's owner, subject, status and watchers (TKT-3), and each
// installation's account and name (USE-3, USE-4, USE-6).
type Notifier struct {
	Scheduler Scheduler
}

var _ Projection = Notifier{}

// Name implements Projection.
func (Notifier) Name() string { return "notifier" }

// Tables implements Projection. The outbox (the timers table) is not
// among them: a rebuild must not forget what was sent.
func (Notifier) Tables() []string {
	return []string{"notify_persons", "notify_accounts", "notify_languages", "notify_members", "notify_subscriptions", "notify_products",
		"notify_tickets", "notify_ticket_watchers", "notify_installations"}
}

var notifierTable = newTable("notifier",
	// People and accounts (MEM-1, MEM-4, MEM-8).
	on(Notifier.signedUp),
	on(Notifier.personProfileChanged),
	on(Notifier.passwordResetRequested),
	on(Notifier.accountCreated),
	on(Notifier.accountProfileChanged),
	on(Notifier.roleChanged),
	on(Notifier.memberInvited),
	on(Notifier.memberJoined),
	on(Notifier.memberBlocked),
	on(Notifier.memberUnblocked),
	on(Notifier.memberRemoved),
	on(Notifier.memberLeft),
	// Subscriptions (SUB-6, KEY-3).
	on(Notifier.productDefined),
	on(Notifier.purchased),
	on(Notifier.registered),
	on(Notifier.renamed),
	on(Notifier.expiryReminded),
	on(Notifier.subscriptionGraceStarted),
	on(Notifier.sublicenseGraceStarted),
	// Tickets (TKT-3).
	on(Notifier.ticketOpened),
	on(Notifier.ticketReplied),
	on(Notifier.ticketStatusChanged),
	on(Notifier.ticketClosed),
	on(Notifier.ticketReopened),
	on(Notifier.watcherAdded),
	on(Notifier.watcherRemoved),
	// Installations (USE-3, USE-4, USE-6).
	on(Notifier.installationActivated),
	on(Notifier.installationGraceStarted),
	on(Notifier.installationSuspended),
	on(Notifier.overLimitStarted),
	on(Notifier.overLimitAlerted),
	// Webhooks (issue 22).
	on(Notifier.webhookDisabled),
)

// Apply implements Projection.
func (n Notifier) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return notifierTable.apply(n, ctx, tx, rec)
}

// EventTypes implements Selective.
func (Notifier) EventTypes() []string { return notifierTable.eventTypes() }

// send puts m, caused by rec, in the outbox.
func (n Notifier) send(ctx context.Context, tx Tx, rec event.Record, m Mail) error {
	return scheduleMail(ctx, tx, n.Scheduler, rec.ID, rec.Effective(), m)
}

func (n Notifier) signedUp(ctx context.Context, tx Tx, rec event.Record, e person.SignedUp) error {
	if err := tx.Exec(ctx, `INSERT INTO notify_persons (person_id, email, first_name, last_name) VALUES (?, ?, ?, ?)
		ON CONFLICT (person_id) DO NOTHING`, e.PersonID, e.Email, e.FirstName, e.LastName); err != nil {
		return err
	}
	if e.VerifiedByInvitation != "" {
		return nil // the invitation link proved the address
	}
	return n.send(ctx, tx, rec, Mail{To: e.Email, Language: "en", Template: TemplateVerifyEmail, Data: map[string]string{"first_name": e.FirstName},
		Link: &Link{Path: "/verify-email", Query: map[string]string{"person": e.PersonID}, TokenPurpose: person.TokenVerifyEmail, TokenSubject: e.PersonID}})
}

func (Notifier) personProfileChanged(ctx context.Context, tx Tx, rec event.Record, e person.ProfileChanged) error {
	return tx.Exec(ctx, `UPDATE notify_persons SET first_name = ?, last_name = ? WHERE person_id = ?`, e.FirstName, e.LastName, personID(rec))
}

func (n Notifier) passwordResetRequested(ctx context.Context, tx Tx, rec event.Record, e person.PasswordResetRequested) error {
	pid := personID(rec)
	p, err := n.person(ctx, tx, pid)
	if err != nil || p.email == "" {
		return err
	}
	return n.send(ctx, tx, rec, Mail{To: p.email, Language: "en", Template: TemplatePasswordReset, Data: map[string]string{"first_name": p.first},
		Link: &Link{Path: "/reset-password", Query: map[string]string{"person": pid}, TokenPurpose: person.TokenPasswordReset, TokenSubject: e.ResetID}})
}

func (n Notifier) accountCreated(ctx context.Context, tx Tx, _ event.Record, e account.Created) error {
	if err := n.setMember(ctx, tx, e.AccountID, e.CreatorID, account.RoleAdmin); err != nil {
		return err
	}
	return tx.Exec(ctx, `INSERT INTO notify_accounts (account_id, company_name) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING`,
		e.AccountID, e.Company.Name)
}

func (Notifier) accountProfileChanged(ctx context.Context, tx Tx, rec event.Record, e account.ProfileChanged) error {
	return tx.Exec(ctx, `UPDATE notify_accounts SET company_name = ? WHERE account_id = ?`, e.Company.Name, accountID(rec))
}

func (Notifier) roleChanged(ctx context.Context, tx Tx, rec event.Record, e account.RoleChanged) error {
	return tx.Exec(ctx, `UPDATE notify_members SET role = ? WHERE account_id = ? AND person_id = ?`, e.Role.String(), accountID(rec), e.PersonID)
}

func (n Notifier) memberInvited(ctx context.Context, tx Tx, rec event.Record, e account.MemberInvited) error {
	acc := accountID(rec)
	if err := n.setLanguage(ctx, tx, "invitation/"+e.InvitationID, e.Language); err != nil {
		return err
	}
	inviter, err := n.person(ctx, tx, e.InvitedBy)
	if err != nil {
		return err
	}
	company, err := n.company(ctx, tx, acc)
	if err != nil {
		return err
	}
	return n.send(ctx, tx, rec, Mail{To: e.Email, Language: e.Language, Template: TemplateInvitation,
		Data: map[string]string{"company": company, "inviter": strings.TrimSpace(inviter.first + " " + inviter.last)},
		Link: &Link{Path: "/invitations/accept", Query: map[string]string{"account": acc, "invitation": e.InvitationID},
			TokenPurpose: account.TokenInvitation, TokenSubject: e.InvitationID}})
}

func (n Notifier) memberJoined(ctx context.Context, tx Tx, rec event.Record, e account.MemberJoined) error {
	acc := accountID(rec)
	if err := n.setMember(ctx, tx, acc, e.PersonID, account.RoleMember); err != nil {
		return err
	}
	if e.InvitationID == "" {
		return nil
	}
	lang, err := n.language(ctx, tx, "invitation/"+e.InvitationID)
	if err != nil {
		return err
	}
	return n.setLanguage(ctx, tx, "member/"+acc+"/"+e.PersonID, lang)
}

func (n Notifier) memberBlocked(ctx context.Context, tx Tx, rec event.Record, e account.MemberBlocked) error {
	acc := accountID(rec)
	if err := tx.Exec(ctx, `UPDATE notify_members SET blocked = 1 WHERE account_id = ? AND person_id = ?`, acc, e.PersonID); err != nil {
		return err
	}
	return n.tellMember(ctx, tx, rec, acc, e.PersonID, TemplateMemberBlocked)
}

func (n Notifier) memberUnblocked(ctx context.Context, tx Tx, rec event.Record, e account.MemberUnblocked) error {
	acc := accountID(rec)
	if err := tx.Exec(ctx, `UPDATE notify_members SET blocked = 0 WHERE account_id = ? AND person_id = ?`, acc, e.PersonID); err != nil {
		return err
	}
	return n.tellMember(ctx, tx, rec, acc, e.PersonID, TemplateMemberUnblocked)
}

func (n Notifier) memberRemoved(ctx context.Context, tx Tx, rec event.Record, e account.MemberRemoved) error {
	acc := accountID(rec)
	if err := tx.Exec(ctx, `DELETE FROM notify_members WHERE account_id = ? AND person_id = ?`, acc, e.PersonID); err != nil {
		return err
	}
	return n.tellMember(ctx, tx, rec, acc, e.PersonID, TemplateMemberRemoved)
}

func (Notifier) memberLeft(ctx context.Context, tx Tx, rec event.Record, e account.MemberLeft) error {
	return tx.Exec(ctx, `DELETE FROM notify_members WHERE account_id = ? AND person_id = ?`, accountID(rec), e.PersonID)
}

// tellMember mails a member about their membership, in the language they
// were invited in (rule MEM-8).
func (n Notifier) tellMember(ctx context.Context, tx Tx, rec event.Record, acc, pid, template string) error {
	p, err := n.person(ctx, tx, pid)
	if err != nil || p.email == "" {
		return err // nobody to tell
	}
	company, err := n.company(ctx, tx, acc)
	if err != nil {
		return err
	}
	lang, err := n.language(ctx, tx, "member/"+acc+"/"+pid)
	if err != nil {
		return err
	}
	return n.send(ctx, tx, rec, Mail{To: p.email, Language: lang, Template: template,
		Data: map[string]string{"first_name": p.first, "company": company}, Link: &Link{Path: "/"}})
}

// setMember records a membership, so that mail meant for an account's
// admins finds them.
func (Notifier) setMember(ctx context.Context, tx Tx, acc, pid string, role account.Role) error {
	return tx.Exec(ctx, `INSERT INTO notify_members (account_id, person_id, role, blocked) VALUES (?, ?, ?, 0)
		ON CONFLICT (account_id, person_id) DO UPDATE SET role = excluded.role, blocked = 0`, acc, pid, role.String())
}

func (Notifier) productDefined(ctx context.Context, tx Tx, _ event.Record, e product.Defined) error {
	return tx.Exec(ctx, `INSERT INTO notify_products (product_id, name) VALUES (?, ?)
		ON CONFLICT (product_id) DO UPDATE SET name = excluded.name`, e.ProductID, e.Name)
}

func (Notifier) purchased(ctx context.Context, tx Tx, rec event.Record, e subscription.Purchased) error {
	return tx.Exec(ctx, `INSERT INTO notify_subscriptions (subscription_id, account_id, name, product_id, channel) VALUES (?, '', '', ?, ?)
		ON CONFLICT (subscription_id) DO NOTHING`, subscriptionID(rec), e.ProductID, string(e.Channel))
}

func (Notifier) registered(ctx context.Context, tx Tx, rec event.Record, e subscription.Registered) error {
	return tx.Exec(ctx, `UPDATE notify_subscriptions SET account_id = ? WHERE subscription_id = ?`, e.AccountID, subscriptionID(rec))
}

func (Notifier) renamed(ctx context.Context, tx Tx, rec event.Record, e subscription.Renamed) error {
	return tx.Exec(ctx, `UPDATE notify_subscriptions SET name = ? WHERE subscription_id = ?`, e.Name, subscriptionID(rec))
}

// expiryReminded mails the account's admins that an end is coming in 30
// or 3 days (rule SUB-6), each in the language they were invited in.
func (n Notifier) expiryReminded(ctx context.Context, tx Tx, rec event.Record, e subscription.ExpiryReminded) error {
	return n.tellAdmins(ctx, tx, rec, subscriptionID(rec), TemplateSubscriptionEnding, map[string]string{
		"end": e.End.UTC().Format(time.DateOnly), "days_left": strconv.Itoa(e.DaysLeft), "key": e.KeyName, "auto_renew": yesNo(e.AutoRenew)})
}

// subscriptionGraceStarted mails the account's admins that the grace
// period runs (SUB-6).
func (n Notifier) subscriptionGraceStarted(ctx context.Context, tx Tx, rec event.Record, e subscription.GraceStarted) error {
	return n.tellAdmins(ctx, tx, rec, subscriptionID(rec), TemplateSubscriptionGrace, map[string]string{
		"end": e.End.UTC().Format(time.DateOnly), "grace_end": e.End.Add(subscription.GracePeriod).UTC().Format(time.DateOnly)})
}

// sublicenseGraceStarted: KEY-3, a sublicense lapses like a subscription,
// and says so.
func (n Notifier) sublicenseGraceStarted(ctx context.Context, tx Tx, rec event.Record, e subscription.SublicenseGraceStarted) error {
	return n.tellAdmins(ctx, tx, rec, subscriptionID(rec), TemplateSubscriptionGrace, map[string]string{"key": e.KeyName,
		"end": e.ExpiresAt.UTC().Format(time.DateOnly), "grace_end": e.ExpiresAt.Add(subscription.GracePeriod).UTC().Format(time.DateOnly)})
}

// tellAdmins mails every unblocked admin of the account subscription sub
// is registered to, one message each (the timer ID names event and admin).
func (n Notifier) tellAdmins(ctx context.Context, tx Tx, rec event.Record, sub, template string, data map[string]string) error {
	var acc, name, productID, channel string
	err := tx.QueryRow(ctx, `SELECT account_id, name, product_id, channel FROM notify_subscriptions WHERE subscription_id = ?`, sub).
		Scan(&acc, &name, &productID, &channel)
	if errors.Is(err, sql.ErrNoRows) || err == nil && acc == "" {
		return nil // not registered: nobody to tell
	}
	if err != nil {
		return err
	}
	if name == "" {
		if name, err = n.productName(ctx, tx, productID); err != nil {
			return err
		}
	}
	d := map[string]string{"subscription": name, "channel": channel}
	maps.Copy(d, data)
	return n.mailAdmins(ctx, tx, rec, acc, template, d, &Link{Path: "/subscriptions/" + sub})
}

// mailAdmins mails template to every unblocked admin of account acc, one
// message each (the timer ID names event and admin), in the language the
// admin was invited in, with data, the admin's first name and the
// company's name.
func (n Notifier) mailAdmins(ctx context.Context, tx Tx, rec event.Record, acc, template string, data map[string]string, link *Link) error {
	company, err := n.company(ctx, tx, acc)
	if err != nil {
		return err
	}
	admins, err := n.admins(ctx, tx, acc)
	if err != nil {
		return err
	}
	for _, pid := range admins {
		p, err := n.person(ctx, tx, pid)
		if err != nil {
			return err
		}
		if p.email == "" {
			continue
		}
		lang, err := n.language(ctx, tx, "member/"+acc+"/"+pid)
		if err != nil {
			return err
		}
		d := map[string]string{"first_name": p.first, "company": company}
		maps.Copy(d, data)
		m := Mail{To: p.email, Language: lang, Template: template, Data: d, Link: link}
		if err := scheduleMail(ctx, tx, n.Scheduler, rec.ID+"/"+pid, rec.Effective(), m); err != nil {
			return err
		}
	}
	return nil
}

// admins returns the unblocked admins of account acc, in a stable order.
func (Notifier) admins(ctx context.Context, tx Tx, acc string) ([]string, error) {
	// Tx has no multi-row query: walk the admins in person-ID order.
	var out []string
	after := ""
	for {
		var pid string
		err := tx.QueryRow(ctx, `SELECT person_id FROM notify_members WHERE account_id = ? AND role = ? AND blocked = 0 AND person_id > ?
			ORDER BY person_id LIMIT 1`, acc, account.RoleAdmin.String(), after).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out, after = append(out, pid), pid
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

type notifyPerson struct{ email, first, last string }

func (Notifier) person(ctx context.Context, tx Tx, pid string) (notifyPerson, error) {
	var p notifyPerson
	err := tx.QueryRow(ctx, `SELECT email, first_name, last_name FROM notify_persons WHERE person_id = ?`, pid).Scan(&p.email, &p.first, &p.last)
	if errors.Is(err, sql.ErrNoRows) {
		return notifyPerson{}, nil
	}
	return p, err
}

// productName returns a product's name, or "" for one not in the catalog.
func (Notifier) productName(ctx context.Context, tx Tx, productID string) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT name FROM notify_products WHERE product_id = ?`, productID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}

func (Notifier) company(ctx context.Context, tx Tx, acc string) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT company_name FROM notify_accounts WHERE account_id = ?`, acc).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}

func (Notifier) language(ctx context.Context, tx Tx, key string) (string, error) {
	lang := "en"
	err := tx.QueryRow(ctx, `SELECT language FROM notify_languages WHERE key = ?`, key).Scan(&lang)
	if errors.Is(err, sql.ErrNoRows) {
		return "en", nil
	}
	return lang, err
}

func (Notifier) setLanguage(ctx context.Context, tx Tx, key, lang string) error {
	return tx.Exec(ctx, `INSERT INTO notify_languages (key, language) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET language = excluded.language`, key, lang)
}

// maxReplyExcerpt bounds the reply text a ticket mail quotes, in characters.
const maxReplyExcerpt = 2_000

// The ticket handlers mail a ticket's owner and watchers — them only
// (rule TKT-3) — when support replies or changes the status, and when a
// watcher is added (the new watcher too). Each recipient gets their own
// message, in the language they were invited in; the timer ID names the
// event and the recipient.

func (Notifier) ticketOpened(ctx context.Context, tx Tx, rec event.Record, e ticket.Opened) error {
	return tx.Exec(ctx, `INSERT INTO notify_tickets (ticket_id, account_id, owner, product_id, subject, status) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (ticket_id) DO NOTHING`, ticketID(rec), e.AccountID, e.Owner, e.ProductID, e.Subject, ticket.StatusOpen.String())
}

func (n Notifier) ticketReplied(ctx context.Context, tx Tx, rec event.Record, e ticket.Replied) error {
	if !e.FromSupport {
		return nil // the customer's own replies are not mailed back to them
	}
	// The mail names the support person who answered, as the ticket's
	// page does (issue 23): the reply's author is "support:<their name>".
	return n.tellTicket(ctx, tx, rec, ticketID(rec), TemplateTicketUpdate, "", "", map[string]string{
		"kind": "reply", "reply": ticketExcerpt(e.Body, maxReplyExcerpt), "attachments": strconv.Itoa(len(e.Attachments)),
		"agent": strings.TrimPrefix(e.Author, ticket.SupportAuthor(""))})
}

func (n Notifier) ticketStatusChanged(ctx context.Context, tx Tx, rec event.Record, e ticket.StatusChanged) error {
	id := ticketID(rec)
	if err := n.setTicketStatus(ctx, tx, id, e.Status); err != nil {
		return err
	}
	if !ticket.IsSupport(e.By) {
		return nil // a member's reply reopened it: they know
	}
	return n.tellTicket(ctx, tx, rec, id, TemplateTicketUpdate, "", "", map[string]string{"kind": "status"})
}

func (n Notifier) ticketClosed(ctx context.Context, tx Tx, rec event.Record, _ ticket.Closed) error {
	return n.setTicketStatus(ctx, tx, ticketID(rec), ticket.StatusClosed)
}

func (n Notifier) ticketReopened(ctx context.Context, tx Tx, rec event.Record, _ ticket.Reopened) error {
	return n.setTicketStatus(ctx, tx, ticketID(rec), ticket.StatusOpen)
}

func (n Notifier) watcherAdded(ctx context.Context, tx Tx, rec event.Record, e ticket.WatcherAdded) error {
	id := ticketID(rec)
	if err := tx.Exec(ctx, `INSERT INTO notify_ticket_watchers (ticket_id, person_id) VALUES (?, ?)
		ON CONFLICT (ticket_id, person_id) DO NOTHING`, id, e.PersonID); err != nil {
		return err
	}
	w, err := n.person(ctx, tx, e.PersonID)
	if err != nil {
		return err
	}
	// The owner who added the watcher is not told of their own action:
	// one action, one mail (to the new watcher), plus the other watchers.
	return n.tellTicket(ctx, tx, rec, id, TemplateTicketWatcher, e.PersonID, e.By, map[string]string{
		"watcher": strings.TrimSpace(w.first + " " + w.last)})
}

func (Notifier) watcherRemoved(ctx context.Context, tx Tx, rec event.Record, e ticket.WatcherRemoved) error {
	return tx.Exec(ctx, `DELETE FROM notify_ticket_watchers WHERE ticket_id = ? AND person_id = ?`, ticketID(rec), e.PersonID)
}

func (Notifier) setTicketStatus(ctx context.Context, tx Tx, id string, s ticket.Status) error {
	return tx.Exec(ctx, `UPDATE notify_tickets SET status = ? WHERE ticket_id = ?`, s.String(), id)
}

// tellTicket mails template to ticket id's owner and watchers (rule
// TKT-3). newWatcher, if set, is the watcher the event added: their copy
// says so. Nobody who has lost access is told: the owner must still be an
// unblocked member of the account (or own the personal account), a
// watcher still an unblocked admin. actor, if set, is the person whose
// action it was: they are not told of it.
func (n Notifier) tellTicket(ctx context.Context, tx Tx, rec event.Record, id, template, newWatcher, actor string, data map[string]string) error {
	var acc, owner, productID, subject, status string
	err := tx.QueryRow(ctx, `SELECT account_id, owner, product_id, subject, status FROM notify_tickets WHERE ticket_id = ?`, id).
		Scan(&acc, &owner, &productID, &subject, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	productName, err := n.productName(ctx, tx, productID)
	if err != nil {
		return err
	}
	company, err := n.company(ctx, tx, acc)
	if err != nil {
		return err
	}
	watchers, err := n.ticketWatchers(ctx, tx, id)
	if err != nil {
		return err
	}
	for _, pid := range append([]string{owner}, watchers...) {
		if pid == actor {
			continue
		}
		ok, err := n.mayHear(ctx, tx, acc, pid, pid == owner)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		p, err := n.person(ctx, tx, pid)
		if err != nil {
			return err
		}
		if p.email == "" {
			continue
		}
		lang, err := n.language(ctx, tx, "member/"+acc+"/"+pid)
		if err != nil {
			return err
		}
		d := map[string]string{"first_name": p.first, "company": company, "ticket_id": id, "subject": subject,
			"status": status, "product": productName}
		maps.Copy(d, data)
		if pid == newWatcher {
			d["you_watch"] = "yes"
		}
		m := Mail{To: p.email, Language: lang, Template: template, Data: d, Link: &Link{Path: "/tickets/" + id}}
		if err := scheduleMail(ctx, tx, n.Scheduler, rec.ID+"/"+pid, rec.Effective(), m); err != nil {
			return err
		}
	}
	return nil
}

// mayHear reports whether pid may still be told about the account's
// ticket: the owner while an unblocked member (or the owner of the
// personal account), a watcher while an unblocked admin (TKT-3, MEM-8).
func (Notifier) mayHear(ctx context.Context, tx Tx, acc, pid string, owner bool) (bool, error) {
	if personal, ok := account.PersonalOwner(acc); ok {
		return owner && personal == pid, nil
	}
	var role string
	var blocked int
	err := tx.QueryRow(ctx, `SELECT role, blocked FROM notify_members WHERE account_id = ? AND person_id = ?`, acc, pid).Scan(&role, &blocked)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return blocked == 0 && (owner || role == account.RoleAdmin.String()), nil
}

// ticketWatchers returns the watchers of ticket id, in person-ID order.
func (Notifier) ticketWatchers(ctx context.Context, tx Tx, id string) ([]string, error) {
	var out []string
	after := ""
	for {
		var pid string
		err := tx.QueryRow(ctx, `SELECT person_id FROM notify_ticket_watchers WHERE ticket_id = ? AND person_id > ?
			ORDER BY person_id LIMIT 1`, id, after).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out, after = append(out, pid), pid
	}
}

// ticketExcerpt returns the first max characters of s, marked "…" when cut.
func ticketExcerpt(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}

// The installation handlers mail the account's admins about overuse of
// its installations: a farm's 7-day grace starting (rule USE-3) and its
// deactivation for overuse (USE-4), and a proxy server over its license
// limit, when it starts and at every hourly alert after (USE-6). The
// notifier learns each installation's account and name from its
// activation.

func (Notifier) installationActivated(ctx context.Context, tx Tx, rec event.Record, e installation.Activated) error {
	idy := e.Identity
	return tx.Exec(ctx, `INSERT INTO notify_installations (installation_id, account_id, kind, product_id, server_id, farm_name, server_name, site_code)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (installation_id) DO UPDATE SET account_id = excluded.account_id, kind = excluded.kind, product_id = excluded.product_id,
			server_id = excluded.server_id, farm_name = excluded.farm_name, server_name = excluded.server_name, site_code = excluded.site_code`,
		installationID(rec), e.AccountID, string(idy.Kind), e.ProductID, idy.ServerID, idy.FarmName, idy.ServerName, idy.SiteCode)
}

func (n Notifier) installationGraceStarted(ctx context.Context, tx Tx, rec event.Record, e installation.GraceStarted) error {
	return n.tellInstallation(ctx, tx, rec, installationID(rec), "", TemplateInstallationGrace, map[string]string{
		"seats": strconv.Itoa(e.Seats), "quota": strconv.Itoa(e.Quota), "grace_end": e.Ends.UTC().Format(mailTime)})
}

func (n Notifier) installationSuspended(ctx context.Context, tx Tx, rec event.Record, e installation.Suspended) error {
	return n.tellInstallation(ctx, tx, rec, installationID(rec), "", TemplateInstallationSuspended, map[string]string{
		"seats": strconv.Itoa(e.Seats), "quota": strconv.Itoa(e.Quota)})
}

func (n Notifier) overLimitStarted(ctx context.Context, tx Tx, rec event.Record, e installation.OverLimitStarted) error {
	return n.tellInstallation(ctx, tx, rec, installationID(rec), e.AccountID, TemplateInstallationOverLimit, map[string]string{
		"computers": strconv.Itoa(e.Computers), "quota": strconv.Itoa(e.Quota), "alert": "0"})
}

func (n Notifier) overLimitAlerted(ctx context.Context, tx Tx, rec event.Record, e installation.OverLimitAlerted) error {
	return n.tellInstallation(ctx, tx, rec, installationID(rec), e.AccountID, TemplateInstallationOverLimit, map[string]string{
		"computers": strconv.Itoa(e.Computers), "quota": strconv.Itoa(e.Quota), "alert": strconv.Itoa(e.Alert)})
}

// mailTime is how mail words a moment: in UTC, to the minute.
const mailTime = "2006-01-02 15:04 UTC"

// tellInstallation mails template about installation id to the unblocked
// admins of its account — acc when the event names it, else the one it
// was activated for — with the installation's names in data. A trial
// belongs to no account: nobody is told.
func (n Notifier) tellInstallation(ctx context.Context, tx Tx, rec event.Record, id, acc, template string, data map[string]string) error {
	var known, kind, productID, serverID, farmName, serverName, siteCode string
	err := tx.QueryRow(ctx, `SELECT account_id, kind, product_id, server_id, farm_name, server_name, site_code FROM notify_installations
		WHERE installation_id = ?`, id).Scan(&known, &kind, &productID, &serverID, &farmName, &serverName, &siteCode)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if acc == "" {
		acc = known
	}
	if acc == "" {
		return nil
	}
	productName, err := n.productName(ctx, tx, productID)
	if err != nil {
		return err
	}
	d := map[string]string{"kind": kind, "product": productName, "server_id": serverID, "farm_name": farmName,
		"server_name": serverName, "site_code": siteCode}
	maps.Copy(d, data)
	return n.mailAdmins(ctx, tx, rec, acc, template, d, &Link{Path: "/installations/" + id})
}

// webhookDisabled mails the account's admins when the delivery worker
// disabled an endpoint that failed for days (issue 22); an admin's own
// disable is not told.
func (n Notifier) webhookDisabled(ctx context.Context, tx Tx, rec event.Record, e webhook.Disabled) error {
	if e.Reason != webhook.ReasonFailing {
		return nil
	}
	data := map[string]string{"url": e.URL, "last_error": ticketExcerpt(e.LastError, 200)}
	if !e.FailingSince.IsZero() {
		data["failing_since"] = e.FailingSince.UTC().Format(mailTime)
	}
	return n.mailAdmins(ctx, tx, rec, strings.TrimPrefix(rec.StreamID, "webhooks-"), TemplateWebhookDisabled, data, nil)
}
