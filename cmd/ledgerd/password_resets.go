package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/infra/clock"
	"seatledger/infra/httpapi"
	"seatledger/infra/projection"
	"seatledger/infra/sqldb"
	"seatledger/infra/timers"
)

// timerKindPasswordReset is the kind of the timers that carry
// forgotten-password requests.
const timerKindPasswordReset = "person.password_reset_request"

// resetRequest is the payload of a timerKindPasswordReset timer: the
// normalized address and who asked, so that the event the request leads
// to records the request's actor and correlation ID.
type resetRequest struct {
	Email         string      `json:"email"`
	Actor         event.Actor `json:"actor"`
	CorrelationID string      `json:"correlation_id"`
}

// passwordResets answers /v1/password/forgot the same way, with the same
// work, for an address that has an account and one that has not (rule
// MEM-1): the request becomes a durable timer due at once, one row
// written the same way for any address, and the timer loop then looks the
// address up and records the reset for its owner, if any. Looking the
// address up while the client waits would tell, by the answer's time,
// whether the address has an account: only a known one appends an event.
//
// A timer is durable, so an acknowledged request is never lost; it fires
// once, and the reset it records takes its ID and its event IDs from the
// timer, so a second run after a crash changes nothing.
type passwordResets struct {
	db    *sqldb.DB
	clock clock.Clock
	loop  *timers.Loop
}

var _ httpapi.PasswordResets = passwordResets{}

// Request implements httpapi.PasswordResets.
func (q passwordResets) Request(ctx context.Context, meta commands.Meta, email string) error {
	payload, err := json.Marshal(resetRequest{Email: email, Actor: meta.Actor, CorrelationID: meta.CorrelationID})
	if err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	t := timers.Timer{ID: "password-reset/" + uuid.Must(uuid.NewV7()).String(), Kind: timerKindPasswordReset,
		Due: q.clock.Now(), Payload: payload}
	if err := timers.Schedule(ctx, projection.WrapTx(tx, q.db.Engine), t); err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	q.loop.Wake()
	return nil
}

// handler fires a queued request: the reset for the address's owner, or
// nothing for an address without one.
func (q passwordResets) handler(h *commands.PeopleHandler) timers.Handler {
	return func(ctx context.Context, t timers.Timer) error {
		var req resetRequest
		if err := json.Unmarshal(t.Payload, &req); err != nil {
			return fmt.Errorf("timer %s: %w", t.ID, err)
		}
		meta := commands.Meta{Actor: req.Actor, CorrelationID: req.CorrelationID, CausationID: t.ID, IdempotencyKey: t.ID}
		_, err := h.RequestPasswordReset(ctx, meta, req.Email, t.EventID("reset"))
		return err
	}
}
