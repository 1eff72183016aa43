package projections

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/person"
)

// Notifier decides which events are told by mail and puts each message in
// the outbox — a mail timer (TimerKindMail) scheduled in the same
// transaction as its checkpoint, so a message exists if and only if the
// event was processed, and a replay never mails twice (the timer's ID is
// the event's). infra/mail sends them. It keeps what it needs to address
// and word the mail: people's names and addresses, company names, and the
// language each member was invited in (rules MEM-1, MEM-4, MEM-8).
type Notifier struct {
	Scheduler Scheduler
}

var _ Projection = Notifier{}

// Name implements Projection.
func (Notifier) Name() string { return "notifier" }

// Tables implements Projection. The outbox (the timers table) is not
// among them: a rebuild must not forget what was sent.
func (Notifier) Tables() []string {
	return []string{"notify_persons", "notify_accounts", "notify_languages"}
}

// Apply implements Projection.
func (n Notifier) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	return applyPeople(n.Name(), rec, func(payload any, acc, pid string) error { return n.apply(ctx, tx, rec, payload, acc, pid) })
}

func (n Notifier) apply(ctx context.Context, tx Tx, rec event.Record, payload any, acc, pid string) error {
	send := func(m Mail) error { return scheduleMail(ctx, tx, n.Scheduler, rec.ID, rec.RecordedAt, m) }
	switch e := payload.(type) {
	case person.SignedUp:
		if err := tx.Exec(ctx, `INSERT INTO notify_persons (person_id, email, first_name, last_name) VALUES (?, ?, ?, ?)
			ON CONFLICT (person_id) DO NOTHING`, e.PersonID, e.Email, e.FirstName, e.LastName); err != nil {
			return err
		}
		if e.VerifiedByInvitation != "" {
			return nil // the invitation link proved the address
		}
		return send(Mail{To: e.Email, Language: "en", Template: TemplateVerifyEmail, Data: map[string]string{"first_name": e.FirstName},
			Link: &Link{Path: "/verify-email", Query: map[string]string{"person": e.PersonID}, TokenPurpose: person.TokenVerifyEmail, TokenSubject: e.PersonID}})
	case person.ProfileChanged:
		return tx.Exec(ctx, `UPDATE notify_persons SET first_name = ?, last_name = ? WHERE person_id = ?`, e.FirstName, e.LastName, pid)
	case person.PasswordResetRequested:
		p, err := n.person(ctx, tx, pid)
		if err != nil || p.email == "" {
			return err
		}
		return send(Mail{To: p.email, Language: "en", Template: TemplatePasswordReset, Data: map[string]string{"first_name": p.first},
			Link: &Link{Path: "/reset-password", Query: map[string]string{"person": pid}, TokenPurpose: person.TokenPasswordReset, TokenSubject: e.ResetID}})
	case account.Created:
		return tx.Exec(ctx, `INSERT INTO notify_accounts (account_id, company_name) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING`,
			e.AccountID, e.Company.Name)
	case account.ProfileChanged:
		return tx.Exec(ctx, `UPDATE notify_accounts SET company_name = ? WHERE account_id = ?`, e.Company.Name, acc)
	case account.MemberInvited:
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
		return send(Mail{To: e.Email, Language: e.Language, Template: TemplateInvitation,
			Data: map[string]string{"company": company, "inviter": strings.TrimSpace(inviter.first + " " + inviter.last)},
			Link: &Link{Path: "/invitations/accept", Query: map[string]string{"account": acc, "invitation": e.InvitationID},
				TokenPurpose: account.TokenInvitation, TokenSubject: e.InvitationID}})
	case account.MemberJoined:
		if e.InvitationID == "" {
			return nil
		}
		lang, err := n.language(ctx, tx, "invitation/"+e.InvitationID)
		if err != nil {
			return err
		}
		return n.setLanguage(ctx, tx, "member/"+acc+"/"+e.PersonID, lang)
	case account.MemberBlocked:
		return n.tellMember(ctx, tx, send, acc, e.PersonID, TemplateMemberBlocked)
	case account.MemberUnblocked:
		return n.tellMember(ctx, tx, send, acc, e.PersonID, TemplateMemberUnblocked)
	case account.MemberRemoved:
		return n.tellMember(ctx, tx, send, acc, e.PersonID, TemplateMemberRemoved)
	}
	return nil
}

// tellMember mails a member about their membership, in the language they
// were invited in (rule MEM-8).
func (n Notifier) tellMember(ctx context.Context, tx Tx, send func(Mail) error, acc, pid, template string) error {
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
	return send(Mail{To: p.email, Language: lang, Template: template,
		Data: map[string]string{"first_name": p.first, "company": company}, Link: &Link{Path: "/"}})
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
