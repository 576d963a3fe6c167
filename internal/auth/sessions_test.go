package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
)

// engines runs fn on a migrated SQLite database and a migrated PostgreSQL
// one (skipped without FLYMODEL_TEST_POSTGRES_URL, failed when services
// are required).
func engines(t *testing.T, fn func(t *testing.T, s db.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newDB(t)) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(dbtest.PostgresEnv) == "" && os.Getenv(dbtest.RequireServicesEnv) != "1" {
			t.Skip(dbtest.PostgresEnv + " not set: skipping PostgreSQL")
		}
		s, err := postgres.Open(context.Background(), dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(context.Background(), db.MigrateOptions{}); err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newClock() *clock { return &clock{api.Timestamp(time.Now())} }

// auditText is the whole audit log as JSON.
func auditText(t *testing.T, s db.DB) string {
	t.Helper()
	items, _, err := audit.List(context.Background(), s, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSessionWithToken: a token's session has the token's grants, as a
// bearer token would; the database holds only the cookie's hash; sign-in
// and sign-out are audited without any secret; sign-out ends it.
func TestSessionWithToken(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		ctx := context.Background()
		secret := addToken(t, s, "ci", "write", "nlp/cv", nil)
		c := newClock()
		sessions := auth.NewSessions(auth.SessionOptions{DB: s, Now: c.now})
		cookie, sess, err := sessions.SignInWithToken(ctx, secret)
		if err != nil {
			t.Fatalf("SignInWithToken: %v", err)
		}
		bearer, err := auth.New(auth.Options{DB: s}).Authenticate(ctx, "Bearer "+secret)
		if err != nil {
			t.Fatal(err)
		}
		if sess.Method != auth.SessionByToken || !reflect.DeepEqual(sess.Principal, bearer) ||
			!sess.ExpiresAt.Equal(c.t.Add(auth.DefaultSessionTTL)) || sess.CSRF == "" {
			t.Fatalf("session = %+v, want the bearer principal %+v for 12h", sess, bearer)
		}
		got, err := sessions.Lookup(ctx, cookie)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		if !reflect.DeepEqual(got.Principal, bearer) || got.CSRF != sess.CSRF || got.ID != sess.ID {
			t.Fatalf("Lookup = %+v, want %+v", got, sess)
		}

		// Only the hash is stored.
		row, err := s.GetWebSession(ctx, auth.HashSecret(cookie))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(row); strings.Contains(string(b), cookie) || strings.Contains(string(b), secret) {
			t.Fatalf("the session row holds a secret: %s", b)
		}
		if row.SecretHash != auth.HashSecret(cookie) {
			t.Fatalf("secret_hash = %q", row.SecretHash)
		}

		if err := sessions.SignOut(ctx, cookie); err != nil {
			t.Fatalf("SignOut: %v", err)
		}
		if _, err := sessions.Lookup(ctx, cookie); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("Lookup after sign-out = %v, want ErrNoSession", err)
		}
		if _, err := s.GetWebSession(ctx, auth.HashSecret(cookie)); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("row after sign-out: %v, want deleted", err)
		}
		if err := sessions.SignOut(ctx, cookie); err != nil {
			t.Fatalf("second SignOut: %v", err)
		}

		log := auditText(t, s)
		for _, want := range []string{`"actor":"ci","action":"session.create","target":"/session"`, `"action":"session.delete"`} {
			if !strings.Contains(log, want) {
				t.Errorf("audit log lacks %s: %s", want, log)
			}
		}
		if strings.Contains(log, cookie) || strings.Contains(log, secret) || strings.Contains(log, sess.CSRF) {
			t.Errorf("audit log holds a secret: %s", log)
		}
		if n := strings.Count(log, `"action":"session.delete"`); n != 1 {
			t.Errorf("%d sign-out records, want 1 (the second sign-out ended nothing)", n)
		}
	})
}

// TestSessionFollowsToken: revoking the token ends its sessions at once;
// a namespace given up by a scoped token is gone from its session too; a
// session ends with the token's expiry.
func TestSessionFollowsToken(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		ctx := context.Background()
		c := newClock()
		sessions := auth.NewSessions(auth.SessionOptions{DB: s, Now: c.now, TTL: time.Hour})
		secret := addToken(t, s, "alice", "admin", "", nil)
		cookie, _, err := sessions.SignInWithToken(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		other := addToken(t, s, "bob", "read", "", nil)
		otherCookie, _, err := sessions.SignInWithToken(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeToken(ctx, db.RevokeTokenParams{Name: "alice", Now: &c.t}); err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Lookup(ctx, cookie); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("Lookup after revocation = %v, want ErrNoSession", err)
		}
		if got, err := sessions.Lookup(ctx, otherCookie); err != nil || got.Principal.Name != "bob" {
			t.Fatalf("another token's session = %+v, %v", got, err)
		}
		if _, _, err := sessions.SignInWithToken(ctx, secret); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("sign-in with a revoked token = %v, want ErrInvalidToken", err)
		}

		// A scoped token loses a deleted namespace in its session too.
		scoped := addToken(t, s, "carol", "write", "nlp/cv", nil)
		scopedCookie, _, err := sessions.SignInWithToken(ctx, scoped)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteNamespaceByName(ctx, "cv"); err != nil {
			t.Fatal(err)
		}
		got, err := sessions.Lookup(ctx, scopedCookie)
		if err != nil || !reflect.DeepEqual(got.Principal.Grants, []auth.Grant{{Namespace: "nlp", Role: auth.Write}}) {
			t.Fatalf("scoped session after deleting cv = %+v, %v", got.Principal, err)
		}

		// The token expires before the session TTL: the session ends with it.
		exp := c.t.Add(10 * time.Minute)
		short := addToken(t, s, "dave", "read", "", &exp)
		shortCookie, sess, err := sessions.SignInWithToken(ctx, short)
		if err != nil {
			t.Fatal(err)
		}
		if !sess.ExpiresAt.Equal(exp) {
			t.Fatalf("expires_at = %v, want the token's %v", sess.ExpiresAt, exp)
		}
		c.t = exp
		if _, err := sessions.Lookup(ctx, shortCookie); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("Lookup at the token's expiry = %v, want ErrNoSession", err)
		}
	})
}

// TestSessionExpiry: a session is refused from its expiry on, and expired
// rows are pruned at the next sign-in.
func TestSessionExpiry(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		ctx := context.Background()
		c := newClock()
		sessions := auth.NewSessions(auth.SessionOptions{DB: s, Now: c.now, TTL: time.Hour})
		secret := addToken(t, s, "alice", "admin", "", nil)
		cookie, _, err := sessions.SignInWithToken(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Hour - time.Microsecond)
		if _, err := sessions.Lookup(ctx, cookie); err != nil {
			t.Fatalf("Lookup just before expiry: %v", err)
		}
		c.t = c.t.Add(time.Microsecond)
		if _, err := sessions.Lookup(ctx, cookie); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("Lookup at expiry = %v, want ErrNoSession", err)
		}
		if _, err := s.GetWebSession(ctx, auth.HashSecret(cookie)); err != nil {
			t.Fatalf("expired row before the next sign-in: %v", err)
		}
		if _, _, err := sessions.SignInWithToken(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetWebSession(ctx, auth.HashSecret(cookie)); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("expired row after the next sign-in: %v, want pruned", err)
		}
		// Sign-out of an ended session still deletes nothing and fails not.
		if err := sessions.SignOut(ctx, cookie); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSessionWithPrincipal: an OIDC session keeps the name and grants of
// sign-in, and ends at the earlier of the given expiry and the TTL.
func TestSessionWithPrincipal(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		ctx := context.Background()
		c := newClock()
		sessions := auth.NewSessions(auth.SessionOptions{DB: s, Now: c.now, TTL: 2 * time.Hour})
		p := auth.Principal{Name: "oidc:user-123", Grants: []auth.Grant{{Role: auth.Read}, {Namespace: "ml-team", Role: auth.Write}}}
		cookie, sess, err := sessions.SignInWithPrincipal(ctx, p, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if sess.Method != auth.SessionByOIDC || !sess.ExpiresAt.Equal(c.t.Add(2*time.Hour)) {
			t.Fatalf("session = %+v", sess)
		}
		got, err := sessions.Lookup(ctx, cookie)
		if err != nil || !reflect.DeepEqual(got.Principal, p) || got.Method != auth.SessionByOIDC {
			t.Fatalf("Lookup = %+v, %v; want %+v", got.Principal, err, p)
		}
		_, sess, err = sessions.SignInWithPrincipal(ctx, auth.Principal{Name: "oidc:x"}, c.t.Add(time.Hour))
		if err != nil || !sess.ExpiresAt.Equal(c.t.Add(time.Hour)) {
			t.Fatalf("expiry within the TTL: %+v, %v", sess, err)
		}
		_, sess, err = sessions.SignInWithPrincipal(ctx, auth.Principal{Name: "oidc:x"}, c.t.Add(48*time.Hour))
		if err != nil || !sess.ExpiresAt.Equal(c.t.Add(2*time.Hour)) {
			t.Fatalf("expiry beyond the TTL: %+v, %v", sess, err)
		}
		if _, _, err := sessions.SignInWithPrincipal(ctx, auth.Principal{Name: "oidc:x"}, c.t.Add(-time.Second)); err == nil {
			t.Fatal("an already expired sign-in was accepted")
		}
		if _, _, err := sessions.SignInWithPrincipal(ctx, auth.Principal{Name: "anonymous", Anonymous: true}, time.Time{}); err == nil {
			t.Fatal("an anonymous sign-in was accepted")
		}
		if !strings.Contains(auditText(t, s), `"actor":"oidc:user-123","action":"session.create"`) {
			t.Fatal("OIDC sign-in not audited as its subject")
		}
	})
}

// TestSessionRefusals: what sign-in and lookup refuse.
func TestSessionRefusals(t *testing.T) {
	ctx := context.Background()
	s := newDB(t)
	sessions := auth.NewSessions(auth.SessionOptions{DB: s})
	secret := addToken(t, s, "alice", "admin", "", nil)
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	for _, bad := range []string{"", "   ", jwt, "fm_unknown", secret + "x", "Bearer " + secret} {
		if _, _, err := sessions.SignInWithToken(ctx, bad); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("SignInWithToken(%q) = %v, want ErrInvalidToken", bad, err)
		}
	}
	cookie, _, err := sessions.SignInWithToken(ctx, " "+secret+"\n") // pasted with spaces
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", secret, cookie + "x", cookie[:len(cookie)-1], "fms_" + strings.Repeat("a", 300)} {
		if _, err := sessions.Lookup(ctx, bad); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("Lookup(%q) = %v, want ErrNoSession", bad, err)
		}
	}
	if got := api.Status(api.ClassOf(auth.ErrNoSession)); got != http.StatusUnauthorized {
		t.Errorf("ErrNoSession status = %d, want 401", got)
	}
}

// TestCSRF: only the session's own token passes.
func TestCSRF(t *testing.T) {
	ctx := context.Background()
	s := newDB(t)
	sessions := auth.NewSessions(auth.SessionOptions{DB: s})
	_, a, err := sessions.SignInWithToken(ctx, addToken(t, s, "alice", "admin", "", nil))
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := sessions.SignInWithToken(ctx, addToken(t, s, "bob", "admin", "", nil))
	if err != nil {
		t.Fatal(err)
	}
	if a.CSRF == b.CSRF || len(a.CSRF) < 40 {
		t.Fatalf("CSRF tokens %q, %q: want distinct, 256 bits", a.CSRF, b.CSRF)
	}
	if !auth.CheckCSRF(a, a.CSRF) {
		t.Fatal("the session's own CSRF token refused")
	}
	for _, bad := range []string{"", b.CSRF, a.CSRF[:len(a.CSRF)-1], a.CSRF + "A", strings.ToLower(a.CSRF)} {
		if auth.CheckCSRF(a, bad) {
			t.Errorf("CheckCSRF(%q) accepted", bad)
		}
	}
	if auth.CheckCSRF(auth.Session{}, "") {
		t.Error("an empty session's empty token accepted")
	}
}

// TestSessionCookie: the cookie's attributes.
func TestSessionCookie(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sess := auth.Session{ExpiresAt: now.Add(12 * time.Hour)}
	c := auth.SessionCookie("fms_x", sess, true, now)
	if c.Name != "flymodel_session" || c.Value != "fms_x" || c.Path != "/" || !c.HttpOnly || !c.Secure ||
		c.SameSite != http.SameSiteStrictMode || c.MaxAge != 12*3600 {
		t.Fatalf("cookie = %+v", c)
	}
	if c := auth.SessionCookie("fms_x", sess, false, now); c.Secure {
		t.Fatal("Secure without TLS")
	}
	if c := auth.ClearSessionCookie(false); c.MaxAge >= 0 || c.Name != auth.SessionCookieName || c.Value != "" {
		t.Fatalf("clear cookie = %+v", c)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: auth.SessionCookieName, Value: "fms_y"})
	if got := auth.SessionCookieValue(r); got != "fms_y" {
		t.Fatalf("SessionCookieValue = %q", got)
	}
}
