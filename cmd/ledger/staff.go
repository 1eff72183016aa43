package main

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"seatledger/infra/config"
	"seatledger/infra/httpapi"
)

func init() {
	register(newStaffCommand)
	register(newServiceAccountsCommand)
}

// envStaffToken is the bearer token of a staff session, which the back
// office's commands send when it is set; else the admin token.
const envStaffToken = "LEDGER_STAFF_TOKEN"

const backOfficeCredentials = `The server is --url or $LEDGER_URL. The commands send the staff session's
token $` + envStaffToken + ` (an owner's, from POST /v1/staff/session) when it is
set, else the admin token $` + config.EnvAdminToken + `, which the server accepts
only until the back office has an owner (unless LEDGER_ADMIN_TOKEN_KEEP=on).`

// newBackOfficeClient is newAdminClient with the staff session's token
// when $LEDGER_STAFF_TOKEN is set.
func newBackOfficeClient(cmd *cobra.Command, a *app) (*adminClient, error) {
	getenv := a.getenv
	if token := a.getenv(envStaffToken); token != "" {
		getenv = func(name string) string {
			if name == config.EnvAdminToken {
				return token
			}
			return a.getenv(name)
		}
	}
	return newAdminClient(cmd, &app{getenv: getenv, stdout: a.stdout, stderr: a.stderr})
}

func newStaffCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "staff",
		Short: "Add, list, change and remove the back office's staff",
		Long: `The vendor's own people in the back office (issue 23): owner, support, sales,
finance and auditor. The first owner is added with the admin token:

  LEDGER_ADMIN_TOKEN=… ledger staff add --email ann@vendor.example --role owner

It prints a one-time enrolment token, shown nowhere else: the person enrols
with it (POST /v1/staff/enrolment: a password, and the TOTP secret for an
authenticator), confirms the enrolment with the authenticator's first code
(POST /v1/staff/enrolment/confirm), then signs in with password and code
(POST /v1/staff/session). An owner re-issues a lost enrolment token
(reissue) and resets a lost second factor (reset-totp: the person enrols
again; their sessions end).

` + backOfficeCredentials,
	}
	commandGroup(cmd)
	addServerFlags(cmd)
	add := &cobra.Command{
		Use:     "add --email ADDRESS --role ROLE [--name NAME]",
		Short:   "Add a staff person and print their one-time enrolment token",
		Example: "  ledger staff add --email ann@vendor.example --role owner --name 'Ann Owner'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, _ := cmd.Flags().GetString("email")
			role, _ := cmd.Flags().GetString("role")
			name, _ := cmd.Flags().GetString("name")
			if email == "" || role == "" {
				return usagef("--email and --role are required")
			}
			if name == "" {
				name = email
			}
			c, err := newBackOfficeClient(cmd, a)
			if err != nil {
				return err
			}
			var added struct {
				StaffID        string `json:"staff_id"`
				EnrolmentToken string `json:"enrolment_token"`
			}
			if err := c.call(cmd.Context(), http.MethodPost, "/v1/staff", map[string]string{"email": email, "display_name": name, "role": role}, &added); err != nil {
				return err
			}
			if _, err := fmt.Fprintf(a.stdout, "added %s (%s) as %s\n", email, added.StaffID, role); err != nil {
				return err
			}
			return printEnrolment(a, c, email, added.EnrolmentToken)
		},
	}
	add.Flags().String("email", "", "the person's email address (required)")
	add.Flags().String("role", "", "owner, support, sales, finance or auditor (required)")
	add.Flags().String("name", "", "the name customers and the history show (default: the email address)")
	cmd.AddCommand(add,
		&cobra.Command{
			Use:   "list",
			Short: "List the staff",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := newBackOfficeClient(cmd, a)
				if err != nil {
					return err
				}
				var list httpapi.StaffList
				if err := c.call(cmd.Context(), http.MethodGet, "/v1/staff", nil, &list); err != nil {
					return err
				}
				for _, m := range list.Staff {
					state := "enrolled"
					if !m.Enrolled {
						state = "not enrolled yet"
					}
					if _, err := fmt.Fprintf(a.stdout, "%s  %-8s %s <%s>, %s, %d recovery codes left\n", m.StaffID, m.Role, m.DisplayName, m.Email,
						state, m.RecoveryCodesLeft); err != nil {
						return err
					}
				}
				return nil
			},
		},
		&cobra.Command{
			Use:   "role STAFF_ID ROLE",
			Short: "Give a staff person another role (never the last owner's)",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newBackOfficeClient(cmd, a)
				if err != nil {
					return err
				}
				if err := c.call(cmd.Context(), http.MethodPut, "/v1/staff/"+url.PathEscape(args[0])+"/role", map[string]string{"role": args[1]}, nil); err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "%s is %s now\n", args[0], args[1])
				return err
			},
		},
		&cobra.Command{
			Use:   "remove STAFF_ID",
			Short: "Remove a staff person (never the last owner); their sessions end",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newBackOfficeClient(cmd, a)
				if err != nil {
					return err
				}
				if err := c.call(cmd.Context(), http.MethodDelete, "/v1/staff/"+url.PathEscape(args[0]), nil, nil); err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "removed %s\n", args[0])
				return err
			},
		},
		newEnrolmentTokenCommand(a, "reissue", "Give a staff person who has not enrolled a new enrolment token (the old one stops working)",
			"/enrolment", "new enrolment token for"),
		newEnrolmentTokenCommand(a, "reset-totp", "Reset a staff person's second factor: their password, TOTP and recovery codes stop working, their sessions end, and they enrol again",
			"/totp-reset", "second factor reset for"),
	)
	return cmd
}

// printEnrolment prints a one-time enrolment token and how the person
// enrols with it.
func printEnrolment(a *app, c *adminClient, email, token string) error {
	_, err := fmt.Fprintf(a.stdout, "enrolment token (shown once): %s\n"+
		"hand it to the person, who enrols at %s with:\n"+
		"  {\"email\": %q, \"token\": \"<the token>\", \"password\": \"<their password>\"}\n"+
		"and confirms with the authenticator's first code at %s:\n"+
		"  {\"email\": %q, \"token\": \"<the token>\", \"code\": \"<six digits>\"}\n",
		token, c.base.JoinPath("/v1/staff/enrolment"), email, c.base.JoinPath("/v1/staff/enrolment/confirm"), email)
	return err
}

// newEnrolmentTokenCommand is reissue or reset-totp: an owner's POST that
// answers a new enrolment token for staff person STAFF_ID.
func newEnrolmentTokenCommand(a *app, use, short, path, done string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " STAFF_ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newBackOfficeClient(cmd, a)
			if err != nil {
				return err
			}
			var issued httpapi.EnrolmentTokenIssued
			if err := c.call(cmd.Context(), http.MethodPost, "/v1/staff/"+url.PathEscape(args[0])+path, nil, &issued); err != nil {
				return err
			}
			var list httpapi.StaffList
			if err := c.call(cmd.Context(), http.MethodGet, "/v1/staff", nil, &list); err != nil {
				return err
			}
			email := "<their email>"
			for _, m := range list.Staff {
				if m.StaffID == issued.StaffID {
					email = m.Email
				}
			}
			if _, err := fmt.Fprintf(a.stdout, "%s %s\n", done, args[0]); err != nil {
				return err
			}
			return printEnrolment(a, c, email, issued.EnrolmentToken)
		},
	}
}

func newServiceAccountsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service-accounts",
		Short: "Create, list, rotate and revoke the credentials of the vendor's machines",
		Long: `Service accounts are named credentials of the vendor's machines (the order
system): they may apply orders and keep the catalog, nothing else, and their
events name them. A token is printed once and stored hashed.

` + backOfficeCredentials,
	}
	commandGroup(cmd)
	addServerFlags(cmd)
	printToken := func(verb string, body struct {
		ServiceID string `json:"service_id"`
		Token     string `json:"token"`
	}) error {
		_, err := fmt.Fprintf(a.stdout, "%s service account %s\ntoken (shown once): %s\n", verb, body.ServiceID, body.Token)
		return err
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:     "create NAME",
			Short:   "Create a service account and print its token",
			Example: "  ledger service-accounts create 'order system'",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newBackOfficeClient(cmd, a)
				if err != nil {
					return err
				}
				var created struct {
					ServiceID string `json:"service_id"`
					Token     string `json:"token"`
				}
				if err := c.call(cmd.Context(), http.MethodPost, "/v1/service-accounts", map[string]string{"name": args[0]}, &created); err != nil {
					return err
				}
				return printToken("created", created)
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List the service accounts",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := newBackOfficeClient(cmd, a)
				if err != nil {
					return err
				}
				var list httpapi.ServiceAccountList
				if err := c.call(cmd.Context(), http.MethodGet, "/v1/service-accounts", nil, &list); err != nil {
					return err
				}
				for _, s := range list.ServiceAccounts {
					state := "live"
					if s.Revoked {
						state = "revoked"
					}
					if _, err := fmt.Fprintf(a.stdout, "%s  %-7s %s\n", s.ServiceID, state, s.Name); err != nil {
						return err
					}
				}
				return nil
			},
		},
		&cobra.Command{
			Use:   "rotate SERVICE_ID",
			Short: "Replace a service account's token (the old one stops at once) and print the new one",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newBackOfficeClient(cmd, a)
				if err != nil {
					return err
				}
				var rotated struct {
					ServiceID string `json:"service_id"`
					Token     string `json:"token"`
				}
				if err := c.call(cmd.Context(), http.MethodPost, "/v1/service-accounts/"+url.PathEscape(args[0])+"/rotate", nil, &rotated); err != nil {
					return err
				}
				return printToken("rotated", rotated)
			},
		},
		&cobra.Command{
			Use:   "revoke SERVICE_ID",
			Short: "Revoke a service account for good",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newBackOfficeClient(cmd, a)
				if err != nil {
					return err
				}
				if err := c.call(cmd.Context(), http.MethodDelete, "/v1/service-accounts/"+url.PathEscape(args[0]), nil, nil); err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "revoked %s\n", args[0])
				return err
			},
		},
	)
	return cmd
}
