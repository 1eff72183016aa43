// Package usage holds the pure rules of seat consumption (rules PROD-1,
// PROD-2, PROD-3): how many seats a list of live connections takes.
package usage

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ConnectionType is how a user is connected to a session host.
type ConnectionType string

// The connection types of the concurrent-users model (PROD-2).
const (
	PublishedDesktop   ConnectionType = "published_desktop"
	PublishedApp       ConnectionType = "published_app"
	RDPDesktop         ConnectionType = "rdp_desktop" // a direct RDP desktop
	RDPDesktopTunneled ConnectionType = "rdp_desktop_tunneled"
	RDPApp             ConnectionType = "rdp_app"
)

// ConnectionTypes lists every connection type.
var ConnectionTypes = []ConnectionType{PublishedDesktop, PublishedApp, RDPDesktop, RDPDesktopTunneled, RDPApp}

// FreeAdminPerHost is how many administrator desktop connections per
// session host take no seat (PROD-2).
const FreeAdminPerHost = 2

// Connection is one live connection of a usage report (PROD-3).
type Connection struct {
	User  string         `json:"user"`
	Type  ConnectionType `json:"type"`
	Admin bool           `json:"admin"`
	Host  string         `json:"host"`
}

// ErrInvalid: a connection the rules cannot count.
var ErrInvalid = errors.New("usage: invalid connection")

// freeForAdmin reports whether an administrator's connection of type t
// may be one of the free ones of its host: a published desktop, or a
// direct or tunneled RDP desktop. An administrator's published or RDP
// application always takes a seat.
func freeForAdmin(t ConnectionType) bool {
	return t == PublishedDesktop || t == RDPDesktop || t == RDPDesktopTunneled
}

// Seats returns the seats a list of live connections takes (rules
// PROD-1, PROD-2): a seat is a distinct user with at least one connection
// that consumes one, however many connections and devices they have.
// Every connection consumes, except an administrator's desktop connection
// (published, or direct or tunneled RDP), of which each session host has
// FreeAdminPerHost free; a third or later one on the same host consumes
// like any other (choice). Free slots are never spent on users who take
// a seat anyway, and the rest are given in the order of host and user
// names, so the answer does not depend on the order of the list.
func Seats(conns []Connection) (int, error) {
	seated := map[string]bool{}
	byHost := map[string][]Connection{}
	for i, c := range conns {
		if err := c.check(); err != nil {
			return 0, fmt.Errorf("connection %d: %w", i, err)
		}
		if c.Admin && freeForAdmin(c.Type) {
			byHost[c.Host] = append(byHost[c.Host], c)
			continue
		}
		seated[c.User] = true
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	// A user who takes a seat on one host because its free slots ran out
	// needs no free slot on another: repeat until nothing changes.
	for changed := true; changed; {
		changed = false
		for _, h := range hosts {
			var waiting []Connection
			for _, c := range byHost[h] {
				if !seated[c.User] {
					waiting = append(waiting, c)
				}
			}
			slices.SortFunc(waiting, func(a, b Connection) int { return strings.Compare(a.User, b.User) })
			for i, c := range waiting {
				if i >= FreeAdminPerHost && !seated[c.User] {
					seated[c.User], changed = true, true
				}
			}
		}
	}
	return len(seated), nil
}

func (c Connection) check() error {
	switch {
	case strings.TrimSpace(c.User) == "":
		return fmt.Errorf("%w: the user is required", ErrInvalid)
	case strings.TrimSpace(c.Host) == "":
		return fmt.Errorf("%w: the session host is required", ErrInvalid)
	case !slices.Contains(ConnectionTypes, c.Type):
		return fmt.Errorf("%w: type %q is not one of %v", ErrInvalid, c.Type, ConnectionTypes)
	}
	return nil
}
