package main

import (
	"crypto/ed25519"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"seatledger/infra/audit"
	"seatledger/infra/httpapi"
	"seatledger/infra/newfile"
	"seatledger/infra/secret"
)

// auditLog is the wiring of the log's tamper evidence (rule X-2): the
// checkpointer that folds the log into the signed Merkle tree, and the
// service the /v1/audit routes answer from.
type auditLog struct {
	checkpointer *audit.Checkpointer
	service      *audit.Service
}

// openAuditLog loads (or creates, on first start) the checkpoint signing
// key and builds the checkpointer and the service on the open store.
func (m *Main) openAuditLog() (*auditLog, error) {
	key, err := newfile.LoadOrCreateEd25519Key(m.Config.AuditKey)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key %s: %w", m.Config.AuditKey, err)
	}
	m.warnIfShared(m.Config.AuditKey, "the audit signing key")
	m.recordSecret(secret.NameAuditKey, "--audit-key "+m.Config.AuditKey, publicKeyFingerprint(secret.NameAuditKey, key.Public().(ed25519.PublicKey)))
	signer, err := audit.NewSigner(m.Config.AuditOrigin, key)
	if err != nil {
		return nil, err
	}
	size := prometheus.NewGauge(prometheus.GaugeOpts{Name: "seatledger_audit_tree_size",
		Help: "Events covered by the latest signed audit checkpoint."})
	lag := prometheus.NewGauge(prometheus.GaugeOpts{Name: "seatledger_audit_checkpoint_lag",
		Help: "Log positions not yet covered by a signed audit checkpoint."})
	for _, c := range []prometheus.Collector{size, lag} {
		if err := m.Metrics.Register(c); err != nil {
			return nil, fmt.Errorf("audit metrics: %w", err)
		}
	}
	tree := audit.NewTree(m.DB)
	checkpointer, err := audit.NewCheckpointer(audit.CheckpointerConfig{DB: m.DB, Log: m.Store, Signer: signer, Clock: m.Clock,
		Interval: m.Config.CheckpointInterval, Logger: m.Logger.With("component", "audit"),
		Observe: func(treeSize, head uint64) {
			size.Set(float64(treeSize))
			lag.Set(float64(head - min(head, treeSize)))
		}})
	if err != nil {
		return nil, err
	}
	m.Logger.Info("audit log", "origin", signer.Name(), "public_key", signer.VerifierKey())
	return &auditLog{checkpointer: checkpointer, service: &audit.Service{Tree: tree, Log: m.Store, Streams: m.Store,
		VerifierKey: signer.VerifierKey(), Contiguous: m.Config.EventStoreURL == ""}}, nil
}

// withAuditLog adds the audit log's service to the /v1 API's configuration.
func (m *Main) withAuditLog(c *httpapi.PeopleConfig) *httpapi.PeopleConfig {
	c.AuditLog = m.audit.service
	return c
}
