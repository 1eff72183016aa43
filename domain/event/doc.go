// Package event is the ledger's vocabulary for facts: the envelope every
// stored event travels in (stream, version, global position, actor, times,
// hash), the expected-version rules of an append, the per-stream hash chain,
// and the registry that turns stored payloads back into typed domain events.
//
// It imports only the standard library, so every aggregate can depend on it.
package event
