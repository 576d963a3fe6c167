package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/sqlite"
)

func newDB(t *testing.T) db.DB {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dbtest.SQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background(), db.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// addToken stores a token limited to the "/"-joined namespaces (made when
// missing), or for every namespace with "".
func addToken(t *testing.T, s db.DB, name, role, namespaces string, expires *time.Time) string {
	t.Helper()
	ctx := context.Background()
	secret := auth.NewSecret()
	now := time.Now().UTC()
	tok, err := s.CreateToken(ctx, db.CreateTokenParams{Name: name, SecretHash: auth.HashSecret(secret), Role: role,
		AllNamespaces: namespaces == "", CreatedBy: "test", Now: now, ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	if namespaces == "" {
		return secret
	}
	for _, name := range strings.Split(namespaces, "/") {
		ns, err := s.GetNamespaceByName(ctx, name)
		if errors.Is(err, db.ErrNotFound) {
			ns, err = s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: name, Now: now})
		}
		if err == nil {
			err = s.AddTokenNamespace(ctx, db.AddTokenNamespaceParams{TokenID: tok.ID, NamespaceID: ns.ID})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return secret
}

// TestAnonymousPolicy: what requests without credentials may do, by
// auth.anonymous, bind address and whether tokens exist.
func TestAnonymousPolicy(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name      string
		anonymous string
		loopback  bool
		tokens    bool
		want      auth.Role
	}{
		{"laptop default", "", true, false, auth.Write},
		{"laptop with a token", "", true, true, auth.None},
		{"network default", "", false, false, auth.None},
		{"explicit none on loopback", "none", true, false, auth.None},
		{"explicit read beside tokens", "read", false, true, auth.Read},
		{"explicit write on the network", "write", false, false, auth.Write},
		{"explicit admin", "admin", false, true, auth.Admin},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newDB(t)
			if c.tokens {
				addToken(t, s, "admin", "admin", "", nil)
			}
			a := auth.New(auth.Options{DB: s, Anonymous: c.anonymous, Loopback: c.loopback})
			p, err := a.Authenticate(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if !p.Anonymous || p.Name != "anonymous" || p.Global() != c.want || p.MayCreateNamespaces != (c.want >= auth.Write) {
				t.Fatalf("principal = %+v, want global %s", p, c.want)
			}
		})
	}

	// The default is read from the database at each request, by every
	// replica: the first token closes a laptop server at once, on both
	// servers of one database, and revoking the last one reopens both
	// without a restart. An expired token keeps it closed.
	s := newDB(t)
	a := auth.New(auth.Options{DB: s, Loopback: true})
	other := auth.New(auth.Options{DB: s, Loopback: true})
	if r, _ := a.AnonymousRole(ctx); r != auth.Write {
		t.Fatalf("before any token: %s", r)
	}
	addToken(t, s, "admin", "admin", "", nil)
	for i, x := range []*auth.Authenticator{a, other} {
		if r, _ := x.AnonymousRole(ctx); r != auth.None {
			t.Fatalf("replica %d after the first token: %s", i, r)
		}
	}
	now := time.Now().UTC()
	if _, err := s.RevokeToken(ctx, db.RevokeTokenParams{Name: "admin", Now: &now}); err != nil {
		t.Fatal(err)
	}
	for i, x := range []*auth.Authenticator{a, other} {
		if r, _ := x.AnonymousRole(ctx); r != auth.Write {
			t.Fatalf("replica %d after revoking the last token: %s", i, r)
		}
	}
	past := now.Add(-time.Minute)
	addToken(t, s, "old", "read", "", &past)
	if r, _ := a.AnonymousRole(ctx); r != auth.None {
		t.Fatalf("with an expired token: %s", r)
	}
	// An explicit policy is static, tokens or none.
	if r, _ := auth.New(auth.Options{DB: s, Loopback: true, Anonymous: "read"}).AnonymousRole(ctx); r != auth.Read {
		t.Fatalf("explicit read beside an expired token: %s", r)
	}
}

// TestAuthenticateTokens: the grants of a token, and every way a bearer
// token is refused.
func TestAuthenticateTokens(t *testing.T) {
	ctx := context.Background()
	s := newDB(t)
	past := time.Now().UTC().Add(-time.Minute)
	scoped := addToken(t, s, "ci", "write", "canada/usa", nil)
	expired := addToken(t, s, "old", "admin", "", &past)
	revoked := addToken(t, s, "gone", "admin", "", nil)
	now := time.Now().UTC()
	if _, err := s.RevokeToken(ctx, db.RevokeTokenParams{Name: "gone", Now: &now}); err != nil {
		t.Fatal(err)
	}
	a := auth.New(auth.Options{DB: s, Loopback: true})

	p, err := a.Authenticate(ctx, "Bearer "+scoped)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "ci" || p.Anonymous || !p.Allows("canada", auth.Write) || p.Allows("canada", auth.Admin) ||
		p.Allows("mexico", auth.Read) || p.Global() != auth.None || strings.Join(p.Namespaces(), ",") != "canada,usa" {
		t.Fatalf("scoped principal = %+v", p)
	}
	if p, err := a.Authenticate(ctx, "bearer  "+scoped); err != nil || p.Name != "ci" {
		t.Fatalf("scheme case and spaces: %v %+v", err, p)
	}
	wrong := scoped[:len(scoped)-1] + "A"
	if wrong == scoped {
		wrong = scoped[:len(scoped)-1] + "B"
	}
	for name, header := range map[string]string{
		"expired":      "Bearer " + expired,
		"revoked":      "Bearer " + revoked,
		"unknown":      "Bearer " + auth.NewSecret(),
		"wrong secret": "Bearer " + wrong,
		"no prefix":    "Bearer " + strings.TrimPrefix(scoped, auth.TokenPrefix),
		"basic scheme": "Basic " + scoped,
		"empty bearer": "Bearer ",
		"jwt, no oidc": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
		"oversized":    "Bearer " + auth.TokenPrefix + strings.Repeat("A", 10000),
	} {
		if _, err := a.Authenticate(ctx, header); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
}

// TestCheckStartup: a non-loopback bind needs a token, OIDC, or an
// explicit anonymous read or write.
func TestCheckStartup(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name      string
		anonymous string
		loopback  bool
		tokens    bool
		refused   bool
	}{
		{"loopback, nothing", "", true, false, false},
		{"network, nothing", "", false, false, true},
		{"network, explicit none", "none", false, false, true},
		{"network, anonymous read", "read", false, false, false},
		{"network, anonymous write", "write", false, false, false},
		{"network, a token", "", false, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newDB(t)
			if c.tokens {
				addToken(t, s, "admin", "admin", "", nil)
			}
			err := auth.New(auth.Options{DB: s, Anonymous: c.anonymous, Loopback: c.loopback}).CheckStartup(ctx, "0.0.0.0:9009")
			if (err != nil) != c.refused {
				t.Fatalf("err = %v, refused want %v", err, c.refused)
			}
			if err != nil && (!strings.Contains(err.Error(), "refusing to serve 0.0.0.0:9009") || !strings.Contains(err.Error(), "auth.anonymous")) {
				t.Fatalf("message = %v", err)
			}
		})
	}
	for bind, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "127.0.0.2": true,
		"0.0.0.0": false, "": false, "::": false, "10.0.0.5": false, "example.com": false} {
		if auth.IsLoopback(bind) != want {
			t.Errorf("IsLoopback(%q) = %v", bind, !want)
		}
	}
}
