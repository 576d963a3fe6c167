package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/flymodel/flymodel/internal/auth/oidctest"
)

const testAudience = "flymodel"

var testRoles = map[string]string{
	"fm-admins":  "admin",
	"fm-readers": "read",
	"ml-writers": "write:ml-team",
	"cv-readers": "read:cv",
}

// claims are valid claims from iss for user-123 (alice), with extra ones
// merged in (a nil value deletes the claim).
func claims(iss *oidctest.Issuer, extra map[string]any) map[string]any {
	c := map[string]any{"preferred_username": "alice", "email": "alice@example.com"}
	maps.Copy(c, extra)
	return iss.Claims(testAudience, "user-123", c)
}

func newTestOIDC(tb testing.TB, iss *oidctest.Issuer) *OIDC {
	tb.Helper()
	o, err := NewOIDC(tb.Context(), OIDCConfig{
		Issuer: iss.URL, Audience: testAudience, RoleClaim: "groups", Roles: testRoles,
	}, iss.Client())
	if err != nil {
		tb.Fatalf("NewOIDC: %v", err)
	}
	return o
}

func TestOIDCVerifyGrants(t *testing.T) {
	iss := oidctest.NewIssuer(t, "RS256", "ES256")
	rk, ek := oidctest.NewRSAKey(t, "rsa-1"), oidctest.NewECKey(t, "ec-1")
	iss.Serve(rk, ek)
	o := newTestOIDC(t, iss)

	tests := []struct {
		name   string
		key    oidctest.Key
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
			p, err := o.Verify(t.Context(), oidctest.Sign(t, tt.key, claims(iss, tt.extra)))
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
	p, err := o.Verify(t.Context(), oidctest.Sign(t, rk, claims(iss, map[string]any{"groups": "nobody"})))
	if err != nil {
		t.Fatal(err)
	}
	if p.Allows("ml-team", Read) || p.Global() != None {
		t.Errorf("principal without mapped roles allows something: %+v", p)
	}
	// A scoped grant is limited to its namespace.
	p, err = o.Verify(t.Context(), oidctest.Sign(t, rk, claims(iss, map[string]any{"groups": "ml-writers"})))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allows("ml-team", Write) || p.Allows("ml-team", Admin) || p.Allows("other", Read) {
		t.Errorf("scoped principal %+v: wrong permissions", p)
	}
}

func TestOIDCVerifyRejects(t *testing.T) {
	iss := oidctest.NewIssuer(t, "RS256", "ES256")
	rk, ek := oidctest.NewRSAKey(t, "rsa-1"), oidctest.NewECKey(t, "ec-1")
	iss.Serve(rk, ek)
	o := newTestOIDC(t, iss)
	now := time.Now()

	valid := oidctest.Sign(t, rk, claims(iss, nil))
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + oidctest.B64(claims(iss, map[string]any{"groups": "fm-admins"})) + "." + parts[2]
	noneHeader := oidctest.B64(map[string]any{"alg": "none", "typ": "JWT"})
	noneToken := noneHeader + "." + parts[1] + "."
	noneWithSig := noneHeader + "." + parts[1] + "." + parts[2]
	// HS256 "signed" with the RSA public key: the classic algorithm confusion.
	pubJWK, err := json.Marshal(jose.JSONWebKey{Key: rk.Private.Public()})
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
		{"expired", oidctest.Sign(t, rk, claims(iss, map[string]any{"exp": now.Add(-time.Minute).Unix()}))},
		{"no exp", oidctest.Sign(t, rk, claims(iss, map[string]any{"exp": nil}))},
		{"not yet valid (nbf beyond go-oidc's 5 minute leeway)", oidctest.Sign(t, rk, claims(iss, map[string]any{"nbf": now.Add(time.Hour).Unix()}))},
		{"wrong audience", oidctest.Sign(t, rk, claims(iss, map[string]any{"aud": "someone-else"}))},
		{"wrong audience array", oidctest.Sign(t, rk, claims(iss, map[string]any{"aud": []any{"a", "b"}}))},
		{"no audience", oidctest.Sign(t, rk, claims(iss, map[string]any{"aud": nil}))},
		{"wrong issuer", oidctest.Sign(t, rk, claims(iss, map[string]any{"iss": "https://evil.example.com"}))},
		{"no issuer", oidctest.Sign(t, rk, claims(iss, map[string]any{"iss": nil}))},
		{"no subject", oidctest.Sign(t, rk, claims(iss, map[string]any{"sub": nil}))},
		{"empty subject", oidctest.Sign(t, rk, claims(iss, map[string]any{"sub": ""}))},
		{"unknown key, unknown kid", oidctest.Sign(t, oidctest.NewRSAKey(t, "rsa-x"), claims(iss, nil))},
		{"unknown key, known kid", oidctest.Sign(t, oidctest.NewRSAKey(t, "rsa-1"), claims(iss, nil))},
		{"unknown EC key, known kid", oidctest.Sign(t, oidctest.NewECKey(t, "ec-1"), claims(iss, nil))},
		{"unknown key, no kid", oidctest.Sign(t, oidctest.NewRSAKey(t, ""), claims(iss, nil))},
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
		{"JSON header, garbage payload", oidctest.B64(map[string]any{"alg": "RS256", "kid": "rsa-1"}) + ".AAAA.AAAA"},
		{"header not an object", oidctest.B64([]any{1, 2}) + "." + parts[1] + "." + parts[2]},
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
	iss := oidctest.NewIssuer(t)
	rk, ek := oidctest.NewRSAKey(t, "rsa-1"), oidctest.NewECKey(t, "ec-1")
	iss.Serve(rk, ek)
	o := newTestOIDC(t, iss)
	for _, k := range []oidctest.Key{rk, ek} {
		if _, err := o.Verify(t.Context(), oidctest.Sign(t, k, claims(iss, nil))); err != nil {
			t.Errorf("%s without advertised algorithms: %v", k.Alg, err)
		}
	}

	// An issuer advertising only RS256: ES256 tokens are refused even if
	// their key is in the JWKS.
	iss = oidctest.NewIssuer(t, "RS256", "HS256", "none")
	iss.Serve(rk, ek)
	o = newTestOIDC(t, iss)
	if _, err := o.Verify(t.Context(), oidctest.Sign(t, rk, claims(iss, nil))); err != nil {
		t.Errorf("RS256: %v", err)
	}
	if _, err := o.Verify(t.Context(), oidctest.Sign(t, ek, claims(iss, nil))); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("ES256 from an RS256-only issuer: %v, want ErrInvalidToken", err)
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	iss := oidctest.NewIssuer(t, "RS256", "ES256")
	old, next := oidctest.NewRSAKey(t, "2024"), oidctest.NewECKey(t, "2025")
	iss.Serve(old)
	o := newTestOIDC(t, iss)
	// The key set is fetched again at most once a minute: the test moves
	// the clock past that before each fetch it expects.
	clock := time.Now()
	o.keys.now = func() time.Time { return clock }
	later := func() { clock = clock.Add(DefaultJWKSMinRefresh) }

	oldToken := oidctest.Sign(t, old, claims(iss, nil))
	if _, err := o.Verify(t.Context(), oldToken); err != nil {
		t.Fatalf("old key: %v", err)
	}
	hits := iss.JWKSFetches()
	if _, err := o.Verify(t.Context(), oldToken); err != nil {
		t.Fatalf("old key again: %v", err)
	}
	if got := iss.JWKSFetches(); got != hits {
		t.Errorf("JWKS fetched again for a cached key (%d → %d fetches)", hits, got)
	}

	// Before the issuer publishes the new key, its tokens fail.
	later()
	newToken := oidctest.Sign(t, next, claims(iss, nil))
	if _, err := o.Verify(t.Context(), newToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unpublished key: %v, want ErrInvalidToken", err)
	}
	// Once it does, the unknown kid makes the verifier fetch the JWKS again.
	iss.Serve(old, next)
	later()
	hits = iss.JWKSFetches()
	if _, err := o.Verify(t.Context(), newToken); err != nil {
		t.Fatalf("rotated-in key: %v", err)
	}
	if got := iss.JWKSFetches(); got <= hits {
		t.Errorf("JWKS not fetched for a new kid (%d → %d fetches)", hits, got)
	}
	// When the old key is retired, go-oidc keeps trusting its cached copy
	// until something makes it fetch the JWKS again (it has no time-based
	// refresh): here, a token with an unknown kid.
	iss.Serve(next)
	if _, err := o.Verify(t.Context(), oidctest.Sign(t, next, claims(iss, map[string]any{"sub": "other"}))); err != nil {
		t.Fatalf("new key after retirement: %v", err)
	}
	if _, err := o.Verify(t.Context(), oidctest.Sign(t, old, claims(iss, map[string]any{"sub": "x"}))); err != nil {
		t.Errorf("retired but cached key: %v (go-oidc now drops cached keys by itself?)", err)
	}
	later()
	hits = iss.JWKSFetches()
	if _, err := o.Verify(t.Context(), oidctest.Sign(t, oidctest.NewRSAKey(t, "2026"), claims(iss, nil))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unknown kid: %v, want ErrInvalidToken", err)
	}
	if got := iss.JWKSFetches(); got <= hits {
		t.Errorf("JWKS not fetched for an unknown kid (%d → %d fetches)", hits, got)
	}
	if _, err := o.Verify(t.Context(), oidctest.Sign(t, old, claims(iss, map[string]any{"sub": "y"}))); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("retired key after a refresh: %v, want ErrInvalidToken", err)
	}
	if _, err := o.Verify(t.Context(), newToken); err != nil {
		t.Errorf("new key after a refresh: %v", err)
	}
}

// TestOIDCRefetchLimited: tokens naming keys the issuer does not have
// (junk with a valid issuer, audience and expiry) make the key set be
// fetched at most once per jwks_min_refresh, sent one after another or all
// at once; a token of another issuer is refused before any fetch; once the
// interval has passed, a rotated-in key is found.
func TestOIDCRefetchLimited(t *testing.T) {
	iss := oidctest.NewIssuer(t, "RS256")
	k := oidctest.NewRSAKey(t, "k")
	iss.Serve(k)

	o := newTestOIDC(t, iss)
	for i := range 10 {
		foreign := claims(iss, map[string]any{"iss": "https://evil.example", "sub": fmt.Sprint(i)})
		if _, err := o.Verify(t.Context(), oidctest.Sign(t, k, foreign)); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("another issuer's token: %v, want ErrInvalidToken", err)
		}
	}
	if _, err := o.Verify(t.Context(), "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a token whose payload is not JSON: %v", err)
	}
	if n := iss.JWKSFetches(); n != 0 {
		t.Fatalf("tokens of another issuer fetched the key set %d times, want 0", n)
	}

	clock := time.Now()
	var mu sync.Mutex
	o.keys.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	if _, err := o.Verify(t.Context(), oidctest.Sign(t, k, claims(iss, nil))); err != nil {
		t.Fatal(err)
	}
	forger := oidctest.NewRSAKey(t, "")
	junk := func(i int) string {
		key := oidctest.Key{KID: fmt.Sprint("junk-", i), Alg: forger.Alg, Private: forger.Private}
		return oidctest.Sign(t, key, claims(iss, map[string]any{"sub": fmt.Sprint(i)}))
	}
	tokens := make([]string, 100)
	for i := range tokens {
		tokens[i] = junk(i)
	}
	start := iss.JWKSFetches()
	for _, tok := range tokens {
		if _, err := o.Verify(t.Context(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("junk token: %v, want ErrInvalidToken", err)
		}
	}
	if n := iss.JWKSFetches() - start; n > 1 {
		t.Errorf("100 junk tokens in a row fetched the key set %d times, want at most 1", n)
	}

	// All at once, after the interval: one fetch between them.
	mu.Lock()
	clock = clock.Add(DefaultJWKSMinRefresh)
	mu.Unlock()
	start = iss.JWKSFetches()
	var wg sync.WaitGroup
	for _, tok := range tokens {
		wg.Go(func() {
			if _, err := o.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("junk token: %v, want ErrInvalidToken", err)
			}
		})
	}
	wg.Wait()
	if n := iss.JWKSFetches() - start; n != 1 {
		t.Errorf("100 concurrent junk tokens fetched the key set %d times, want 1", n)
	}

	// A key published now is found once the interval has passed.
	next := oidctest.NewRSAKey(t, "next")
	iss.Serve(k, next)
	rotated := oidctest.Sign(t, next, claims(iss, nil))
	if _, err := o.Verify(t.Context(), rotated); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a new key within the interval: %v, want ErrInvalidToken", err)
	}
	mu.Lock()
	clock = clock.Add(DefaultJWKSMinRefresh - time.Second)
	mu.Unlock()
	if _, err := o.Verify(t.Context(), rotated); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a new key a second before the interval ends: %v, want ErrInvalidToken", err)
	}
	mu.Lock()
	clock = clock.Add(time.Second)
	mu.Unlock()
	if _, err := o.Verify(t.Context(), rotated); err != nil {
		t.Fatalf("a new key after the interval: %v", err)
	}
	if _, err := o.Verify(t.Context(), oidctest.Sign(t, k, claims(iss, map[string]any{"sub": "again"}))); err != nil {
		t.Fatalf("the first key after the refresh: %v", err)
	}
}

func TestOIDCConcurrentVerify(t *testing.T) {
	iss := oidctest.NewIssuer(t, "RS256")
	k := oidctest.NewRSAKey(t, "k")
	iss.Serve(k)
	o := newTestOIDC(t, iss)
	good := oidctest.Sign(t, k, claims(iss, map[string]any{"groups": "fm-readers"}))
	bad := oidctest.Sign(t, oidctest.NewRSAKey(t, "k"), claims(iss, nil))
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
	iss := oidctest.NewIssuer(t, "RS256")
	_, err = NewOIDC(t.Context(), OIDCConfig{Issuer: iss.URL + "/", Audience: testAudience}, iss.Client())
	if err == nil || !strings.Contains(err.Error(), iss.URL) {
		t.Errorf("issuer mismatch: NewOIDC = %v, want an error naming the issuer", err)
	}

	// A cancelled context.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewOIDC(ctx, OIDCConfig{Issuer: iss.URL, Audience: testAudience}, iss.Client()); err == nil {
		t.Error("cancelled context: NewOIDC succeeded")
	}

	// Bad configuration, refused before any request.
	for _, cfg := range []OIDCConfig{
		{Audience: testAudience},
		{Issuer: iss.URL},
		{Issuer: iss.URL, Audience: testAudience, Roles: map[string]string{"a": "read"}},
		{Issuer: iss.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "root"}},
		{Issuer: iss.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "none"}},
		{Issuer: iss.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "write:"}},
		{Issuer: iss.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "write:a/b"}},
		{Issuer: iss.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "write:.."}},
		{Issuer: iss.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": ":ns"}},
		{Issuer: iss.URL, Audience: testAudience, RoleClaim: "g", Roles: map[string]string{"a": "Admin"}},
	} {
		if _, err := NewOIDC(t.Context(), cfg, iss.Client()); err == nil {
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
	iss := oidctest.NewIssuer(f)
	k := oidctest.NewRSAKey(f, "k")
	iss.Serve(k)
	o := newTestOIDC(f, iss)
	f.Add(oidctest.Sign(f, k, iss.Claims(testAudience, "s", map[string]any{"iat": nil, "groups": "fm-admins"})))
	f.Add("a.b.c")
	f.Add("")
	f.Add(oidctest.B64(map[string]any{"alg": "none"}) + "." + oidctest.B64(map[string]any{"sub": "x"}) + ".")
	f.Add(oidctest.B64(map[string]any{"alg": "RS256", "kid": "k", "crit": []string{"x"}}) + ".e30.AAAA")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := o.Verify(context.Background(), raw)
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
