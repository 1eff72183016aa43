package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"seatledger/infra/farmclient"
	"seatledger/infra/offline"
)

func init() { register(newFarmCommand) }

// defaultFarmState is the state file of `ledger farm` without --state.
const defaultFarmState = "./farm.json"

func newFarmCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "farm",
		Short: "Act as a product installation (a farm or proxy server) against a running ledgerd",
		Long: `Act as a product installation against a running ledgerd: activate with a key or
as a trial, report usage, refresh the license, enroll computers, deactivate, and
write and import the files of offline activation.

The installation remembers its activation in a state file (--state, mode 0600:
it holds the installation's credential, which is never printed). The server is
--server, else the one the state file was activated on, else $LEDGER_URL, else
` + defaultServerURL + `.`,
		Example: `  ledger farm activate --key 7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5 --server-id srv-1 --farm-name Main --app-version 19.2
  ledger farm report --seats 12
  ledger farm request --kind refresh --out refresh.txt
  ledger farm import subscription-information.txt`,
	}
	commandGroup(cmd)
	pf := cmd.PersistentFlags()
	pf.String("state", defaultFarmState, "the installation's state file")
	pf.String("server", "", "base URL of the running ledgerd (default: the state's server, else $"+envServerURL+", else "+defaultServerURL+")")
	pf.Bool("json", false, "print JSON instead of lines")
	cmd.AddCommand(
		newFarmActivateCommand(a), newFarmReportCommand(a), newFarmRefreshCommand(a), newFarmEnrollCommand(a),
		newFarmDeactivateCommand(a), newFarmRequestCommand(a), newFarmImportCommand(a), newFarmShowCommand(a),
	)
	return cmd
}

// farm is one run of a farm subcommand: its state file, state and output.
type farm struct {
	a      *app
	cmd    *cobra.Command
	path   string
	state  *farmclient.State
	asJSON bool
}

// openFarm loads the state file; a missing one is a fresh installation
// when fresh is true, else an error.
func openFarm(cmd *cobra.Command, a *app, fresh bool) (*farm, error) {
	path, _ := cmd.Flags().GetString("state")
	asJSON, _ := cmd.Flags().GetBool("json")
	if path == "" {
		return nil, usagef("--state: the state file's path is empty")
	}
	f := &farm{a: a, cmd: cmd, path: path, asJSON: asJSON}
	st, err := farmclient.LoadState(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && fresh:
		st = &farmclient.State{}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no installation state at %s: activate first (ledger farm activate), or give --state", path)
	case err != nil:
		return nil, farmError(err)
	}
	f.state = st
	return f, nil
}

// openActiveFarm opens the state of an activated installation and a
// client of its server: what every online call of it starts with.
func openActiveFarm(cmd *cobra.Command, a *app) (*farm, *farmclient.Client, error) {
	f, err := openFarm(cmd, a, false)
	if err != nil {
		return nil, nil, err
	}
	if err := f.active(); err != nil {
		return nil, nil, err
	}
	c, err := f.client()
	if err != nil {
		return nil, nil, err
	}
	return f, c, nil
}

// save writes the state file.
func (f *farm) save() error { return farmError(f.state.Save(f.path)) }

// client returns a client of the server (see newFarmCommand for which).
func (f *farm) client() (*farmclient.Client, error) {
	var raw, source string
	if fl := f.cmd.Flags().Lookup("server"); fl != nil && fl.Changed {
		raw, source = fl.Value.String(), "--server"
	} else if f.state.Server != "" {
		raw, source = f.state.Server, "the server in "+f.path
	} else {
		raw, source = setting(f.cmd, f.a, "server", envServerURL, defaultServerURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("%s: %q is not an http:// or https:// URL of the server", source, raw)
	}
	return &farmclient.Client{BaseURL: strings.TrimSuffix(raw, "/"), HTTP: &http.Client{Timeout: requestTimeout}}, nil
}

// active fails unless the state holds an activation the ledger may
// still accept.
func (f *farm) active() error {
	switch {
	case f.state.InstallationID == "" || (f.state.Credential == "" && f.state.Status != farmclient.StatusDeactivated):
		return fmt.Errorf("the installation in %s is not activated: run ledger farm activate (or import an activation file)", f.path)
	case !f.state.Active():
		return fmt.Errorf("installation %s (%s) is deactivated: activate it again", f.state.InstallationID, f.path)
	}
	return nil
}

// online handles what an online call teaches besides its answer: a
// refusal as deactivated is remembered (ACT-7, ACT-8), and the ledger's
// public key is pinned at the first successful call.
func (f *farm) online(ctx context.Context, c *farmclient.Client, callErr error) error {
	if farmclient.IsProblem(callErr, "deactivated") {
		f.state.MarkDeactivated()
		return errors.Join(farmError(callErr), f.save())
	}
	if callErr != nil {
		return farmError(callErr)
	}
	if f.state.PublicKey == "" {
		pub, err := c.PublicKey(ctx)
		switch {
		case err == nil:
			f.state.SetLedgerKey(pub)
		case farmclient.IsProblem(err, "unavailable"): // the server does no offline activation
		default:
			fmt.Fprintf(f.a.stderr, "ledger: warning: the ledger's offline public key was not pinned: %s\n", oneLine(farmError(err)))
		}
	}
	return nil
}

// print writes v as JSON with --json, else the lines.
func (f *farm) print(v any, lines string) error {
	if f.asJSON {
		enc := json.NewEncoder(f.a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := fmt.Fprint(f.a.stdout, lines)
	return err
}

// cliError shows a client error without the package's prefix.
type cliError struct{ err error }

func (e cliError) Error() string { return strings.TrimPrefix(e.err.Error(), "farmclient: ") }
func (e cliError) Unwrap() error { return e.err }

// farmError wraps err, when not nil, as a cliError.
func farmError(err error) error {
	if err == nil {
		return nil
	}
	return cliError{err}
}

// addIdentityFlags declares the flags of an installation's identity; the
// kind's flag is kindFlag ("kind", or "identity-kind" where --kind says
// what to do).
func addIdentityFlags(cmd *cobra.Command, kindFlag string) {
	fl := cmd.Flags()
	fl.String(kindFlag, "", "the installation's kind: farm or proxy_server (default: the state's, else farm)")
	fl.String("server-id", "", "a farm's server ID")
	fl.String("farm-name", "", "a farm's name")
	fl.String("server-name", "", "a proxy server's name")
	fl.String("site-code", "", "a proxy server's site code")
	fl.String("site-description", "", "a proxy server's site description")
	fl.String("app-version", "", "the product's version")
}

var identityFlags = []string{"server-id", "farm-name", "server-name", "site-code", "site-description", "app-version"}

// identityChanged reports whether an identity flag was given.
func identityChanged(cmd *cobra.Command, kindFlag string) bool {
	for _, name := range append([]string{kindFlag}, identityFlags...) {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

// identity returns base with the identity flags given applied, checked.
func identity(cmd *cobra.Command, kindFlag string, base farmclient.Identity) (farmclient.Identity, error) {
	id := base
	for name, field := range map[string]*string{kindFlag: &id.Kind, "server-id": &id.ServerID, "farm-name": &id.FarmName,
		"server-name": &id.ServerName, "site-code": &id.SiteCode, "site-description": &id.SiteDescription, "app-version": &id.AppVersion} {
		if cmd.Flags().Changed(name) {
			*field, _ = cmd.Flags().GetString(name)
		}
	}
	if id.Kind == "" {
		id.Kind = farmclient.KindFarm
	}
	var required []string
	switch id.Kind {
	case farmclient.KindFarm:
		required = []string{"server-id", id.ServerID, "farm-name", id.FarmName, "app-version", id.AppVersion}
	case farmclient.KindProxyServer:
		required = []string{"server-name", id.ServerName, "site-code", id.SiteCode, "app-version", id.AppVersion}
	default:
		return id, usagef("--%s: %q is not %s or %s", kindFlag, id.Kind, farmclient.KindFarm, farmclient.KindProxyServer)
	}
	var missing []string
	for i := 0; i < len(required); i += 2 {
		if strings.TrimSpace(required[i+1]) == "" {
			missing = append(missing, "--"+required[i])
		}
	}
	if len(missing) > 0 {
		return id, usagef("a %s needs %s", id.Kind, strings.Join(missing, ", "))
	}
	if err := id.Check(); err != nil {
		return id, usageError{farmError(err)}
	}
	return id, nil
}

// licenseLines shows a license (ACT-4): key, start, end, seats, used,
// remaining.
func licenseLines(b *strings.Builder, lic *farmclient.License) {
	if lic == nil {
		return
	}
	switch {
	case lic.Trial:
		b.WriteString("key: none (trial)\n")
	case lic.KeyHint != "":
		fmt.Fprintf(b, "key: …-%s\n", lic.KeyHint)
	}
	fmt.Fprintf(b, "start: %s\n", formatTime(lic.Start))
	if lic.End == nil {
		b.WriteString("end: permanent\n")
	} else {
		fmt.Fprintf(b, "end: %s\n", formatTime(*lic.End))
	}
	fmt.Fprintf(b, "seats: %d\nused: %d\nremaining: %d\n", lic.Seats, lic.Used, lic.Remaining)
}

// installationView is an installation as --json shows it: never the
// credential.
type installationView struct {
	InstallationID string              `json:"installation_id"`
	Status         string              `json:"status"`
	License        *farmclient.License `json:"license,omitempty"`
}

func (f *farm) installationLines(b *strings.Builder) installationView {
	fmt.Fprintf(b, "installation: %s\nstatus: %s\n", f.state.InstallationID, f.state.Status)
	licenseLines(b, f.state.License)
	return installationView{InstallationID: f.state.InstallationID, Status: f.state.Status, License: f.state.License}
}

func newFarmActivateCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "activate",
		Short: "Activate online with a license key, or as a trial",
		Long: `Activate online with a license key, or as a trial (--trial --product P), and print
the license: key, start, end, seats, used and remaining (ACT-4).

The identity flags default to the identity in the state file, so that activating
again needs only --key; the new activation replaces the one the state file held.
The first online call pins the ledger's offline public key in the state file.`,
		Example: `  ledger farm activate --key 7K2MQ-X9PDA-4RT8V-HJ3NB-CW6Y5 --server-id srv-1 --farm-name Main --app-version 19.2
  ledger farm activate --kind proxy_server --key … --server-name px1 --site-code ZRH --site-description Zurich --app-version 19.2
  ledger farm activate --trial --product ras --server-id srv-2 --farm-name Test --app-version 19.2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, _ := cmd.Flags().GetString("key")
			trial, _ := cmd.Flags().GetBool("trial")
			product, _ := cmd.Flags().GetString("product")
			switch {
			case trial && key != "":
				return usagef("--key and --trial exclude each other")
			case trial && product == "":
				return usagef("--trial needs --product")
			case !trial && product != "":
				return usagef("--product is for --trial")
			case !trial && key == "":
				return usagef("--key is required (or --trial --product P)")
			}
			f, err := openFarm(cmd, a, true)
			if err != nil {
				return err
			}
			id, err := identity(cmd, "kind", f.state.Identity)
			if err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var act farmclient.Activation
			if trial {
				act, err = c.ActivateTrial(cmd.Context(), product, id)
			} else {
				act, err = c.Activate(cmd.Context(), key, id)
			}
			if err != nil {
				return farmError(err)
			}
			f.state.Server, f.state.Identity, f.state.Pending = c.BaseURL, id, nil
			f.state.ApplyActivation(act)
			if err := f.online(cmd.Context(), c, nil); err != nil {
				return err
			}
			if err := f.save(); err != nil {
				return err
			}
			var b strings.Builder
			v := f.installationLines(&b)
			return f.print(v, b.String())
		},
	}
	cmd.Flags().String("key", "", "the license key")
	cmd.Flags().Bool("trial", false, "activate a trial instead (SUB-8)")
	cmd.Flags().String("product", "", "the trial's product ID")
	addIdentityFlags(cmd, "kind")
	return cmd
}

// reportAttempts is how often report sends a report whose answer got
// lost; the idempotency key makes a retry count once (rule X-4).
const reportAttempts = 3

func newFarmReportCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Report usage: a seat count or the live connections",
		Long: `Report usage: a seat count (--seats) or the live connections to count seats from
(--connections, a JSON file holding a list of {"user","type","admin","host"}).

The report carries an idempotency key (--idempotency-key, else a random one, which
is printed): a report whose answer was lost is sent again and counted once.`,
		Example: "  ledger farm report --seats 12\n  ledger farm report --connections conns.json --observed-at 2026-03-01T10:00:00Z",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			seatsGiven := cmd.Flags().Changed("seats")
			connsFile, _ := cmd.Flags().GetString("connections")
			if seatsGiven == (connsFile != "") {
				return usagef("give --seats N or --connections FILE.json, one of them")
			}
			var r farmclient.Report
			if seatsGiven {
				n, _ := cmd.Flags().GetInt("seats")
				if n < 0 {
					return usagef("--seats: %d is negative", n)
				}
				r.Seats = &n
			} else {
				conns, err := readConnections(connsFile)
				if err != nil {
					return err
				}
				r.Connections = conns
			}
			if raw, _ := cmd.Flags().GetString("observed-at"); raw != "" {
				t, err := time.Parse(time.RFC3339, raw)
				if err != nil {
					return usagef("--observed-at: %q is not an RFC 3339 time like 2026-03-01T10:00:00Z", raw)
				}
				r.ObservedAt = t
			}
			key, _ := cmd.Flags().GetString("idempotency-key")
			if key == "" {
				key = randomKey()
			}
			f, c, err := openActiveFarm(cmd, a)
			if err != nil {
				return err
			}
			ans, err := sendReport(cmd.Context(), c, f.state.Credential, r, key)
			if err := f.online(cmd.Context(), c, err); err != nil {
				return err
			}
			f.state.Status = ans.Status
			if err := f.save(); err != nil {
				return err
			}
			var b strings.Builder
			fmt.Fprintf(&b, "installation: %s\nstatus: %s\nseats: %d\nquota: %d\npeak: %d\nover quota: %s\n",
				ans.InstallationID, ans.Status, ans.Seats, ans.Quota, ans.Peak, yesNo(ans.OverQuota))
			if g := ans.Grace; g != nil {
				switch {
				case g.Ends != nil:
					fmt.Fprintf(&b, "grace: %s until %s\n", g.State, formatTime(*g.Ends))
				case g.Ended != nil:
					fmt.Fprintf(&b, "grace: %s (ended %s)\n", g.State, formatTime(*g.Ended))
				default:
					fmt.Fprintf(&b, "grace: %s\n", g.State)
				}
			}
			if ans.OverLimit {
				b.WriteString("over limit: yes\n")
			}
			fmt.Fprintf(&b, "idempotency key: %s\n", key)
			return f.print(struct {
				farmclient.ReportAnswer
				IdempotencyKey string `json:"idempotency_key"`
			}{ans, key}, b.String())
		},
	}
	cmd.Flags().Int("seats", 0, "the seats in use")
	cmd.Flags().String("connections", "", "a JSON file of the live connections")
	cmd.Flags().String("observed-at", "", "when the usage was observed, RFC 3339 (default: when the ledger receives it)")
	cmd.Flags().String("idempotency-key", "", "the report's idempotency key (default: a random one)")
	return cmd
}

// sendReport sends a report, again after a network failure or a 5xx
// answer, under the same idempotency key.
func sendReport(ctx context.Context, c *farmclient.Client, credential string, r farmclient.Report, key string) (farmclient.ReportAnswer, error) {
	wait := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ans, err := c.Report(ctx, credential, r, key)
		var p *farmclient.ProblemError
		retry := err != nil && ctx.Err() == nil && (!errors.As(err, &p) || p.Status >= 500)
		if !retry || attempt == reportAttempts {
			return ans, err
		}
		select {
		case <-ctx.Done():
			return ans, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// readConnections reads a JSON list of connections, or an object holding
// one as "connections".
func readConnections(path string) ([]farmclient.Connection, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--connections: %v", err)
	}
	conns := []farmclient.Connection{}
	if err := json.Unmarshal(raw, &conns); err != nil {
		var wrapped struct {
			Connections *[]farmclient.Connection `json:"connections"`
		}
		if json.Unmarshal(raw, &wrapped) != nil || wrapped.Connections == nil {
			return nil, usagef("--connections: %s is not a JSON list of connections {\"user\",\"type\",\"admin\",\"host\"}", path)
		}
		conns = *wrapped.Connections
		if conns == nil {
			conns = []farmclient.Connection{}
		}
	}
	return conns, nil
}

// randomKey returns a fresh idempotency key.
func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "farm-" + hex.EncodeToString(b)
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

func newFarmRefreshCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh",
		Short: "Re-read the license from the ledger (ACT-5)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, c, err := openActiveFarm(cmd, a)
			if err != nil {
				return err
			}
			ans, err := c.License(cmd.Context(), f.state.Credential)
			if err := f.online(cmd.Context(), c, err); err != nil {
				return err
			}
			f.state.ApplyLicense(ans)
			if err := f.save(); err != nil {
				return err
			}
			var b strings.Builder
			v := f.installationLines(&b)
			return f.print(v, b.String())
		},
	}
}

func newFarmEnrollCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "enroll",
		Short:   "Ask whether a proxy server may enroll more computers (USE-6)",
		Example: "  ledger farm enroll --computers 5",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, _ := cmd.Flags().GetInt("computers")
			if n < 1 {
				return usagef("--computers: enroll at least 1 computer")
			}
			f, c, err := openActiveFarm(cmd, a)
			if err != nil {
				return err
			}
			ans, err := c.Enroll(cmd.Context(), f.state.Credential, n)
			if err := f.online(cmd.Context(), c, err); err != nil {
				return err
			}
			if err := f.save(); err != nil {
				return err
			}
			return f.print(ans, fmt.Sprintf("allowed: %s\nmanaged: %d\nlimit: %d\n", yesNo(ans.Allowed), ans.Managed, ans.Limit))
		},
	}
	cmd.Flags().Int("computers", 0, "how many computers to enroll")
	return cmd
}

func newFarmDeactivateCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "deactivate",
		Short: "Deactivate online; the ledger releases the key at once (ACT-6)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, c, err := openActiveFarm(cmd, a)
			if err != nil {
				return err
			}
			if err := f.online(cmd.Context(), c, c.Deactivate(cmd.Context(), f.state.Credential)); err != nil {
				return err
			}
			f.state.MarkDeactivated()
			f.state.Pending = nil
			if err := f.save(); err != nil {
				return err
			}
			return f.print(installationView{InstallationID: f.state.InstallationID, Status: f.state.Status},
				fmt.Sprintf("installation: %s\nstatus: %s\n", f.state.InstallationID, f.state.Status))
		},
	}
}

// requestKinds maps --kind of `farm request` to the file kinds.
var requestKinds = map[string]offline.Kind{
	"activation": offline.ActivationRequest, "refresh": offline.RefreshRequest, "deactivation": offline.DeactivationRequest,
}

func newFarmRequestCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "request",
		Short: "Write an offline request file for an admin to upload in the portal (ACT-2, ACT-5, ACT-6)",
		Long: `Write an offline request file: an activation (with --key and the identity), a
refresh of the license, or a deactivation. An admin of the business account uploads
it in the portal and hands back the ledger's signed answer, which ledger farm import
reads. A deactivation request deactivates the installation at once (ACT-6); the
ledger releases the key when the file is uploaded.

The identity of an activation is given with the flags of ledger farm activate, but
its kind is --identity-kind (farm or proxy_server), since --kind names the request.
The answer is verified with the ledger's public key, pinned at the first online
call; an installation that never went online is given it with --public-key.
The file holds the key (activation): keep it like the key.`,
		Example: `  ledger farm request --kind activation --key 7K2MQ-… --server-id srv-1 --farm-name Main --app-version 19.2 \
      --public-key k5Yz+yaK8PPcQXoG…= --out activation-request.txt
  ledger farm request --kind refresh --out refresh-request.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kindName, _ := cmd.Flags().GetString("kind")
			kind, ok := requestKinds[kindName]
			if !ok {
				return usagef("--kind: %q is not activation, refresh or deactivation", kindName)
			}
			out, _ := cmd.Flags().GetString("out")
			if out == "" {
				return usagef("--out: name the file to write (- for standard output)")
			}
			key, _ := cmd.Flags().GetString("key")
			if kind == offline.ActivationRequest && key == "" {
				return usagef("--kind activation needs --key")
			}
			if kind != offline.ActivationRequest && (key != "" || identityChanged(cmd, "identity-kind")) {
				return usagef("--key and the identity flags are for --kind activation")
			}
			now, err := farmNow(cmd)
			if err != nil {
				return err
			}
			f, err := openFarm(cmd, a, kind == offline.ActivationRequest)
			if err != nil {
				return err
			}
			if raw, _ := cmd.Flags().GetString("public-key"); raw != "" {
				pub, err := farmclient.ParsePublicKey(raw)
				if err != nil {
					return usageError{fmt.Errorf("--public-key: %w", farmError(err))}
				}
				f.state.SetLedgerKey(pub)
			}
			if f.state.PublicKey == "" {
				return usagef("the ledger's public key is not pinned in %s: give --public-key (GET /v1/offline/public-key of the ledger), so that its answer can be verified", f.path)
			}
			if kind == offline.ActivationRequest {
				if f.state.Identity, err = identity(cmd, "identity-kind", f.state.Identity); err != nil {
					return err
				}
				if fl := cmd.Flags().Lookup("server"); fl != nil && fl.Changed {
					f.state.Server = fl.Value.String()
				}
			}
			file, err := farmclient.WriteRequest(f.state, kind, key, now)
			if err != nil {
				return farmError(err)
			}
			// The state first: a pending request whose file was not
			// written is harmless; a file whose nonce is not pending
			// could never be answered.
			if err := f.save(); err != nil {
				return err
			}
			if out == "-" {
				_, err := f.a.stdout.Write(file)
				return err
			}
			if err := os.WriteFile(out, file, 0o600); err != nil {
				return fmt.Errorf("writing the request file: %w", err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "wrote %s for %s to %s\n", kind, f.state.Identity.Server(), out)
			if kind == offline.DeactivationRequest {
				b.WriteString("status: deactivated (the ledger releases the key when the file is uploaded)\n")
			}
			b.WriteString("next: an admin uploads it in the portal; import the answer with ledger farm import FILE\n")
			return f.print(map[string]any{"kind": kind, "file": out, "server": f.state.Identity.Server(),
				"issued": f.state.Pending.Issued, "status": f.state.Status}, b.String())
		},
	}
	cmd.Flags().String("kind", "", "activation, refresh or deactivation")
	cmd.Flags().String("out", "", "the file to write (- for standard output)")
	cmd.Flags().String("key", "", "the license key (activation)")
	cmd.Flags().String("public-key", "", "the ledger's Ed25519 public key, base64, for an installation that never went online")
	cmd.Flags().String("now", "", "the installation's clock, RFC 3339 (default: the system's), for a ledger on a simulated clock")
	addIdentityFlags(cmd, "identity-kind")
	return cmd
}

// farmNow is --now, else the system's time.
func farmNow(cmd *cobra.Command) (time.Time, error) {
	raw, _ := cmd.Flags().GetString("now")
	if raw == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return time.Time{}, usagef("--now: %q is not an RFC 3339 time like 2026-03-01T10:00:00Z", raw)
	}
	return t, nil
}

func newFarmImportCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Verify and apply the ledger's answer to the pending offline request",
		Long: `Verify and apply the ledger's signed answer to the pending offline request: an
activation file (the credential and license), a subscription-information file (the
license) or a deactivation file. The answer must be signed by the pinned key of the
ledger, unexpired, and answer this installation's pending request; a replayed or
foreign file is refused and changes nothing.`,
		Example: "  ledger farm import activation.txt",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now, err := farmNow(cmd)
			if err != nil {
				return err
			}
			f, err := openFarm(cmd, a, false)
			if err != nil {
				return err
			}
			raw, err := readAnswer(args[0])
			if err != nil {
				return err
			}
			kind, err := farmclient.Import(f.state, raw, now)
			if err != nil {
				return farmError(err)
			}
			if err := f.save(); err != nil {
				return err
			}
			var b strings.Builder
			fmt.Fprintf(&b, "imported: %s\n", kind)
			v := f.installationLines(&b)
			return f.print(struct {
				Imported offline.Kind `json:"imported"`
				installationView
			}{kind, v}, b.String())
		},
	}
	cmd.Flags().String("now", "", "the installation's clock, RFC 3339 (default: the system's), for a ledger on a simulated clock")
	return cmd
}

// readAnswer reads an answer file, refusing one larger than any answer.
func readAnswer(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading the answer file: %w", err)
	}
	if fi.Size() > offline.MaxSize {
		return nil, fmt.Errorf("%s is %d bytes, larger than any answer file of the ledger", path, fi.Size())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the answer file: %w", err)
	}
	return raw, nil
}

func newFarmShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the installation's state (the credential masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := openFarm(cmd, a, false)
			if err != nil {
				return err
			}
			st := *f.state
			st.Credential = st.MaskedCredential()
			var b strings.Builder
			fmt.Fprintf(&b, "state: %s\n", f.path)
			if st.Server != "" {
				fmt.Fprintf(&b, "server: %s\n", st.Server)
			}
			id := st.Identity
			for _, kv := range [][2]string{{"kind", id.Kind}, {"server id", id.ServerID}, {"farm name", id.FarmName},
				{"server name", id.ServerName}, {"site code", id.SiteCode}, {"site description", id.SiteDescription}, {"app version", id.AppVersion}} {
				if kv[1] != "" {
					fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
				}
			}
			if st.InstallationID != "" {
				fmt.Fprintf(&b, "installation: %s\nstatus: %s\n", st.InstallationID, st.Status)
			}
			if st.Credential != "" {
				fmt.Fprintf(&b, "credential: %s\n", st.Credential)
			}
			licenseLines(&b, st.License)
			if pub, err := st.LedgerKey(); err == nil {
				fmt.Fprintf(&b, "ledger key: %s\n", offline.KeyID(pub))
			} else {
				b.WriteString("ledger key: not pinned\n")
			}
			if p := st.Pending; p != nil {
				fmt.Fprintf(&b, "pending: %s written %s\n", p.Kind, formatTime(p.Issued))
			}
			return f.print(st, b.String())
		},
	}
}
