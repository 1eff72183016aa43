package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/invalid"
	"seatledger/domain/subscription"
)

// RegisterKey attaches the subscription of a key to a business account
// (rules KEY-2, SUB-7): to AccountID, where the person is an admin, or,
// for a person who has no business account yet, to a new one made from
// Company with the person as its admin.
type RegisterKey struct {
	Key       string
	AccountID string
	Company   *account.Company
}

// KeyRegistered is what RegisterKey returns.
type KeyRegistered struct {
	event.AppendResult
	SubscriptionID string
	AccountID      string
	// AccountCreated is set when the business account was created for it.
	AccountCreated bool
}

// KeyAlreadyYoursError is RegisterKey's refusal of a key that is
// registered to another business account of which the person is an
// active member: their own account is named, so that they can open the
// subscription there, where a stranger's account is never described
// (subscription.ErrRegistered alone). It matches subscription.ErrRegistered.
type KeyAlreadyYoursError struct {
	AccountID, CompanyName, SubscriptionID string
}

func (e *KeyAlreadyYoursError) Error() string {
	return fmt.Sprintf("subscription: the key is already registered to your business account %s", e.CompanyName)
}

// Unwrap makes the error match subscription.ErrRegistered.
func (e *KeyAlreadyYoursError) Unwrap() error { return subscription.ErrRegistered }

// RegisterKey runs the use case. A key registered to another account is
// refused before any account is created for it.
func (h *SubscriptionsHandler) RegisterKey(ctx context.Context, meta Meta, cmd RegisterKey) (KeyRegistered, error) {
	if meta.Actor.Kind != event.ActorPerson {
		return KeyRegistered{}, fmt.Errorf("%w: a key is registered by a person", account.ErrForbidden)
	}
	if _, personal := account.PersonalOwner(cmd.AccountID); personal {
		return KeyRegistered{}, fmt.Errorf("%w: keys are registered to business accounts, not personal ones", subscription.ErrInvalid)
	}
	// The key first: a portal sends the key alone to learn whether it is
	// good before it asks for the details of a new business account.
	s, _, err := h.LookUpKey(ctx, cmd.Key)
	if err != nil {
		return KeyRegistered{}, err
	}
	if s.AccountID() != "" && s.AccountID() != cmd.AccountID {
		return KeyRegistered{}, h.registeredElsewhere(ctx, meta.Actor, s)
	}
	if (cmd.AccountID == "") == (cmd.Company == nil) {
		return KeyRegistered{}, invalid.New(subscription.ErrInvalid, "company",
			"give either the business account to register to (account_id) or the company details of a new one (company)")
	}
	out := KeyRegistered{SubscriptionID: s.ID(), AccountID: cmd.AccountID}
	if cmd.Company != nil {
		out.AccountID = uuid.NewString()
		if meta.IdempotencyKey != "" { // a retry creates the same account
			out.AccountID = uuid.NewSHA1(subscriptionIDs, []byte("register/"+meta.Actor.ID+"/"+meta.IdempotencyKey)).String()
		}
		if _, err := h.accounts.CreateBusinessAccount(ctx, Meta{Actor: meta.Actor, CorrelationID: meta.CorrelationID, IdempotencyKey: meta.IdempotencyKey},
			CreateBusinessAccount{AccountID: out.AccountID, Company: *cmd.Company}); err != nil {
			return KeyRegistered{}, err
		}
		out.AccountCreated = true
	}
	out.AppendResult, err = update(ctx, h.loader, h.loader.subscriptions, s.ID(), "RegisterKey", meta, func(s subscription.Subscription, _ time.Time) ([]any, error) {
		a, err := h.loader.account(ctx, out.AccountID)
		if err != nil {
			return nil, err
		}
		if err := a.Authorize(meta.Actor, account.ActionManage); err != nil {
			return nil, err
		}
		return s.RegisterTo(out.AccountID, meta.Actor.ID)
	})
	return out, err
}

// registeredElsewhere is the refusal of s's key by actor, who asked for
// another account than s's (KEY-2): a KeyAlreadyYoursError when actor may
// view s's account, else subscription.ErrRegistered, which says nothing
// of the account. Membership is decided from the account's events, so a
// person just blocked there is a stranger at once (MEM-8).
func (h *SubscriptionsHandler) registeredElsewhere(ctx context.Context, actor event.Actor, s subscription.Subscription) error {
	a, err := h.loader.account(ctx, s.AccountID())
	if err != nil {
		return fmt.Errorf("commands: the account of subscription %s: %w", s.ID(), err)
	}
	if a.Authorize(actor, account.ActionView) != nil {
		return subscription.ErrRegistered
	}
	return &KeyAlreadyYoursError{AccountID: a.ID(), CompanyName: a.Company().Name, SubscriptionID: s.ID()}
}

// RenameSubscription sets the display name (SUB-5).
func (h *SubscriptionsHandler) RenameSubscription(ctx context.Context, meta Meta, id, name string) (event.AppendResult, error) {
	return h.updateSubscription(ctx, "RenameSubscription", id, meta, subscription.ActionManage, "",
		func(s subscription.Subscription, _ time.Time) ([]any, error) { return s.Rename(name, meta.Actor.ID) })
}

// SetAutoRenew turns auto-renewal on or off (SUB-2).
func (h *SubscriptionsHandler) SetAutoRenew(ctx context.Context, meta Meta, id string, on bool) (event.AppendResult, error) {
	return h.updateSubscription(ctx, "SetAutoRenew", id, meta, subscription.ActionManage, "",
		func(s subscription.Subscription, _ time.Time) ([]any, error) {
			return s.SetAutoRenew(on, meta.Actor.ID)
		})
}

// SetKeyAdministrator grants (on) or revokes a member's management of one
// key (MEM-6). Only members of the account can be granted it.
func (h *SubscriptionsHandler) SetKeyAdministrator(ctx context.Context, meta Meta, id, keyID, personID string, on bool) (event.AppendResult, error) {
	return h.updateSubscription(ctx, "SetKeyAdministrator", id, meta, subscription.ActionManage, "",
		func(s subscription.Subscription, _ time.Time) ([]any, error) {
			if !on {
				return s.RevokeAdministrator(keyID, personID, meta.Actor.ID)
			}
			a, err := h.loader.account(ctx, s.AccountID())
			if err != nil {
				return nil, err
			}
			if _, ok := a.Member(personID); !ok {
				return nil, account.ErrNotMember
			}
			return s.GrantAdministrator(keyID, personID, meta.Actor.ID)
		})
}

// SublicenseCreated is what CreateSublicense returns: the new key, in full.
type SublicenseCreated struct {
	event.AppendResult
	KeyID string
	Key   string
}

// CreateSublicense creates a sublicense (rules KEY-3, KEY-4): the
// account's admins and the primary key's license administrators may.
// Its seats come from the primary key, decided under the subscription's
// exact version, so concurrent creations never reserve more than there is.
func (h *SubscriptionsHandler) CreateSublicense(ctx context.Context, meta Meta, id string, req subscription.Sublicense) (SublicenseCreated, error) {
	// Check what can be checked before a key is issued for a request that
	// is bound to fail; the decision under the exact version checks again.
	s, err := h.loader.subscription(ctx, id)
	if err != nil {
		return SublicenseCreated{}, err
	}
	if err := h.loader.authorizeSubscription(ctx, meta.Actor, s, subscription.ActionManageKey, s.PrimaryKey().ID); err != nil {
		return SublicenseCreated{}, err
	}
	if _, err := s.CreateSublicense(placeholderKey, req, meta.Actor.ID, h.loader.clock.Now()); err != nil {
		return SublicenseCreated{}, err
	}
	key, sealed, err := issueKey(ctx, h.loader, h.keys, meta, "CreateSublicense", id)
	if err != nil {
		return SublicenseCreated{}, err
	}
	res, err := update(ctx, h.loader, h.loader.subscriptions, id, "CreateSublicense", meta, func(s subscription.Subscription, now time.Time) ([]any, error) {
		if err := h.loader.authorizeSubscription(ctx, meta.Actor, s, subscription.ActionManageKey, s.PrimaryKey().ID); err != nil {
			return nil, err
		}
		return s.CreateSublicense(sealed, req, meta.Actor.ID, now)
	})
	if err != nil {
		return SublicenseCreated{}, err
	}
	return SublicenseCreated{AppendResult: res, KeyID: sealed.KeyID, Key: key}, nil
}

// ChangeSublicense is a change of a sublicense: any of its name, quota
// and expiry (KEY-5). Nil fields stay as they are; ClearExpiry makes it
// renew with the subscription again.
type ChangeSublicense struct {
	Name        *string
	Quota       *int
	ExpiresAt   *time.Time
	ClearExpiry bool
}

// ChangeSublicense runs the use case: the account's admins and the key's
// license administrators may.
func (h *SubscriptionsHandler) ChangeSublicense(ctx context.Context, meta Meta, id, keyID string, c ChangeSublicense) (event.AppendResult, error) {
	return h.updateSubscription(ctx, "ChangeSublicense", id, meta, subscription.ActionManageKey, keyID,
		func(s subscription.Subscription, now time.Time) ([]any, error) {
			k, ok := s.Key(keyID)
			if !ok || k.Type != subscription.Reserved {
				return nil, subscription.ErrNoKey
			}
			var out []any
			if c.Name != nil && *c.Name != k.Name {
				evs, err := s.RenameSublicense(keyID, *c.Name, meta.Actor.ID)
				if err != nil {
					return nil, err
				}
				out = append(out, evs...)
			}
			quota, expires := k.Quota, k.ExpiresAt
			if c.Quota != nil {
				quota = *c.Quota
			}
			switch {
			case c.ClearExpiry:
				expires = nil
			case c.ExpiresAt != nil:
				expires = c.ExpiresAt
			}
			used, err := h.loader.seatsUsed(ctx, keyID)
			if err != nil {
				return nil, err
			}
			evs, err := s.ChangeSublicense(keyID, quota, used, expires, meta.Actor.ID, now)
			if err != nil && (!errors.Is(err, subscription.ErrNoChange) || len(out) == 0) {
				return nil, err
			}
			return append(out, evs...), nil
		})
}

// DeleteSublicense deletes a sublicense; its seats return to the primary
// key (KEY-6).
func (h *SubscriptionsHandler) DeleteSublicense(ctx context.Context, meta Meta, id, keyID string) (event.AppendResult, error) {
	return h.updateSubscription(ctx, "DeleteSublicense", id, meta, subscription.ActionManageKey, keyID,
		func(s subscription.Subscription, _ time.Time) ([]any, error) {
			return s.DeleteSublicense(keyID, meta.Actor.ID)
		})
}
