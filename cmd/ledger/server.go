package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"seatledger/infra/config"
	"seatledger/infra/farmclient"
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

// apiClient calls the API of a running ledgerd: the back-office calls of
// ledger clock, and the set-up calls of ledger bench ingest and ledger
// demo.
type apiClient struct {
	base *url.URL
	http *http.Client
}

// adminClient calls it with the admin token (the /admin/ endpoints and
// the back office's).
type adminClient struct {
	*apiClient
	token string
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
	return &adminClient{apiClient: &apiClient{base: u, http: &http.Client{Timeout: requestTimeout}}, token: token}, nil
}

// call sends body (when not nil) as JSON to path with the admin token and
// decodes a success into out.
func (c *adminClient) call(ctx context.Context, method, path string, body, out any) error {
	_, err := c.do(ctx, apiCall{method: method, path: path, body: body, bearer: c.token}, out)
	return err
}

// apiCall is one request of apiClient.do.
type apiCall struct {
	method, path string
	body         any // sent as JSON when not nil
	bearer       string
	cookie       *http.Cookie
	// want is the status that means success; 0 takes any 2xx.
	want int
}

// do sends c and decodes a success into out (nil: discarded); it returns
// the response, whose body is closed. A refusal is a
// *farmclient.ProblemError, which quotes the problem's title, detail and
// request ID (for support to find the server's log lines), as every
// refusal the CLI prints does.
func (c *apiClient) do(ctx context.Context, call apiCall, out any) (*http.Response, error) {
	var reader io.Reader
	if call.body != nil {
		b, err := json.Marshal(call.body)
		if err != nil {
			return nil, err
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, call.method, c.base.JoinPath(call.path).String(), reader)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if call.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if call.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+call.bearer)
	}
	if call.cookie != nil {
		req.AddCookie(call.cookie)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error repeats the method and URL; say it in plain words.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the ledger server at %s: %v", c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	if (call.want == 0 && resp.StatusCode >= 300) || (call.want != 0 && resp.StatusCode != call.want) {
		return nil, farmclient.ReadProblem(resp)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return nil, fmt.Errorf("%s %s: unreadable answer: %v", call.method, call.path, err)
		}
	}
	return resp, nil
}

// personalToken signs a person in and creates a personal API token for a
// script's calls (a session's cookie would need the portal's origin on
// every write), named name.
func (c *apiClient) personalToken(ctx context.Context, email, password, name string) (string, error) {
	resp, err := c.do(ctx, apiCall{method: http.MethodPost, path: "/v1/session",
		body: map[string]any{"email": email, "password": password}, want: http.StatusOK}, nil)
	if err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Value != "" {
			session = ck
		}
	}
	if session == nil {
		return "", errors.New("sign in: the server set no session cookie")
	}
	var token struct {
		Token string `json:"token"`
	}
	if _, err := c.do(ctx, apiCall{method: http.MethodPost, path: "/v1/me/tokens", cookie: session,
		body: map[string]any{"name": name}, want: http.StatusCreated}, &token); err != nil {
		return "", fmt.Errorf("create an API token: %w", err)
	}
	return token.Token, nil
}

// formatTime shows a ledger time: RFC 3339 in UTC.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
