// Package config reads ledgerd's settings from command-line flags and
// environment variables (a flag wins over its variable, which wins over the
// default) and validates them all at once, so that a misconfigured start
// reports every problem, one line each, instead of the first one only.
//
// Secrets never reach an error message or the logged configuration:
// database and event-store URLs are shown with their passwords redacted
// (sqldb.Redact), the order webhook's URL without user, query or
// fragment, and the secrets read from the environment only (the admin
// token, the SMTP URL, the link, keyring and order-webhook secrets) are
// never shown at all, at most as set or unset.
package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"seatledger/infra/audit"
	"seatledger/infra/keyring"
	"seatledger/infra/sqldb"
)

// Environment variables ledgerd reads.
const (
	EnvDatabaseURL   = "LEDGER_DATABASE_URL"
	EnvEventStoreURL = "LEDGER_EVENTSTORE_URL"
	EnvAddr          = "LEDGER_ADDR"
	EnvClock         = "LEDGER_CLOCK"
	EnvClockStart    = "LEDGER_CLOCK_START"
	EnvAdminToken    = "LEDGER_ADMIN_TOKEN"
	// EnvAdminTokenKeep, "on", keeps the admin token working once the
	// back office has an owner (issue 23); default off.
	EnvAdminTokenKeep  = "LEDGER_ADMIN_TOKEN_KEEP"
	EnvLogLevel        = "LEDGER_LOG_LEVEL"
	EnvLogFormat       = "LEDGER_LOG_FORMAT"
	EnvShutdownTimeout = "LEDGER_SHUTDOWN_TIMEOUT"
	EnvReadyMaxLag     = "LEDGER_READY_MAX_LAG"
	EnvPublicURL       = "LEDGER_PUBLIC_URL"
	EnvMailFrom        = "LEDGER_MAIL_FROM"
	EnvMailDir         = "LEDGER_MAIL_DIR"
	EnvSMTPURL         = "LEDGER_SMTP_URL"
	EnvSecretKey       = "LEDGER_SECRET_KEY"
	EnvLinkKeyFile     = "LEDGER_LINK_KEY_FILE"
	EnvKeyringFile     = "LEDGER_KEYRING_FILE"
	EnvKeyringSecret   = "LEDGER_KEYRING_SECRET"
	EnvMDMCACert       = "LEDGER_MDM_CA_CERT"
	EnvMDMCAKey        = "LEDGER_MDM_CA_KEY"
	EnvOfflineKey      = "LEDGER_OFFLINE_KEY"
	// EnvAuditKey, EnvAuditOrigin and EnvCheckpointInterval configure the
	// audit log's signed checkpoints (rule X-2).
	EnvAuditKey           = "LEDGER_AUDIT_KEY"
	EnvAuditOrigin        = "LEDGER_AUDIT_ORIGIN"
	EnvCheckpointInterval = "LEDGER_CHECKPOINT_INTERVAL"
	EnvOrderWebhookURL    = "LEDGER_ORDER_WEBHOOK_URL"
	// EnvWebhookAllowHTTP, "on", accepts plain http:// webhook URLs, and
	// EnvWebhookAllowPrivate, "on", lets webhooks reach loopback, private
	// and link-local addresses (issue 22: tests, private networks);
	// both default off.
	EnvWebhookAllowHTTP    = "LEDGER_WEBHOOK_ALLOW_HTTP"
	EnvWebhookAllowPrivate = "LEDGER_WEBHOOK_ALLOW_PRIVATE"
	// EnvOrderWebhookSecret signs the deliveries to the order system.
	EnvOrderWebhookSecret = "LEDGER_ORDER_WEBHOOK_SECRET"
	// EnvTrustedProxies lists the reverse proxies whose X-Forwarded-For
	// names the client.
	EnvTrustedProxies = "LEDGER_TRUSTED_PROXIES"
	// EnvLeaseTTL and EnvFailoverTimeout tune running several processes
	// on one database (rule X-8).
	EnvLeaseTTL        = "LEDGER_LEASE_TTL"
	EnvFailoverTimeout = "LEDGER_FAILOVER_TIMEOUT"
	// EnvInstallationCallLimit bounds each installation's usage reports
	// and enrollment requests (issue 16); a load test lifts it.
	EnvInstallationCallLimit = "LEDGER_INSTALLATION_CALL_LIMIT"
	// EnvTrialLimit and EnvTrialServerLimit bound anonymous trial
	// activations per client address and per server (issue 16); a load
	// or fault test lifts them.
	EnvTrialLimit       = "LEDGER_TRIAL_LIMIT"
	EnvTrialServerLimit = "LEDGER_TRIAL_SERVER_LIMIT"
)

// Defaults of the settings that have one.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultShutdownTimeout = 20 * time.Second
	DefaultReadyMaxLag     = 1000
	DefaultMailFrom        = "seatledger <no-reply@localhost>"
	DefaultMailDir         = "./data/mail"
	DefaultKeyringFile     = "./data/keyring.secret"
	DefaultLinkKeyFile     = "./data/link-key.secret"
	DefaultMDMCACert       = "./data/mdm-ca.crt"
	DefaultMDMCAKey        = "./data/mdm-ca.key"
	DefaultOfflineKey      = "./data/offline-signing.key"
	// DefaultAuditKey, DefaultAuditOrigin and DefaultCheckpointInterval
	// are the audit log's defaults.
	DefaultAuditKey           = "./data/audit-signing.key"
	DefaultAuditOrigin        = "seatledger"
	DefaultCheckpointInterval = 10 * time.Second
	// DefaultLeaseTTL and DefaultFailoverTimeout are the defaults of
	// running several processes (rule X-8).
	DefaultLeaseTTL        = 15 * time.Second
	DefaultFailoverTimeout = 30 * time.Second
	// DefaultInstallationCallBurst and DefaultInstallationCallEvery are
	// httpapi.DefaultLimits' bound on an installation's calls: 10 at once,
	// then one a minute.
	DefaultInstallationCallBurst = 10
	DefaultInstallationCallEvery = time.Minute
	// DefaultTrialBurst/Every and DefaultTrialServerBurst/Every are
	// httpapi.DefaultLimits' bounds on trial activations: 10 per client
	// address, then one every 6 minutes; 3 per server, then one every 20.
	DefaultTrialBurst       = 10
	DefaultTrialEvery       = 6 * time.Minute
	DefaultTrialServerBurst = 3
	DefaultTrialServerEvery = 20 * time.Minute
)

// MinAdminTokenLength is the shortest admin token accepted: the token
// guards moving the ledger's clock and every back-office endpoint, so a
// guessable one is refused at start rather than discovered later.
const MinAdminTokenLength = 16

// MinOrderWebhookSecretLength is the shortest order-webhook secret
// accepted: it is all that proves a delivery came from the ledger.
const MinOrderWebhookSecretLength = 16

// ClockMode says which clock the server runs on. It is a closed set.
type ClockMode struct{ s string }

// The clock modes.
var (
	// ClockReal is the wall clock, for production.
	ClockReal = ClockMode{"real"}
	// ClockSimulated stands still until an admin advances it (rule X-3),
	// so that days of grace periods pass in seconds in tests and demos.
	ClockSimulated = ClockMode{"simulated"}
)

// String returns the mode's name as written in --clock.
func (m ClockMode) String() string { return m.s }

// LogFormat says how ledgerd writes its log. It is a closed set.
type LogFormat struct{ s string }

// The log formats.
var (
	// LogAuto is LogConsole when the log goes to a terminal, else LogJSON.
	LogAuto = LogFormat{"auto"}
	// LogConsole is for a person at a terminal: one line saying where
	// the portal is, then only warnings and errors, as text.
	LogConsole = LogFormat{"console"}
	// LogJSON is one JSON object per line, for log collectors.
	LogJSON = LogFormat{"json"}
	// LogText is every line as key=value text.
	LogText = LogFormat{"text"}
)

var logFormats = []LogFormat{LogAuto, LogConsole, LogJSON, LogText}

// String returns the format's name as written in --log-format.
func (f LogFormat) String() string { return f.s }

// Config is ledgerd's validated configuration.
type Config struct {
	// Database is where read models (and, without EventStoreURL, the
	// events too) live: a SQLite file or a PostgreSQL database.
	Database sqldb.Target
	// EventStoreURL, when set, is a KurrentDB (EventStoreDB) connection
	// string that holds the events instead of Database, which must then be
	// PostgreSQL.
	EventStoreURL string
	// Addr is the host:port the HTTP server listens on; port 0 picks a free one.
	Addr string
	// Clock selects the real or the simulated clock.
	Clock ClockMode
	// ClockStart is the simulated clock's time at start (UTC). Zero means
	// the wall-clock time at start; it is always zero for the real clock.
	ClockStart time.Time
	// AdminToken is the bearer token of the /admin/ endpoints. Empty
	// disables them. It is a secret: never log it.
	AdminToken string
	// KeepAdminToken keeps AdminToken working on the /v1 API once the
	// back office has an owner; by default it only bootstraps it.
	KeepAdminToken bool
	// LogLevel is the lowest level logged.
	LogLevel slog.Level
	// LogFormat is how the log is written.
	LogFormat LogFormat
	// ShutdownTimeout bounds how long a graceful shutdown waits for
	// requests in flight before cutting them off.
	ShutdownTimeout time.Duration
	// PublicURL is where people reach the portal: the base of the links
	// in mail. Default: http:// and Addr.
	PublicURL string
	// SecureCookies marks the session cookie Secure; true when PublicURL
	// is https.
	SecureCookies bool
	// MailFrom is the sender of the ledger's mail.
	MailFrom string
	// MailDir is where mail is written as .eml files when SMTPURL is empty.
	MailDir string
	// SMTPURL is the mail relay (smtp://user:password@host:587); empty
	// writes mail to MailDir. A secret: environment only, never logged.
	SMTPURL string
	// SecretKey, if set, is the key of emailed links' tokens (and of CSRF
	// tokens and installation credentials); it wins over LinkKeyFile. A
	// secret: environment only, never logged.
	SecretKey []byte
	// LinkKeyFile holds the link key when SecretKey is not set, generated
	// on first start (mode 0600). Every process of one ledger needs the
	// same one: copy it to each host, and back it up.
	LinkKeyFile string
	// ReadyMaxLag is how many events a projection may be behind the log
	// while the server still reports itself ready.
	ReadyMaxLag uint64
	// KeyringFile holds the secret that seals license keys (rule KEY-9),
	// generated on first start; used when KeyringSecret is empty. Losing
	// it loses every key: back it up with the database.
	KeyringFile string
	// KeyringSecret, if set, is the secret that seals license keys (at
	// least 32 bytes, from base64) and wins over KeyringFile. A secret:
	// environment only, never logged.
	KeyringSecret []byte
	// MDMCACert and MDMCAKey are the PEM files of the MDM signing
	// authority's certificate and private key (rule MISC-1), both created
	// on first start when neither exists. Losing the key means a new CA:
	// back it up with the database.
	MDMCACert string
	MDMCAKey  string
	// OfflineKey is the PEM file of the Ed25519 key that signs offline
	// activation files (rule ACT-2), created on first start.
	OfflineKey string
	// AuditKey is the PEM file of the Ed25519 key that signs the audit
	// log's checkpoints (rule X-2), created on first start. Auditors trust
	// its public key: back it up.
	AuditKey string
	// AuditOrigin names the log in its checkpoints and is the signing
	// key's name.
	AuditOrigin string
	// CheckpointInterval is how often the log's new events are folded
	// into the Merkle tree and a checkpoint signed.
	CheckpointInterval time.Duration
	// OrderWebhookURL is where integration events (renewal requests) go
	// to the order system; empty: they are only logged.
	OrderWebhookURL string
	// WebhookAllowHTTP accepts http:// webhook endpoints; else https://
	// only (issue 22).
	WebhookAllowHTTP bool
	// WebhookAllowPrivate lets webhook deliveries connect to loopback,
	// private, link-local and other internal addresses; else they are
	// refused after name resolution (SSRF).
	WebhookAllowPrivate bool
	// OrderWebhookSecret, if set, signs the deliveries to the order
	// system. A secret: environment only, never logged.
	OrderWebhookSecret []byte
	// TrustedProxies are the reverse proxies (CIDRs) whose X-Forwarded-For
	// header names the client, for the limits per client address. Empty:
	// the header is ignored and the connection's peer is the client.
	TrustedProxies []netip.Prefix
	// LeaseTTL is how long a process's hold on a background worker (a
	// projection, the audit checkpointer, the snapshot worker) lasts
	// without renewal: how soon another process takes over from a dead one.
	LeaseTTL time.Duration
	// FailoverTimeout is how long a request waits for the database to
	// come back (a restart, a failover to the standby) before it fails.
	FailoverTimeout time.Duration
	// InstallationCallBurst and InstallationCallEvery bound each
	// installation's usage reports and enrollment requests together: a
	// burst of that many, then one every InstallationCallEvery. Zero (the
	// setting "off") lifts the bound, for a load test such as
	// `ledger bench ingest`.
	InstallationCallBurst int
	InstallationCallEvery time.Duration
	// TrialBurst and TrialEvery bound anonymous trial activations per
	// client address, TrialServerBurst and TrialServerEvery per server, in
	// the same way; zero (the setting "off") lifts the bound, for a load or
	// fault test such as make test-cluster.
	TrialBurst       int
	TrialEvery       time.Duration
	TrialServerBurst int
	TrialServerEvery time.Duration
}

// LogValue describes c for the start-up log line with its secrets
// redacted: the admin token, the SMTP URL and the keyring and
// order-webhook secrets show only as set or not.
func (c Config) LogValue() slog.Value {
	db := c.Database.DSN
	if c.Database.Engine == sqldb.Postgres {
		db = sqldb.Redact(db)
	}
	attrs := []slog.Attr{
		slog.String("database_engine", c.Database.Engine.String()),
		slog.String("database", db),
		slog.String("addr", c.Addr),
		slog.String("clock", c.Clock.String()),
		slog.Bool("admin_token_set", c.AdminToken != ""),
		slog.String("public_url", c.PublicURL),
		slog.Bool("smtp_set", c.SMTPURL != ""),
		slog.String("mail_dir", c.MailDir),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat.String()),
		slog.String("link_key_file", c.LinkKeyFile),
		slog.String("link_key_secret", setOrUnset(len(c.SecretKey) > 0)),
		slog.String("keyring_file", c.KeyringFile),
		slog.String("keyring_secret", setOrUnset(len(c.KeyringSecret) > 0)),
		slog.String("mdm_ca_cert", c.MDMCACert),
		slog.String("mdm_ca_key", c.MDMCAKey),
		slog.String("offline_key", c.OfflineKey),
		slog.String("audit_key", c.AuditKey),
		slog.String("audit_origin", c.AuditOrigin),
		slog.Duration("checkpoint_interval", c.CheckpointInterval),
		slog.String("order_webhook_url", redactURL(c.OrderWebhookURL)),
		slog.String("order_webhook_secret", setOrUnset(len(c.OrderWebhookSecret) > 0)),
		slog.Bool("webhook_allow_http", c.WebhookAllowHTTP),
		slog.Bool("webhook_allow_private", c.WebhookAllowPrivate),
		slog.String("trusted_proxies", joinPrefixes(c.TrustedProxies)),
		slog.Duration("lease_ttl", c.LeaseTTL),
		slog.Duration("failover_timeout", c.FailoverTimeout),
		slog.String("installation_call_limit", formatCallLimit(c.InstallationCallBurst, c.InstallationCallEvery)),
		slog.String("trial_limit", formatCallLimit(c.TrialBurst, c.TrialEvery)),
		slog.String("trial_server_limit", formatCallLimit(c.TrialServerBurst, c.TrialServerEvery)),
	}
	if c.EventStoreURL != "" {
		attrs = append(attrs, slog.String("eventstore", sqldb.Redact(c.EventStoreURL)))
	}
	if c.Clock == ClockSimulated {
		attrs = append(attrs, slog.Time("clock_start", c.ClockStart))
	}
	return slog.GroupValue(attrs...)
}

// String describes c as LogValue does, secrets redacted, so that printing
// a Config with %v or %+v shows none either.
func (c Config) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, a := range c.LogValue().Group() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", a.Key, a.Value)
	}
	b.WriteByte('}')
	return b.String()
}

func joinPrefixes(ps []netip.Prefix) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ",")
}

func setOrUnset(set bool) string {
	if set {
		return "set"
	}
	return "unset"
}

// redactURL shows a URL without its user information, query and
// fragment, any of which may carry a credential.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Getenv looks up an environment variable; os.Getenv fits.
type Getenv func(key string) string

// raw holds the settings as strings, each with the name of where it came
// from, so that a problem is reported under the name the operator used.
type raw struct {
	databaseURL, eventStoreURL, addr, clock, clockStart, logLevel, logFormat, shutdownTimeout, readyMaxLag setting
	publicURL, mailFrom, mailDir, keyringFile, linkKeyFile, orderWebhookURL, trustedProxies                setting
	mdmCACert, mdmCAKey, offlineKey                                                                        setting
	auditKey, auditOrigin, checkpointInterval                                                              setting
	adminToken, adminTokenKeep, smtpURL, secretKey, keyringSecret, orderWebhookSecret                      setting
	leaseTTL, failoverTimeout                                                                              setting
	installationCallLimit                                                                                  setting
	webhookAllowHTTP, webhookAllowPrivate                                                                  setting
	trialLimit, trialServerLimit                                                                           setting
}

type setting struct {
	value  string
	source string // "--flag" or "ENV_VAR"; the variable when unset
}

// flagSpec ties a flag to its variable and default.
type flagSpec struct {
	name, env, def, usage string
	dst                   func(*raw) *setting
}

var specs = []flagSpec{
	{"database-url", EnvDatabaseURL, sqldb.DefaultSQLitePath,
		"SQLite file path (or sqlite:PATH) or postgres:// URL for the read models, and for the events unless --eventstore-url is set",
		func(r *raw) *setting { return &r.databaseURL }},
	{"eventstore-url", EnvEventStoreURL, "",
		"KurrentDB connection string (esdb://…) for the events; read models then stay in --database-url, which must be PostgreSQL",
		func(r *raw) *setting { return &r.eventStoreURL }},
	{"addr", EnvAddr, DefaultAddr, "host:port to listen on",
		func(r *raw) *setting { return &r.addr }},
	{"clock", EnvClock, ClockReal.s, "real, or simulated (moved with POST /admin/clock/advance or `ledger clock advance`)",
		func(r *raw) *setting { return &r.clock }},
	{"clock-start", EnvClockStart, "", "start of the simulated clock, RFC 3339 (2026-03-01T09:00:00Z) or a date (2026-03-01); default now",
		func(r *raw) *setting { return &r.clockStart }},
	{"log-level", EnvLogLevel, "info", "debug, info, warn or error",
		func(r *raw) *setting { return &r.logLevel }},
	{"log-format", EnvLogFormat, LogAuto.s,
		"auto (console on a terminal, else json), console (one line with the portal's address, then warnings and errors only), json (every line, one JSON object each) or text (every line, as key=value)",
		func(r *raw) *setting { return &r.logFormat }},
	{"shutdown-timeout", EnvShutdownTimeout, DefaultShutdownTimeout.String(), "how long a graceful shutdown waits for requests in flight",
		func(r *raw) *setting { return &r.shutdownTimeout }},
	{"public-url", EnvPublicURL, "", "base URL of the portal, for links in mail (default http://ADDR)",
		func(r *raw) *setting { return &r.publicURL }},
	{"mail-from", EnvMailFrom, DefaultMailFrom, "sender of the ledger's mail",
		func(r *raw) *setting { return &r.mailFrom }},
	{"mail-dir", EnvMailDir, DefaultMailDir, "where mail is written as .eml files when LEDGER_SMTP_URL is not set",
		func(r *raw) *setting { return &r.mailDir }},
	{"ready-max-lag", EnvReadyMaxLag, strconv.Itoa(DefaultReadyMaxLag), "events a projection may lag behind the log while /readyz still reports ready",
		func(r *raw) *setting { return &r.readyMaxLag }},
	{"link-key-file", EnvLinkKeyFile, DefaultLinkKeyFile,
		"file of the key that derives emailed links' tokens, CSRF tokens and installation credentials, created on first start (mode 0600); unused when " + EnvSecretKey + " is set. Every process needs the same one",
		func(r *raw) *setting { return &r.linkKeyFile }},
	{"keyring-file", EnvKeyringFile, DefaultKeyringFile,
		"file of the secret that seals license keys, created on first start; unused when " + EnvKeyringSecret + " is set. Back it up: losing it loses every key",
		func(r *raw) *setting { return &r.keyringFile }},
	{"mdm-ca-cert", EnvMDMCACert, DefaultMDMCACert,
		"PEM certificate of the CA that signs MDM certificates, created with --mdm-ca-key on first start when neither exists",
		func(r *raw) *setting { return &r.mdmCACert }},
	{"mdm-ca-key", EnvMDMCAKey, DefaultMDMCAKey,
		"PEM private key of the MDM CA (mode 0600). Back it up: losing it means a new CA",
		func(r *raw) *setting { return &r.mdmCAKey }},
	{"offline-key", EnvOfflineKey, DefaultOfflineKey,
		"PEM file of the Ed25519 key that signs offline activation files (mode 0600), created on first start. Back it up: installations trust its public key",
		func(r *raw) *setting { return &r.offlineKey }},
	{"audit-key", EnvAuditKey, DefaultAuditKey,
		"PEM file of the Ed25519 key that signs the audit log's checkpoints (mode 0600), created on first start. Back it up: auditors trust its public key",
		func(r *raw) *setting { return &r.auditKey }},
	{"audit-origin", EnvAuditOrigin, DefaultAuditOrigin,
		"name of the log in its signed checkpoints (and of their key): printable, no spaces or '+'",
		func(r *raw) *setting { return &r.auditOrigin }},
	{"checkpoint-interval", EnvCheckpointInterval, DefaultCheckpointInterval.String(),
		"how often new events are folded into the audit log's Merkle tree and a checkpoint signed",
		func(r *raw) *setting { return &r.checkpointInterval }},
	{"webhook-allow-http", EnvWebhookAllowHTTP, "off",
		"on: accounts' webhook endpoints may use plain http:// (tests, private networks); default https:// only",
		func(r *raw) *setting { return &r.webhookAllowHTTP }},
	{"webhook-allow-private", EnvWebhookAllowPrivate, "off",
		"on: webhook deliveries may connect to loopback, private and link-local addresses (tests, private networks); default refused after DNS resolution",
		func(r *raw) *setting { return &r.webhookAllowPrivate }},
	{"order-webhook-url", EnvOrderWebhookURL, "",
		"http(s) URL of the order system's webhook, which receives renewal requests; unset: they are only logged",
		func(r *raw) *setting { return &r.orderWebhookURL }},
	{"trusted-proxies", EnvTrustedProxies, "",
		"comma-separated CIDRs (or addresses) of the reverse proxies whose X-Forwarded-For names the client, for the limits per client; unset: the header is ignored",
		func(r *raw) *setting { return &r.trustedProxies }},
	{"lease-ttl", EnvLeaseTTL, DefaultLeaseTTL.String(),
		"how long a process's hold on a projection, the audit checkpointer or the snapshot worker lasts unrenewed: how soon another process takes over from a dead one",
		func(r *raw) *setting { return &r.leaseTTL }},
	{"failover-timeout", EnvFailoverTimeout, DefaultFailoverTimeout.String(),
		"how long a request waits for the database to come back (a restart, a failover to the standby) before it fails with 503",
		func(r *raw) *setting { return &r.failoverTimeout }},
	{"installation-call-limit", EnvInstallationCallLimit, formatCallLimit(DefaultInstallationCallBurst, DefaultInstallationCallEvery),
		"each installation's usage reports and enrollment requests together: BURST/INTERVAL (that many at once, then one per interval), or off for a load test",
		func(r *raw) *setting { return &r.installationCallLimit }},
	{"trial-limit", EnvTrialLimit, formatCallLimit(DefaultTrialBurst, DefaultTrialEvery),
		"anonymous trial activations per client address: BURST/INTERVAL (that many at once, then one per interval), or off for a load or fault test",
		func(r *raw) *setting { return &r.trialLimit }},
	{"trial-server-limit", EnvTrialServerLimit, formatCallLimit(DefaultTrialServerBurst, DefaultTrialServerEvery),
		"anonymous trial activations per server, whatever the address: BURST/INTERVAL, or off for a load or fault test",
		func(r *raw) *setting { return &r.trialServerLimit }},
}

// newFlagSet declares every flag on a fresh set writing into r.
func newFlagSet(name string, r *raw) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, usage is printed by Usage
	for _, s := range specs {
		dst := s.dst(r)
		fs.Func(s.name, s.usage, func(v string) error {
			*dst = setting{value: v, source: "--" + s.name}
			return nil
		})
	}
	return fs
}

// Usage writes ledgerd's flags and environment variables to w.
func Usage(w io.Writer, name string) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\nEvery flag can also be set by its environment variable; a flag wins.\n\n", name)
	for _, s := range specs {
		def := ""
		if s.def != "" {
			def = fmt.Sprintf(" (default %s)", s.def)
		}
		fmt.Fprintf(w, "  --%s, %s%s\n      %s\n", s.name, s.env, def, s.usage)
	}
	fmt.Fprintf(w, "  %s\n      bearer token of the /admin/ endpoints, at least %d characters; environment only, so that it never shows in a process list\n",
		EnvAdminToken, MinAdminTokenLength)
	fmt.Fprintf(w, "  %s\n      on: the admin token keeps working on the /v1 API once the back office has an owner (default off: it only bootstraps the back office)\n", EnvAdminTokenKeep)
	fmt.Fprintf(w, "  %s\n      mail relay, smtp://user:password@host:587 (STARTTLS), smtps://… (TLS) or ?tls=none for a local relay; environment only\n", EnvSMTPURL)
	fmt.Fprintf(w, "  %s\n      key of emailed links' tokens, CSRF tokens and installation credentials, base64 of at least 32 bytes; environment only; wins over --link-key-file\n", EnvSecretKey)
	fmt.Fprintf(w, "  %s\n      secret that seals license keys, base64 of at least %d bytes (e.g. openssl rand -base64 32); environment only; wins over --keyring-file\n",
		EnvKeyringSecret, keyring.MinSecretBytes)
	fmt.Fprintf(w, "  %s\n      secret that signs the deliveries to the order webhook (X-Seatledger-Signature), at least %d characters; environment only; unset: unsigned\n",
		EnvOrderWebhookSecret, MinOrderWebhookSecretLength)
}

// Parse reads args (without the program name) and the environment into a
// validated Config. Every problem found is reported, one line each, joined
// with errors.Join; -h or --help returns flag.ErrHelp.
func Parse(args []string, getenv Getenv) (Config, error) {
	var r raw
	fs := newFlagSet("ledgerd", &r)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%s (see --help)", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q: ledgerd takes flags only (see --help)", fs.Arg(0))
	}
	for _, s := range specs {
		dst := s.dst(&r)
		if dst.source != "" {
			continue // set by flag
		}
		*dst = setting{value: getenv(s.env), source: s.env}
		if dst.value == "" {
			dst.value = s.def
		}
	}
	r.adminToken = setting{value: getenv(EnvAdminToken), source: EnvAdminToken}
	r.adminTokenKeep = setting{value: getenv(EnvAdminTokenKeep), source: EnvAdminTokenKeep}
	r.smtpURL = setting{value: getenv(EnvSMTPURL), source: EnvSMTPURL}
	r.secretKey = setting{value: getenv(EnvSecretKey), source: EnvSecretKey}
	r.keyringSecret = setting{value: getenv(EnvKeyringSecret), source: EnvKeyringSecret}
	r.orderWebhookSecret = setting{value: getenv(EnvOrderWebhookSecret), source: EnvOrderWebhookSecret}
	return r.validate()
}

// validate turns the raw settings into a Config, collecting one error per
// problem.
func (r raw) validate() (Config, error) {
	var (
		c    Config
		errs []error
	)
	fail := func(s setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", s.source, fmt.Sprintf(format, args...)))
	}

	if t, err := ParseDatabaseURL(r.databaseURL.value); err != nil {
		fail(r.databaseURL, "%v", err)
	} else {
		c.Database = t
	}

	if v := r.eventStoreURL.value; v != "" {
		if err := checkEventStoreURL(v); err != nil {
			fail(r.eventStoreURL, "%v", err)
		} else {
			c.EventStoreURL = v
			if c.Database.Engine == sqldb.SQLite {
				fail(r.eventStoreURL, "read models of a KurrentDB deployment live in PostgreSQL; set %s to a postgres:// URL", r.databaseURL.source)
			}
		}
	}

	if err := checkAddr(r.addr.value); err != nil {
		fail(r.addr, "%v", err)
	} else {
		c.Addr = r.addr.value
	}

	switch r.clock.value {
	case ClockReal.s:
		c.Clock = ClockReal
		if r.clockStart.value != "" {
			fail(r.clockStart, "only the simulated clock has a start; add --clock=simulated or unset it")
		}
	case ClockSimulated.s:
		c.Clock = ClockSimulated
		if r.clockStart.value != "" {
			start, err := parseStart(r.clockStart.value)
			if err != nil {
				fail(r.clockStart, "%v", err)
			}
			c.ClockStart = start
		}
	default:
		fail(r.clock, "unknown clock %q (use real or simulated)", r.clock.value)
	}

	if err := c.LogLevel.UnmarshalText([]byte(r.logLevel.value)); err != nil {
		fail(r.logLevel, "unknown log level %q (use debug, info, warn or error)", r.logLevel.value)
	}
	if i := slices.IndexFunc(logFormats, func(f LogFormat) bool { return f.s == r.logFormat.value }); i >= 0 {
		c.LogFormat = logFormats[i]
	} else {
		fail(r.logFormat, "unknown log format %q (use auto, console, json or text)", r.logFormat.value)
	}

	if d, err := time.ParseDuration(r.shutdownTimeout.value); err != nil || d <= 0 {
		fail(r.shutdownTimeout, "%q is not a positive duration like 20s", r.shutdownTimeout.value)
	} else {
		c.ShutdownTimeout = d
	}

	if n, err := strconv.ParseUint(r.readyMaxLag.value, 10, 64); err != nil {
		fail(r.readyMaxLag, "%q is not a number of events", r.readyMaxLag.value)
	} else {
		c.ReadyMaxLag = n
	}

	// The token's value is never quoted in a message: it is a secret.
	if tok := r.adminToken.value; tok != "" {
		switch {
		case len(tok) < MinAdminTokenLength:
			fail(r.adminToken, "too short: use at least %d characters (e.g. openssl rand -hex 32)", MinAdminTokenLength)
		case strings.IndexFunc(tok, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0:
			fail(r.adminToken, "must be printable ASCII without spaces, to travel in an Authorization header")
		default:
			c.AdminToken = tok
		}
	}

	for _, b := range []struct {
		s   setting
		dst *bool
	}{{r.webhookAllowHTTP, &c.WebhookAllowHTTP}, {r.webhookAllowPrivate, &c.WebhookAllowPrivate}} {
		switch b.s.value {
		case "", "off":
		case "on":
			*b.dst = true
		default:
			fail(b.s, "%q is neither on nor off", b.s.value)
		}
	}

	switch r.adminTokenKeep.value {
	case "", "off":
	case "on":
		c.KeepAdminToken = true
	default:
		fail(r.adminTokenKeep, "%q is neither on nor off", r.adminTokenKeep.value)
	}

	c.PublicURL = strings.TrimRight(r.publicURL.value, "/")
	if c.PublicURL == "" {
		c.PublicURL = "http://" + r.addr.value
	} else if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail(r.publicURL, "%q is not an http:// or https:// URL", r.publicURL.value)
	}
	c.SecureCookies = strings.HasPrefix(c.PublicURL, "https://")
	c.MailFrom, c.MailDir, c.SMTPURL = r.mailFrom.value, r.mailDir.value, r.smtpURL.value
	c.LinkKeyFile = r.linkKeyFile.value
	if v := r.secretKey.value; v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(key) < 32 {
			fail(r.secretKey, "must be base64 of at least 32 random bytes (e.g. openssl rand -base64 32)")
		}
		c.SecretKey = key
	} else if c.LinkKeyFile == "" {
		fail(r.linkKeyFile, "must name the file of the link key (or set %s)", EnvSecretKey)
	}

	c.KeyringFile = r.keyringFile.value
	if v := r.keyringSecret.value; v != "" {
		// keyring.ParseSecret never quotes the value.
		if key, err := keyring.ParseSecret(v); err != nil {
			fail(r.keyringSecret, "%v", strings.TrimPrefix(err.Error(), "keyring: "))
		} else {
			c.KeyringSecret = key
		}
	} else if c.KeyringFile == "" {
		fail(r.keyringFile, "must name the file of the license keys' secret (or set %s)", EnvKeyringSecret)
	}

	c.MDMCACert, c.MDMCAKey = r.mdmCACert.value, r.mdmCAKey.value
	switch {
	case c.MDMCACert == "":
		fail(r.mdmCACert, "must name the MDM CA's certificate file")
	case c.MDMCAKey == "":
		fail(r.mdmCAKey, "must name the MDM CA's key file")
	case filepath.Clean(c.MDMCACert) == filepath.Clean(c.MDMCAKey):
		fail(r.mdmCAKey, "must be another file than %s, the MDM CA's certificate", r.mdmCACert.source)
	}

	if c.OfflineKey = r.offlineKey.value; c.OfflineKey == "" {
		fail(r.offlineKey, "must name the file of the key that signs offline files")
	}

	if c.AuditKey = r.auditKey.value; c.AuditKey == "" {
		fail(r.auditKey, "must name the file of the key that signs the audit log's checkpoints")
	}
	if err := audit.CheckOrigin(r.auditOrigin.value); err != nil {
		fail(r.auditOrigin, "%v", strings.TrimPrefix(err.Error(), "audit: "))
	} else {
		c.AuditOrigin = r.auditOrigin.value
	}
	if d, err := time.ParseDuration(r.checkpointInterval.value); err != nil || d < 100*time.Millisecond {
		fail(r.checkpointInterval, "%q is not a duration of at least 100ms like 10s", r.checkpointInterval.value)
	} else {
		c.CheckpointInterval = d
	}

	// Neither the webhook URL (which may carry a token) nor its secret is
	// quoted in a message.
	if v := r.orderWebhookURL.value; v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail(r.orderWebhookURL, "must be an absolute http:// or https:// URL with a host")
		} else {
			c.OrderWebhookURL = v
		}
	}
	if v := r.orderWebhookSecret.value; v != "" {
		if len(v) < MinOrderWebhookSecretLength {
			fail(r.orderWebhookSecret, "too short: use at least %d characters (e.g. openssl rand -hex 32)", MinOrderWebhookSecretLength)
		} else {
			c.OrderWebhookSecret = []byte(v)
		}
	}

	if v := strings.TrimSpace(r.trustedProxies.value); v != "" {
		for _, item := range strings.Split(v, ",") {
			p, err := parseProxy(strings.TrimSpace(item))
			if err != nil {
				fail(r.trustedProxies, "%v", err)
				continue
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	if d, err := time.ParseDuration(r.leaseTTL.value); err != nil || d < time.Second {
		fail(r.leaseTTL, "%q is not a duration of at least 1s like 15s", r.leaseTTL.value)
	} else {
		c.LeaseTTL = d
	}
	if d, err := time.ParseDuration(r.failoverTimeout.value); err != nil || d < 0 {
		fail(r.failoverTimeout, "%q is not a duration like 30s (0: fail at once)", r.failoverTimeout.value)
	} else {
		c.FailoverTimeout = d
	}

	if burst, every, err := parseCallLimit(r.installationCallLimit.value); err != nil {
		fail(r.installationCallLimit, "%v", err)
	} else {
		c.InstallationCallBurst, c.InstallationCallEvery = burst, every
	}
	if burst, every, err := parseCallLimit(r.trialLimit.value); err != nil {
		fail(r.trialLimit, "%v", err)
	} else {
		c.TrialBurst, c.TrialEvery = burst, every
	}
	if burst, every, err := parseCallLimit(r.trialServerLimit.value); err != nil {
		fail(r.trialServerLimit, "%v", err)
	} else {
		c.TrialServerBurst, c.TrialServerEvery = burst, every
	}

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// parseCallLimit reads --installation-call-limit, --trial-limit and
// --trial-server-limit: "off" (no bound, zeros)
// or BURST/INTERVAL such as 10/1m.
func parseCallLimit(v string) (int, time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "off" {
		return 0, 0, nil
	}
	b, e, ok := strings.Cut(v, "/")
	burst, errB := strconv.Atoi(b)
	every, errE := time.ParseDuration(e)
	if !ok || errB != nil || errE != nil || burst < 1 || every <= 0 {
		return 0, 0, fmt.Errorf("%q is not BURST/INTERVAL like 10/1m, or off", v)
	}
	return burst, every, nil
}

// formatCallLimit writes what parseCallLimit reads.
func formatCallLimit(burst int, every time.Duration) string {
	if burst == 0 || every == 0 {
		return "off"
	}
	d := every.String() // 1m0s, 1h0m0s: without the zero units
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return strconv.Itoa(burst) + "/" + d
}

// parseProxy reads one entry of --trusted-proxies: a CIDR or an address
// (a /32 or /128). A prefix of length 0 is refused: it would let every
// client name itself in X-Forwarded-For.
func parseProxy(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		parsed, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an address like 192.0.2.10", s)
		}
		p = parsed.Masked()
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an address like 192.0.2.10", s)
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, fmt.Errorf("%q would trust every address: any client could then choose the address it is limited by", s)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 { // ::ffff:10.0.0.0/104 is 10.0.0.0/8
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, nil
}

// ParseDatabaseURL reads a database setting as sqldb.ParseURL does, naming
// an unsupported scheme in the message. It is shared by ledgerd and the
// ledger CLI so that both accept and refuse the same values alike.
func ParseDatabaseURL(v string) (sqldb.Target, error) {
	if scheme, _, ok := strings.Cut(v, "://"); ok {
		switch {
		case !isScheme(scheme):
			// Not quoted: whatever precedes "://" here may hold a password.
			return sqldb.Target{}, errors.New("neither a SQLite file path nor a postgres:// URL")
		case scheme != "postgres" && scheme != "postgresql" && scheme != "sqlite":
			return sqldb.Target{}, fmt.Errorf("unsupported scheme %q (use a SQLite file path or postgres://…)", scheme)
		}
	}
	t, err := sqldb.ParseURL(v)
	if err != nil {
		return sqldb.Target{}, oneLine(err)
	}
	return t, nil
}

// KurrentDB connection-string schemes, as the pinned client
// (EventStore-Client-Go v4.2.0) accepts them.
var eventStoreSchemes = []string{"esdb", "esdb+discover"}

func checkEventStoreURL(v string) error {
	scheme, _, ok := strings.Cut(v, "://")
	if !ok || !isScheme(scheme) {
		return errors.New("not a URL (use esdb://host:2113 or esdb+discover://host:2113)")
	}
	if !slices.Contains(eventStoreSchemes, scheme) {
		return fmt.Errorf("unsupported scheme %q (use esdb:// or esdb+discover://)", scheme)
	}
	u, err := url.Parse(v)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole URL, password included
		}
		return fmt.Errorf("not a valid URL: %v", err)
	}
	if u.Host == "" {
		return fmt.Errorf("%s names no host", sqldb.Redact(v))
	}
	return nil
}

func checkAddr(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080, or :8080 for every interface)", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q of %q is not a number from 0 to 65535", port, v)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q of %q is not a host name or IP address", host, v)
	}
	return nil
}

func parseStart(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-03-01T09:00:00Z) nor a date (2026-03-01)", v)
}

// isScheme reports whether s has the shape of a URL scheme (RFC 3986 §3.1).
func isScheme(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	return strings.IndexFunc(s, func(c rune) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')
	}) < 0
}

// oneLine keeps an error to one line: the start-up report promises one
// line per problem.
func oneLine(err error) error {
	s := err.Error()
	if !strings.ContainsAny(s, "\r\n") {
		return err
	}
	return errors.New(strings.Join(strings.Fields(s), " "))
}
