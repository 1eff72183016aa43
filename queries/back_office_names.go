package queries

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"seatledger/domain/event"
	"seatledger/domain/staff"
)

// BackOfficeNames names the back office's actors (rule X-1, issue 23) as
// the roster's events named them at each point of the log: a staff
// person by their display name and the role they had then ("Ann Owner
// (owner)"), a service account by its name ("service account: order
// system"), the bootstrap credential as "admin token (bootstrap)". It is
// folded from the roster's own events, not from a read model, so an
// auditor's answer never depends on a projection, and a person removed
// since is still named in what they did.
//
// The zero value names nobody but the admin token. It is not safe for
// concurrent use while it folds.
type BackOfficeNames struct {
	staff    map[string][]staffNameAt // staff ID -> names, by position
	services map[string]string        // service ID -> name
}

// staffNameAt is a staff person's name and role from a log position on.
type staffNameAt struct {
	from       uint64
	name, role string
}

// The names of the back office's actors that the roster does not hold.
const (
	// AdminTokenName names the bootstrap credential, LEDGER_ADMIN_TOKEN.
	AdminTokenName = "admin token (bootstrap)"
	// BackOfficeName names a back-office actor the roster does not know
	// (events recorded before the roster existed).
	BackOfficeName = "the back office"
)

// rosterNameTypes are the roster's events that name someone; the others
// (sign-ins, rotations) are passed over without being decoded.
var rosterNameTypes = map[string]bool{staff.TypeAdded: true, staff.TypeRoleChanged: true, staff.TypeServiceAccountCreated: true}

// IsRosterNameEvent reports whether a record of type typ names someone
// of the back office, so a fold decodes it for Apply.
func IsRosterNameEvent(typ string) bool { return rosterNameTypes[typ] }

// Apply folds one of the roster's events, recorded at position.
func (n *BackOfficeNames) Apply(position uint64, payload any) {
	if n.staff == nil {
		n.staff, n.services = map[string][]staffNameAt{}, map[string]string{}
	}
	switch e := payload.(type) {
	case staff.Added:
		n.staff[e.StaffID] = append(n.staff[e.StaffID], staffNameAt{from: position, name: e.DisplayName, role: e.Role.String()})
	case staff.RoleChanged:
		if h := n.staff[e.StaffID]; len(h) > 0 {
			n.staff[e.StaffID] = append(h, staffNameAt{from: position, name: h[len(h)-1].name, role: e.Role.String()})
		}
	case staff.ServiceAccountCreated:
		n.services[e.ServiceID] = e.Name
	}
}

// Name says who a back-office actor is, as of log position: the name and
// role a staff person had when they did what the event at position
// records. An actor of another kind is "".
func (n BackOfficeNames) Name(a event.Actor, position uint64) string {
	if a.Kind != event.ActorBackOffice {
		return ""
	}
	if a == staff.AdminToken {
		return AdminTokenName
	}
	if id, ok := staff.StaffOf(a); ok {
		h := n.staff[id]
		i := sort.Search(len(h), func(i int) bool { return h[i].from > position }) // the first entry after position
		switch {
		case i > 0:
			return h[i-1].name + " (" + h[i-1].role + ")"
		case len(h) > 0: // an event before the person's addition: their first name and role
			return h[0].name + " (" + h[0].role + ")"
		}
		return "a staff person"
	}
	if id, ok := staff.ServiceOf(a); ok {
		if name := n.services[id]; name != "" {
			return "service account: " + name
		}
		return "a service account"
	}
	return BackOfficeName
}

// backOfficeNames returns the names of the back office's people and
// service accounts: the roster's stream folded, from where the last call
// stopped (the log only grows), so a history page costs a read of the
// roster's newest events, not of its whole stream.
func (a *Audit) backOfficeNames(ctx context.Context) (BackOfficeNames, error) {
	a.namesMu.Lock()
	defer a.namesMu.Unlock()
	stream := staff.StreamID("")
	for {
		recs, err := a.Log.ReadStream(ctx, stream, a.namesAt+1, 1000)
		if err != nil {
			return BackOfficeNames{}, fmt.Errorf("queries: the back office's names: %w", err)
		}
		for _, rec := range recs {
			if IsRosterNameEvent(rec.Type) {
				payload, err := a.Registry.Decode(rec)
				if err != nil {
					return BackOfficeNames{}, fmt.Errorf("queries: the back office's names: %w", err)
				}
				a.names.Apply(rec.Position, payload)
			}
			a.namesAt = rec.Version
		}
		if len(recs) < 1000 {
			return a.names.clone(), nil
		}
	}
}

// clone returns a copy of n that later folds into n leave alone.
func (n BackOfficeNames) clone() BackOfficeNames {
	out := BackOfficeNames{staff: make(map[string][]staffNameAt, len(n.staff)), services: maps.Clone(n.services)}
	for id, h := range n.staff {
		out.staff[id] = slices.Clone(h)
	}
	return out
}

// nameBackOffice sets the ActorName of every event of page done by the
// back office, reading the roster only when the page has one.
func (a *Audit) nameBackOffice(ctx context.Context, page *HistoryPage) error {
	var names *BackOfficeNames
	for i := range page.Events {
		ev := &page.Events[i]
		if ev.Actor.Kind != event.ActorBackOffice {
			continue
		}
		if names == nil {
			n, err := a.backOfficeNames(ctx)
			if err != nil {
				return err
			}
			names = &n
		}
		ev.ActorName = names.Name(ev.Actor, ev.Position)
	}
	return nil
}
