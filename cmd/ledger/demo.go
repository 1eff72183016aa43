package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"seatledger/infra/config"
	"seatledger/infra/farmclient"
	"seatledger/infra/httpapi"
	"seatledger/infra/mail"
	"seatledger/projections"
)

func init() { register(newDemoCommand) }

// Settings of `ledger demo`.
const (
	// demoMailWait bounds the wait for a mail the demo reads a link from.
	demoMailWait = 30 * time.Second
	// demoPoll is how often the demo looks for the server or a mail.
	demoPoll = 100 * time.Millisecond
)

func newDemoCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Seed a running ledger on the simulated clock with a vendor, a customer and five weeks of their life",
		Long: `Seed a running ledgerd, through its API, with what a vendor and a customer
would have after five weeks (the guides' people and numbers): the products
Remote Application Server and Mac Management for SCCM with their releases;
three subscriptions of "My Company, Inc." (one a month long, ended and in
its grace) with sublicenses; Andrew Palmer (account admin), Grace Kim
(promoted to admin) and David Lewis (license administrator of a key) as
members, and an invitation pending; four farms and two proxy servers
reporting usage day by day, of which a farm in its 7-day overuse grace
(11 of 8 seats), a farm suspended for overuse, a farm whose deactivation
waits for its next contact, and a proxy server over its limit; and three
support tickets. It then prints how to sign in to the portal.

The server must run on the simulated clock (--clock=simulated: the demo
moves it five weeks on) with installations' calls not limited
(--installation-call-limit=off: farms report every day of the five weeks
within seconds), on a ledger holding nothing yet; it refuses anything else
in one line. The demo reads the links of the mail it needs (address
verification, invitations) from the server's mail folder (--mail-dir), so
it runs beside a ledgerd that writes its mail there. make demo starts such a
server on a fresh ./data/demo and runs this.

The server is --url or $LEDGER_URL; the admin token is $LEDGER_ADMIN_TOKEN.`,
		Example: "  LEDGER_CLOCK=simulated LEDGER_INSTALLATION_CALL_LIMIT=off LEDGER_ADMIN_TOKEN=… ledgerd &\n" +
			"  LEDGER_ADMIN_TOKEN=… ledger demo --wait 30s",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			wait, _ := cmd.Flags().GetDuration("wait")
			if wait < 0 {
				return usagef("--wait must not be negative")
			}
			office, err := newAdminClient(cmd, a)
			if err != nil {
				return err
			}
			office.http.Timeout = advanceTimeout
			mailDir, _ := setting(cmd, a, "mail-dir", config.EnvMailDir, config.DefaultMailDir)
			d := &demo{a: a, office: office, mailDir: mailDir, farms: &farmclient.Client{BaseURL: office.base.String()}}
			ctx := cmd.Context()
			if err := d.waitForServer(ctx, wait); err != nil {
				return err
			}
			if err := d.preflight(ctx); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "seeding the demo ledger at %s: a vendor, a customer and five weeks of their life (about a minute) …\n",
				office.base.Redacted())
			if err := d.seed(ctx); err != nil {
				return err
			}
			return d.printSheet(ctx)
		},
	}
	addServerFlags(cmd)
	cmd.Flags().String("mail-dir", "", "the server's mail folder, where the demo reads the links it needs (default $"+
		config.EnvMailDir+", else "+config.DefaultMailDir+")")
	cmd.Flags().Duration("wait", 0, "wait up to this long for the server to answer (a server just started)")
	return cmd
}

// demo is one run of ledger demo against a server.
type demo struct {
	a       *app
	office  *adminClient
	farms   *farmclient.Client
	mailDir string

	start   time.Time     // the server's clock when the demo began
	elapsed time.Duration // how far the demo moved it since

	people  map[string]*demoPerson // by first name, lower case
	account string
	subs    map[string]string                  // subscription IDs by the demo's name
	keys    map[string]demoKey                 // keys by name
	inst    map[string]*demoInstallation       // installations by server
	tickets map[string]string                  // ticket IDs by the demo's name
	last    map[string]farmclient.ReportAnswer // each installation's last report answer
}

// demoPerson is a member of the customer's account.
type demoPerson struct {
	first, last, email, password string
	id, token                    string // person ID; personal API token
	role                         string // for the sign-in sheet
}

func (p *demoPerson) name() string { return p.first + " " + p.last }

// demoKey is a license key the demo holds.
type demoKey struct{ subscription, id, key string }

// demoInstallation is a farm or a proxy server of the customer.
type demoInstallation struct {
	identity farmclient.Identity
	key      string // the key's name
	id, cred string
}

func (i *demoInstallation) name() string {
	if i.identity.Kind == farmclient.KindFarm {
		return i.identity.ServerID
	}
	return i.identity.ServerName
}

// waitForServer waits up to wait for the server to answer its liveness
// probe: make demo starts the seeding beside a server that is starting.
func (d *demo) waitForServer(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		_, err := d.office.do(ctx, apiCall{method: http.MethodGet, path: "/healthz"}, nil)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(demoPoll):
		}
	}
}

// preflight refuses, before anything is written, a server on the real
// clock and a ledger that holds a catalog already.
func (d *demo) preflight(ctx context.Context) error {
	var clk httpapi.ClockState
	if err := d.office.call(ctx, http.MethodGet, "/admin/clock", nil, &clk); err != nil {
		if farmclient.IsProblem(err, "clock-is-real") {
			return fmt.Errorf("the ledger at %s runs on the real clock; ledger demo moves time on, so it needs a server started with --clock=simulated "+
				"(and --installation-call-limit=off) on an empty database, as make demo starts one", d.office.base.Redacted())
		}
		return err
	}
	d.start = clk.Now
	var catalog struct {
		Products []struct {
			ProductID string `json:"product_id"`
		} `json:"products"`
	}
	if err := d.office.call(ctx, http.MethodGet, "/v1/products", nil, &catalog); err != nil {
		return err
	}
	if n := len(catalog.Products); n > 0 {
		return fmt.Errorf("the ledger at %s is seeded already (its catalog has %d products, %s first); ledger demo seeds an empty ledger: "+
			"start one on a new database (make demo does)", d.office.base.Redacted(), n, catalog.Products[0].ProductID)
	}
	return nil
}

// officeDo is a back-office call; what names the step in an error.
func (d *demo) officeDo(ctx context.Context, what, method, path string, body, out any) error {
	if _, err := d.office.do(ctx, apiCall{method: method, path: path, body: body, bearer: d.office.token}, out); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// as is p's call with their personal API token; what names the step.
func (d *demo) as(ctx context.Context, p *demoPerson, what, method, path string, body, out any) error {
	if _, err := d.office.do(ctx, apiCall{method: method, path: path, body: body, bearer: p.token}, out); err != nil {
		return fmt.Errorf("%s (as %s): %w", what, p.name(), err)
	}
	return nil
}

// advanceTo moves the server's clock to start+at, through every timer due
// on the way (rule X-6).
func (d *demo) advanceTo(ctx context.Context, at time.Duration) error {
	if at <= d.elapsed {
		return nil
	}
	var state httpapi.ClockState
	if err := d.office.call(ctx, http.MethodPost, "/admin/clock/advance", httpapi.AdvanceClock{By: (at - d.elapsed).String()}, &state); err != nil {
		return fmt.Errorf("advance the clock: %w", err)
	}
	d.elapsed = at
	return nil
}

// now is the server's clock, as the demo moved it.
func (d *demo) now() time.Time { return d.start.Add(d.elapsed) }

// mailLink waits for the newest mail of template to address, written at or
// after the demo's start, and returns its link's query.
func (d *demo) mailLink(ctx context.Context, to, template string) (url.Values, error) {
	deadline := time.Now().Add(demoMailWait)
	for {
		mails, err := mail.ReadOutbox(d.mailDir)
		if err != nil && !errors.Is(err, mail.ErrNoOutbox) {
			return nil, err
		}
		for _, m := range slices.Backward(mails) {
			if strings.EqualFold(m.To, to) && m.Template == template && len(m.Links()) > 0 {
				u, err := url.Parse(m.Links()[0])
				if err != nil {
					return nil, fmt.Errorf("the link of %s: %w", m.Path, err)
				}
				return u.Query(), nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no %s mail to %s in %s within %s: ledger demo reads the links it needs from the server's mail folder "+
				"(--mail-dir or %s); run it beside a ledgerd that writes its mail there (no %s)",
				template, to, d.mailDir, demoMailWait, config.EnvMailDir, config.EnvSMTPURL)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(demoPoll):
		}
	}
}

// signIn signs p in and gives them a personal API token for the demo's
// calls.
func (d *demo) signIn(ctx context.Context, p *demoPerson) error {
	token, err := d.office.personalToken(ctx, p.email, p.password, "ledger demo")
	if err != nil {
		return fmt.Errorf("%s: %w", p.name(), err)
	}
	p.token = token
	return nil
}

// report sends an installation's usage report: seats, or for a farm with
// users, their connections.
func (d *demo) report(ctx context.Context, server string, r farmclient.Report) error {
	i := d.inst[server]
	ans, err := d.farms.Report(ctx, i.cred, r, "")
	if farmclient.IsProblem(err, "too-many-requests") {
		return fmt.Errorf("the ledger at %s limits each installation's usage reports, and the demo's farms report every day of five weeks "+
			"within seconds: start it with --installation-call-limit=off (make demo does), on a new database", d.office.base.Redacted())
	}
	if err != nil {
		return fmt.Errorf("usage report of %s: %w", server, err)
	}
	d.last[server] = ans
	return nil
}

// newUUID returns a random (version 4) UUID: the demo names the people it
// signs up, to grant them roles later.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newPassword returns a random password of 20 letters and digits in
// groups of five, easy to type from the sheet (about 98 bits).
func newPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	var b [20]byte
	_, _ = rand.Read(b[:])
	var s strings.Builder
	for i, c := range b {
		if i > 0 && i%5 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return s.String()
}

// printSheet prints how to sign in and what to look at.
func (d *demo) printSheet(ctx context.Context) error {
	w := d.a.stdout
	portal := d.office.base.JoinPath("/").String()
	fmt.Fprintf(w, "\nThe demo ledger is ready: %s (its clock: %s, five weeks after the demo began)\n\nSign in as:\n", portal, d.now().Format("2006-01-02 15:04 UTC"))
	for _, p := range d.cast() {
		fmt.Fprintf(w, "  %-14s %-27s password %s   %s\n", p.name(), p.email, p.password, p.role)
	}
	lab, err := d.farms.License(ctx, d.inst[demoLabFarm].cred)
	if err != nil {
		return fmt.Errorf("the license of %s: %w", demoLabFarm, err)
	}
	munich, proxy := d.last[demoMunichFarm], d.last[demoLabProxy]
	fmt.Fprintf(w, "\nWhat to look at (%s):\n", d.companyName())
	if munich.Grace != nil && munich.Grace.Ends != nil {
		fmt.Fprintf(w, "  farm %s (key Munich office): %d of %d seats, in its 7-day overuse grace until %s\n", demoMunichFarm, munich.Seats, munich.Quota,
			munich.Grace.Ends.UTC().Format("2006-01-02 15:04"))
	}
	fmt.Fprintf(w, "  farm %s (key Training lab): %s, %d of %d seats after its grace ran out\n", demoLabFarm, lab.Status,
		d.last[demoLabFarm].Seats, d.last[demoLabFarm].Quota)
	fmt.Fprintf(w, "  farm %s: deactivated from the portal, waiting for a contact that never comes\n", demoDRFarm)
	if proxy.OverLimit {
		fmt.Fprintf(w, "  proxy server %s (key Test site): %d of %d computers, over its limit (the admins are mailed every hour)\n",
			demoLabProxy, proxy.Seats, proxy.Quota)
	}
	fmt.Fprintf(w, "  subscription %q: a month long without renewal, ended: in its 30-day grace\n", demoPilot)
	fmt.Fprintf(w, "  tickets %s (waits for the customer), %s (a call booked), %s (resolved and rated)\n",
		d.tickets["suspended"], d.tickets["enrollment"], d.tickets["activation"])
	mailDir := d.mailDir
	if abs, err := filepath.Abs(mailDir); err == nil {
		mailDir = abs
	}
	fmt.Fprintf(w, "  mail: ledger mail list --mail-dir %s\n", mailDir)
	fmt.Fprintf(w, "  time: ledger clock advance 1d moves the demo on, with the server's %s (make demo's is in data/demo/admin-token)\n",
		config.EnvAdminToken)
	return nil
}

// The mail templates the demo reads links from.
const (
	demoVerifyMail     = projections.TemplateVerifyEmail
	demoInvitationMail = projections.TemplateInvitation
)
