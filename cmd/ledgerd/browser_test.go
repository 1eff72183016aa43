package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// actionTimeout bounds every browser step, so a page that never loads or a
// selector that never matches fails the test with its URL instead of
// hanging until the go test -timeout kills the whole package.
const actionTimeout = 30 * time.Second

// chromiumPaths are tried in order: Debian's package (what `make chromium`
// installs) first, then whatever a developer has on PATH.
var chromiumPaths = []string{"/usr/bin/chromium", "chromium", "chromium-browser"}

// browserOption changes how newBrowser sets up its tab.
type browserOption func(*browserConfig)

type browserConfig struct {
	noJS bool
}

// noJS turns script execution off before the first navigation, to check
// that a page works for a visitor without JavaScript.
func noJS() browserOption {
	return func(c *browserConfig) { c.noJS = true }
}

// newBrowser starts a headless Chromium for t and returns the context of
// its tab. The browser is closed, and its process reaped, when t ends; by
// then every console error, uncaught exception and error log entry that no
// allowConsole excused has failed t, so a page that breaks in the browser
// cannot pass quietly.
func newBrowser(t *testing.T, opts ...browserOption) context.Context {
	t.Helper()
	var cfg browserConfig
	for _, o := range opts {
		o(&cfg)
	}
	output := &syncBuffer{}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumFlags(t, output)...)
	console := &consoleLog{}
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(console.listen))
	ctx := context.WithValue(tabCtx, consoleKey{}, console)
	t.Cleanup(func() { closeBrowser(ctx, cancelTab, cancelAlloc) })
	t.Cleanup(func() { reportConsole(t, console) })
	startBrowser(t, ctx, cancelTab, output)
	if cfg.noJS {
		browse(t, ctx, disableScripts())
	}
	return ctx
}

// chromiumFlags are the command line of the browser, and nothing else: the
// network is closed here, so every feature that phones home is off, which
// also keeps refused connections out of the log that newBrowser checks.
func chromiumFlags(t *testing.T, output io.Writer) []chromedp.ExecAllocatorOption {
	t.Helper()
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(findChromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
	}
}

// findChromium returns the browser's path. Without one the test is skipped
// on a developer's machine but fails on CI, where a missing browser means a
// broken install step, not a choice.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range chromiumPaths {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := "Chromium is not installed; run `make chromium`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startBrowser launches the process and opens the tab. chromedp ties the
// browser's life to the context of this first run, so it cannot carry a
// timeout; a watchdog kills a browser that does not start in time instead.
func startBrowser(t *testing.T, ctx context.Context, kill context.CancelFunc, output *syncBuffer) {
	t.Helper()
	watchdog := time.AfterFunc(actionTimeout, kill)
	err := chromedp.Do(ctx)
	if !watchdog.Stop() {
		t.Fatalf("Chromium did not start within %s\n%s", actionTimeout, output)
	}
	if err != nil {
		t.Fatalf("starting Chromium: %v\n%s", err, output)
	}
}

// closeBrowser asks Chromium to quit, so it takes its helper processes with
// it before t.TempDir removes the profile, then kills whatever is left and
// waits for the process to be reaped.
func closeBrowser(ctx context.Context, cancelTab, cancelAlloc context.CancelFunc) {
	quitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = chromedp.Cancel(quitCtx) // a browser that will not quit is killed below
	cancelTab()
	cancelAlloc()
}

// disableScripts is Emulation.setScriptExecutionDisabled as a step.
func disableScripts() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, emulation.SetScriptExecutionDisabled,
			emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
}

// browse runs steps in the tab of ctx within actionTimeout, failing t with
// the page it was on.
func browse(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browseFor(t, ctx, chromedp.Steps(steps...))
}

// browseFor runs one action that returns a value, such as chromedp.Text,
// under the same rules as browse.
func browseFor[T any](t *testing.T, ctx context.Context, action chromedp.Action[T]) T {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(stepCtx, action)
	if err != nil {
		t.Fatalf("browser on %s: %v", consoleOf(ctx).page(), err)
	}
	return v
}

// shotDirs holds each test's screenshot directory, made once so that every
// shot of a test lands side by side.
var shotDirs sync.Map // *testing.T → string

func shotDir(t *testing.T) string {
	if dir, ok := shotDirs.Load(t); ok {
		return dir.(string)
	}
	dir := filepath.Join(t.TempDir(), "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shotDirs.Store(t, dir)
	t.Cleanup(func() { shotDirs.Delete(t) })
	return dir
}

// shot saves the whole page as <name>.png, to look at when a test fails;
// when PORTAL_SCREENSHOTS names a directory it is copied there too, which
// is how the README's pictures are collected.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// Chromium encodes PNG only at quality 100; below it sends a JPEG.
	png := browseFor(t, ctx, chromedp.FullScreenshot(100))
	path := filepath.Join(shotDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s", consoleOf(ctx).page(), path)
	if dir := os.Getenv("PORTAL_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// consoleEntry is one problem the page reported.
type consoleEntry struct {
	Page string // the URL of the page that was open
	Kind string // console.error, console.assert, exception, or log:<source>
	Text string
}

func (e consoleEntry) String() string {
	return fmt.Sprintf("%s on %s: %s", e.Kind, e.Page, e.Text)
}

// consoleLog collects the tab's errors. Its listen runs on chromedp's
// reader goroutine, before the command that follows the event returns, so
// an error a page raises while loading is here once Navigate returns.
type consoleLog struct {
	mu      sync.Mutex
	url     string
	entries []consoleEntry
	allowed []string
}

type consoleKey struct{}

func consoleOf(ctx context.Context) *consoleLog {
	return ctx.Value(consoleKey{}).(*consoleLog)
}

// allowConsole excuses the entries of the tab of ctx whose text contains
// substr, for a test that provokes an error on purpose (a 404, say). Keep
// substr specific: everything else still fails the test.
func allowConsole(ctx context.Context, substr string) {
	c := consoleOf(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.allowed = append(c.allowed, substr)
}

// takeConsoleErrors returns the entries collected so far that are not
// allowed, and forgets all of them.
func takeConsoleErrors(ctx context.Context) []consoleEntry {
	return consoleOf(ctx).take()
}

func (c *consoleLog) take() []consoleEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	var kept []consoleEntry
	for _, e := range c.entries {
		if !c.isAllowed(e.Text) {
			kept = append(kept, e)
		}
	}
	c.entries = nil
	return kept
}

func (c *consoleLog) isAllowed(text string) bool {
	for _, a := range c.allowed {
		if strings.Contains(text, a) {
			return true
		}
	}
	return false
}

func (c *consoleLog) page() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url
}

// listen must return fast and never call the browser (chromedp.Listen's
// rules); it only records.
func (c *consoleLog) listen(ev any) {
	switch ev := ev.(type) {
	case *cdppage.EventFrameNavigated:
		if ev.Frame.ParentID == "" {
			c.mu.Lock()
			c.url = ev.Frame.URL
			c.mu.Unlock()
		}
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type == cdpruntime.ConsoleAPICalledTypeError || ev.Type == cdpruntime.ConsoleAPICalledTypeAssert {
			c.add("console."+string(ev.Type), argsText(ev.Args))
		}
	case *cdpruntime.EventExceptionThrown:
		c.add("exception", exceptionText(ev.ExceptionDetails))
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			c.add("log:"+string(ev.Entry.Source), strings.TrimSpace(ev.Entry.Text+" "+ev.Entry.URL))
		}
	}
}

func (c *consoleLog) add(kind, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, consoleEntry{Page: c.url, Kind: kind, Text: text})
}

// argsText renders console arguments roughly as DevTools shows them:
// strings bare, anything else by its description.
func argsText(args []*cdpruntime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a.Type == cdpruntime.RemoteObjectTypeString && json.Unmarshal(a.Value, &s) == nil:
		case a.Description != "":
			s = a.Description
		default:
			s = string(a.Value)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// exceptionText is "Uncaught Error: message" with the stack cut off.
func exceptionText(d *cdpruntime.ExceptionDetails) string {
	if d.Exception == nil {
		return d.Text
	}
	desc, _, _ := strings.Cut(d.Exception.Description, "\n")
	return strings.TrimSpace(d.Text + " " + desc)
}

// reportConsole fails t with every error the tab collected.
func reportConsole(t *testing.T, c *consoleLog) {
	entries := c.take()
	if len(entries) == 0 {
		return
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString("\n\t" + e.String())
	}
	t.Errorf("the browser reported %d error(s):%s", len(entries), b.String())
}

// harnessSite serves the pages the harness's self-test drives.
func harnessSite(t *testing.T) string {
	pages := map[string]string{
		"/clean":  `<!doctype html><title>clean</title><h1>All good</h1>`,
		"/boom":   `<!doctype html><title>boom</title><script>console.error("boom")</script>`,
		"/throw":  `<!doctype html><title>throw</title><script>throw new Error("kaboom")</script>`,
		"/broken": `<!doctype html><title>broken</title><img src="/missing.png" alt="">`,
		"/script": `<!doctype html><title>script</title><p id="js">static</p>` +
			`<script>document.getElementById("js").textContent = "scripted"</script>` +
			`<noscript><p id="nojs">no script</p></noscript>`,
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			// Chromium asks for it after each load, and a 404 would be
			// reported (rightly) against whichever page is open then.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		html, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, html)
	}))
	t.Cleanup(site.Close)
	return site.URL
}

func TestBrowserHarness_catches_console_errors(t *testing.T) {
	t.Parallel()
	base := harnessSite(t)
	ctx := newBrowser(t)

	browse(t, ctx, chromedp.Navigate(base+"/clean"))
	if got := takeConsoleErrors(ctx); len(got) != 0 {
		t.Errorf("a clean page reported %v", got)
	}

	browse(t, ctx, chromedp.Navigate(base+"/boom"))
	want := []consoleEntry{{Page: base + "/boom", Kind: "console.error", Text: "boom"}}
	if got := takeConsoleErrors(ctx); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("console.error: collected %v, want %v", got, want)
	}

	browse(t, ctx, chromedp.Navigate(base+"/throw"))
	want = []consoleEntry{{Page: base + "/throw", Kind: "exception", Text: "Uncaught Error: kaboom"}}
	if got := takeConsoleErrors(ctx); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("uncaught exception: collected %v, want %v", got, want)
	}

	browse(t, ctx, chromedp.Navigate(base+"/broken"))
	if got := takeConsoleErrors(ctx); len(got) != 1 || got[0].Kind != "log:network" || !strings.Contains(got[0].Text, "404") {
		t.Errorf("missing image: collected %v, want one network error with its 404", got)
	}
	allowConsole(ctx, base+"/missing.png")
	browse(t, ctx, chromedp.Reload())
	if got := takeConsoleErrors(ctx); len(got) != 0 {
		t.Errorf("an allowed 404 was still reported: %v", got)
	}
}

func TestBrowserHarness_takes_PNG_screenshots(t *testing.T) {
	t.Parallel()
	base := harnessSite(t)
	ctx := newBrowser(t)
	browse(t, ctx, chromedp.Navigate(base+"/clean"))
	shot(t, ctx, "clean")

	png, err := os.ReadFile(filepath.Join(shotDir(t), "clean.png"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("the screenshot is not a PNG: starts with % x", png[:min(8, len(png))])
	}
}

func TestBrowserHarness_runs_scripts_only_when_enabled(t *testing.T) {
	t.Parallel()
	base := harnessSite(t)
	for _, tc := range []struct {
		name string
		opts []browserOption
		js   string
		// noscript is how many <p id="nojs"> the page shows.
		noscript int
	}{
		{"JavaScript", nil, "scripted", 0},
		{"noJS", []browserOption{noJS()}, "static", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := newBrowser(t, tc.opts...)
			browse(t, ctx, chromedp.Navigate(base+"/script"))
			if got := browseFor(t, ctx, chromedp.Text(chromedp.CSS("#js"))); got != tc.js {
				t.Errorf("#js = %q, want %q", got, tc.js)
			}
			nodes := browseFor(t, ctx, chromedp.Nodes(chromedp.CSS("#nojs"), chromedp.AtLeast(0)))
			if len(nodes) != tc.noscript {
				t.Errorf("<noscript> content shown %d times, want %d", len(nodes), tc.noscript)
			}
		})
	}
}
