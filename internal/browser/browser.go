// Package browser drives Debian's Chromium headless over the DevTools
// protocol (chromedp) for the web UI's tests and for `make screenshots`.
//
// A test starts (or shares) a browser, opens a Tab on the server under test
// and drives it; the tab records what a person would never want to see —
// JavaScript dialogs, console errors, uncaught exceptions, Content Security
// Policy violations, requests to any host other than the server's (which
// the browser also refuses at once) — and
// AssertClean fails the test on any of them:
//
//	func TestHome(t *testing.T) {
//		tab := browser.Shared(t).NewTab(t, srv.URL)
//		tab.Navigate("/")
//		tab.ClickNav("a.model") // click a link, wait for the next page
//		if got := tab.Text("h1"); got != "llm.sm" {
//			t.Errorf("h1 = %q", got)
//		}
//		tab.AssertClean(t)
//	}
//
// Without Chromium the test is skipped with a message, or fails when
// FLYMODEL_REQUIRE_SERVICES=1 (as in CI). Chromium is FLYMODEL_CHROMIUM, else
// the first of chromium, chromium-browser and google-chrome on PATH.
//
// The package is usable outside tests: every function takes a T, which
// *testing.T satisfies and Program implements for a plain main.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumEnv names the variable holding the path of the Chromium binary.
const ChromiumEnv = "FLYMODEL_CHROMIUM"

// requireServicesEnv, when "1", turns a missing Chromium into a failure
// (the convention of internal/db/dbtest).
const requireServicesEnv = "FLYMODEL_REQUIRE_SERVICES"

// Timeout bounds each action of a Tab (a navigation, a click, a wait for an
// element, a download).
var Timeout = 20 * time.Second

// T is what the package needs of a test: testing.TB satisfies it, and so
// does Program for a plain program.
type T interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Cleanup(func())
}

// The flags Chromium runs with. The machines have no network: without these
// it stalls on connections it cannot make.
var flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-background-networking",
	"disable-component-update", "disable-sync", "no-first-run", "disable-quic",
}

// Browser is one running Chromium. Tabs of one Browser are isolated from
// each other (each has its own incognito browser context: cookies, storage,
// cache, download folder), so one Browser serves many tests.
type Browser struct {
	ctx    context.Context // the browser's chromedp context
	cancel func()
	path   string
}

// Find returns the Chromium binary to use: FLYMODEL_CHROMIUM, else the
// first of chromium, chromium-browser and google-chrome on PATH; an error
// says what was looked for.
func Find() (string, error) {
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%s=%s: %v", ChromiumEnv, p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium: set " + ChromiumEnv + " or put chromium (Debian: apt-get install chromium) on PATH")
}

// Start starts a headless Chromium with a fresh user-data folder, closed
// (and the folder removed) in t.Cleanup. Without Chromium it skips t, or
// fails it when FLYMODEL_REQUIRE_SERVICES=1.
func Start(t T) *Browser {
	t.Helper()
	b, err := start()
	if err != nil {
		skipOrFail(t, err)
		return nil
	}
	t.Cleanup(b.Close)
	return b
}

func skipOrFail(t T, err error) {
	t.Helper()
	if os.Getenv(requireServicesEnv) == "1" {
		t.Fatalf("browser: %v, and %s=1", err, requireServicesEnv)
	}
	t.Skip("browser: " + err.Error() + ": skipping browser tests")
}

func start() (*Browser, error) {
	path, err := Find()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "flymodel-chromium-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(Laptop.Width, Laptop.Height),
	}
	for _, f := range flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first Run starts the browser (and its first, unused tab).
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-sctx.Done():
		err = errors.New("did not start within 30s")
	}
	b := &Browser{ctx: ctx, path: path, cancel: func() {
		cancel()
		acancel()
		_ = os.RemoveAll(dir)
	}}
	if err != nil {
		b.cancel()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return b, nil
}

// Close stops the browser and removes its user-data folder.
func (b *Browser) Close() {
	if b != nil && b.cancel != nil {
		b.cancel()
		b.cancel = nil
	}
}

// Path is the Chromium binary the browser runs.
func (b *Browser) Path() string { return b.path }

var shared struct {
	sync.Mutex
	b   *Browser
	err error
}

// Shared returns the process's one browser, started on first use, so that
// a package's tests pay Chromium's start once; each test opens its own
// isolated Tab in it. Call CloseShared at the end of TestMain (Main does
// both) so the user-data folder is removed; otherwise the browser dies with
// the process anyway. Skips or fails t as Start does.
func Shared(t T) *Browser {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.b == nil && shared.err == nil {
		shared.b, shared.err = start()
	}
	if shared.err != nil {
		skipOrFail(t, shared.err)
		return nil
	}
	return shared.b
}

// CloseShared stops the shared browser if one was started.
func CloseShared() {
	shared.Lock()
	defer shared.Unlock()
	shared.b.Close()
	shared.b = nil
}

// M is *testing.M.
type M interface{ Run() int }

// Main runs the tests of a package that uses Shared and closes the shared
// browser afterwards. In the package's tests:
//
//	func TestMain(m *testing.M) { os.Exit(browser.Main(m)) }
func Main(m M) int {
	defer CloseShared()
	return m.Run()
}
