package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"seatledger/infra/sqldb"
)

func env(kv map[string]string) Getenv { return func(k string) string { return kv[k] } }

func TestParse_defaults_run_on_the_embedded_SQLite_file_with_the_real_clock(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != (sqldb.Target{Engine: sqldb.SQLite, DSN: sqldb.DefaultSQLitePath}) {
		t.Errorf("database = %+v, want the default SQLite file", c.Database)
	}
	if c.Addr != DefaultAddr || c.Clock != ClockReal || c.LogLevel != slog.LevelInfo || c.LogFormat != LogAuto ||
		c.ShutdownTimeout != DefaultShutdownTimeout || c.ReadyMaxLag != DefaultReadyMaxLag ||
		c.AdminToken != "" || c.EventStoreURL != "" {
		t.Errorf("defaults = %+v", c)
	}
	if c.KeyringFile != DefaultKeyringFile || c.KeyringSecret != nil || c.OrderWebhookURL != "" || c.OrderWebhookSecret != nil {
		t.Errorf("keyring and order webhook defaults = %+v", c)
	}
}

func TestParse_reads_the_keyring_and_order_webhook_settings(t *testing.T) {
	t.Parallel()
	keyringSecret := bytes.Repeat([]byte{0xfb}, 32)
	c, err := Parse([]string{"--keyring-file=/var/lib/ledger/keyring.secret", "--order-webhook-url=https://orders.example.com/hooks/ledger"},
		env(map[string]string{
			EnvKeyringFile:        "/elsewhere",
			EnvOrderWebhookURL:    "http://elsewhere",
			EnvKeyringSecret:      base64.RawURLEncoding.EncodeToString(keyringSecret),
			EnvOrderWebhookSecret: "whsec-0123456789abcdef",
		}))
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyringFile != "/var/lib/ledger/keyring.secret" || c.OrderWebhookURL != "https://orders.example.com/hooks/ledger" {
		t.Errorf("flags lost to the environment: %q, %q", c.KeyringFile, c.OrderWebhookURL)
	}
	if !bytes.Equal(c.KeyringSecret, keyringSecret) || string(c.OrderWebhookSecret) != "whsec-0123456789abcdef" {
		t.Errorf("secrets %x, %q", c.KeyringSecret, c.OrderWebhookSecret)
	}
	c, err = Parse(nil, env(map[string]string{EnvKeyringFile: "k.secret", EnvOrderWebhookURL: "http://orders:8080/hook"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyringFile != "k.secret" || c.OrderWebhookURL != "http://orders:8080/hook" {
		t.Errorf("environment lost: %q, %q", c.KeyringFile, c.OrderWebhookURL)
	}
}

// Rule MISC-1: the MDM signing authority's files default to the data
// folder; a flag wins over its variable.
func TestParse_reads_the_MDM_CA_files_MISC1(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.MDMCACert != DefaultMDMCACert || c.MDMCAKey != DefaultMDMCAKey || DefaultMDMCACert != "./data/mdm-ca.crt" || DefaultMDMCAKey != "./data/mdm-ca.key" {
		t.Errorf("defaults %q, %q", c.MDMCACert, c.MDMCAKey)
	}
	c, err = Parse([]string{"--mdm-ca-cert=/etc/ledger/ca.pem"}, env(map[string]string{EnvMDMCACert: "/elsewhere.pem", EnvMDMCAKey: "/etc/ledger/ca.key"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MDMCACert != "/etc/ledger/ca.pem" || c.MDMCAKey != "/etc/ledger/ca.key" {
		t.Errorf("flag and environment: %q, %q", c.MDMCACert, c.MDMCAKey)
	}
	if s := c.String(); !strings.Contains(s, "mdm_ca_cert=/etc/ledger/ca.pem") || !strings.Contains(s, "mdm_ca_key=/etc/ledger/ca.key") {
		t.Errorf("logged as %s", s)
	}
}

// Rule X-2: the audit log's signing key, its origin (the name in every
// signed checkpoint) and the checkpoint interval default to the data
// folder, "seatledger" and 10s; a flag wins over its variable, and the
// effective values are logged.
func TestParse_reads_the_audit_settings_X2(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuditKey != "./data/audit-signing.key" || c.AuditOrigin != "seatledger" || c.CheckpointInterval != 10*time.Second {
		t.Errorf("defaults %q, %q, %v", c.AuditKey, c.AuditOrigin, c.CheckpointInterval)
	}
	c, err = Parse([]string{"--audit-origin=ledger.example.com/prod", "--checkpoint-interval=250ms"},
		env(map[string]string{EnvAuditKey: "/etc/ledger/audit.key", EnvAuditOrigin: "elsewhere", EnvCheckpointInterval: "1h"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuditKey != "/etc/ledger/audit.key" || c.AuditOrigin != "ledger.example.com/prod" || c.CheckpointInterval != 250*time.Millisecond {
		t.Errorf("flags and environment: %q, %q, %v", c.AuditKey, c.AuditOrigin, c.CheckpointInterval)
	}
	if s := c.String(); !strings.Contains(s, "audit_key=/etc/ledger/audit.key") || !strings.Contains(s, "audit_origin=ledger.example.com/prod") {
		t.Errorf("logged as %s", s)
	}
}

// --trusted-proxies takes CIDRs and addresses, masked, IPv4-mapped ones
// as IPv4; unset, no proxy is trusted.
func TestParse_reads_the_trusted_proxies(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, env(map[string]string{EnvTrustedProxies: " 10.1.2.3/8, 192.0.2.10 ,2001:db8::/32,::ffff:172.16.0.0/108"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := joinPrefixes(c.TrustedProxies); got != "10.0.0.0/8,192.0.2.10/32,2001:db8::/32,172.16.0.0/12" {
		t.Errorf("trusted proxies = %s", got)
	}
	if !strings.Contains(c.String(), "trusted_proxies=10.0.0.0/8,") {
		t.Errorf("the logged configuration lacks the proxies: %s", c)
	}
	if c, _ := Parse(nil, env(nil)); c.TrustedProxies != nil {
		t.Errorf("default trusted proxies = %v, want none", c.TrustedProxies)
	}
}

func TestParse_reads_the_installation_call_limit(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.InstallationCallBurst != DefaultInstallationCallBurst || c.InstallationCallEvery != DefaultInstallationCallEvery ||
		!strings.Contains(c.String(), "installation_call_limit=10/1m") {
		t.Errorf("default limit = %d/%v; logged as %s", c.InstallationCallBurst, c.InstallationCallEvery, c)
	}
	for value, want := range map[string]string{"120/90s": "120/1m30s", "5/2h": "5/2h", "off": "off"} {
		c, err := Parse([]string{"--installation-call-limit=" + value}, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := formatCallLimit(c.InstallationCallBurst, c.InstallationCallEvery); got != want {
			t.Errorf("%s read as %s, want %s", value, got, want)
		}
	}
}

func TestParse_flag_wins_over_environment(t *testing.T) {
	t.Parallel()
	c, err := Parse([]string{"--addr", "127.0.0.1:0", "--clock=simulated", "--clock-start=2026-03-01", "--log-level=debug", "--log-format=text"},
		env(map[string]string{EnvAddr: "0.0.0.0:9999", EnvClock: "real", EnvDatabaseURL: "postgres://u:p@db/ledger", EnvLogFormat: "json",
			EnvEventStoreURL: "esdb://kurrent:2113?tls=false", EnvAdminToken: strings.Repeat("t", 32)}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:0" || c.Clock != ClockSimulated || c.LogLevel != slog.LevelDebug || c.LogFormat != LogText {
		t.Errorf("flags lost to the environment: %+v", c)
	}
	if want := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); !c.ClockStart.Equal(want) {
		t.Errorf("clock start = %v, want %v", c.ClockStart, want)
	}
	if c.Database.Engine != sqldb.Postgres || c.EventStoreURL == "" || c.AdminToken == "" {
		t.Errorf("environment lost: %+v", c)
	}
}

// Each bad value is reported as one line naming the setting as the
// operator wrote it (the flag or the variable).
func TestParse_reports_each_bad_value_on_its_own_line(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unsupported database scheme", nil, map[string]string{EnvDatabaseURL: "mysql://root:hunter2@db/ledger"},
			`LEDGER_DATABASE_URL: unsupported scheme "mysql" (use a SQLite file path or postgres://…)`},
		{"database flag named by flag", []string{"--database-url=mysql://db/x"}, nil,
			`--database-url: unsupported scheme "mysql"`},
		{"postgres URL without host", nil, map[string]string{EnvDatabaseURL: "postgres://"},
			`LEDGER_DATABASE_URL: database URL postgres:// names no host`},
		{"SQLite path with options", nil, map[string]string{EnvDatabaseURL: "data/x.db?mode=ro"},
			`LEDGER_DATABASE_URL: SQLite path "data/x.db?mode=ro": options are set by the ledger`},
		{"event store scheme", nil, map[string]string{EnvDatabaseURL: "postgres://db/x", EnvEventStoreURL: "http://kurrent:2113"},
			`LEDGER_EVENTSTORE_URL: unsupported scheme "http" (use esdb:// or esdb+discover://)`},
		{"event store without PostgreSQL", nil, map[string]string{EnvEventStoreURL: "esdb://kurrent:2113"},
			`LEDGER_EVENTSTORE_URL: read models of a KurrentDB deployment live in PostgreSQL; set LEDGER_DATABASE_URL to a postgres:// URL`},
		{"event store not a URL", nil, map[string]string{EnvDatabaseURL: "postgres://db/x", EnvEventStoreURL: "kurrent:2113"},
			`LEDGER_EVENTSTORE_URL: not a URL`},
		{"addr without port", []string{"--addr=localhost"}, nil, `--addr: "localhost" is not host:port`},
		{"addr port out of range", nil, map[string]string{EnvAddr: ":70000"}, `LEDGER_ADDR: port "70000" of ":70000" is not a number from 0 to 65535`},
		{"unknown clock", nil, map[string]string{EnvClock: "fast"}, `LEDGER_CLOCK: unknown clock "fast" (use real or simulated)`},
		{"start with the real clock", []string{"--clock-start=2026-03-01"}, nil, `--clock-start: only the simulated clock has a start`},
		{"bad clock start", []string{"--clock=simulated", "--clock-start=yesterday"}, nil, `--clock-start: "yesterday" is neither an RFC 3339 time`},
		{"log level", []string{"--log-level=loud"}, nil, `--log-level: unknown log level "loud"`},
		{"log format", nil, map[string]string{EnvLogFormat: "pretty"}, `LEDGER_LOG_FORMAT: unknown log format "pretty" (use auto, console, json or text)`},
		{"shutdown timeout", nil, map[string]string{EnvShutdownTimeout: "-1s"}, `LEDGER_SHUTDOWN_TIMEOUT: "-1s" is not a positive duration`},
		{"ready lag", []string{"--ready-max-lag=lots"}, nil, `--ready-max-lag: "lots" is not a number of events`},
		{"installation call limit", nil, map[string]string{EnvInstallationCallLimit: "10 per minute"},
			`LEDGER_INSTALLATION_CALL_LIMIT: "10 per minute" is not BURST/INTERVAL like 10/1m, or off`},
		{"installation call limit of none", []string{"--installation-call-limit=0/1m"}, nil,
			`--installation-call-limit: "0/1m" is not BURST/INTERVAL`},
		{"trial limit", nil, map[string]string{EnvTrialLimit: "ten"}, `LEDGER_TRIAL_LIMIT: "ten" is not BURST/INTERVAL like 10/1m, or off`},
		{"trial server limit", []string{"--trial-server-limit=3/-1m"}, nil, `--trial-server-limit: "3/-1m" is not BURST/INTERVAL`},
		{"short admin token", nil, map[string]string{EnvAdminToken: "secret"}, `LEDGER_ADMIN_TOKEN: too short: use at least 16 characters`},
		{"admin token with space", nil, map[string]string{EnvAdminToken: "0123456789 abcdef"}, `LEDGER_ADMIN_TOKEN: must be printable ASCII without spaces`},
		{"short keyring secret", nil, map[string]string{EnvKeyringSecret: base64.StdEncoding.EncodeToString(make([]byte, 31))},
			`LEDGER_KEYRING_SECRET: the secret must be base64 of at least 32 bytes, got 31`},
		{"keyring secret not base64", nil, map[string]string{EnvKeyringSecret: "correct horse battery staple, really"},
			`LEDGER_KEYRING_SECRET: the secret is not base64`},
		{"empty keyring file", []string{"--keyring-file="}, nil, `--keyring-file: must name the file`},
		{"empty MDM CA certificate", []string{"--mdm-ca-cert="}, nil, `--mdm-ca-cert: must name the MDM CA's certificate file`},
		{"empty MDM CA key", []string{"--mdm-ca-key="}, nil, `--mdm-ca-key: must name the MDM CA's key file`},
		{"MDM CA key is the certificate", []string{"--mdm-ca-key=./data/mdm-ca.crt"}, nil,
			`--mdm-ca-key: must be another file than LEDGER_MDM_CA_CERT, the MDM CA's certificate`},
		{"order webhook not a URL", []string{"--order-webhook-url=orders:8080/hook"}, nil,
			`--order-webhook-url: must be an absolute http:// or https:// URL with a host`},
		{"order webhook scheme", nil, map[string]string{EnvOrderWebhookURL: "ftp://orders/hook"},
			`LEDGER_ORDER_WEBHOOK_URL: must be an absolute http:// or https:// URL`},
		{"order webhook relative", nil, map[string]string{EnvOrderWebhookURL: "/hooks/ledger"},
			`LEDGER_ORDER_WEBHOOK_URL: must be an absolute http:// or https:// URL`},
		{"short order webhook secret", nil, map[string]string{EnvOrderWebhookSecret: "secret"},
			`LEDGER_ORDER_WEBHOOK_SECRET: too short: use at least 16 characters`},
		{"empty audit key (X-2)", []string{"--audit-key="}, nil, `--audit-key: must name the file of the key that signs the audit log's checkpoints`},
		{"audit origin with a space (X-2)", nil, map[string]string{EnvAuditOrigin: "seat ledger"},
			`LEDGER_AUDIT_ORIGIN: origin "seat ledger" must be non-empty printable text without spaces or '+'`},
		{"audit origin with a plus (X-2)", []string{"--audit-origin=a+b"}, nil, `--audit-origin: origin "a+b" must be non-empty`},
		{"empty audit origin (X-2)", []string{"--audit-origin="}, nil, `--audit-origin: origin "" must be non-empty`},
		{"checkpoint interval too short (X-2)", nil, map[string]string{EnvCheckpointInterval: "10ms"},
			`LEDGER_CHECKPOINT_INTERVAL: "10ms" is not a duration of at least 100ms like 10s`},
		{"checkpoint interval not a duration (X-2)", []string{"--checkpoint-interval=often"}, nil,
			`--checkpoint-interval: "often" is not a duration of at least 100ms`},
		{"trusted proxy not a CIDR", []string{"--trusted-proxies=10.0.0.0/8,proxy.internal"}, nil,
			`--trusted-proxies: "proxy.internal" is not a CIDR like 10.0.0.0/8 or an address like 192.0.2.10`},
		{"trusted proxy bad mask", nil, map[string]string{EnvTrustedProxies: "10.0.0.0/33"},
			`LEDGER_TRUSTED_PROXIES: "10.0.0.0/33" is not a CIDR`},
		{"trusting every address", nil, map[string]string{EnvTrustedProxies: "0.0.0.0/0"},
			`LEDGER_TRUSTED_PROXIES: "0.0.0.0/0" would trust every address`},
		{"unknown flag", []string{"--port=80"}, nil, `flag provided but not defined: -port (see --help)`},
		{"positional argument", []string{"serve"}, nil, `unexpected argument "serve"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.args, env(tc.env))
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 1 {
				t.Fatalf("got %d lines, want 1:\n%s", len(lines), err)
			}
			if !strings.HasPrefix(lines[0], tc.want) {
				t.Errorf("got  %s\nwant %s…", lines[0], tc.want)
			}
		})
	}
}

func TestParse_reports_every_problem_at_once(t *testing.T) {
	t.Parallel()
	_, err := Parse([]string{"--addr=nowhere", "--log-level=loud"}, env(map[string]string{
		EnvDatabaseURL: "mysql://db/x", EnvClock: "fast", EnvAdminToken: "short",
	}))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"LEDGER_DATABASE_URL:", "--addr:", "LEDGER_CLOCK:", "--log-level:", "LEDGER_ADMIN_TOKEN:"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for i, prefix := range want {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], prefix)
		}
	}
}

func TestParse_never_shows_secrets(t *testing.T) {
	t.Parallel()
	token := "tok en-that-is-long-enough-but-has-a-space"
	_, err := Parse(nil, env(map[string]string{
		EnvDatabaseURL:   "postgres://admin:hunter2@:5432:x/ledger",
		EnvEventStoreURL: "esdb://admin:changeit@",
		EnvAdminToken:    token,
	}))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	for _, secret := range []string{"hunter2", "changeit", token} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the secret %q:\n%s", secret, err)
		}
	}
	keyringSecret, webhookSecret := "c2hvcnQtYnV0LXNlY3JldA", "whsec-short"
	_, err = Parse(nil, env(map[string]string{
		EnvKeyringSecret:      keyringSecret,
		EnvOrderWebhookSecret: webhookSecret,
		EnvOrderWebhookURL:    "https://hook:s3cr3t@orders.example.com:99999/hook?token=t0k3n",
	}))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	for _, secret := range []string{keyringSecret, webhookSecret, "s3cr3t", "t0k3n"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the secret %q:\n%s", secret, err)
		}
	}
	_, err = Parse(nil, env(map[string]string{EnvDatabaseURL: "user:hunter2@db://x"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error = %v, want a refusal without the password", err)
	}
}

func TestConfig_log_value_hides_the_admin_token(t *testing.T) {
	t.Parallel()
	token := strings.Repeat("s", 40)
	c, err := Parse(nil, env(map[string]string{EnvAdminToken: token, EnvDatabaseURL: "postgres://u:hunter2@db/x"}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	if strings.Contains(b.String(), token) || strings.Contains(b.String(), "hunter2") {
		t.Errorf("log line shows a secret: %s", b.String())
	}
	if !strings.Contains(b.String(), `"admin_token_set":true`) {
		t.Errorf("log line does not say the token is set: %s", b.String())
	}
}

// The keyring's and the order webhook's secrets show in neither the
// start-up log line nor a printed Config, only as set or unset; the
// webhook URL shows without its credentials.
func TestConfig_log_value_and_string_hide_the_keyring_and_webhook_secrets(t *testing.T) {
	t.Parallel()
	keyringSecret := []byte("0123456789abcdef0123456789abcdef-keyring")
	webhookSecret := "whsec-do-not-log-0123456789"
	c, err := Parse([]string{"--order-webhook-url=https://hook:s3cr3t@orders.example.com/hooks/ledger?token=t0k3n"}, env(map[string]string{
		EnvKeyringSecret:      base64.StdEncoding.EncodeToString(keyringSecret),
		EnvOrderWebhookSecret: webhookSecret,
		EnvAdminToken:         strings.Repeat("a", 32),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	for _, printed := range []string{b.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %s", c, c, c), fmt.Sprintf("%+v", &c)} {
		for _, secret := range []string{
			string(keyringSecret), base64.StdEncoding.EncodeToString(keyringSecret), fmt.Sprint(keyringSecret),
			fmt.Sprintf("%x", keyringSecret), webhookSecret, fmt.Sprint([]byte(webhookSecret)), "s3cr3t", "t0k3n", strings.Repeat("a", 32),
		} {
			if strings.Contains(printed, secret) {
				t.Errorf("%q shows the secret %q", printed, secret)
			}
		}
	}
	for _, want := range []string{`"keyring_secret":"set"`, `"order_webhook_secret":"set"`,
		`"keyring_file":"./data/keyring.secret"`, `"order_webhook_url":"https://orders.example.com/hooks/ledger"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("log line lacks %s: %s", want, b.String())
		}
	}
	unset, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s := unset.String(); !strings.Contains(s, "keyring_secret=unset") || !strings.Contains(s, "order_webhook_secret=unset") {
		t.Errorf("String of the defaults does not say the secrets are unset: %s", s)
	}
}

func TestParse_help_is_not_an_error_to_report(t *testing.T) {
	t.Parallel()
	if _, err := Parse([]string{"--help"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	var b strings.Builder
	Usage(&b, "ledgerd")
	for _, want := range []string{"--database-url, LEDGER_DATABASE_URL", "--clock-start", EnvAdminToken,
		"--keyring-file, LEDGER_KEYRING_FILE (default ./data/keyring.secret)", EnvKeyringSecret,
		"--order-webhook-url, LEDGER_ORDER_WEBHOOK_URL", EnvOrderWebhookSecret,
		"--mdm-ca-cert, LEDGER_MDM_CA_CERT (default ./data/mdm-ca.crt)", "--mdm-ca-key, LEDGER_MDM_CA_KEY (default ./data/mdm-ca.key)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

// TestParse_trial_limits: anonymous trial activations are bounded per
// client address and per server by default (X-7, issue 16), and a load or
// fault test (make test-cluster) lifts each bound with off.
func TestParse_trial_limits_X7(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TrialBurst != DefaultTrialBurst || c.TrialEvery != DefaultTrialEvery ||
		c.TrialServerBurst != DefaultTrialServerBurst || c.TrialServerEvery != DefaultTrialServerEvery ||
		!strings.Contains(c.String(), "trial_limit=10/6m") || !strings.Contains(c.String(), "trial_server_limit=3/20m") {
		t.Errorf("default trial limits = %d/%v and %d/%v; logged as %s", c.TrialBurst, c.TrialEvery, c.TrialServerBurst, c.TrialServerEvery, c)
	}
	c, err = Parse([]string{"--trial-limit=off"}, env(map[string]string{EnvTrialServerLimit: "50/1m"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := formatCallLimit(c.TrialBurst, c.TrialEvery); got != "off" {
		t.Errorf("--trial-limit=off read as %s", got)
	}
	if got := formatCallLimit(c.TrialServerBurst, c.TrialServerEvery); got != "50/1m" {
		t.Errorf("LEDGER_TRIAL_SERVER_LIMIT=50/1m read as %s", got)
	}
}
