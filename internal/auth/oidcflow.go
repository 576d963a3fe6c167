package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flymodel/flymodel/api"
)

// The authorization-code flow with PKCE (RFC 6749, RFC 7636, OpenID
// Connect Core 3.1) by which a browser signs in to the web UI through the
// issuer:
//
//  1. the sign-in handler makes a flow (NewOIDCFlow), sets OIDCFlowCookie
//     and redirects to OIDC.AuthCodeURL;
//  2. the issuer sends the browser back to the redirect URI, whose handler
//     calls OIDCCallback (cookie, state and error checks), then
//     OIDC.Exchange, then Sessions.SignInWithPrincipal, and clears the
//     flow cookie.

// OIDCFlowCookieName is the cookie that holds a sign-in in progress.
const OIDCFlowCookieName = "flymodel_oidc"

// OIDCFlowTTL is how long a sign-in through the issuer may take.
const OIDCFlowTTL = 10 * time.Minute

// ErrOIDCSignIn is a sign-in through the issuer that failed: a missing or
// mismatched state or flow cookie, an error from the issuer, a refused
// code, or an ID token that fails verification (401, of class
// api.ErrUnauthorized). The wrapped message says more, for the server log.
var ErrOIDCSignIn = api.NewError(api.ErrUnauthorized, "sign-in through the identity provider failed; try again")

// OIDCFlow is the secret state of one sign-in through the issuer: the
// state (against login CSRF), the nonce (binds the ID token to this
// sign-in) and the PKCE code verifier. Each is 256 random bits,
// base64url, without dots.
type OIDCFlow struct {
	State    string
	Nonce    string
	Verifier string
}

// NewOIDCFlow returns a flow with fresh random values.
func NewOIDCFlow() OIDCFlow {
	return OIDCFlow{State: random256(), Nonce: random256(), Verifier: random256()}
}

// random256 is 256 random bits, base64url: 43 characters, a valid PKCE
// code verifier.
func random256() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// PKCEChallenge is the S256 code challenge of verifier:
// base64url(sha256(verifier)).
func PKCEChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// OIDCFlowCookie is the cookie that keeps f in the browser until the
// callback: HttpOnly, Path=/, Secure when secure, lasting OIDCFlowTTL.
// It is SameSite=Lax, not Strict: the issuer's redirect back to the
// callback is a cross-site navigation, on which a Strict cookie is not
// sent. Its values are compared with what comes back, never trusted
// alone: the state must match the callback's, the nonce the ID token's,
// and the verifier the challenge the issuer holds.
func OIDCFlowCookie(f OIDCFlow, secure bool) *http.Cookie {
	return &http.Cookie{
		Name: OIDCFlowCookieName, Value: f.State + "." + f.Nonce + "." + f.Verifier,
		Path: "/", MaxAge: int(OIDCFlowTTL / time.Second), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	}
}

// ClearOIDCFlowCookie deletes the flow cookie (set it on the callback's
// response, whatever the outcome).
func ClearOIDCFlowCookie(secure bool) *http.Cookie {
	return &http.Cookie{
		Name: OIDCFlowCookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// OIDCCallback reads the issuer's redirect back to the callback: the
// flow cookie, the state query parameter (which must equal the cookie's,
// compared in constant time), and the code. An error from the issuer
// (error=access_denied, …), a missing or mismatched state, a missing
// cookie or code are ErrOIDCSignIn.
func OIDCCallback(r *http.Request) (code string, f OIDCFlow, err error) {
	c, err := r.Cookie(OIDCFlowCookieName)
	if err != nil {
		return "", OIDCFlow{}, fmt.Errorf("%w: no sign-in in progress (flow cookie missing or expired)", ErrOIDCSignIn)
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", OIDCFlow{}, fmt.Errorf("%w: malformed flow cookie", ErrOIDCSignIn)
	}
	f = OIDCFlow{State: parts[0], Nonce: parts[1], Verifier: parts[2]}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", OIDCFlow{}, fmt.Errorf("%w: the issuer answered %.100q: %.200q", ErrOIDCSignIn, e, q.Get("error_description"))
	}
	state := q.Get("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1 {
		return "", OIDCFlow{}, fmt.Errorf("%w: state does not match", ErrOIDCSignIn)
	}
	code = q.Get("code")
	if code == "" || len(code) > 4096 {
		return "", OIDCFlow{}, fmt.Errorf("%w: no code", ErrOIDCSignIn)
	}
	return code, f, nil
}

// SignInEnabled reports whether browsers may sign in through the issuer
// (auth.oidc.client_id is set).
func (o *OIDC) SignInEnabled() bool { return o != nil && o.clientID != "" }

// Issuer is the issuer URL, for "Sign in with <issuer>".
func (o *OIDC) Issuer() string { return o.issuer }

// RedirectURL is auth.oidc.redirect_url, or "" when the caller derives
// the callback URL from the request.
func (o *OIDC) RedirectURL() string { return o.redirectURL }

// AuthCodeURL is the issuer's authorization endpoint URL to send the
// browser to for f, with response_type=code, the client id, scopes,
// redirect_uri, state, nonce and the S256 code challenge of f.Verifier.
// It is "" when sign-in is not enabled.
func (o *OIDC) AuthCodeURL(f OIDCFlow, redirectURI string) string {
	if !o.SignInEnabled() {
		return ""
	}
	v := url.Values{
		"response_type":         {"code"},
		"client_id":             {o.clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {strings.Join(o.scopes, " ")},
		"state":                 {f.State},
		"nonce":                 {f.Nonce},
		"code_challenge":        {PKCEChallenge(f.Verifier)},
		"code_challenge_method": {"S256"},
	}
	sep := "?"
	if strings.Contains(o.authURL, "?") {
		sep = "&"
	}
	return o.authURL + sep + v.Encode()
}

// maxTokenResponse bounds the token endpoint's answer.
const maxTokenResponse = 1 << 20

// Exchange redeems code at the token endpoint (with f.Verifier and
// redirectURI, which must be the one given to AuthCodeURL) and verifies
// the ID token it returns as bearer JWTs are verified — signature by the
// issuer's keys, issuer, expiry — with the client id as audience and
// f.Nonce as its nonce claim. The principal is "oidc:<sub>" with the
// grants of its role claim, mapped as for bearer JWTs; expiry is the ID
// token's exp (Sessions.SignInWithPrincipal may be given it, or the zero
// time for the session TTL). Every failure wraps ErrOIDCSignIn.
func (o *OIDC) Exchange(ctx context.Context, code string, f OIDCFlow, redirectURI string) (Principal, time.Time, error) {
	if !o.SignInEnabled() {
		return Principal{}, time.Time{}, fmt.Errorf("%w: sign-in through the issuer is not configured", ErrOIDCSignIn)
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {f.Verifier},
		"client_id":     {o.clientID},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %v", ErrOIDCSignIn, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if o.clientSecret != "" {
		// RFC 6749 2.3.1: both halves form-encoded first.
		req.SetBasicAuth(url.QueryEscape(o.clientID), url.QueryEscape(o.clientSecret))
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: token endpoint: %v", ErrOIDCSignIn, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: token endpoint: %v", ErrOIDCSignIn, err)
	}
	var tr struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
		Desc    string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &tr); err != nil && resp.StatusCode == http.StatusOK {
		return Principal{}, time.Time{}, fmt.Errorf("%w: token endpoint: %v", ErrOIDCSignIn, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Principal{}, time.Time{}, fmt.Errorf("%w: token endpoint answered %s: %.100q %.200q", ErrOIDCSignIn, resp.Status, tr.Error, tr.Desc)
	}
	if tr.IDToken == "" {
		return Principal{}, time.Time{}, fmt.Errorf("%w: token endpoint returned no id_token", ErrOIDCSignIn)
	}
	p, tok, err := o.verify(ctx, o.idVerifier, tr.IDToken)
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: id_token: %v", ErrOIDCSignIn, err)
	}
	if tok.Nonce == "" || subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(f.Nonce)) != 1 {
		return Principal{}, time.Time{}, fmt.Errorf("%w: id_token nonce does not match", ErrOIDCSignIn)
	}
	return p, tok.Expiry, nil
}
