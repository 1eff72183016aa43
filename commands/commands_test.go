package commands_test

import (
	"errors"
	"strings"
	"testing"

	"seatledger/commands"
)

// The write side is refused at construction when a dependency is
// missing, naming each one, rather than a use case finding it missing
// when it runs.
func TestNewSet_refuses_missing_dependencies(t *testing.T) {
	t.Parallel()
	_, err := commands.NewSet(commands.Config{})
	if !errors.Is(err, commands.ErrMissingDependency) {
		t.Fatalf("NewSet without dependencies: %v", err)
	}
	for _, name := range []string{"Store", "Registry", "Clock", "Passwords", "Tokens", "Keys", "CA", "Entitlements", "OfflineFormat", "OfflineSigner"} {
		if !strings.Contains(err.Error()+"\n", "Config needs "+name+"\n") {
			t.Errorf("the refusal does not name %s: %v", name, err)
		}
	}
	for name, build := range map[string]func() error{
		"NewLoader":               func() error { _, err := commands.NewLoader(nil, nil, nil, 0); return err },
		"NewAccountsHandler":      func() error { _, err := commands.NewAccountsHandler(nil, nil, nil); return err },
		"NewPeopleHandler":        func() error { _, err := commands.NewPeopleHandler(nil, nil, nil); return err },
		"NewSubscriptionsHandler": func() error { _, err := commands.NewSubscriptionsHandler(nil, nil, nil); return err },
		"NewOrdersHandler":        func() error { _, err := commands.NewOrdersHandler(nil, nil); return err },
		"NewReleasesHandler":      func() error { _, err := commands.NewReleasesHandler(nil); return err },
		"NewInstallationsHandler": func() error { _, err := commands.NewInstallationsHandler(nil, nil, nil); return err },
		"NewOfflineHandler":       func() error { _, err := commands.NewOfflineHandler(nil, nil, nil, nil, nil); return err },
		"NewTicketsHandler":       func() error { _, err := commands.NewTicketsHandler(nil); return err },
		"NewMDMHandler":           func() error { _, err := commands.NewMDMHandler(nil, nil, nil); return err },
	} {
		if err := build(); !errors.Is(err, commands.ErrMissingDependency) || !strings.Contains(err.Error(), name+" needs") {
			t.Errorf("%s(nil…): %v", name, err)
		}
	}
}
