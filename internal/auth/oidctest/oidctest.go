// Package oidctest is a fake OpenID Connect issuer for tests: a discovery
// document and a JWKS served over httptest, keys generated on the spot,
// and JWTs signed with them. It must not import internal/auth, whose own
// tests use it.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
	iss.srv = httptest.NewServer(mux)
	iss.URL = iss.srv.URL
	tb.Cleanup(iss.srv.Close)
	return iss
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
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: k.Alg, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.KID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
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
