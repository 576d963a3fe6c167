package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// testIssuer is an OpenID Connect issuer: a discovery document and a JWKS
// whose keys the test may change.
type testIssuer struct {
	srv        *httptest.Server
	algs       []string // id_token_signing_alg_values_supported
	jwksHits   atomic.Int32
	mu         sync.Mutex
	publicKeys []jose.JSONWebKey
}

func newTestIssuer(t *testing.T, algs ...string) *testIssuer {
	t.Helper()
	iss := &testIssuer{algs: algs}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"issuer":                 iss.srv.URL,
			"jwks_uri":               iss.srv.URL + "/jwks",
			"authorization_endpoint": iss.srv.URL + "/authorize",
			"token_endpoint":         iss.srv.URL + "/token",
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
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), iss.publicKeys...)}
		iss.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

// serve makes the JWKS hold exactly the public halves of keys.
func (iss *testIssuer) serve(keys ...signingKey) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.publicKeys = nil
	for _, k := range keys {
		iss.publicKeys = append(iss.publicKeys, jose.JSONWebKey{
			Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig",
		})
	}
}

type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func rsaKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid, jose.RS256, k}
}

func ecKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid, jose.ES256, k}
}

// sign returns a compact JWS of claims signed by k.
func sign(t *testing.T, k signingKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

const testAudience = "flymodel"

var testRoles = map[string]string{
	"fm-admins":  "admin",
	"fm-readers": "read",
	"ml-writers": "write:ml-team",
	"cv-readers": "read:cv",
}

// claims are valid claims for iss, with extra ones merged in (a nil value
// deletes the claim).
func (iss *testIssuer) claims(extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":                iss.srv.URL,
		"aud":                testAudience,
		"sub":                "user-123",
		"preferred_username": "alice",
		"email":              "alice@example.com",
		"iat":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
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

func newTestOIDC(t *testing.T, iss *testIssuer) *OIDC {
	t.Helper()
	o, err := NewOIDC(t.Context(), OIDCConfig{
		Issuer: iss.srv.URL, Audience: testAudience, RoleClaim: "groups", Roles: testRoles,
	}, iss.srv.Client())
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	return o
}

func TestOIDCVerifyGrants(t *testing.T) {
	iss := newTestIssuer(t, "RS256", "ES256")
	rk, ek := rsaKey(t, "rsa-1"), ecKey(t, "ec-1")
	iss.serve(rk, ek)
	o := newTestOIDC(t, iss)

	tests := []struct {
		name   string
		key    signingKey
		extra  map[string]any
		grants []Grant
	}{
		{"string claim, unscoped", rk, map[string]any{"groups": "fm-admins"}, []Grant{{"", Admin}}},
		{"string claim, scoped", rk, map[string]any{"groups": "ml-writers"}, []Grant{{"ml-team", Write}}},
		{"array claim", rk, map[string]any{"groups": []any{"fm-readers", "ml-writers", "cv-readers", "unmapped"}},
			[]Grant{{"", Read}, {"ml-team", Write}, {"cv", Read}}},
		{"array with non-strings", rk, map[string]any{"groups": []any{42, "cv-readers", nil, map[string]any{"a": 1}}},
			[]Grant{{"cv", Read}}},
		{"duplicates", rk, map[string]any{"groups": []any{"cv-readers", "cv-readers"}}, []Grant{{"cv", Read}}},
		{"ES256", ek, map[string]any{"groups": []any{"fm-admins"}}, []Grant{{"", Admin}}},
		{"audience array", rk, map[string]any{"aud": []any{"other", testAudience}, "groups": "fm-readers"}, []Grant{{"", Read}}},
		{"unmapped value", rk, map[string]any{"groups": "nobody"}, nil},
		{"no role claim", rk, nil, nil},
		{"role claim a number", rk, map[string]any{"groups": 7}, nil},
		{"role claim an object", rk, map[string]any{"groups": map[string]any{"fm-admins": true}}, nil},
		{"role claim null", rk, map[string]any{"groups": json.RawMessage("null")}, nil},
		{"nbf within leeway", rk, map[string]any{"nbf": time.Now().Add(time.Minute).Unix(), "groups": "fm-readers"}, []Grant{{"", Read}}},
		{"nbf past", rk, map[string]any{"nbf": time.Now().Add(-time.Minute).Unix(), "groups": "fm-readers"}, []Grant{{"", Read}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := o.Verify(t.Context(), sign(t, tt.key, iss.claims(tt.extra)))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Name != "oidc:user-123" {
				t.Errorf("Name = %q, want oidc:user-123", p.Name)
			}
			if p.Anonymous || p.MayCreateNamespaces {
				t.Errorf("principal %+v: Anonymous or MayCreateNamespaces set", p)
			}
			if len(p.Grants) != len(tt.grants) || (len(tt.grants) > 0 && !reflect.DeepEqual(p.Grants, tt.grants)) {
				t.Errorf("Grants = %v, want %v", p.Grants, tt.grants)
			}
		})
	}

	// No mapped value: authenticated, but allowed nothing.
	p, err := o.Verify(t.Context(), sign(t, rk, iss.claims(map[string]any{"groups": "nobody"})))
	if err != nil {
		t.Fatal(err)
	}
	if p.Allows("ml-team", Read) || p.Global() != None {
		t.Errorf("principal without mapped roles allows something: %+v", p)
	}
	// A scoped grant is limited to its namespace.
	p, err = o.Verify(t.Context(), sign(t, rk, iss.claims(map[string]any{"groups": "ml-writers"})))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allows("ml-team", Write) || p.Allows("ml-team", Admin) || p.Allows("other", Read) {
		t.Errorf("scoped principal %+v: wrong permissions", p)
	}
}

func TestOIDCVerifyRejects(t *testing.T) {
	iss := newTestIssuer(t, "RS256", "ES256")
	rk, ek := rsaKey(t, "rsa-1"), ecKey(t, "ec-1")
	iss.serve(rk, ek)
	o := newTestOIDC(t, iss)
	now := time.Now()

	valid := sign(t, rk, iss.claims(nil))
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + b64(iss.claims(map[string]any{"groups": "fm-admins"})) + "." + parts[2]
	noneHeader := b64(map[string]any{"alg": "none", "typ": "JWT"})
	noneToken := noneHeader + "." + parts[1] + "."
	noneWithSig := noneHeader + "." + parts[1] + "." + parts[2]
	// HS256 "signed" with the RSA public key: the classic algorithm confusion.
	pubJWK, err := json.Marshal(jose.JSONWebKey{Key: rk.priv.Public()})
	if err != nil {
		t.Fatal(err)
	}
	hsSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pubJWK},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "rsa-1"))
	if err != nil {
		t.Fatal(err)
	}
	hsJWS, err := hsSigner.Sign([]byte(parts[1]))
	if err != nil {
		t.Fatal(err)
	}
	hsToken, err := hsJWS.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, raw string }{
		{"expired", sign(t, rk, iss.claims(map[string]any{"exp": now.Add(-time.Minute).Unix()}))},
		{"no exp", sign(t, rk, iss.claims(map[string]any{"exp": nil}))},
		{"not yet valid (nbf beyond go-oidc's 5 minute leeway)", sign(t, rk, iss.claims(map[string]any{"nbf": now.Add(time.Hour).Unix()}))},
		{"wrong audience", sign(t, rk, iss.claims(map[string]any{"aud": "someone-else"}))},
		{"wrong audience array", sign(t, rk, iss.claims(map[string]any{"aud": []any{"a", "b"}}))},
		{"no audience", sign(t, rk, iss.claims(map[string]any{"aud": nil}))},
		{"wrong issuer", sign(t, rk, iss.claims(map[string]any{"iss": "https://evil.example.com"}))},
		{"no issuer", sign(t, rk, iss.claims(map[string]any{"iss": nil}))},
		{"no subject", sign(t, rk, iss.claims(map[string]any{"sub": nil}))},
		{"empty subject", sign(t, rk, iss.claims(map[string]any{"sub": ""}))},
		{"unknown key, unknown kid", sign(t, rsaKey(t, "rsa-x"), iss.claims(nil))},
		{"unknown key, known kid", sign(t, rsaKey(t, "rsa-1"), iss.claims(nil))},
		{"unknown EC key, known kid", sign(t, ecKey(t, "ec-1"), iss.claims(nil))},
		{"unknown key, no kid", sign(t, rsaKey(t, ""), iss.claims(nil))},
		{"tampered payload", tampered},
		{"tampered signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))},
		{"alg none, empty signature", noneToken},
		{"alg none, signature", noneWithSig},
		{"HS256 with the public key", hsToken},
		{"empty", ""},
		{"api token", "fm_abcDEF123-_"},
		{"garbage", "not a token"},
		{"three dots", "..."},
		{"two segments", parts[0] + "." + parts[1]},
		{"four segments", valid + ".x"},
		{"JWE shape", "a.b.c.d.e"},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2]},
		{"non-JSON segments", "abc.def.ghi"},
		{"JSON header, garbage payload", b64(map[string]any{"alg": "RS256", "kid": "rsa-1"}) + ".AAAA.AAAA"},
		{"header not an object", b64([]any{1, 2}) + "." + parts[1] + "." + parts[2]},
		{"huge", strings.Repeat("A", 10000) + "." + parts[1] + "." + parts[2]},
		{"surrounding space", " " + valid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := o.Verify(t.Context(), tt.raw)
			if err == nil {
				t.Fatalf("Verify succeeded: %+v", p)
			}
			t.Log(err)
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify = %v, not ErrInvalidToken", err)
			}
			// go-oidc's typed errors must not leak through the chain.
			var expired *oidc.TokenExpiredError
			if errors.As(err, &expired) {
				t.Errorf("Verify = %v: TokenExpiredError visible to callers", err)
			}
			if !reflect.DeepEqual(p, Principal{}) {
				t.Errorf("principal %+v returned with an error", p)
			}
		})
	}
	// The valid token still verifies.
	if _, err := o.Verify(t.Context(), valid); err != nil {
		t.Errorf("valid token: %v", err)
	}
}

func TestOIDCAlgorithms(t *testing.T) {
	// Discovery without id_token_signing_alg_values_supported: RS256 and ES256.
	iss := newTestIssuer(t)
	rk, ek := rsaKey(t, "rsa-1"), ecKey(t, "ec-1")
	iss.serve(rk, ek)
	o := newTestOIDC(t, iss)
	for _, k := range []signingKey{rk, ek} {
		if _, err := o.Verify(t.Context(), sign(t, k, iss.claims(nil))); err != nil {
			t.Errorf("%s without advertised algorithms: %v", k.alg, err)
		}
	}

	// An issuer advertising only RS256: ES256 tokens are refused even if
	// their key is in the JWKS.
	iss = newTestIssuer(t, "RS256", "HS256", "none")
	iss.serve(rk, ek)
	o = newTestOIDC(t, iss)
	if _, err := o.Verify(t.Context(), sign(t, rk, iss.claims(nil))); err != nil {
		t.Errorf("RS256: %v", err)
	}
	if _, err := o.Verify(t.Context(), sign(t, ek, iss.claims(nil))); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("ES256 from an RS256-only issuer: %v, want ErrInvalidToken", err)
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	iss := newTestIssuer(t, "RS256", "ES256")
	old, next := rsaKey(t, "2024"), ecKey(t, "2025")
	iss.serve(old)
	o := newTestOIDC(t, iss)

	oldToken := sign(t, old, iss.claims(nil))
	if _, err := o.Verify(t.Context(), oldToken); err != nil {
		t.Fatalf("old key: %v", err)
	}
	hits := iss.jwksHits.Load()
	if _, err := o.Verify(t.Context(), oldToken); err != nil {
		t.Fatalf("old key again: %v", err)
	}
	if got := iss.jwksHits.Load(); got != hits {
		t.Errorf("JWKS fetched again for a cached key (%d → %d fetches)", hits, got)
	}

	// Before the issuer publishes the new key, its tokens fail.
	newToken := sign(t, next, iss.claims(nil))
	if _, err := o.Verify(t.Context(), newToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unpublished key: %v, want ErrInvalidToken", err)
	}
	// Once it does, the unknown kid makes the verifier fetch the JWKS again.
	iss.serve(old, next)
	hits = iss.jwksHits.Load()
	if _, err := o.Verify(t.Context(), newToken); err != nil {
		t.Fatalf("rotated-in key: %v", err)
	}
	if got := iss.jwksHits.Load(); got <= hits {
		t.Errorf("JWKS not fetched for a new kid (%d → %d fetches)", hits, got)
	}
	// When the old key is retired, go-oidc keeps trusting its cached copy
	// until something makes it fetch the JWKS again (it has no time-based
	// refresh): here, a token with an unknown kid.
	iss.serve(next)
	if _, err := o.Verify(t.Context(), sign(t, next, iss.claims(map[string]any{"sub": "other"}))); err != nil {
		t.Fatalf("new key after retirement: %v", err)
	}
	if _, err := o.Verify(t.Context(), sign(t, old, iss.claims(map[string]any{"sub": "x"}))); err != nil {
		t.Errorf("retired but cached key: %v (go-oidc now drops cached keys by itself?)", err)
	}
	hits = iss.jwksHits.Load()
	if _, err := o.Verify(t.Context(), sign(t, rsaKey(t, "2026"), iss.claims(nil))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unknown kid: %v, want ErrInvalidToken", err)
	}
	if got := iss.jwksHits.Load(); got <= hits {
		t.Errorf("JWKS not fetched for an unknown kid (%d → %d fetches)", hits, got)
	}
	if _, err := o.Verify(t.Context(), sign(t, old, iss.claims(map[string]any{"sub": "y"}))); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("retired key after a refresh: %v, want ErrInvalidToken", err)
	}
	if _, err := o.Verify(t.Context(), newToken); err != nil {
		t.Errorf("new key after a refresh: %v", err)
	}
}

func TestOIDCConcurrentVerify(t *testing.T) {
	iss := newTestIssuer(t, "RS256")
	k := rsaKey(t, "k")
	iss.serve(k)
	o := newTestOIDC(t, iss)
	good := sign(t, k, iss.claims(map[string]any{"groups": "fm-readers"}))
	bad := sign(t, rsaKey(t, "k"), iss.claims(nil))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			raw, wantErr := good, false
			if i%2 == 1 {
				raw, wantErr = bad, true
			}
			_, err := o.Verify(context.Background(), raw)
			if (err != nil) != wantErr {
				t.Errorf("goroutine %d: Verify = %v", i, err)
			}
		})
	}
	wg.Wait()
}

func TestNewOIDCErrors(t *testing.T) {
	// An issuer that is not listening.
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	_, err := NewOIDC(t.Context(), OIDCConfig{Issuer: downURL, Audience: testAudience, RoleClaim: "groups"}, nil)
	if err == nil || !strings.Contains(err.Error(), downURL) {
		t.Errorf("unreachable issuer: NewOIDC = %v, want an error naming %s", err, downURL)
	}

	// An issuer without discovery.
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	_, err = NewOIDC(t.Context(), OIDCConfig{Issuer: notFound.URL, Audience: testAudience}, notFound.Client())
	if err == nil || !strings.Contains(err.Error(), notFound.URL) {
		t.Errorf("issuer without discovery: NewOIDC = %v, want an error naming %s", err, notFound.URL)
	}

	// A discovery document naming another issuer.
	iss := newTestIssuer(t, "RS256")
	_, err = NewOIDC(t.Context(), OIDCConfig{Issuer: iss.srv.URL + "/", Audience: testAudience}, iss.srv.Client())
	if err == nil || !strings.Contains(err.Error(), iss.srv.URL) {
		t.Errorf("issuer mismatch: NewOIDC = %v, want an error naming the issuer", err)
	}

	// A cancelled context.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewOIDC(ctx, OIDCConfig{Issuer: iss.srv.URL, Audience: testAudience}, iss.srv.Client()); err == nil {
		t.Error("cancelled context: NewOIDC succeeded")
	}

	// Bad configuration, refused before any request.
	for _, cfg := range []OIDCConfig{
		{Audience: testAudience},
		{Issuer: iss.srv.URL},
		{Issuer: iss.srv.URL, Audience: testAudience, Roles: map[string]string{"a": "read"}},
		{Issuer: iss.srv.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "root"}},
		{Issuer: iss.srv.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "none"}},
		{Issuer: iss.srv.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "write:"}},
		{Issuer: iss.srv.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "write:a/b"}},
		{Issuer: iss.srv.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "write:.."}},
		{Issuer: iss.srv.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": ":ns"}},
		{Issuer: iss.srv.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "Admin"}},
	} {
		if _, err := NewOIDC(t.Context(), cfg, iss.srv.Client()); err == nil {
			t.Errorf("NewOIDC(%+v) succeeded", cfg)
		}
	}
}

func TestParseRoleMapping(t *testing.T) {
	tests := []struct {
		in   string
		want Grant
		ok   bool
	}{
		{"read", Grant{"", Read}, true},
		{"write", Grant{"", Write}, true},
		{"admin", Grant{"", Admin}, true},
		{"write:ml-team", Grant{"ml-team", Write}, true},
		{"admin:a:b", Grant{"a:b", Admin}, true},
		{"read:llm.sm", Grant{"llm.sm", Read}, true},
		{"", Grant{}, false},
		{"none", Grant{}, false},
		{"none:ns", Grant{}, false},
		{"root", Grant{}, false},
		{"read:", Grant{}, false},
		{"read:a/b", Grant{}, false},
		{"read:.", Grant{}, false},
		{"read:a\nb", Grant{}, false},
		{"read:" + strings.Repeat("n", 256), Grant{}, false},
	}
	for _, tt := range tests {
		got, err := parseRoleMapping(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseRoleMapping(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestLooksLikeJWT(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", true},
		{"a.b.c", true},
		{"A-_.0-9._-z", true},
		{"", false},
		{"fm_abcDEF123-_", false},
		{"fm_abc.def", false},
		{"a.b", false},
		{"a.b.", false},
		{".b.c", false},
		{"a..c", false},
		{"..", false},
		{"a.b.c.d", false},
		{"a.b.c.d.e", false},
		{"a=.b.c", false},
		{"a.b+.c", false},
		{"a.b/.c", false},
		{"a.b .c", false},
		{" a.b.c", false},
		{"a.b.c\n", false},
		{"a.b.é", false},
	}
	for _, tt := range tests {
		if got := LooksLikeJWT(tt.in); got != tt.want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzOIDCVerify checks that Verify never panics, that every failure is
// ErrInvalidToken and that a success has a principal name.
func FuzzOIDCVerify(f *testing.F) {
	iss := newFuzzIssuer(f)
	f.Add(iss.valid)
	f.Add("a.b.c")
	f.Add("")
	f.Add(b64(map[string]any{"alg": "none"}) + "." + b64(map[string]any{"sub": "x"}) + ".")
	f.Add(b64(map[string]any{"alg": "RS256", "kid": "k", "crit": []string{"x"}}) + ".e30.AAAA")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := iss.o.Verify(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify(%q) = %v, not ErrInvalidToken", raw, err)
			}
			return
		}
		if p.Name == "" {
			t.Fatalf("Verify(%q) succeeded without a name", raw)
		}
	})
}

type fuzzIssuer struct {
	o     *OIDC
	valid string
}

func newFuzzIssuer(f *testing.F) fuzzIssuer {
	f.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k", Algorithm: "RS256", Use: "sig"}}})
	})
	srv = httptest.NewServer(mux)
	f.Cleanup(srv.Close)
	o, err := NewOIDC(context.Background(), OIDCConfig{Issuer: srv.URL, Audience: testAudience, RoleClaim: "groups", Roles: testRoles}, srv.Client())
	if err != nil {
		f.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: "k"}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"iss": srv.URL, "aud": testAudience, "sub": "s", "exp": time.Now().Add(time.Hour).Unix(), "groups": "fm-admins"})
	jws, err := signer.Sign(payload)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := jws.CompactSerialize()
	if err != nil {
		f.Fatal(err)
	}
	return fuzzIssuer{o, valid}
}
