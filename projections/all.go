package projections

// ReadModels returns every read model the ledger maintains, in the order
// the runtime runs them. Process managers that need the command side are
// added by the server's wiring.
func ReadModels() []Projection {
	return []Projection{StreamStats{}, Directory{}}
}
