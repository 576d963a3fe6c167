package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Viewport is a window size in CSS pixels, at a device scale of 1 (a
// screenshot is Width pixels wide). Mobile emulates a phone (meta viewport,
// overlay scrollbars, touch).
type Viewport struct {
	Width, Height int
	Mobile        bool
	// MaxHeight caps the height of a full-page Screenshot (the top of a
	// long page); 0 means the whole page.
	MaxHeight int
}

// The viewports the UI is checked at.
var (
	Laptop = Viewport{Width: 1366, Height: 900}
	Phone  = Viewport{Width: 390, Height: 844, Mobile: true}
)

// Kind is what an Event is.
type Kind string

// What a Tab records.
const (
	Dialog         Kind = "dialog"          // alert, confirm, prompt, beforeunload: dismissed
	ConsoleError   Kind = "console-error"   // console.error, or an error of the browser's log (a failed load, a refused script)
	Exception      Kind = "exception"       // an uncaught JavaScript exception or rejected promise
	CSPViolation   Kind = "csp-violation"   // a securitypolicyviolation event
	ForeignRequest Kind = "foreign-request" // a request to a host other than the server under test
)

// Event is one thing a Tab recorded.
type Event struct {
	Kind Kind
	Text string // the dialog's message, the error, the violated directive
	URL  string // the request's or the blocked resource's URL, when there is one
}

func (e Event) String() string {
	if e.URL != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Kind, e.Text, e.URL)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Text)
}

// reportBinding is the function the injected watcher calls with a
// securitypolicyviolation, as JSON.
const reportBinding = "__flymodelBrowserReport"

// watcher runs in every document before the page's own scripts. An injected
// script is not subject to the page's CSP.
const watcher = `(() => {
	const report = window.` + reportBinding + `;
	document.addEventListener("securitypolicyviolation", (e) => {
		report(JSON.stringify({directive: e.violatedDirective || e.effectiveDirective, blocked: e.blockedURI || "", source: e.sourceFile || "", line: e.lineNumber || 0}));
	});
})();`

// Tab is one page of a Browser in its own incognito browser context. Its
// methods fail the test (t.Fatalf) when an action fails or times out
// (Timeout); they are not safe for concurrent use.
type Tab struct {
	t      T
	ctx    context.Context
	base   *url.URL
	mu     sync.Mutex
	events []Event
	allow  map[string]bool // hosts (host:port) requests may go to
	// foreign maps the id of a request to another host to its event, to
	// note how it failed.
	foreign map[network.RequestID]int
	view    Viewport
}

// NewTab opens a tab in a fresh incognito browser context (no cookies or
// storage shared with any other tab), closed in t.Cleanup. base is the
// server under test: Navigate resolves paths against it, and a request to
// any other host is recorded as a ForeignRequest. The viewport is Laptop.
func (b *Browser) NewTab(t T, base string) *Tab {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		t.Fatalf("browser: NewTab: base %q is not an absolute URL", base)
	}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tab := &Tab{t: t, ctx: ctx, base: u, allow: map[string]bool{u.Host: true}, foreign: map[network.RequestID]int{}}
	if err := chromedp.Listen(ctx, tab.listen); err != nil {
		t.Fatalf("browser: open a tab: %v", err)
	}
	tab.do("install the watcher", chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, runtime.AddBinding, runtime.AddBindingParams{Name: reportBinding}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watcher})
		return err
	}))
	tab.block()
	tab.SetViewport(Laptop)
	return tab
}

// Allow adds hosts (host:port as in a URL) that requests may go to without
// being blocked and recorded.
func (tab *Tab) Allow(hosts ...string) {
	tab.t.Helper()
	tab.mu.Lock()
	for _, h := range hosts {
		tab.allow[h] = true
	}
	tab.mu.Unlock()
	tab.block()
}

// block makes the browser refuse every request to a host that is not
// allowed, at once (offline, a lookup of a name could otherwise hold up
// the page's load); the request is still recorded as a ForeignRequest.
func (tab *Tab) block() {
	tab.t.Helper()
	var patterns []*network.BlockPattern
	tab.mu.Lock()
	for h := range tab.allow {
		patterns = append(patterns, &network.BlockPattern{URLPattern: "*://" + h + "/*", Block: false})
	}
	tab.mu.Unlock()
	patterns = append(patterns,
		&network.BlockPattern{URLPattern: "*://*/*", Block: true},
		&network.BlockPattern{URLPattern: "*://*:*/*", Block: true})
	tab.do("block other hosts", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns})
		return err
	}))
}

func (tab *Tab) record(e Event) {
	tab.mu.Lock()
	tab.events = append(tab.events, e)
	tab.mu.Unlock()
}

// listen runs on chromedp's reading goroutine: record, never block.
func (tab *Tab) listen(ev any) {
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		tab.record(Event{Kind: Dialog, Text: string(ev.Type) + ": " + ev.Message, URL: ev.URL})
		go func() {
			_, _ = chromedp.Call(tab.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}()
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, remoteText(a))
			}
			tab.record(Event{Kind: ConsoleError, Text: strings.Join(parts, " ")})
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		tab.record(Event{Kind: Exception, Text: text, URL: d.URL})
	case *log.EventEntryAdded:
		if ev.Entry != nil && ev.Entry.Level == log.EntryLevelError {
			tab.record(Event{Kind: ConsoleError, Text: string(ev.Entry.Source) + ": " + ev.Entry.Text, URL: ev.Entry.URL})
		}
	case *runtime.EventBindingCalled:
		if ev.Name != reportBinding {
			return
		}
		var v struct {
			Directive, Blocked, Source string
			Line                       int
		}
		_ = json.Unmarshal([]byte(ev.Payload), &v)
		text := "violates " + v.Directive
		if v.Source != "" {
			text += fmt.Sprintf(" at %s:%d", v.Source, v.Line)
		}
		tab.record(Event{Kind: CSPViolation, Text: text, URL: v.Blocked})
	case *network.EventRequestWillBeSent:
		if ev.Request == nil {
			return
		}
		u, err := url.Parse(ev.Request.URL)
		if err != nil {
			tab.record(Event{Kind: ForeignRequest, Text: "unparsable URL", URL: ev.Request.URL})
			return
		}
		switch u.Scheme {
		case "data", "blob", "about", "javascript":
			return
		}
		tab.mu.Lock()
		ok := tab.allow[u.Host]
		tab.mu.Unlock()
		if !ok {
			tab.mu.Lock()
			tab.foreign[ev.RequestID] = len(tab.events)
			tab.events = append(tab.events, Event{Kind: ForeignRequest, Text: ev.Request.Method + " " + string(ev.Type), URL: ev.Request.URL})
			tab.mu.Unlock()
		}
	case *network.EventLoadingFailed:
		tab.mu.Lock()
		defer tab.mu.Unlock()
		if i, ok := tab.foreign[ev.RequestID]; ok && i < len(tab.events) {
			if ev.BlockedReason != "" {
				tab.events[i].Text += ", blocked (" + string(ev.BlockedReason) + ")"
			} else {
				tab.events[i].Text += ", failed (" + ev.ErrorText + ")"
			}
		}
	}
}

func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	return o.Description
}

// Events returns what the tab recorded so far.
func (tab *Tab) Events() []Event {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]Event(nil), tab.events...)
}

// EventsOf returns the recorded events of one kind.
func (tab *Tab) EventsOf(k Kind) []Event {
	var out []Event
	for _, e := range tab.Events() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// AssertClean fails t (without stopping it) when the tab recorded
// anything: a dialog, a console error, an exception, a CSP violation, a
// request to another host. Each is listed.
func (tab *Tab) AssertClean(t T) {
	t.Helper()
	for _, e := range tab.Events() {
		t.Errorf("browser: %s", e)
	}
}

// Reset forgets what was recorded (e.g. after a step that is meant to
// produce an error).
func (tab *Tab) Reset() {
	tab.mu.Lock()
	tab.events = nil
	clear(tab.foreign)
	tab.mu.Unlock()
}

// Context is the tab's chromedp context, for what the helpers do not cover:
// chromedp.Run(tab.Context(), …).
func (tab *Tab) Context() context.Context { return tab.ctx }

// Run runs chromedp actions in the tab within Timeout; an error fails the test.
func (tab *Tab) Run(actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	tab.do("run", chromedp.Steps(actions...))
}

func (tab *Tab) do(what string, a chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	if _, err := run(tab, a); err != nil {
		tab.t.Fatalf("browser: %s: %v", what, err)
	}
}

func run[R any](tab *Tab, a chromedp.Action[R]) (R, error) {
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

func get[R any](tab *Tab, what string, a chromedp.Action[R]) R {
	tab.t.Helper()
	v, err := run(tab, a)
	if err != nil {
		tab.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// URL resolves ref (a path such as "/models/x", or an absolute URL) against
// the server under test.
func (tab *Tab) URL(ref string) string {
	u, err := tab.base.Parse(ref)
	if err != nil {
		tab.t.Fatalf("browser: URL %q: %v", ref, err)
	}
	return u.String()
}

// Location is the URL of the page the tab shows.
func (tab *Tab) Location() string {
	return get(tab, "location", chromedp.Evaluate[string]("location.href"))
}

// Navigate loads ref (resolved against the server under test) and waits
// for its load event.
func (tab *Tab) Navigate(ref string) {
	tab.t.Helper()
	tab.do("navigate to "+ref, chromedp.Navigate(tab.URL(ref)))
}

// Click waits until the first element matching the CSS selector is visible
// and clicks it. It does not wait for a navigation: use ClickNav for a link.
func (tab *Tab) Click(sel string) {
	tab.t.Helper()
	tab.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// ClickNav clicks like Click and waits for the page it leads to to load.
func (tab *Tab) ClickNav(sel string) {
	tab.t.Helper()
	get(tab, "click "+sel+" and wait for the page", chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)))
}

// Press types keys on whatever has the focus, as key events: text, or the
// keys of github.com/chromedp/chromedp/kb (kb.Tab, kb.Enter, kb.Escape…).
// It does not wait for a navigation.
func (tab *Tab) Press(keys string) {
	tab.t.Helper()
	tab.do("press keys", chromedp.KeyEvent(keys))
}

// Focused describes the element that has the focus: its tag, id and
// trimmed text, e.g. `a#next "next"`, or "body" when nothing has.
func (tab *Tab) Focused() string {
	tab.t.Helper()
	return get(tab, "the focused element", chromedp.Evaluate[string](`(() => {
		const e = document.activeElement;
		if (!e || e === document.body) return "body";
		let d = e.tagName.toLowerCase() + (e.id ? "#" + e.id : "");
		const text = (e.innerText || e.value || "").trim();
		return text ? d + " " + JSON.stringify(text) : d;
	})()`))
}

// SetValue sets the value of an input, select or textarea (no key events).
func (tab *Tab) SetValue(sel, value string) {
	tab.t.Helper()
	tab.do("set the value of "+sel, chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeVisible))
}

// SendKeys focuses the element and types text as key events.
func (tab *Tab) SendKeys(sel, text string) {
	tab.t.Helper()
	tab.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// Submit submits the form of the element matching sel (the form itself or
// one of its fields) and waits for the page it leads to to load.
func (tab *Tab) Submit(sel string) {
	tab.t.Helper()
	get(tab, "submit "+sel, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Submit(chromedp.CSS(sel), chromedp.NodeReady)))
}

// WaitVisible waits until an element matching sel is visible.
func (tab *Tab) WaitVisible(sel string) {
	tab.t.Helper()
	tab.do("wait for "+sel+" to be visible", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Text is the visible text of the first element matching sel (waiting for
// one to exist), trimmed.
func (tab *Tab) Text(sel string) string {
	tab.t.Helper()
	return strings.TrimSpace(get(tab, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeReady)))
}

// Attr is the attribute name of the first element matching sel (waiting for
// one to exist) and whether it has it.
func (tab *Tab) Attr(sel, name string) (string, bool) {
	tab.t.Helper()
	r := get(tab, "attribute "+name+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name, chromedp.NodeReady))
	return r.Value, r.Exists
}

// Exists says whether an element matches sel now (no waiting).
func (tab *Tab) Exists(sel string) bool {
	tab.t.Helper()
	q, _ := json.Marshal(sel)
	return get(tab, "look for "+sel, chromedp.Evaluate[bool]("document.querySelector("+string(q)+") !== null"))
}

// Count is the number of elements matching sel now.
func (tab *Tab) Count(sel string) int {
	tab.t.Helper()
	q, _ := json.Marshal(sel)
	return get(tab, "count "+sel, chromedp.Evaluate[int]("document.querySelectorAll("+string(q)+").length"))
}

// Eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its JSON value into out (which may be nil).
func (tab *Tab) Eval(expr string, out any) {
	tab.t.Helper()
	raw := get(tab, "evaluate "+expr, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tab.t.Fatalf("browser: evaluate %s: decode %s: %v", expr, raw, err)
		}
	}
}

// Cookies are the cookies the tab's browser context holds for the server
// under test.
func (tab *Tab) Cookies() []*network.Cookie {
	tab.t.Helper()
	r := get(tab, "cookies", func(ctx context.Context, _ *chromedp.Target) (network.GetCookiesResult, error) {
		return chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tab.base.String()}})
	})
	return r.Cookies
}

// Cookie returns the cookie of that name, or nil.
func (tab *Tab) Cookie(name string) *network.Cookie {
	tab.t.Helper()
	for _, c := range tab.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// SetViewport sizes the page (device scale 1); it stays until changed.
func (tab *Tab) SetViewport(v Viewport) {
	tab.t.Helper()
	tab.do("set the viewport", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: int64(v.Width), Height: int64(v.Height), DeviceScaleFactor: 1, Mobile: v.Mobile,
		})
		return err
	}))
	tab.view = v
}

// Viewport is the tab's current viewport.
func (tab *Tab) Viewport() Viewport { return tab.view }

// Screenshot writes a full-page PNG of the current page at viewport v to
// path: v.Width pixels wide, as tall as the page (at least v.Height, at
// most v.MaxHeight when set). The
// tab keeps viewport v afterwards.
func (tab *Tab) Screenshot(path string, v Viewport) {
	tab.t.Helper()
	tab.SetViewport(v)
	png := get(tab, "screenshot", func(ctx context.Context, _ *chromedp.Target) ([]byte, error) {
		m, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		h := float64(v.Height)
		if m.CSSContentSize != nil && m.CSSContentSize.Height > h {
			h = m.CSSContentSize.Height
		}
		if v.MaxHeight > 0 && h > float64(v.MaxHeight) {
			h = float64(v.MaxHeight)
		}
		yes := true
		r, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			CaptureBeyondViewport: &yes,
			FromSurface:           &yes,
			Clip:                  &page.Viewport{Width: float64(v.Width), Height: float64(int(h + 0.5)), Scale: 1},
		})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	})
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tab.t.Fatalf("browser: screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tab.t.Fatalf("browser: screenshot: %v", err)
	}
}

// Download clicks the element matching clickSelector, waits for the
// download it starts to complete and returns the path of the file, named
// as the server suggested, in a fresh folder removed in the test's cleanup.
func (tab *Tab) Download(clickSelector string) string {
	tab.t.Helper()
	dir, err := os.MkdirTemp("", "flymodel-download-")
	if err != nil {
		tab.t.Fatalf("browser: download: %v", err)
	}
	tab.t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path, err := run(tab, func(ctx context.Context, _ *chromedp.Target) (string, error) {
		yes := true
		if _, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior:         cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName,
			BrowserContextID: chromedp.FromContext(tab.ctx).BrowserContextID,
			DownloadPath:     dir,
			EventsEnabled:    &yes,
		}); err != nil {
			return "", fmt.Errorf("set the download folder: %w", err)
		}
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		begins := chromedp.Events(lctx, cdpbrowser.DownloadWillBegin)
		progress := chromedp.Events(lctx, cdpbrowser.DownloadProgress)
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(clickSelector), chromedp.NodeVisible)); err != nil {
			return "", fmt.Errorf("click %s: %w", clickSelector, err)
		}
		var begin cdpbrowser.EventDownloadWillBegin
		for ev, err := range begins {
			if err != nil {
				return "", fmt.Errorf("wait for the download to begin: %w", err)
			}
			begin = ev
			break
		}
		for ev, err := range progress {
			if err != nil {
				return "", fmt.Errorf("wait for %s: %w", begin.URL, err)
			}
			if ev.GUID != begin.GUID {
				continue
			}
			switch ev.State {
			case cdpbrowser.DownloadProgressStateCompleted:
				name := filepath.Base(filepath.Clean("/" + begin.SuggestedFilename))
				if name == "/" || name == "." {
					name = "download"
				}
				final := filepath.Join(dir, name)
				if err := os.Rename(filepath.Join(dir, begin.GUID), final); err != nil {
					return "", err
				}
				return final, nil
			case cdpbrowser.DownloadProgressStateCanceled:
				return "", errors.New("download of " + begin.URL + " canceled")
			}
		}
		return "", errors.New("no download")
	})
	if err != nil {
		tab.t.Fatalf("browser: download by clicking %s: %v", clickSelector, err)
	}
	return path
}
