package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/auth/oidctest"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/web"
)

// accessSite is the whole server behind a real HTTP listener that needs
// credentials (anonymous: none), with browser sessions, and an admin
// token "root".
type accessSite struct {
	t    *testing.T
	url  string
	reg  *registry.Registry
	db   db.DB
	root string // the admin token's secret
}

// local is the context of changes made on the server's host (seeding).
func local(t *testing.T) context.Context {
	return audit.WithCaller(t.Context(), audit.Caller{Actor: "local:test"})
}

func newAccessSite(t *testing.T, oidc *auth.OIDC, tls bool) *accessSite {
	t.Helper()
	reg, s := newRegistry(t, nil)
	authn := auth.New(auth.Options{DB: s, OIDC: oidc, Anonymous: "none"})
	sessions := auth.NewSessions(auth.SessionOptions{DB: s})
	ui := web.New(reg, authn, web.Options{Version: "test", TLS: tls, Sessions: sessions})
	srv := httptest.NewServer(httpapi.NewServer(reg, authn, httpapi.Options{UI: ui, Sessions: sessions}))
	t.Cleanup(srv.Close)
	a := &accessSite{t: t, url: srv.URL, reg: reg, db: s}
	a.root = a.token("root", "admin", "*")
	return a
}

// token creates a token on the server's host and returns its secret.
func (a *accessSite) token(name, role string, namespaces ...string) string {
	a.t.Helper()
	_, secret, err := a.reg.CreateToken(local(a.t), registry.NewToken{Name: name, Role: role, Namespaces: namespaces})
	if err != nil {
		a.t.Fatal(err)
	}
	return secret
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects (each step is checked).
func (a *accessSite) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type answer struct {
	*http.Response
	body string
}

func (a *accessSite) get(c *http.Client, path string) answer {
	a.t.Helper()
	resp, err := c.Get(a.url + path)
	if err != nil {
		a.t.Fatal(err)
	}
	return read(a.t, resp)
}

func (a *accessSite) post(c *http.Client, path string, form url.Values) answer {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.url) // a browser's same-origin form
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	return read(a.t, resp)
}

func read(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp, string(b)}
}

func (r answer) want(t *testing.T, status int) answer {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", r.Request.Method, r.Request.URL, r.StatusCode, status, r.body)
	}
	return r
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the page's forms.
func csrf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in the page:\n%s", body)
	}
	return m[1]
}

// signIn signs c in with secret through the form and returns the
// sign-in answer (303).
func (a *accessSite) signIn(c *http.Client, secret, next string) answer {
	a.t.Helper()
	form := a.get(c, "/ui/signin?next="+url.QueryEscape(next)).want(a.t, 200)
	return a.post(c, "/ui/signin", url.Values{"csrf": {csrf(a.t, form.body)}, "token": {secret}, "next": {next}})
}

func setCookie(t *testing.T, r answer, name string) *http.Cookie {
	t.Helper()
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s; headers %v", name, r.Header)
	return nil
}

func (a *accessSite) auditActions(actor string) []string {
	a.t.Helper()
	items, _, err := a.reg.Audit(a.t.Context(), audit.Filter{Actor: actor, Limit: audit.MaxLimit})
	if err != nil {
		a.t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.Action+" "+it.Target+" "+string(it.Outcome))
	}
	return out
}

func TestSignInWithToken(t *testing.T) {
	a := newAccessSite(t, nil, false)
	c := a.browser()
	// A first-time visitor gets the CSRF cookie with the form.
	form := a.get(c, "/ui/signin?next=/ui/tokens").want(t, 200)
	csrfCookie := setCookie(t, form, web.CSRFCookie)
	if !csrfCookie.HttpOnly || csrfCookie.SameSite != http.SameSiteStrictMode || csrfCookie.Value != csrf(t, form.body) {
		t.Fatalf("csrf cookie %+v, form token %s", csrfCookie, csrf(t, form.body))
	}
	contains(t, form.body, `name="token"`, `value="/ui/tokens"`, "Sign in with the token")
	if strings.Contains(form.body, "/ui/oidc/start") {
		t.Error("an OIDC button without OIDC sign-in configured")
	}

	r := a.post(c, "/ui/signin", url.Values{"csrf": {csrf(t, form.body)}, "token": {a.root}, "next": {"/ui/tokens"}}).want(t, 303)
	if loc := r.Header.Get("Location"); loc != "/ui/tokens" {
		t.Fatalf("Location %q", loc)
	}
	sc := setCookie(t, r, auth.SessionCookieName)
	if !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" || sc.Secure || sc.MaxAge <= 0 {
		t.Fatalf("session cookie %+v", sc)
	}
	if strings.Contains(sc.Value, a.root) {
		t.Fatal("the cookie holds the token")
	}
	p := a.get(c, "/ui/tokens").want(t, 200)
	contains(t, p.body, `<span class="whoami" title="signed in as">root</span>`, "(token)", `action="/ui/signout"`,
		`href="/ui/tokens"`, `href="/ui/audit"`)
	if got := a.auditActions("root"); len(got) == 0 || got[0] != "session.create /session ok" {
		t.Errorf("audit of root: %v", got)
	}

	// Under TLS the cookie is Secure.
	tlsSite := newAccessSite(t, nil, true)
	r = tlsSite.signIn(tlsSite.browser(), tlsSite.root, "/").want(t, 303)
	if sc := setCookie(t, r, auth.SessionCookieName); !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" {
		t.Fatalf("session cookie under TLS %+v", sc)
	}
}

func TestSignInRefused(t *testing.T) {
	a := newAccessSite(t, nil, false)
	a.token("gone", "read", "*")
	if _, err := a.reg.RevokeToken(local(t), "gone"); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{
		"invalid": "fm_notatokenatall", "empty": "", "revoked": "", "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
	} {
		t.Run(name, func(t *testing.T) {
			if name == "revoked" {
				// the secret of a token revoked after creation
				s := a.token("late", "read", "*")
				if _, err := a.reg.RevokeToken(local(t), "late"); err != nil {
					t.Fatal(err)
				}
				secret = s
			}
			c := a.browser()
			r := a.signIn(c, secret, "/ui/tokens").want(t, 401)
			contains(t, r.body, "401 Unauthorized", "the token is not valid", `name="token"`, `value="/ui/tokens"`)
			for _, ck := range r.Cookies() {
				if ck.Name == auth.SessionCookieName && ck.MaxAge >= 0 {
					t.Fatalf("a session cookie was set: %+v", ck)
				}
			}
			a.get(c, "/ui/tokens").want(t, 303)
		})
	}
}

func TestSessionEndsWithToken(t *testing.T) {
	a := newAccessSite(t, nil, false)
	alice := a.token("alice", "admin", "*")
	c := a.browser()
	a.signIn(c, alice, "/").want(t, 303)
	a.get(c, "/ui/audit").want(t, 200)
	if _, err := a.reg.RevokeToken(local(t), "alice"); err != nil {
		t.Fatal(err)
	}
	r := a.get(c, "/ui/audit").want(t, 303)
	if !strings.HasPrefix(r.Header.Get("Location"), "/ui/signin?") {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	p := a.get(c, "/ui/signin").want(t, 200)
	contains(t, p.body, "Your session has ended.", "anonymous")
}

func TestSignOut(t *testing.T) {
	a := newAccessSite(t, nil, false)
	c := a.browser()
	r := a.signIn(c, a.root, "/").want(t, 303)
	old := setCookie(t, r, auth.SessionCookieName).Value
	p := a.get(c, "/ui/tokens").want(t, 200)

	// Without the CSRF token: refused, still signed in.
	a.post(c, "/ui/signout", url.Values{}).want(t, 403)
	a.post(c, "/ui/signout", url.Values{"csrf": {"wrong-token-wrong-token"}}).want(t, 403)
	a.get(c, "/ui/tokens").want(t, 200)

	r = a.post(c, "/ui/signout", url.Values{"csrf": {csrf(t, p.body)}}).want(t, 303)
	if r.Header.Get("Location") != "/" {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	if sc := setCookie(t, r, auth.SessionCookieName); sc.MaxAge >= 0 || sc.Value != "" {
		t.Fatalf("cookie not cleared: %+v", sc)
	}
	a.get(c, "/ui/tokens").want(t, 303)
	// The old cookie no longer works: the session is gone on the server.
	req, _ := http.NewRequest(http.MethodGet, a.url+"/ui/tokens", nil)
	req.AddCookie(&http.Cookie{Name: auth.SessionCookieName, Value: old})
	resp, err := a.browser().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	read(t, resp).want(t, 303)
	if got := a.auditActions("root"); len(got) < 2 || got[len(got)-1] != "session.delete /session ok" {
		t.Errorf("audit of root: %v", got)
	}
}

func TestAccessCSRF(t *testing.T) {
	a := newAccessSite(t, nil, false)
	c := a.browser()
	a.signIn(c, a.root, "/").want(t, 303)
	before, _ := a.reg.ListTokens(t.Context())
	for _, form := range []url.Values{
		{"name": {"forged"}, "role": {"admin"}, "namespaces": {"*"}},
		{"name": {"forged"}, "role": {"admin"}, "namespaces": {"*"}, "csrf": {"x"}},
		{"name": {"forged"}, "role": {"admin"}, "namespaces": {"*"}, "csrf": {strings.Repeat("A", 26)}},
	} {
		r := a.post(c, "/ui/tokens", form).want(t, 403)
		contains(t, r.body, "security token")
	}
	a.post(c, "/ui/tokens/root/revoke", url.Values{}).want(t, 403)
	after, _ := a.reg.ListTokens(t.Context())
	if len(after) != len(before) || after[0].Status != "active" {
		t.Fatalf("tokens changed: %v → %v", before, after)
	}
	// Sign-in without the CSRF cookie (a form posted from another site).
	fresh := a.browser()
	a.post(fresh, "/ui/signin", url.Values{"csrf": {"abcdefghijklmnopqrstuvwxyz"}, "token": {a.root}}).want(t, 403)
	a.get(fresh, "/ui/tokens").want(t, 303)
}

func TestSignInNextStaysLocal(t *testing.T) {
	a := newAccessSite(t, nil, false)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "javascript:alert(1)", "evil", ""} {
		c := a.browser()
		form := a.get(c, "/ui/signin?next="+url.QueryEscape(next)).want(t, 200)
		contains(t, form.body, `name="next" value="/"`)
		r := a.post(c, "/ui/signin", url.Values{"csrf": {csrf(t, form.body)}, "token": {a.root}, "next": {next}}).want(t, 303)
		if loc := r.Header.Get("Location"); loc != "/" {
			t.Errorf("next %q: Location %q", next, loc)
		}
	}
}

func TestOIDCSignIn(t *testing.T) {
	iss := oidctest.NewIssuer(t, "RS256")
	key := oidctest.NewRSAKey(t, "k1")
	iss.Serve(key)
	iss.EnableLogin(oidctest.Login{ClientID: "flymodel-ui", Key: key, Subject: "ada", Claims: map[string]any{"groups": []string{"fm-admins"}}})
	o, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{Issuer: iss.URL, Audience: "flymodel", RoleClaim: "groups",
		Roles: map[string]string{"fm-admins": "admin"}, ClientID: "flymodel-ui"}, iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	a := newAccessSite(t, o, false)
	c := a.browser()
	form := a.get(c, "/ui/signin?next=/ui/audit").want(t, 200)
	contains(t, form.body, `action="/ui/oidc/start"`, "Sign in with "+iss.URL)

	r := a.get(c, "/ui/oidc/start?next=/ui/audit").want(t, 303)
	to, err := url.Parse(r.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(to.String(), iss.URL+"/authorize?") || to.Query().Get("code_challenge_method") != "S256" ||
		to.Query().Get("redirect_uri") != a.url+"/ui/oidc/callback" {
		t.Fatalf("redirect to %v", to)
	}
	// The issuer approves and sends the browser back.
	resp, err := c.Get(to.String())
	if err != nil {
		t.Fatal(err)
	}
	back := read(t, resp).want(t, 302)
	cb := a.get(c, strings.TrimPrefix(back.Header.Get("Location"), a.url)).want(t, 200)
	contains(t, cb.body, `<meta http-equiv="refresh" content="0; url=/ui/audit">`, "Signed in as oidc:ada")
	if sc := setCookie(t, cb, auth.SessionCookieName); !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v", sc)
	}
	p := a.get(c, "/ui/audit").want(t, 200)
	contains(t, p.body, "oidc:ada", "(OIDC)", "session.create")

	// A callback replayed (the flow cookie is gone) or forged is refused.
	a.get(c, strings.TrimPrefix(back.Header.Get("Location"), a.url)).want(t, 401)
	a.get(a.browser(), "/ui/oidc/callback?code=x&state=y").want(t, 401)
}

func TestTokensPage(t *testing.T) {
	a := newAccessSite(t, nil, false)
	if _, err := a.reg.CreateNamespace(local(t), registry.NewNamespace{Name: "nlp"}); err != nil {
		t.Fatal(err)
	}
	c := a.browser()
	a.signIn(c, a.root, "/ui/tokens").want(t, 303)
	list := a.get(c, "/ui/tokens").want(t, 200)
	page(t, httptestRecorder(list), 200)
	contains(t, list.body, "root", "every namespace", "local:test", `action="/ui/tokens"`)

	form := url.Values{"csrf": {csrf(t, list.body)}, "name": {"ci-bot"}, "role": {"write"}, "namespaces": {"nlp"}, "expires_in": {"30d"}}
	r := a.post(c, "/ui/tokens", form).want(t, 201)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	m := regexp.MustCompile(`data-copy="(fm_[A-Za-z0-9]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", r.body)
	}
	secret := m[1]
	contains(t, r.body, "shown this once")
	// It works against the API.
	req, _ := http.NewRequest(http.MethodGet, a.url+"/api/v1/namespaces/nlp", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	read(t, resp).want(t, 200)
	// Never shown again.
	list = a.get(c, "/ui/tokens").want(t, 200)
	if strings.Contains(list.body, secret) {
		t.Fatal("the list shows the secret")
	}
	contains(t, list.body, "ci-bot", "write", `href="/ns/nlp"`, `href="/ui/tokens/ci-bot/revoke"`)

	// Refused: the form comes back with the reason and the values.
	form.Set("namespaces", "nope")
	form.Set("name", "other")
	r = a.post(c, "/ui/tokens", form).want(t, 422)
	contains(t, r.body, `no namespace is called`, `value="other"`, `value="nope"`)
	form.Set("name", "ci-bot")
	form.Set("namespaces", "nlp")
	a.post(c, "/ui/tokens", form).want(t, 409)

	// Revoke: a confirmation page, then the POST.
	conf := a.get(c, "/ui/tokens/ci-bot/revoke").want(t, 200)
	contains(t, conf.body, "Revoke token ci-bot?", `action="/ui/tokens/ci-bot/revoke"`)
	r = a.post(c, "/ui/tokens/ci-bot/revoke", url.Values{"csrf": {csrf(t, conf.body)}}).want(t, 303)
	if r.Header.Get("Location") != "/ui/tokens?revoked=ci-bot" {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	contains(t, a.get(c, "/ui/tokens?revoked=ci-bot").want(t, 200).body, "Token ci-bot is revoked", `class="token-revoked"`)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	read(t, resp).want(t, 401)
	a.get(c, "/ui/tokens/nobody/revoke").want(t, 404)
	a.post(c, "/ui/tokens/nobody/revoke", url.Values{"csrf": {csrf(t, conf.body)}}).want(t, 404)

	// Audited as the API's calls, by the signed-in admin.
	got := strings.Join(a.auditActions("root"), "\n")
	for _, w := range []string{"token.create /tokens/ci-bot ok", "token.revoke /tokens/ci-bot ok"} {
		if !strings.Contains(got, w) {
			t.Errorf("audit lacks %q:\n%s", w, got)
		}
	}
}

// httptestRecorder turns an answer into a recorder for page's header checks.
func httptestRecorder(r answer) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	for k, v := range r.Header {
		rec.Header()[k] = v
	}
	rec.WriteHeader(r.StatusCode)
	rec.Body.WriteString(r.body)
	return rec
}

func TestAuditPage(t *testing.T) {
	a := newAccessSite(t, nil, false)
	seed := audit.WithCaller(t.Context(), audit.Caller{Actor: "seeder"})
	for i := range 60 {
		if _, err := a.reg.CreateNamespace(seed, registry.NewNamespace{Name: fmt.Sprintf("ns-%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	c := a.browser()
	a.signIn(c, a.root, "/").want(t, 303)
	rows := regexp.MustCompile(`<td data-label="#">(\d+)</td>`)

	p := a.get(c, "/ui/audit?actor=seeder").want(t, 200)
	ids := rows.FindAllStringSubmatch(p.body, -1)
	if len(ids) != 50 {
		t.Fatalf("%d rows, want 50", len(ids))
	}
	contains(t, p.body, `value="seeder"`, "namespace.create", "/namespaces/ns-59", "ns-59")
	if strings.Contains(p.body, "/namespaces/ns-09<") {
		t.Error("the first page shows the oldest records")
	}
	older := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.body)
	if older == nil {
		t.Fatal("no older link")
	}
	next := strings.ReplaceAll(older[1], "&amp;", "&")
	if !strings.Contains(next, "actor=seeder") || !strings.Contains(next, "before=") {
		t.Fatalf("older link %q", next)
	}
	p2 := a.get(c, next).want(t, 200)
	ids2 := rows.FindAllStringSubmatch(p2.body, -1)
	if len(ids2) != 10 || strings.Contains(p2.body, `rel="next"`) {
		t.Fatalf("second page: %d rows, older link %v", len(ids2), strings.Contains(p2.body, `rel="next"`))
	}
	contains(t, p2.body, "/namespaces/ns-00", "Newest")

	// Filters.
	p = a.get(c, "/ui/audit?action=session.create").want(t, 200)
	if n := len(rows.FindAllString(p.body, -1)); n != 1 {
		t.Errorf("session.create: %d rows", n)
	}
	p = a.get(c, "/ui/audit?namespace=ns-07").want(t, 200)
	if n := len(rows.FindAllString(p.body, -1)); n != 1 {
		t.Errorf("namespace ns-07: %d rows", n)
	}
	p = a.get(c, "/ui/audit?since=2999-01-01T00:00").want(t, 200)
	contains(t, p.body, "No audit record matches.")
	p = a.get(c, "/ui/audit?until=2000-01-01").want(t, 200)
	contains(t, p.body, "No audit record matches.")
	a.get(c, "/ui/audit?outcome=denied").want(t, 200)
	a.get(c, "/ui/audit?outcome=maybe").want(t, 400)
	a.get(c, "/ui/audit?since=yesterday").want(t, 400)
	a.get(c, "/ui/audit?before=-1").want(t, 400)
}

func TestAdminPagesNeedAdmin(t *testing.T) {
	a := newAccessSite(t, nil, false)
	if _, err := a.reg.CreateNamespace(local(t), registry.NewNamespace{Name: "nlp"}); err != nil {
		t.Fatal(err)
	}
	scoped := a.token("scoped", "admin", "nlp")
	reader := a.token("reader", "read", "*")
	for _, secret := range []string{scoped, reader} {
		c := a.browser()
		a.signIn(c, secret, "/").want(t, 303)
		home := a.get(c, "/").want(t, 200)
		if strings.Contains(home.body, `href="/ui/tokens"`) || strings.Contains(home.body, `href="/ui/audit"`) {
			t.Error("admin links shown to a non-admin")
		}
		for _, path := range []string{"/ui/tokens", "/ui/audit", "/ui/tokens/root/revoke"} {
			a.get(c, path).want(t, 403)
		}
		a.post(c, "/ui/tokens", url.Values{"csrf": {csrf(t, home.body)}, "name": {"x"}, "role": {"admin"}, "namespaces": {"*"}}).want(t, 403)
		a.post(c, "/ui/tokens/root/revoke", url.Values{"csrf": {csrf(t, home.body)}}).want(t, 403)
	}
	tokens, _ := a.reg.ListTokens(t.Context())
	for _, tk := range tokens {
		if tk.Name == "x" || tk.Status != "active" {
			t.Fatalf("a non-admin changed the tokens: %+v", tk)
		}
	}
	// Anonymous: sent to sign in.
	r := a.get(a.browser(), "/ui/audit?actor=x").want(t, 303)
	if r.Header.Get("Location") != "/ui/signin?next=%2Fui%2Faudit%3Factor%3Dx" {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
}

// TestTokenOddName: a token whose name holds a space and markup is listed,
// confirmed and revoked through escaped paths.
func TestTokenOddName(t *testing.T) {
	a := newAccessSite(t, nil, false)
	a.token("ci bot <b>", "read", "*")
	c := a.browser()
	a.signIn(c, a.root, "/").want(t, 303)
	list := a.get(c, "/ui/tokens").want(t, 200)
	revoke := "/ui/tokens/" + url.PathEscape("ci bot <b>") + "/revoke"
	contains(t, list.body, `href="`+revoke+`"`, "ci bot &lt;b&gt;")
	conf := a.get(c, revoke).want(t, 200)
	a.post(c, revoke, url.Values{"csrf": {csrf(t, conf.body)}}).want(t, 303)
	tokens, _ := a.reg.ListTokens(t.Context())
	if tokens[1].Status != "revoked" {
		t.Fatalf("not revoked: %+v", tokens[1])
	}
}
