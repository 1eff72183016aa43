package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"seatledger/infra/config"
	"seatledger/infra/httpapi"
)

// Settings of the commands that talk to a running ledgerd.
const (
	envServerURL     = "LEDGER_URL"
	defaultServerURL = "http://127.0.0.1:8080"
	// requestTimeout bounds one call to the server, so that a hung server
	// fails the command instead of hanging the script that runs it.
	requestTimeout = 30 * time.Second
	// advanceTimeout bounds a clock advance, which answers only once every
	// timer due on its way has recorded its effects (rule X-6): a month of
	// a suspended farm's 20-minute re-validations is thousands of them.
	advanceTimeout = 30 * time.Minute
)

// addServerFlags declares the flags of commands that call the server's
// API. The admin token has no flag: a flag would show it in the process
// list and the shell history.
func addServerFlags(cmd *cobra.Command) {
	cmd.PersistentFlags().String("url", "", "base URL of the running ledgerd (default $"+envServerURL+", else "+defaultServerURL+")")
}

// adminClient calls the /admin/ endpoints of a running ledgerd.
type adminClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

// newAdminClient reads the server URL (--url or LEDGER_URL) and the admin
// token (LEDGER_ADMIN_TOKEN). Missing or bad settings are usage errors.
func newAdminClient(cmd *cobra.Command, a *app) (*adminClient, error) {
	raw, source := setting(cmd, a, "url", envServerURL, defaultServerURL)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("%s: %q is not an http:// or https:// URL of the server", source, raw)
	}
	token := a.getenv(config.EnvAdminToken)
	if token == "" {
		return nil, usagef("%s is not set; export the server's admin token", config.EnvAdminToken)
	}
	return &adminClient{base: u, token: token, http: &http.Client{Timeout: requestTimeout}}, nil
}

// call sends body (when not nil) as JSON to path and decodes the answer
// into out. A problem answer becomes an error that quotes its title,
// detail and request ID, so that support can find the server's log lines.
func (c *adminClient) call(ctx context.Context, method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(b)
	}
	endpoint := c.base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, method, endpoint.String(), reader)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json, application/problem+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error repeats the method and URL; say it in plain words.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("cannot reach the ledger server at %s: %v", c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return answerError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer: %v", method, path, err)
	}
	return nil
}

// answerError explains a refused request.
func answerError(resp *http.Response) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" {
		var p httpapi.Problem
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&p); err == nil && p.Title != "" {
			msg := p.Title
			if p.Detail != "" {
				msg += ": " + p.Detail
			}
			if p.RequestID != "" {
				msg += " (request " + p.RequestID + ")"
			}
			return fmt.Errorf("server refused (%d): %s", resp.StatusCode, msg)
		}
	}
	return fmt.Errorf("server answered %s to %s %s", resp.Status, resp.Request.Method, resp.Request.URL.Path)
}

// formatTime shows a ledger time: RFC 3339 in UTC.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
