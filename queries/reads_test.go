package queries_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"seatledger/domain/account"
	"seatledger/domain/event"
	"seatledger/domain/installation"
	"seatledger/domain/person"
	"seatledger/domain/subscription"
	"seatledger/domain/ticket"
	"seatledger/infra/sqldb/sqldbtest"
	"seatledger/queries"
)

// policy is the command side's authorization as a table: the accounts
// each person may view. Unknown people and accounts are forbidden.
type policy map[string][]string

func (p policy) Authorize(_ context.Context, actor event.Actor, id string, _ account.Action) error {
	if slices.Contains(p[actor.ID], id) {
		return nil
	}
	return account.ErrForbidden
}

func (p policy) AuthorizeSubscription(context.Context, event.Actor, string, subscription.Action, string) (subscription.Subscription, error) {
	return subscription.Subscription{}, account.ErrForbidden
}

func (p policy) AuthorizeInstallation(context.Context, event.Actor, string, bool) (installation.Installation, error) {
	return installation.Installation{}, account.ErrForbidden
}

func (p policy) AuthorizeTicket(context.Context, event.Actor, string, ticket.Action) (ticket.Ticket, error) {
	return ticket.Ticket{}, account.ErrForbidden
}

func (p policy) Person(context.Context, string) (person.Person, error) {
	return person.Person{}, person.ErrNotFound
}

// readModels records what the use cases ask of the projections.
type readModels struct {
	stopped map[string]bool
	behind  bool // WaitFor times out
	waited  []string
	asked   int // calls of Stopped
}

func (m *readModels) WaitFor(_ context.Context, name string, _ uint64, _ time.Duration) error {
	m.waited = append(m.waited, name)
	if m.behind {
		return errors.New("timed out")
	}
	return nil
}

func (m *readModels) Stopped(_ context.Context, name string) (bool, string, error) {
	m.asked++
	return m.stopped[name], "at position 7: cannot apply", nil
}

func newReads(t *testing.T, models *readModels) *queries.Reads {
	t.Helper()
	db := directory(t, sqldbtest.SQLite(t), 3)
	r, err := queries.NewReads(queries.ReadsConfig{DB: db, Accounts: policy{"admin-0": {"acc-1"}}, Subscriptions: policy{},
		Installations: policy{}, Tickets: policy{}, People: policy{}, ReadModels: models})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	admin    = event.Actor{Kind: event.ActorPerson, ID: "admin-0"}
	stranger = event.Actor{Kind: event.ActorPerson, ID: "eve"}
)

func TestNewReads_names_every_missing_dependency(t *testing.T) {
	t.Parallel()
	_, err := queries.NewReads(queries.ReadsConfig{})
	for _, name := range []string{"DB", "Accounts", "Subscriptions", "Installations", "Tickets", "People", "ReadModels"} {
		if err == nil || !strings.Contains(err.Error(), "ReadsConfig."+name) {
			t.Errorf("NewReads without %s: %v", name, err)
		}
	}
}

// authorization comes first, from consistent state: a caller who may
// not read the account is refused before any read model is asked, and
// before its inputs (a bad position, a bad page size) are even read.
func TestReads_authorize_before_waiting_or_reading_inputs_X5(t *testing.T) {
	t.Parallel()
	models := &readModels{}
	r := newReads(t, models)
	ctx := context.Background()
	_, err := r.Members(ctx, queries.Viewer{Actor: stranger, MinPosition: "not-a-position"}, queries.MembersFilter{AccountID: "acc-1"})
	if !errors.Is(err, account.ErrForbidden) {
		t.Fatalf("a stranger's members read: %v, want forbidden", err)
	}
	_, err = r.Installations(ctx, queries.Viewer{Actor: stranger}, queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm"}, "twelve")
	if !errors.Is(err, account.ErrForbidden) {
		t.Fatalf("a stranger's farms read with a bad limit: %v, want forbidden", err)
	}
	if len(models.waited) > 0 || models.asked > 0 {
		t.Errorf("the read models were asked (%v, %d) before the caller was authorized", models.waited, models.asked)
	}
	var input *queries.InputError
	_, err = r.Installations(ctx, queries.Viewer{Actor: admin}, queries.InstallationsFilter{AccountID: "acc-1", Kind: "farm"}, "twelve")
	if !errors.As(err, &input) || input.Field != "limit" || !errors.Is(err, queries.ErrInvalidFilter) {
		t.Errorf("an admin's farms read with a bad limit: %v, want an invalid limit", err)
	}
	var position *queries.PositionError
	if _, err := r.MyAccounts(ctx, queries.Viewer{Actor: admin, MinPosition: "-1"}); !errors.As(err, &position) || position.Raw != "-1" {
		t.Errorf("a bad position: %v, want a *PositionError", err)
	}
}

// Read your writes: the read waits until each read model it needs has
// applied the viewer's last write, and says so when it has not in time.
func TestReads_wait_for_the_viewers_last_write(t *testing.T) {
	t.Parallel()
	models := &readModels{}
	r := newReads(t, models)
	ctx := context.Background()
	page, err := r.Members(ctx, queries.Viewer{Actor: admin, MinPosition: "42"}, queries.MembersFilter{AccountID: "acc-1"})
	if err != nil || len(page.Members) == 0 {
		t.Fatalf("members: %+v, %v", page, err)
	}
	if !slices.Equal(models.waited, []string{queries.DirectoryReadModel}) {
		t.Errorf("waited for %v, want the directory", models.waited)
	}
	models.behind = true
	if _, err := r.Members(ctx, queries.Viewer{Actor: admin, MinPosition: "42"}, queries.MembersFilter{AccountID: "acc-1"}); !errors.Is(err, queries.ErrNotCaughtUp) {
		t.Errorf("a read model behind the viewer: %v, want ErrNotCaughtUp", err)
	}
	models.waited = nil
	if _, err := r.Members(ctx, queries.Viewer{Actor: admin}, queries.MembersFilter{AccountID: "acc-1"}); err != nil || len(models.waited) > 0 {
		t.Errorf("without a position nothing waits: %v, waited for %v", err, models.waited)
	}
}

// Issue 16: a read model stopped at an event it cannot apply refuses the
// reads that need it, naming it, and no other.
func TestReads_a_stopped_read_model_refuses_only_its_reads(t *testing.T) {
	t.Parallel()
	models := &readModels{stopped: map[string]bool{queries.LicensesReadModel: true}}
	r := newReads(t, models)
	ctx := context.Background()
	var stopped *queries.StoppedError
	if _, err := r.Subscriptions(ctx, queries.Viewer{Actor: admin}, queries.SubscriptionsFilter{AccountID: "acc-1"}); !errors.As(err, &stopped) ||
		stopped.ReadModel != queries.LicensesReadModel || !errors.Is(err, queries.ErrReadModelStopped) {
		t.Fatalf("subscriptions with licenses stopped: %v", err)
	}
	if _, err := r.Members(ctx, queries.Viewer{Actor: admin}, queries.MembersFilter{AccountID: "acc-1"}); err != nil {
		t.Errorf("members need only the directory: %v", err)
	}
}
