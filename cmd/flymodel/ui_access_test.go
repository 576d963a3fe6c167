package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/browser"
)

// screenshotDir is where the UI tests write their screenshots:
// FLYMODEL_SCREENSHOTS when set (to look at them), else a temporary folder.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("FLYMODEL_SCREENSHOTS"); d != "" {
		return d
	}
	return t.TempDir()
}

// darkMode emulates prefers-color-scheme: dark (or turns it off).
func darkMode(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		var f []*emulation.MediaFeature
		if on {
			f = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
		}
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: f})
		return err
	})
}

// apiStatus is the status of GET path with the bearer secret ("" for none).
func apiStatus(t *testing.T, addr, path, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestUIAccess signs in to a real `flymodel serve` that needs credentials
// with a token made by `flymodel token create`, through the form; checks
// the session cookie; creates a token in the Tokens page and uses it
// against the API; sees the Audit page; has a page of another origin
// forge forms to the server (refused, nothing changes); signs out.
func TestUIAccess(t *testing.T) {
	dir := t.TempDir()
	res := flymodel(t, dir, nil, "token", "create", "--name", "admin", "--role", "admin")
	res.expectCode(t, 0)
	admin := strings.TrimSpace(res.stdout)
	if !strings.HasPrefix(admin, auth.TokenPrefix) {
		t.Fatalf("token create:\n%s", res)
	}
	s := startServe(t, dir, nil, "-p", "0")
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/v1/namespaces", strings.NewReader(`{"name":"nlp"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating namespace nlp: %s", resp.Status)
	}
	shots := screenshotDir(t)
	tab := browser.Shared(t).NewTab(t, "http://"+s.addr)

	// Anonymous callers may do nothing: the home page sends to sign in.
	tab.Navigate("/")
	if h := tab.Text("h1"); h != "Sign in" || !strings.Contains(tab.Location(), "/ui/signin?next=") {
		t.Fatalf("anonymous home: %q at %s", h, tab.Location())
	}
	tab.Screenshot(filepath.Join(shots, "signin-laptop.png"), browser.Laptop)
	tab.Screenshot(filepath.Join(shots, "signin-phone.png"), browser.Phone)
	tab.SetViewport(browser.Laptop)

	// A wrong token: the form again, with the reason.
	tab.SetValue("#token", "fm_wrong")
	tab.Submit("#token")
	if p := tab.Text(".problem"); !strings.Contains(p, "401 Unauthorized") {
		t.Fatalf("wrong token: %q", p)
	}
	tab.SetValue("#token", admin)
	tab.Submit("#token")
	if got := tab.Text(".whoami"); got != "admin" || !strings.HasSuffix(tab.Location(), "/") {
		t.Fatalf("signed in as %q at %s", got, tab.Location())
	}
	if how := tab.Text(".who .how"); how != "(token)" {
		t.Errorf("how: %q", how)
	}
	c := tab.Cookie(auth.SessionCookieName)
	if c == nil || !c.HTTPOnly || c.SameSite != "Strict" || c.Path != "/" || c.Secure || strings.Contains(c.Value, admin) {
		t.Fatalf("session cookie %+v", c)
	}

	// Tokens: create one, read its secret once, use it against the API.
	tab.ClickNav(`.admin-nav a[href="/ui/tokens"]`)
	tab.SetValue(`input[name="name"]`, "ui-made")
	tab.SetValue(`select[name="role"]`, "read")
	tab.SetValue(`input[name="namespaces"]`, "nlp")
	tab.SetValue(`input[name="expires_in"]`, "7d")
	tab.Submit(`input[name="name"]`)
	if h := tab.Text("h1"); h != "Token ui-made created" {
		t.Fatalf("creating a token: %q\n%s", h, tab.Text("main"))
	}
	secret := tab.Text(".secret-value code")
	if !strings.HasPrefix(secret, auth.TokenPrefix) {
		t.Fatalf("no secret on the page: %q", secret)
	}
	tab.Screenshot(filepath.Join(shots, "token-created-laptop.png"), browser.Laptop)
	tab.SetViewport(browser.Laptop)
	if code, body := apiStatus(t, s.addr, "/api/v1/namespaces/nlp", secret); code != 200 {
		t.Fatalf("the new token against the API: %d %s", code, body)
	}
	tab.Navigate("/ui/tokens")
	if tab.Count("tbody tr") != 2 || strings.Contains(tab.Text("main"), secret) {
		t.Fatalf("tokens list: %d rows\n%s", tab.Count("tbody tr"), tab.Text("main"))
	}
	tab.Screenshot(filepath.Join(shots, "tokens-laptop.png"), browser.Laptop)
	tab.Screenshot(filepath.Join(shots, "tokens-phone.png"), browser.Phone)
	tab.Run(darkMode(true))
	tab.Screenshot(filepath.Join(shots, "tokens-dark-laptop.png"), browser.Laptop)
	tab.Run(darkMode(false))

	// Audit: the sign-in and the token are there, newest first.
	tab.ClickNav(`.admin-nav a[href="/ui/audit"]`)
	if first := tab.Text("tbody tr td[data-label=Action]"); first != "token.create" {
		t.Errorf("newest audit record: %q", first)
	}
	tab.Screenshot(filepath.Join(shots, "audit-laptop.png"), browser.Laptop)
	tab.Screenshot(filepath.Join(shots, "audit-phone.png"), browser.Phone)
	tab.SetViewport(browser.Laptop)

	// Forged forms from another origin: refused, nothing changes.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		target := map[string]string{
			"/create":  `<form method="post" action="http://` + s.addr + `/ui/tokens"><input type="hidden" name="name" value="forged"><input type="hidden" name="role" value="admin"><input type="hidden" name="namespaces" value="*"><input type="hidden" name="csrf" value="guess-guess-guess-guess"><button id="go" type="submit">Win a prize</button></form>`,
			"/revoke":  `<form method="post" action="http://` + s.addr + `/ui/tokens/ui-made/revoke"><button id="go" type="submit">Win a prize</button></form>`,
			"/signout": `<form method="post" action="http://` + s.addr + `/ui/signout"><button id="go" type="submit">Win a prize</button></form>`,
		}[r.URL.Path]
		fmt.Fprintf(w, "<!doctype html><title>prize</title>%s", target)
	}))
	defer evil.Close()
	tab.Allow(strings.TrimPrefix(evil.URL, "http://"))
	for _, path := range []string{"/create", "/revoke", "/signout"} {
		tab.Navigate(evil.URL + path)
		tab.ClickNav("#go")
		// The edge guard (another origin's POST) answers a 403 problem.
		var text string
		tab.Eval("document.body.innerText", &text)
		if !strings.Contains(text, "403") && !strings.Contains(text, "cross-origin") {
			t.Errorf("forged %s: answered %q", path, text)
		}
	}
	tab.Reset() // the 403s are what the test wanted
	if code, _ := apiStatus(t, s.addr, "/api/v1/namespaces/nlp", secret); code != 200 {
		t.Errorf("the token was revoked by a forged form: %d", code)
	}
	if _, body := apiStatus(t, s.addr, "/api/v1/tokens", admin); strings.Contains(body, "forged") {
		t.Errorf("a forged form created a token: %s", body)
	}
	tab.Navigate("/")
	if got := tab.Text(".whoami"); got != "admin" {
		t.Fatalf("signed out by a forged form: %q", got)
	}

	// Revoke through the UI: a confirmation page, then the token stops working.
	tab.Navigate("/ui/tokens")
	tab.ClickNav(`a[href="/ui/tokens/ui-made/revoke"]`)
	tab.Screenshot(filepath.Join(shots, "token-revoke-laptop.png"), browser.Laptop)
	tab.ClickNav("form.confirm button")
	if n := tab.Text(".notice"); !strings.Contains(n, "ui-made is revoked") {
		t.Errorf("after revoking: %q", n)
	}
	if code, _ := apiStatus(t, s.addr, "/api/v1/namespaces/nlp", secret); code != http.StatusUnauthorized {
		t.Errorf("a revoked token against the API: %d", code)
	}

	// Sign out: the session ends, the sign-in prompt comes back.
	tab.ClickNav("form.signout button")
	if h := tab.Text("h1"); h != "Sign in" {
		t.Fatalf("after sign-out: %q at %s", h, tab.Location())
	}
	if c := tab.Cookie(auth.SessionCookieName); c != nil {
		t.Errorf("session cookie kept: %+v", c)
	}
	tab.AssertClean(t)
}
