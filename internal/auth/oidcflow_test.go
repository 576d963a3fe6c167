package auth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/auth/oidctest"
)

const (
	uiClientID     = "flymodel-ui"
	uiClientSecret = "ui-secret"
)

var uiRoles = map[string]string{"fm-admins": "admin", "ml-writers": "write:ml-team"}

// newSignInIssuer is a fake issuer whose login approves user-123 in the
// groups fm-readers (unmapped) and ml-writers, with extra ID token claims.
func newSignInIssuer(t *testing.T, extra map[string]any) *oidctest.Issuer {
	t.Helper()
	iss := oidctest.NewIssuer(t, "RS256")
	key := oidctest.NewRSAKey(t, "k1")
	iss.Serve(key)
	claims := map[string]any{"groups": []string{"fm-readers", "ml-writers"}}
	for k, v := range extra {
		claims[k] = v
	}
	iss.EnableLogin(oidctest.Login{ClientID: uiClientID, ClientSecret: uiClientSecret, Key: key,
		Subject: "user-123", Claims: claims})
	return iss
}

func newSignInOIDC(t *testing.T, iss *oidctest.Issuer, clientSecret string) *auth.OIDC {
	t.Helper()
	o, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{Issuer: iss.URL, Audience: "flymodel", RoleClaim: "groups",
		Roles: uiRoles, ClientID: uiClientID, ClientSecret: clientSecret}, iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestOIDCSignInFlow runs the whole flow with a real HTTP client and
// cookie jar against a small UI server written with the helpers, as the
// web UI wires them: sign-in redirects to the issuer, which approves and
// sends the browser back; the callback checks the state, exchanges the
// code with the PKCE verifier and starts a session with the ID token's
// grants.
func TestOIDCSignInFlow(t *testing.T) {
	iss := newSignInIssuer(t, nil)
	o := newSignInOIDC(t, iss, uiClientSecret)
	if !o.SignInEnabled() || o.Issuer() != iss.URL {
		t.Fatalf("SignInEnabled = %v, Issuer = %q", o.SignInEnabled(), o.Issuer())
	}
	s := newDB(t)
	sessions := auth.NewSessions(auth.SessionOptions{DB: s})

	var ui *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /signin/oidc", func(w http.ResponseWriter, r *http.Request) {
		f := auth.NewOIDCFlow()
		http.SetCookie(w, auth.OIDCFlowCookie(f, false))
		http.Redirect(w, r, o.AuthCodeURL(f, ui.URL+"/oidc/callback"), http.StatusFound)
	})
	mux.HandleFunc("GET /oidc/callback", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, auth.ClearOIDCFlowCookie(false))
		code, f, err := auth.OIDCCallback(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		p, _, err := o.Exchange(r.Context(), code, f, ui.URL+"/oidc/callback")
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		cookie, sess, err := sessions.SignInWithPrincipal(r.Context(), p, time.Time{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, auth.SessionCookie(cookie, sess, false, time.Now()))
		w.Write([]byte("signed in as " + p.Name))
	})
	ui = httptest.NewServer(mux)
	t.Cleanup(ui.Close)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := client.Get(ui.URL + "/signin/oidc")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || body != "signed in as oidc:user-123" {
		t.Fatalf("sign-in ended %s: %s", resp.Status, body)
	}
	uiURL, _ := url.Parse(ui.URL)
	var cookie string
	for _, c := range jar.Cookies(uiURL) {
		switch c.Name {
		case auth.SessionCookieName:
			cookie = c.Value
		case auth.OIDCFlowCookieName:
			t.Errorf("flow cookie left behind: %+v", c)
		}
	}
	sess, err := sessions.Lookup(context.Background(), cookie)
	if err != nil {
		t.Fatalf("Lookup of the new session: %v", err)
	}
	want := auth.Principal{Name: "oidc:user-123", Grants: []auth.Grant{{Namespace: "ml-team", Role: auth.Write}}}
	if !reflect.DeepEqual(sess.Principal, want) || sess.Method != auth.SessionByOIDC {
		t.Fatalf("session principal = %+v, want %+v", sess.Principal, want)
	}

	// A replayed callback (same code and state, flow cookie gone) fails.
	resp, err = client.Get(resp.Request.URL.String())
	if err != nil {
		t.Fatal(err)
	}
	if readAll(t, resp); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed callback: %s, want 401", resp.Status)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// authorize runs /authorize for f without following the redirect and
// returns the code the issuer sends back.
func authorize(t *testing.T, o *auth.OIDC, f auth.OIDCFlow, redirectURI string) string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(o.AuthCodeURL(f, redirectURI))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	if got := loc.Query().Get("state"); got != f.State {
		t.Fatalf("state came back as %q, want %q", got, f.State)
	}
	return loc.Query().Get("code")
}

// TestOIDCExchangeRefusals: a wrong verifier, nonce, redirect URI, client
// secret or audience, and a reused code, are refused.
func TestOIDCExchangeRefusals(t *testing.T) {
	ctx := context.Background()
	const redirect = "https://ui.example.com/oidc/callback"
	iss := newSignInIssuer(t, nil)
	o := newSignInOIDC(t, iss, uiClientSecret)

	refused := func(name string, o *auth.OIDC, code string, f auth.OIDCFlow, redirectURI string) {
		t.Helper()
		_, _, err := o.Exchange(ctx, code, f, redirectURI)
		if !errors.Is(err, auth.ErrOIDCSignIn) {
			t.Errorf("%s: Exchange = %v, want ErrOIDCSignIn", name, err)
		}
		t.Logf("%s: %v", name, err)
	}

	f := auth.NewOIDCFlow()
	wrongVerifier := f
	wrongVerifier.Verifier = auth.NewOIDCFlow().Verifier
	refused("wrong verifier", o, authorize(t, o, f, redirect), wrongVerifier, redirect)

	f = auth.NewOIDCFlow()
	wrongNonce := f
	wrongNonce.Nonce = auth.NewOIDCFlow().Nonce
	refused("wrong nonce", o, authorize(t, o, f, redirect), wrongNonce, redirect)

	f = auth.NewOIDCFlow()
	refused("wrong redirect_uri", o, authorize(t, o, f, redirect), f, redirect+"x")

	f = auth.NewOIDCFlow()
	refused("wrong client secret", newSignInOIDC(t, iss, "guess"), authorize(t, o, f, redirect), f, redirect)
	refused("no client secret", newSignInOIDC(t, iss, ""), authorize(t, o, f, redirect), f, redirect)

	f = auth.NewOIDCFlow()
	code := authorize(t, o, f, redirect)
	p, exp, err := o.Exchange(ctx, code, f, redirect)
	if err != nil || p.Name != "oidc:user-123" || time.Until(exp) < 50*time.Minute {
		t.Fatalf("Exchange = %+v, %v, %v", p, exp, err)
	}
	refused("reused code", o, code, f, redirect)
	refused("unknown code", o, "made-up", f, redirect)

	// ID tokens made for another sign-in or another audience.
	for name, extra := range map[string]map[string]any{
		"nonce of another sign-in": {"nonce": "other"},
		"no nonce":                 {"nonce": nil},
		"bearer audience":          {"aud": "flymodel"},
		"expired":                  {"exp": time.Now().Add(-time.Minute).Unix()},
		"another issuer":           {"iss": "https://evil.example.com"},
		"no subject":               {"sub": nil},
		"control: valid":           nil,
	} {
		iss := newSignInIssuer(t, extra)
		o := newSignInOIDC(t, iss, uiClientSecret)
		f := auth.NewOIDCFlow()
		code := authorize(t, o, f, redirect)
		if extra == nil {
			if _, _, err := o.Exchange(ctx, code, f, redirect); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		refused(name, o, code, f, redirect)
	}
}

// TestOIDCCallback: the callback helper's checks of the state and the
// flow cookie.
func TestOIDCCallback(t *testing.T) {
	f := auth.NewOIDCFlow()
	req := func(query string, withCookie bool) *http.Request {
		r := httptest.NewRequest("GET", "/oidc/callback?"+query, nil)
		if withCookie {
			r.AddCookie(auth.OIDCFlowCookie(f, true))
		}
		return r
	}
	code, got, err := auth.OIDCCallback(req("code=abc&state="+f.State, true))
	if err != nil || code != "abc" || got != f {
		t.Fatalf("OIDCCallback = %q, %+v, %v", code, got, err)
	}
	for name, r := range map[string]*http.Request{
		"wrong state":  req("code=abc&state="+auth.NewOIDCFlow().State, true),
		"no state":     req("code=abc", true),
		"no cookie":    req("code=abc&state="+f.State, false),
		"no code":      req("state="+f.State, true),
		"issuer error": req("error=access_denied&state="+f.State, true),
		"malformed cookie": func() *http.Request {
			r := req("code=abc&state=x", false)
			r.AddCookie(&http.Cookie{Name: auth.OIDCFlowCookieName, Value: "x"})
			return r
		}(),
	} {
		if _, _, err := auth.OIDCCallback(r); !errors.Is(err, auth.ErrOIDCSignIn) {
			t.Errorf("%s: %v, want ErrOIDCSignIn", name, err)
		}
	}
	c := auth.OIDCFlowCookie(f, true)
	if c.Name != "flymodel_oidc" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 || c.Path != "/" {
		t.Fatalf("flow cookie = %+v", c)
	}
}

// TestPKCE: the S256 challenge (the vector is sha256sum's output in
// base64url) and the shape of fresh flows.
func TestPKCE(t *testing.T) {
	if got := auth.PKCEChallenge("dBjftJeZ4CVP-mJ92K9Qkk1JYQ4yfqJ9ZMIGNWRwfqU"); got != "9ZQACloAoSvqY8KHfcza6-K0GvACss-G96vI4WcGtto" {
		t.Fatalf("PKCEChallenge = %q", got)
	}
	a, b := auth.NewOIDCFlow(), auth.NewOIDCFlow()
	if a == b || a.State == a.Nonce || len(a.Verifier) != 43 || strings.ContainsAny(a.State+a.Nonce+a.Verifier, ".=+/") {
		t.Fatalf("flows %+v, %+v", a, b)
	}
	u, err := url.Parse(newSignInOIDC(t, newSignInIssuer(t, nil), "").AuthCodeURL(a, "https://ui/cb"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/authorize" || q.Get("code_challenge") != auth.PKCEChallenge(a.Verifier) || q.Get("code_challenge_method") != "S256" ||
		q.Get("scope") != "openid profile email" || q.Get("state") != a.State || q.Get("nonce") != a.Nonce ||
		q.Get("client_id") != uiClientID || q.Get("redirect_uri") != "https://ui/cb" || q.Get("response_type") != "code" || q.Has("code_verifier") {
		t.Fatalf("AuthCodeURL = %s", u)
	}
	// Without a client id there is no sign-in.
	iss := newSignInIssuer(t, nil)
	o, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{Issuer: iss.URL, Audience: "flymodel"}, iss.Client())
	if err != nil {
		t.Fatal(err)
	}
	if o.SignInEnabled() || o.AuthCodeURL(a, "https://ui/cb") != "" {
		t.Fatal("sign-in enabled without a client id")
	}
}
