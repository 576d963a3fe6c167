package auth_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/auth/oidctest"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/sqlite"
)

// benchTokens is how many API tokens the benchmark's store holds, so that
// the lookups go through an index of some depth.
const benchTokens = 1000

// BenchmarkAuthenticate measures Authenticate on a migrated SQLite store
// with an OIDC issuer configured:
//
//   - api-token/valid: a stored, live API token;
//   - api-token/unknown: a fresh token of the right shape, never stored;
//   - api-token/wrong-secret: a stored token's secret with its last
//     character changed, so a well-formed token whose hash is not stored.
//
// unknown and wrong-secret take the same path (hash, then one indexed
// lookup that misses), and should take the same time; valid differs by
// the row it reads.
//
//   - oidc/valid: an RS256 JWT from the issuer, its key already cached.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "flymodel.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
		b.Fatal(err)
	}
	var secret string
	now := time.Now()
	err = s.InTx(ctx, func(q db.Queries) error {
		for i := range benchTokens {
			sec := auth.NewSecret()
			if i == benchTokens/2 {
				secret = sec
			}
			_, err := q.CreateToken(ctx, db.CreateTokenParams{
				Name: fmt.Sprintf("token-%04d", i), SecretHash: auth.HashSecret(sec), Role: "write", AllNamespaces: true,
				CreatedBy: "bench", Now: now,
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	iss := oidctest.NewIssuer(b, "RS256")
	key := oidctest.NewRSAKey(b, "bench")
	iss.Serve(key)
	o, err := auth.NewOIDC(ctx, auth.OIDCConfig{
		Issuer: iss.URL, Audience: "flymodel", RoleClaim: "groups",
		Roles: map[string]string{"ml-admins": "admin", "ml-readers": "read:canada"},
	}, iss.Client())
	if err != nil {
		b.Fatal(err)
	}
	a := auth.New(auth.Options{DB: s, OIDC: o})

	// The stored secret with its last character changed (within rand.Text's alphabet).
	repl := "A"
	if secret[len(secret)-1] == 'A' {
		repl = "B"
	}
	wrong := secret[:len(secret)-1] + repl
	jwt := oidctest.Sign(b, key, iss.Claims("flymodel", "alice", map[string]any{
		"groups": []any{"ml-admins"}, "exp": now.Add(24 * time.Hour).Unix(),
	}))

	cases := []struct {
		name, token string
		principal   string // "" expects ErrInvalidToken
	}{
		{"api-token/valid", secret, fmt.Sprintf("token-%04d", benchTokens/2)},
		{"api-token/unknown", auth.NewSecret(), ""},
		{"api-token/wrong-secret", wrong, ""},
		{"oidc/valid", jwt, "oidc:alice"},
	}
	for _, c := range cases {
		header := "Bearer " + c.token
		// Once outside the timing: checks the case, and warms the JWKS cache.
		check := func(p auth.Principal, err error) {
			if c.principal == "" {
				if !errors.Is(err, auth.ErrInvalidToken) {
					b.Fatalf("%s: Authenticate = %+v, %v; want ErrInvalidToken", c.name, p, err)
				}
			} else if err != nil || p.Name != c.principal {
				b.Fatalf("%s: Authenticate = %+v, %v; want %s", c.name, p, err, c.principal)
			}
		}
		check(a.Authenticate(ctx, header))
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				check(a.Authenticate(ctx, header))
			}
		})
	}
}
