package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"seatledger/domain/event"
	"seatledger/domain/feed"
	"seatledger/domain/installation"
	"seatledger/domain/subscription"
	"seatledger/domain/ticket"
)

// AccountFeed is the read model of every account's own events in their
// published form (domain/feed): the account event feed (issue 22). An
// event belongs to the account that owns its stream when it is recorded:
// the account's own stream and its MDM certificates; a subscription from
// its registration to the account on (subscription.registered is its
// first event in the feed: what happened before belongs to the vendor's
// order system, and the state at registration is the subscription's
// page); an installation activated with one of the subscription's keys
// (a key activates only once its subscription is registered; should one
// ever activate before, its events join the feed from the registration
// on); a ticket, from its opening. Trial installations, people, the catalog and
// the key streams belong to no account's feed.
//
// A row is keyed by its event's log position, so feed cursors are
// positions: stable across restarts and rebuilds, and growing only at the
// end, since the projection applies the log in order and commits its rows
// with its checkpoint. Every statement ignores a row already there, so
// applying an event twice leaves the rows as applying it once did.
type AccountFeed struct{}

var (
	_ Projection = AccountFeed{}
	_ Selective  = AccountFeed{}
)

// AccountFeedName is the projection's name, the read model the feed's
// reads wait for.
const AccountFeedName = "account_feed"

// Name implements Projection.
func (AccountFeed) Name() string { return AccountFeedName }

// Tables implements Projection.
func (AccountFeed) Tables() []string { return []string{"feed_events", "feed_owners"} }

// EventTypes implements Selective: the published internal types.
func (AccountFeed) EventTypes() []string { return feed.InternalTypes() }

// Apply implements Projection.
func (f AccountFeed) Apply(ctx context.Context, tx Tx, rec event.Record) error {
	if !feed.Published(rec.Type) {
		return nil
	}
	payload, err := registry.Decode(rec)
	if err != nil {
		return fmt.Errorf("%s: %w", AccountFeedName, err)
	}
	subject, ok := feed.SubjectOf(rec.StreamID)
	if !ok {
		return nil
	}
	if err := f.own(ctx, tx, rec, payload); err != nil {
		return fmt.Errorf("%s: own %s: %w", AccountFeedName, rec.StreamID, err)
	}
	owner, err := f.owner(ctx, tx, rec.StreamID, subject)
	if err != nil || owner == "" {
		return err
	}
	name, data, _ := feed.Publish(rec.Type, payload)
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("%s: %s at position %d: %w", AccountFeedName, rec.Type, rec.Position, err)
	}
	return tx.Exec(ctx, `INSERT INTO feed_events (account_id, position, event_id, type, subject_kind, subject_id, occurred_at, recorded_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, position) DO NOTHING`,
		owner, int64(rec.Position), rec.ID, name, subject.Kind, subject.ID, rec.Effective().UnixMicro(), rec.RecordedAt.UnixMicro(), string(raw))
}

// own records who owns a stream from the event that tells it: a
// subscription's registration, an installation's activation with a key
// (its subscription), a ticket's opening.
func (AccountFeed) own(ctx context.Context, tx Tx, rec event.Record, payload any) error {
	var accountID, subscriptionID string
	switch e := payload.(type) {
	case subscription.Registered:
		accountID = e.AccountID
	case installation.Activated:
		subscriptionID = e.SubscriptionID
	case ticket.Opened:
		accountID = e.AccountID
	}
	if accountID == "" && subscriptionID == "" {
		return nil
	}
	return tx.Exec(ctx, `INSERT INTO feed_owners (stream_id, account_id, subscription_id) VALUES (?, ?, ?)
		ON CONFLICT (stream_id) DO NOTHING`, rec.StreamID, accountID, subscriptionID)
}

// owner returns the account whose feed an event of stream belongs to ("":
// none yet).
func (AccountFeed) owner(ctx context.Context, tx Tx, stream string, subject feed.Subject) (string, error) {
	if subject.Kind == "account" {
		return subject.ID, nil
	}
	var accountID, subscriptionID string
	err := tx.QueryRow(ctx, `SELECT account_id, subscription_id FROM feed_owners WHERE stream_id = ?`, stream).Scan(&accountID, &subscriptionID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil || accountID != "" || subscriptionID == "" {
		return accountID, err
	}
	err = tx.QueryRow(ctx, `SELECT account_id FROM feed_owners WHERE stream_id = ?`, subscription.StreamID(subscriptionID)).Scan(&accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return accountID, err
}
