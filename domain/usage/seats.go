// Package usage holds the pure rules of seat consumption (rules PROD-1,
// PROD-2, PROD-3): how many seats a list of live connections takes.
package usage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"seatledger/domain/text"
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
	Admin bool           `json:"admin,omitempty"`
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
	seated, _, err := count(conns)
	return len(seated), err
}

// Summary is what a report's list of connections comes to (PROD-3): the
// usage event keeps it instead of the list, so that a report of many
// connections grows the append-only log by a few hundred bytes, not by
// the list. SHA256 ties the event to the list as the installation sent it.
type Summary struct {
	// Connections is how many connections were listed.
	Connections int `json:"connections"`
	// Users and Hosts count the distinct users and session hosts.
	Users int `json:"users"`
	Hosts int `json:"hosts"`
	// Admin counts administrators' connections; FreeAdmin those of them
	// that took no seat (PROD-2).
	Admin     int `json:"admin"`
	FreeAdmin int `json:"free_admin"`
	// ByType counts connections by type.
	ByType map[ConnectionType]int `json:"by_type"`
	// SHA256 is the hex SHA-256 of the list's JSON encoding, in the order
	// sent.
	SHA256 string `json:"sha256"`
}

// Summarize returns the seats conns take (see Seats) and their summary.
func Summarize(conns []Connection) (int, Summary, error) {
	seated, free, err := count(conns)
	if err != nil {
		return 0, Summary{}, err
	}
	sum := Summary{Connections: len(conns), FreeAdmin: free, ByType: map[ConnectionType]int{}}
	users, hosts := map[string]bool{}, map[string]bool{}
	for _, c := range conns {
		users[c.User], hosts[c.Host] = true, true
		sum.ByType[c.Type]++
		if c.Admin {
			sum.Admin++
		}
	}
	sum.Users, sum.Hosts = len(users), len(hosts)
	raw, err := json.Marshal(conns)
	if err != nil {
		return 0, Summary{}, fmt.Errorf("usage: encode connections: %w", err)
	}
	digest := sha256.Sum256(raw)
	sum.SHA256 = hex.EncodeToString(digest[:])
	return len(seated), sum, nil
}

// count returns the users who take a seat and how many administrator
// connections took none.
func count(conns []Connection) (map[string]bool, int, error) {
	seated := map[string]bool{}
	byHost := map[string][]Connection{}
	for i, c := range conns {
		if err := c.check(); err != nil {
			return nil, 0, fmt.Errorf("connection %d: %w", i, err)
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
	free := 0
	for _, h := range hosts {
		for _, c := range byHost[h] {
			if !seated[c.User] {
				free++
			}
		}
	}
	return seated, free, nil
}

// MaxName bounds a connection's user and host names, in characters.
const MaxName = 200

// check refuses a connection the rules cannot count, or whose names are
// not clean identifiers (rule X-7).
func (c Connection) check() error {
	if reason := text.Required("user", c.User, text.Identifier, MaxName); reason != "" {
		return fmt.Errorf("%w: %s", ErrInvalid, reason)
	}
	if reason := text.Required("host", c.Host, text.Identifier, MaxName); reason != "" {
		return fmt.Errorf("%w: %s", ErrInvalid, reason)
	}
	switch {
	case !slices.Contains(ConnectionTypes, c.Type):
		return fmt.Errorf("%w: type %q is not one of %v", ErrInvalid, c.Type, ConnectionTypes)
	}
	return nil
}
