package main

import (
	"context"
	"time"

	"seatledger/domain/events"

	"seatledger/commands"
	"seatledger/domain/event"
	"seatledger/infra/access"
	"seatledger/infra/argon2id"
	"seatledger/infra/attachments"
	"seatledger/infra/httpapi"
	"seatledger/infra/mail"
	"seatledger/infra/mdmca"
	"seatledger/infra/offline"
	"seatledger/infra/passwords"
	"seatledger/infra/secret"
	"seatledger/infra/session"
	"seatledger/queries"
)

// TermsVersion is the version of the terms of use that sign-up accepts.
const TermsVersion = "2026-01"

// people is the wiring of the write side: its handlers (people, accounts,
// subscriptions and keys, …), browser sessions and the mail sender.
type people struct {
	commands *commands.Set
	sessions *session.Store
	mail     *mail.Sender
	offline  *offline.Signer
	// mdmCA is the MDM signing authority's certificate, PEM (MISC-1).
	mdmCA []byte
	// linkKey derives tokens from the server's secret (links, CSRF,
	// installation credentials).
	linkKey secret.Key
	// tokens is linkKey.Token.
	tokens func(purpose, subject string) string
	// resets queues forgotten-password requests; set with the timer loop.
	resets passwordResets
}

// Registry returns the registry of every event the ledger writes.
func Registry() *event.Registry { return events.Registry() }

// openPeople builds the write side and the mail sender on the open store.
func (m *Main) openPeople(ctx context.Context) (*people, error) {
	key, err := m.linkKey(ctx)
	if err != nil {
		return nil, err
	}
	sender, err := mail.New(mail.Config{SMTPURL: m.Config.SMTPURL, From: m.Config.MailFrom, PublicURL: m.Config.PublicURL,
		Dir: m.Config.MailDir, Tokens: key.Token, Logger: m.Logger})
	if err != nil {
		return nil, err
	}
	m.Logger.Info("mail", "mode", sender.Mode())
	keys, err := m.openKeyring()
	if err != nil {
		return nil, err
	}
	ca, err := mdmca.LoadOrCreate(m.Config.MDMCACert, m.Config.MDMCAKey)
	if err != nil {
		return nil, err
	}
	m.warnIfShared(m.Config.MDMCAKey, "the MDM CA's key")
	m.recordSecret(secret.NameMDMCA, "--mdm-ca-cert "+m.Config.MDMCACert+" and --mdm-ca-key "+m.Config.MDMCAKey,
		secret.FingerprintOf(secret.NameMDMCA, ca.Certificate().Raw))
	signer, err := offline.LoadOrCreateSigner(m.Config.OfflineKey)
	if err != nil {
		return nil, err
	}
	m.warnIfShared(m.Config.OfflineKey, "the offline signing key")
	m.recordSecret(secret.NameOfflineKey, "--offline-key "+m.Config.OfflineKey, publicKeyFingerprint(secret.NameOfflineKey, signer.PublicKey()))
	h, err := commands.NewSet(commands.Config{Store: m.Store, Registry: Registry(), Clock: m.Clock,
		Passwords: passwords.New(m.passwordParams()), Tokens: key, Keys: keys,
		CA: ca, Entitlements: queries.Entitlements{DB: m.DB}, OfflineFormat: offline.Format{}, OfflineSigner: signer,
		WebhookAllowHTTP: m.Config.WebhookAllowHTTP})
	if err != nil {
		return nil, err
	}
	return &people{commands: h, sessions: session.New(m.DB, m.Clock), mail: sender, offline: signer, mdmCA: ca.CertificatePEM(), linkKey: key, tokens: key.Token}, nil
}

// passwordParams are argon2id's parameters: OWASP's unless a test asked
// for cheaper ones.
func (m *Main) passwordParams() argon2id.Params {
	if m.PasswordParams != nil {
		return *m.PasswordParams
	}
	return argon2id.Default
}

// access is the desk both edges sign people in through.
func (m *Main) access() (*access.Desk, error) {
	return access.New(access.Config{Commands: m.people.commands, Sessions: m.people.sessions, PasswordResets: m.people.resets, TermsVersion: TermsVersion})
}

// peopleAPI configures the /v1 API.
func (m *Main) peopleAPI() *httpapi.PeopleConfig {
	return &httpapi.PeopleConfig{Commands: m.people.commands, Reads: m.DB, Sessions: m.people.sessions,
		WaitFor: m.readSide.runtime.WaitFor, ProjectionStopped: m.readSide.projectionStopped, Limits: m.limits(), SecureCookies: m.Config.SecureCookies,
		TermsVersion: TermsVersion, Attachments: attachments.New(m.DB, m.Clock), OfflinePublicKey: m.people.offline.PublicKey(),
		MDMCACertificate: m.people.mdmCA, Audit: m.historyReads(), FeedWriteTimeout: m.FeedWriteTimeout}
}

// feedFollow tunes the live event feed: FeedFollow, woken by this
// process's projections.
func (m *Main) feedFollow() queries.FeedConfig {
	cfg := m.FeedFollow
	cfg.Progress = m.readSide.runtime
	return cfg
}

// limits are the API's limits: Limits when a test set them, else the
// configured ones (--installation-call-limit, --trial-limit,
// --trial-server-limit; off: none).
func (m *Main) limits() *httpapi.Limits {
	if m.Limits != nil {
		return m.Limits
	}
	return &httpapi.Limits{
		TrialsPerAddress:  httpapi.Rate{Every: m.Config.TrialEvery, Burst: m.Config.TrialBurst},
		TrialsPerServer:   httpapi.Rate{Every: m.Config.TrialServerEvery, Burst: m.Config.TrialServerBurst},
		InstallationCalls: httpapi.Rate{Every: m.Config.InstallationCallEvery, Burst: m.Config.InstallationCallBurst},
	}
}

// purgeSessions deletes expired sessions every hour. A purge cut off by
// the shutdown is no failure to warn about (the console shows warnings).
func (m *Main) purgeSessions(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := m.people.sessions.Purge(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Warn("purging sessions failed", "error", err)
		} else if n > 0 {
			m.Logger.Info("purged expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
