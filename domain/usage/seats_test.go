package usage_test

import (
	"errors"
	"slices"
	"testing"

	"seatledger/domain/usage"
)

func conn(user string, t usage.ConnectionType, admin bool, host string) usage.Connection {
	return usage.Connection{User: user, Type: t, Admin: admin, Host: host}
}

// Rules PROD-1, PROD-2, PROD-3: the seats a list of live connections
// takes, row by row of the connection-type table.
func TestSeats_PROD1_PROD2_PROD3(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		conns []usage.Connection
		want  int
	}{
		{"nobody", nil, 0},
		{"PROD-2 published desktop, non-admin", []usage.Connection{conn("ann", usage.PublishedDesktop, false, "h1")}, 1},
		{"PROD-2 published application, non-admin", []usage.Connection{conn("ann", usage.PublishedApp, false, "h1")}, 1},
		{"PROD-2 RDP desktop, non-admin", []usage.Connection{conn("ann", usage.RDPDesktop, false, "h1")}, 1},
		{"PROD-2 RDP application, non-admin", []usage.Connection{conn("ann", usage.RDPApp, false, "h1")}, 1},
		{"PROD-2 published application, admin", []usage.Connection{conn("adm", usage.PublishedApp, true, "h1")}, 1},
		{"PROD-2 published desktop, admin: free", []usage.Connection{conn("adm", usage.PublishedDesktop, true, "h1")}, 0},
		{"PROD-2 direct RDP desktop, admin: free", []usage.Connection{conn("adm", usage.RDPDesktop, true, "h1")}, 0},
		{"PROD-2 tunneled RDP desktop, admin: free", []usage.Connection{conn("adm", usage.RDPDesktopTunneled, true, "h1")}, 0},
		{"PROD-2 RDP application, admin (choice: not in the free list)", []usage.Connection{conn("adm", usage.RDPApp, true, "h1")}, 1},
		{"PROD-1 one user, many connections and hosts: one seat", []usage.Connection{
			conn("ann", usage.PublishedApp, false, "h1"), conn("ann", usage.PublishedDesktop, false, "h2"), conn("ann", usage.RDPApp, false, "h1")}, 1},
		{"PROD-2 two free admin connections per host", []usage.Connection{
			conn("a1", usage.PublishedDesktop, true, "h1"), conn("a2", usage.RDPDesktop, true, "h1")}, 0},
		{"PROD-2 the third admin connection on a host takes a seat (choice)", []usage.Connection{
			conn("a1", usage.PublishedDesktop, true, "h1"), conn("a2", usage.RDPDesktop, true, "h1"), conn("a3", usage.RDPDesktopTunneled, true, "h1")}, 1},
		{"PROD-2 the free slots are per host", []usage.Connection{
			conn("a1", usage.PublishedDesktop, true, "h1"), conn("a2", usage.RDPDesktop, true, "h1"), conn("a3", usage.RDPDesktop, true, "h2")}, 0},
		{"a free slot is not spent on a user who takes a seat anyway", []usage.Connection{
			conn("a1", usage.PublishedApp, true, "h1"), conn("a1", usage.PublishedDesktop, true, "h1"),
			conn("a2", usage.PublishedDesktop, true, "h1"), conn("a3", usage.PublishedDesktop, true, "h1")}, 1},
		{"a user seated on one host needs no free slot on another", []usage.Connection{
			conn("a1", usage.PublishedDesktop, true, "h1"), conn("a2", usage.PublishedDesktop, true, "h1"), conn("a3", usage.PublishedDesktop, true, "h1"),
			conn("a3", usage.PublishedDesktop, true, "h2"), conn("a4", usage.PublishedDesktop, true, "h2"), conn("a5", usage.PublishedDesktop, true, "h2")}, 1},
		{"admins and users together", []usage.Connection{
			conn("ann", usage.PublishedApp, false, "h1"), conn("bob", usage.RDPDesktop, false, "h1"),
			conn("adm", usage.PublishedDesktop, true, "h1"), conn("adm", usage.PublishedApp, true, "h2")}, 3},
	} {
		got, err := usage.Seats(c.conns)
		if err != nil || got != c.want {
			t.Errorf("%s: %d seats, %v; want %d", c.name, got, err, c.want)
		}
		// The answer does not depend on the order of the list.
		reversed := slices.Clone(c.conns)
		slices.Reverse(reversed)
		if again, _ := usage.Seats(reversed); again != got {
			t.Errorf("%s: %d seats reversed, %d in order", c.name, again, got)
		}
	}
}

// Rule PROD-3: a connection the rules cannot count is refused, naming it.
func TestSeats_refuses_what_it_cannot_count_PROD3(t *testing.T) {
	t.Parallel()
	for _, c := range []usage.Connection{
		{User: "", Type: usage.PublishedApp, Host: "h1"},
		{User: "ann", Type: usage.PublishedApp, Host: " "},
		{User: "ann", Type: "vnc", Host: "h1"},
	} {
		if _, err := usage.Seats([]usage.Connection{c}); !errors.Is(err, usage.ErrInvalid) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
