package projections

// ReadModels returns every read model the ledger maintains, in the order
// the runtime runs them.
func ReadModels() []Projection {
	return []Projection{StreamStats{}, Directory{}, Licenses{}, Downloads{}, Tickets{}, Installations{}, AccountFeed{}, Webhooks{}}
}

// All returns the read models and the process managers, which schedule
// their timers (and mail) with s: everything the server runs and the CLI
// reports on and rebuilds.
func All(s Scheduler) []Projection {
	return append(ReadModels(), ProcessManagers(s)...)
}

// ProcessManagers returns the projections that schedule timers with s:
// those a timer loop waits for before it chooses the next due timer (rule
//
func ProcessManagers(s Scheduler) []Projection {
	return []Projection{Notifier{Scheduler: s}, Lifecycle{Scheduler: s}, InstallationManager{Scheduler: s}}
}
