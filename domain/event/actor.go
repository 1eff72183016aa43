package event

import (
	"fmt"
)

// ActorKind says what kind of party caused a change (rule X-1). It is a
// closed set: the zero value is invalid and new kinds are added here only.
type ActorKind struct{ s string }

// The kinds of actor the ledger knows.
var (
	ActorPerson       = ActorKind{"person"}
	ActorInstallation = ActorKind{"installation"}
	ActorProcess      = ActorKind{"process"}
	ActorBackOffice   = ActorKind{"back_office"}
)

// String returns the kind's stable name.
func (k ActorKind) String() string { return k.s }

// IsZero reports whether k is the invalid zero kind.
func (k ActorKind) IsZero() bool { return k.s == "" }

// ParseActorKind returns the kind named s, or an error for an unknown name.
func ParseActorKind(s string) (ActorKind, error) {
	for _, k := range []ActorKind{ActorPerson, ActorInstallation, ActorProcess, ActorBackOffice} {
		if k.s == s {
			return k, nil
		}
	}
	return ActorKind{}, fmt.Errorf("event: unknown actor kind %q", s)
}

// MarshalText encodes the kind as its stable name.
func (k ActorKind) MarshalText() ([]byte, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("event: actor kind is not set")
	}
	return []byte(k.s), nil
}

// UnmarshalText decodes a stable name written by MarshalText.
func (k *ActorKind) UnmarshalText(b []byte) error {
	parsed, err := ParseActorKind(string(b))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// Actor identifies who caused a change: a person, an installation, a
// process manager of the ledger, or a back-office system or agent.
type Actor struct {
	Kind ActorKind `json:"kind"`
	// ID is the person's, installation's, process's or back-office
	// caller's identifier.
	ID string `json:"id"`
}

// String renders the actor as "kind:id".
func (a Actor) String() string { return a.Kind.s + ":" + a.ID }

// Validate reports a missing kind or ID.
func (a Actor) Validate() error {
	if a.Kind.IsZero() {
		return fmt.Errorf("event: actor kind is missing")
	}
	if a.ID == "" {
		return fmt.Errorf("event: actor %s has no ID", a.Kind)
	}
	return nil
}
