package commands_test

import (
	"context"
	"errors"
	"testing"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/infra/clock"
	"seatledger/infra/eventstore"
)

// Rule MEM-4, issue 20: the invitation's page names the company, the
// inviter, the invited address and the invitation's language, but only to
// whoever holds a link that still works: a forged token learns nothing
// more than an unknown invitation does; a used or expired one is refused
// as accepting it would be.
func TestPreviewInvitation_names_company_and_inviter_MEM4(t *testing.T) {
	forEachEngineClock(t, func(t *testing.T, h *commands.Set, _ eventstore.Store, clk *clock.Simulated) {
		ctx := context.Background()
		ada := signedUp(t, h, 1, "ada@example.com")
		must(t)(h.Accounts.CreateBusinessAccount(ctx, as(ada), commands.CreateBusinessAccount{AccountID: "acc-1", Company: acme}))
		inv, err := h.Accounts.InviteMembers(ctx, as(ada), commands.InviteMembers{AccountID: "acc-1", Language: "de",
			Emails: []string{"bob@example.com", "late@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		token := func(i int) string { return linkKey.Token(account.TokenInvitation, inv.InvitationIDs[i]) }
		got, err := h.Accounts.PreviewInvitation(ctx, "acc-1", inv.InvitationIDs[0], token(0))
		if err != nil || got.Company != "Acme GmbH" || got.Inviter != "Ada Lovelace" || got.Email != "bob@example.com" || got.Language != "de" ||
			!got.ExpiresAt.Equal(clk.Now().Add(account.InvitationValidity)) {
			t.Fatalf("preview = %+v, %v", got, err)
		}
		for name, c := range map[string][3]string{
			"forged token":    {"acc-1", inv.InvitationIDs[0], "forged"},
			"another account": {"acc-2", inv.InvitationIDs[0], token(0)},
			"no invitation":   {"acc-1", "nope", token(0)},
		} {
			if got, err := h.Accounts.PreviewInvitation(ctx, c[0], c[1], c[2]); !errors.Is(err, account.ErrNoInvitation) || got.Company != "" {
				t.Errorf("%s: %+v, %v; want ErrNoInvitation and nothing shown", name, got, err)
			}
		}
		bob := signedUp(t, h, 2, "bob@example.com")
		verified(t, h, bob)
		if _, err := h.Accounts.AcceptInvitation(ctx, as(bob), commands.AcceptInvitation{AccountID: "acc-1", InvitationID: inv.InvitationIDs[0],
			Token: token(0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.PreviewInvitation(ctx, "acc-1", inv.InvitationIDs[0], token(0)); !errors.Is(err, account.ErrInvitationUsed) {
			t.Errorf("a used invitation: %v", err)
		}
		if _, err := clk.Advance(account.InvitationValidity); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.PreviewInvitation(ctx, "acc-1", inv.InvitationIDs[1], token(1)); !errors.Is(err, account.ErrInvitationExpired) {
			t.Errorf("an expired invitation: %v", err)
		}
	})
}
