// Package oidctest is a fake OpenID Connect issuer for tests: a discovery
// document and a JWKS served over httptest, keys generated on the spot,
// and JWTs signed with them; with EnableLogin, also the authorization-code
// flow with PKCE (/authorize approves at once, /token checks the code,
// client and code verifier). It must not import internal/auth, whose own
// tests use it.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a running OpenID Connect issuer whose JWKS the test may change.
type Issuer struct {
	URL string // the issuer identifier, and the server's base URL

	srv      *httptest.Server
	algs     []string // id_token_signing_alg_values_supported
	jwksHits atomic.Int32
	mu       sync.Mutex
	keys     []jose.JSONWebKey
	login    *Login
	codes    map[string]grant
}

// Login configures the issuer's /authorize and /token endpoints (the
// authorization-code flow with PKCE): every authorization request from
// ClientID is approved at once for Subject, and the code is redeemed for
// an ID token signed with Key.
type Login struct {
	ClientID string
	// ClientSecret, when set, must come with the token request (HTTP
	// Basic or the client_secret form field).
	ClientSecret string
	Key          Key
	Subject      string
	// Claims are merged into the ID token's claims after iss, aud, sub,
	// iat, exp and nonce (a nil value deletes one): a wrong "nonce" here
	// makes a token for another sign-in.
	Claims map[string]any
}

// grant is an issued authorization code's request.
type grant struct {
	clientID, redirectURI, challenge, nonce string
}

// NewIssuer starts an issuer, closed when tb ends. algs are advertised as
// id_token_signing_alg_values_supported; with none, the field is left
// out. The JWKS is empty until Serve.
func NewIssuer(tb testing.TB, algs ...string) *Issuer {
	tb.Helper()
	iss := &Issuer{algs: algs}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"issuer":                 iss.URL,
			"jwks_uri":               iss.URL + "/jwks",
			"authorization_endpoint": iss.URL + "/authorize",
			"token_endpoint":         iss.URL + "/token",
		}
		if iss.algs != nil {
			doc["id_token_signing_alg_values_supported"] = iss.algs
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.jwksHits.Add(1)
		iss.mu.Lock()
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), iss.keys...)}
		iss.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("GET /authorize", iss.authorize)
	mux.HandleFunc("POST /token", iss.token)
	iss.srv = httptest.NewServer(mux)
	iss.URL = iss.srv.URL
	tb.Cleanup(iss.srv.Close)
	return iss
}

// EnableLogin makes /authorize approve requests from l.ClientID as
// l.Subject and /token redeem their codes.
func (iss *Issuer) EnableLogin(l Login) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.login = &l
	iss.codes = map[string]grant{}
}

// authorize approves an authorization request at once: it checks
// response_type=code, the client id, an openid scope, a redirect_uri, an
// S256 code challenge, and redirects to redirect_uri with a code and the
// state. Bad requests are answered 400 (no redirect).
func (iss *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	iss.mu.Lock()
	defer iss.mu.Unlock()
	l := iss.login
	switch {
	case l == nil:
		http.Error(w, "login not enabled", http.StatusNotFound)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "unsupported response_type", http.StatusBadRequest)
		return
	case q.Get("client_id") != l.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		http.Error(w, "scope must include openid", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "an S256 code_challenge is required", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	iss.codes[code] = grant{clientID: l.ClientID, redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
	v := redirect.Query()
	v.Set("code", code)
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token redeems an authorization code once: it checks grant_type, the
// code, redirect_uri, the client (and its secret when set) and the PKCE
// code_verifier against the stored S256 challenge, and answers an ID
// token for the client (with the request's nonce) and an access token.
func (iss *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	iss.mu.Lock()
	l := iss.login
	var g grant
	var ok bool
	if l != nil {
		code := r.PostForm.Get("code")
		g, ok = iss.codes[code]
		delete(iss.codes, code) // single use, even when refused
	}
	iss.mu.Unlock()
	if l == nil {
		tokenError(w, http.StatusBadRequest, "unauthorized_client")
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if basic {
		clientID, _ = url.QueryUnescape(clientID)
		secret, _ = url.QueryUnescape(secret)
	} else {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code":
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
	case clientID != l.ClientID || (l.ClientSecret != "" && secret != l.ClientSecret):
		tokenError(w, http.StatusUnauthorized, "invalid_client")
	case !ok || g.clientID != clientID || g.redirectURI != r.PostForm.Get("redirect_uri"):
		tokenError(w, http.StatusBadRequest, "invalid_grant")
	case s256(r.PostForm.Get("code_verifier")) != g.challenge:
		tokenError(w, http.StatusBadRequest, "invalid_grant")
	default:
		extra := map[string]any{"nonce": g.nonce}
		if g.nonce == "" {
			extra["nonce"] = nil
		}
		for k, v := range l.Claims {
			extra[k] = v
		}
		idToken, err := sign(l.Key, iss.Claims(l.ClientID, l.Subject, extra))
		if err != nil {
			tokenError(w, http.StatusInternalServerError, "server_error")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 3600, "id_token": idToken,
		})
	}
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// s256 is the PKCE S256 challenge of verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Client is an HTTP client for the issuer's server.
func (iss *Issuer) Client() *http.Client { return iss.srv.Client() }

// Serve makes the JWKS hold exactly the public halves of keys.
func (iss *Issuer) Serve(keys ...Key) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = nil
	for _, k := range keys {
		iss.keys = append(iss.keys, jose.JSONWebKey{
			Key: k.Private.Public(), KeyID: k.KID, Algorithm: string(k.Alg), Use: "sig",
		})
	}
}

// JWKSFetches is how many times the JWKS has been fetched.
func (iss *Issuer) JWKSFetches() int { return int(iss.jwksHits.Load()) }

// Claims are valid claims from iss for audience aud and subject sub
// (iss, aud, sub, iat, exp an hour from now), with extra merged in: a nil
// value deletes the claim.
func (iss *Issuer) Claims(aud, sub string, extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": iss.URL,
		"aud": aud,
		"sub": sub,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// Key is a signing key: its kid (may be empty), algorithm and private half.
type Key struct {
	KID     string
	Alg     jose.SignatureAlgorithm
	Private crypto.Signer
}

// NewRSAKey returns a fresh 2048-bit RS256 key.
func NewRSAKey(tb testing.TB, kid string) Key {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return Key{kid, jose.RS256, k}
}

// NewECKey returns a fresh P-256 ES256 key.
func NewECKey(tb testing.TB, kid string) Key {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return Key{kid, jose.ES256, k}
}

// Sign returns a compact JWS (typ JWT) of claims signed by k.
func Sign(tb testing.TB, k Key, claims map[string]any) string {
	tb.Helper()
	raw, err := sign(k, claims)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func sign(k Key, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: k.Alg, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.KID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// B64 is the unpadded base64url encoding of v's JSON, a JWT segment for
// hand-made (unsigned, tampered, malformed) tokens.
func B64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
