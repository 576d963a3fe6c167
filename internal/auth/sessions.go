package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
)

// SessionCookieName is the name of the web UI's session cookie.
const SessionCookieName = "flymodel_session"

// sessionPrefix starts every session cookie value, as TokenPrefix starts
// API tokens; it keeps one from being taken for the other.
const sessionPrefix = "fms_"

// DefaultSessionTTL is the default of auth.session_ttl.
const DefaultSessionTTL = 12 * time.Hour

// Session sign-in methods (Session.Method, and the audit record's detail).
const (
	SessionByToken = "token"
	SessionByOIDC  = "oidc"
)

// Audit actions of the web UI's sessions. Target is SessionTarget.
const (
	AuditSignIn  = "session.create"
	AuditSignOut = "session.delete"
)

// SessionTarget is the audit target of sign-in and sign-out records.
const SessionTarget = "/session"

// ErrNoSession is a session cookie that is unknown, signed out, expired, or
// whose API token has been revoked or has expired (401, of class
// api.ErrUnauthorized); it never says which.
var ErrNoSession = api.NewError(api.ErrUnauthorized, "not signed in, or the session has ended")

// Session is a signed-in browser.
type Session struct {
	// ID is the session's row id (for logs; it is no credential).
	ID int64
	// Principal is who the browser acts as, with the grants it holds now:
	// a token's grants are read again at each Lookup; an OIDC session's
	// are those of the ID token at sign-in.
	Principal Principal
	// Method is SessionByToken or SessionByOIDC.
	Method string
	// CSRF is the value every state-changing form must carry (see
	// CheckCSRF); it is fixed for the session's life.
	CSRF      string
	CreatedAt time.Time
	// ExpiresAt is when the session ends, fixed at sign-in (no sliding).
	ExpiresAt time.Time
}

// SessionOptions configure Sessions.
type SessionOptions struct {
	// DB holds the sessions and the API tokens.
	DB db.DB
	// TTL is auth.session_ttl; 0 means DefaultSessionTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Sessions are the web UI's server-side sessions. The cookie holds a
// random secret; the database only its hash. Safe for concurrent use.
type Sessions struct {
	db  db.DB
	ttl time.Duration
	now func() time.Time
}

// NewSessions returns the sessions kept in o.DB.
func NewSessions(o SessionOptions) *Sessions {
	ttl := o.TTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Sessions{db: o.DB, ttl: ttl, now: now}
}

// TTL is the longest a session lasts.
func (s *Sessions) TTL() time.Duration { return s.ttl }

// SignInWithToken starts a session for the API token secret, verified
// exactly as a bearer token is. A JWT is refused (ErrInvalidToken): OIDC
// users sign in through the authorization-code flow, and a bearer JWT is
// not turned into a longer-lived session. The session ends at the
// session TTL or at the token's expiry, whichever comes first; revoking
// the token ends it at once. It returns the cookie value to set.
func (s *Sessions) SignInWithToken(ctx context.Context, secret string) (string, Session, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" || LooksLikeJWT(secret) {
		return "", Session{}, ErrInvalidToken
	}
	now := s.now()
	p, err := verifyToken(ctx, s.db, secret, now)
	if err != nil {
		return "", Session{}, err
	}
	rows, err := s.db.GetTokenByHash(ctx, HashSecret(secret))
	if err != nil {
		return "", Session{}, err
	}
	if len(rows) == 0 {
		return "", Session{}, ErrInvalidToken
	}
	expires := now.Add(s.ttl)
	if e := rows[0].ExpiresAt; e != nil && e.Before(expires) {
		expires = *e
	}
	id := rows[0].ID
	return s.create(ctx, p, &id, expires)
}

// SignInWithPrincipal starts a session for p, a principal signed in
// through OIDC (OIDC.Exchange): its name and grants are kept as they are
// now. The session ends at expires or after the session TTL, whichever
// comes first; the zero time means the TTL.
func (s *Sessions) SignInWithPrincipal(ctx context.Context, p Principal, expires time.Time) (string, Session, error) {
	if p.Name == "" || p.Anonymous {
		return "", Session{}, errors.New("sessions: sign-in needs a named principal")
	}
	now := s.now()
	if limit := now.Add(s.ttl); expires.IsZero() || expires.After(limit) {
		expires = limit
	}
	if !expires.After(now) {
		return "", Session{}, ErrInvalidToken
	}
	return s.create(ctx, p, nil, expires)
}

// storedGrant is a grant as web_sessions.grants holds it.
type storedGrant struct {
	Namespace string `json:"namespace"`
	Role      string `json:"role"`
}

func (s *Sessions) create(ctx context.Context, p Principal, tokenID *int64, expires time.Time) (string, Session, error) {
	now := api.Timestamp(s.now())
	expires = api.Timestamp(expires)
	method := SessionByOIDC
	grants := []storedGrant{}
	if tokenID != nil {
		method = SessionByToken // the grants are the token's, read at each lookup
	} else {
		for _, g := range p.Grants {
			grants = append(grants, storedGrant{g.Namespace, g.Role.String()})
		}
	}
	gj, err := json.Marshal(grants)
	if err != nil {
		return "", Session{}, err
	}
	cookie := sessionPrefix + rand.Text() + rand.Text()
	csrf := rand.Text() + rand.Text()
	var row db.WebSession
	err = s.db.InTx(ctx, func(q db.Queries) error {
		// Pruning here keeps the table to the live sessions plus those
		// that ended since the last sign-in; one indexed delete.
		if _, err := q.DeleteExpiredWebSessions(ctx, now); err != nil {
			return err
		}
		row, err = q.CreateWebSession(ctx, db.CreateWebSessionParams{
			SecretHash: HashSecret(cookie), TokenID: tokenID, Actor: p.Name, Grants: string(gj),
			Csrf: csrf, Now: now, ExpiresAt: expires,
		})
		if err != nil {
			return err
		}
		return audit.Record(asActor(ctx, p.Name), q, now, audit.Entry{
			Action: AuditSignIn, Target: SessionTarget,
			Detail: map[string]any{"method": method, "session_id": row.ID, "expires_at": expires},
		})
	})
	if err != nil {
		return "", Session{}, err
	}
	return cookie, Session{ID: row.ID, Principal: p, Method: method, CSRF: csrf,
		CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt}, nil
}

// asActor is ctx with the audit actor name, keeping its request id.
func asActor(ctx context.Context, name string) context.Context {
	c := audit.CallerFrom(ctx)
	c.Actor = name
	return audit.WithCaller(ctx, c)
}

// Lookup returns the session of cookie (the session cookie's value), with
// the grants it holds now: a token session's are its token's, read as a
// bearer token's would be. An unknown or expired session, or one whose
// token is revoked or expired, is ErrNoSession.
func (s *Sessions) Lookup(ctx context.Context, cookie string) (Session, error) {
	if !strings.HasPrefix(cookie, sessionPrefix) || len(cookie) > 256 {
		return Session{}, ErrNoSession
	}
	hash := HashSecret(cookie)
	row, err := s.db.GetWebSession(ctx, hash)
	if errors.Is(err, db.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	if subtle.ConstantTimeCompare([]byte(row.SecretHash), []byte(hash)) != 1 || !now.Before(row.ExpiresAt) {
		return Session{}, ErrNoSession
	}
	out := Session{ID: row.ID, CSRF: row.Csrf, CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt}
	if row.TokenID != nil {
		out.Method = SessionByToken
		rows, err := s.db.GetTokenByID(ctx, *row.TokenID)
		if err != nil {
			return Session{}, err
		}
		toks := make([]db.GetTokenByHashRow, len(rows))
		for i, r := range rows {
			toks[i] = db.GetTokenByHashRow(r)
		}
		p, err := tokenPrincipal(toks, now)
		if err != nil {
			return Session{}, ErrNoSession
		}
		out.Principal = p
		return out, nil
	}
	out.Method = SessionByOIDC
	var grants []storedGrant
	if err := json.Unmarshal([]byte(row.Grants), &grants); err != nil {
		return Session{}, fmt.Errorf("session %d: grants: %w", row.ID, err)
	}
	out.Principal = Principal{Name: row.Actor}
	for _, g := range grants {
		role, err := ParseRole(g.Role)
		if err != nil {
			return Session{}, fmt.Errorf("session %d: %w", row.ID, err)
		}
		out.Principal.Grants = append(out.Principal.Grants, Grant{Namespace: g.Namespace, Role: role})
	}
	return out, nil
}

// SignOut ends the session of cookie: its row is deleted, and the
// sign-out audited as the session's principal. An unknown or already ended
// session is no error (there is nothing to end).
func (s *Sessions) SignOut(ctx context.Context, cookie string) error {
	if !strings.HasPrefix(cookie, sessionPrefix) || len(cookie) > 256 {
		return nil
	}
	sess, err := s.Lookup(ctx, cookie)
	if err != nil && !errors.Is(err, ErrNoSession) {
		return err
	}
	return s.db.InTx(ctx, func(q db.Queries) error {
		row, err := q.DeleteWebSession(ctx, HashSecret(cookie))
		if errors.Is(err, db.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		actor := sess.Principal.Name
		if actor == "" {
			actor = row.Actor // the session had ended (expired, token revoked)
		}
		return audit.Record(asActor(ctx, actor), q, s.now(), audit.Entry{
			Action: AuditSignOut, Target: SessionTarget, Detail: map[string]any{"session_id": row.ID},
		})
	})
}

// CheckCSRF reports whether formValue is sess's CSRF token, comparing in
// constant time. An empty value never matches.
func CheckCSRF(sess Session, formValue string) bool {
	if sess.CSRF == "" || formValue == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(formValue)) == 1
}

// SessionCookie is the cookie that carries value, the cookie string a
// sign-in returned, for sess: HttpOnly, SameSite=Strict, Path=/, Secure
// when secure (the server speaks TLS), expiring with the session.
func SessionCookie(value string, sess Session, secure bool, now time.Time) *http.Cookie {
	maxAge := int(sess.ExpiresAt.Sub(now) / time.Second)
	if maxAge < 1 {
		maxAge = 1
	}
	return &http.Cookie{
		Name: SessionCookieName, Value: value, Path: "/", MaxAge: maxAge, Expires: sess.ExpiresAt.UTC(),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	}
}

// ClearSessionCookie deletes the session cookie in the browser (sign-out).
func ClearSessionCookie(secure bool) *http.Cookie {
	return &http.Cookie{
		Name: SessionCookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	}
}

// SessionCookieValue is the session cookie's value in r, or "".
func SessionCookieValue(r *http.Request) string {
	c, err := r.Cookie(SessionCookieName)
	if err != nil {
		return ""
	}
	return c.Value
}
