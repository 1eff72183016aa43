package projections

import (
	"context"
	"encoding/json"
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
	_ Projection   = AccountFeed{}
	_ Selective    = AccountFeed{}
	_ BatchApplier = AccountFeed{}
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
	return f.ApplyBatch(ctx, tx, []event.Record{rec})
}

// ApplyBatch implements BatchApplier: the published events of a run are
// written by one multi-row statement, which finds each one's owner itself
// (so the projection only writes, and the appends can apply it inline on
// PostgreSQL too, where its statements join the commit's pipeline): the
// account of an account's own stream; else the stream's own account; else
// its subscription's (an installation); else none yet, and the event is
// in no feed. An event that tells a stream's owner first writes the rows
// gathered so far, so an event before it is not given the new owner.
func (f AccountFeed) ApplyBatch(ctx context.Context, tx Tx, records []event.Record) error {
	rows := feedRows.batch()
	for _, rec := range records {
		if !feed.Published(rec.Type) {
			continue
		}
		payload, err := registry.Decode(rec)
		if err != nil {
			return fmt.Errorf("%s: %w", AccountFeedName, err)
		}
		subject, ok := feed.SubjectOf(rec.StreamID)
		if !ok {
			continue
		}
		if owns(payload) {
			if err := rows.flush(ctx, tx); err != nil {
				return fmt.Errorf("%s: %w", AccountFeedName, err)
			}
			if err := f.own(ctx, tx, rec, payload); err != nil {
				return fmt.Errorf("%s: own %s: %w", AccountFeedName, rec.StreamID, err)
			}
		}
		name, data, _ := feed.Publish(rec.Type, payload)
		raw, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("%s: %s at position %d: %w", AccountFeedName, rec.Type, rec.Position, err)
		}
		direct := ""
		if subject.Kind == "account" {
			direct = subject.ID
		}
		rows.add(direct, rec.StreamID, int64(rec.Position), rec.ID, name, subject.Kind, subject.ID,
			rec.Effective().UnixMicro(), rec.RecordedAt.UnixMicro(), string(raw))
	}
	if err := rows.flush(ctx, tx); err != nil {
		return fmt.Errorf("%s: %w", AccountFeedName, err)
	}
	return nil
}

// feedRows writes published events, each to its owner's feed (see
// ApplyBatch).
var feedRows = newBatchStatement(func(values string) string {
	return `INSERT INTO feed_events (account_id, position, event_id, type, subject_kind, subject_id, occurred_at, recorded_at, data)
		SELECT owner, position, event_id, type, subject_kind, subject_id, occurred_at, recorded_at, data FROM (
			SELECT CASE WHEN v.column1 <> '' THEN v.column1 WHEN o.account_id <> '' THEN o.account_id ELSE COALESCE(s.account_id, '') END AS owner,
				v.column3 AS position, v.column4 AS event_id, v.column5 AS type, v.column6 AS subject_kind, v.column7 AS subject_id,
				v.column8 AS occurred_at, v.column9 AS recorded_at, v.column10 AS data
			FROM (VALUES ` + values + `) AS v
			LEFT JOIN feed_owners o ON o.stream_id = v.column2
			LEFT JOIN feed_owners s ON s.stream_id = ` + "'" + subscription.StreamID("") + "'" + ` || o.subscription_id
			WHERE v.column2 IS NOT NULL) AS published
		WHERE owner <> ''
		ON CONFLICT (account_id, position) DO NOTHING`
}, "TEXT", "TEXT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "TEXT")

// owns says whether payload tells its stream's owner (see own).
func owns(payload any) bool {
	switch payload.(type) {
	case subscription.Registered, installation.Activated, ticket.Opened:
		return true
	}
	return false
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
