package auth

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
)

// Options configure an Authenticator.
type Options struct {
	// DB holds the API tokens.
	DB db.DB
	// OIDC verifies JWT bearer tokens; nil accepts none.
	OIDC *OIDC
	// Anonymous is auth.anonymous: "none", "read", "write", "admin", or ""
	// for the default (write on a loopback bind while no token exists, else
	// none).
	Anonymous string
	// Loopback is set when the server listens on loopback addresses only.
	Loopback bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Authenticator tells who a request comes from.
type Authenticator struct {
	db        db.DB
	oidc      *OIDC
	anonymous string
	loopback  bool
	now       func() time.Time
}

// New returns an Authenticator.
func New(o Options) *Authenticator {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Authenticator{db: o.DB, oidc: o.OIDC, anonymous: o.Anonymous, loopback: o.Loopback, now: now}
}

// Authenticate returns the principal of a request with the Authorization
// header value header. A request without credentials is the anonymous
// principal, whose grants follow the anonymous policy (possibly none);
// bad credentials are ErrInvalidToken.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (Principal, error) {
	token, present, err := BearerToken(header)
	if err != nil {
		return Principal{}, err
	}
	if !present {
		return a.Anonymous(ctx)
	}
	if LooksLikeJWT(token) {
		if a.oidc == nil {
			return Principal{}, ErrInvalidToken
		}
		return a.oidc.Verify(ctx, token)
	}
	return verifyToken(ctx, a.db, token, a.now())
}

// OIDC is the issuer's verifier (and web sign-in, when OIDC.SignInEnabled),
// or nil without auth.oidc.
func (a *Authenticator) OIDC() *OIDC { return a.oidc }

// Anonymous is the principal of a request without credentials.
func (a *Authenticator) Anonymous(ctx context.Context) (Principal, error) {
	role, err := a.AnonymousRole(ctx)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Name: api.ActorAnonymous, Anonymous: true}
	if role > None {
		p.Grants = []Grant{{Role: role}}
		p.MayCreateNamespaces = role >= Write
	}
	return p, nil
}

// AnonymousRole is what requests without credentials may do now. An
// explicit auth.anonymous is static. The default policy is read from the
// database at each call, so it is the same on every replica at once:
// creating the first token closes a loopback server to anonymous requests
// from the next request on, and revoking the last one (an expired token
// still counts) reopens it — the state a fresh laptop server is in, which
// only a local process can reach (see IsLoopback; the Host and origin
// guard keeps web pages out). A server that must stay closed sets
// auth.anonymous = "none".
func (a *Authenticator) AnonymousRole(ctx context.Context) (Role, error) {
	if a.anonymous != "" {
		return ParseRole(a.anonymous)
	}
	if !a.loopback || a.oidc != nil {
		return None, nil
	}
	n, err := a.db.CountLiveTokens(ctx)
	if err != nil {
		return None, err
	}
	if n > 0 {
		return None, nil
	}
	return Write, nil
}

// Policy describes the anonymous policy for messages: the explicit
// auth.anonymous, or the default.
func (a *Authenticator) Policy() string {
	if a.anonymous != "" {
		return "auth.anonymous = " + a.anonymous
	}
	return "the default auth.anonymous (write on a loopback bind while no token exists, else none)"
}

// CheckStartup refuses a configuration that would serve a non-loopback
// address to anyone, or to no one: no token, no OIDC, and no explicit
// anonymous read or write.
func (a *Authenticator) CheckStartup(ctx context.Context, addr string) error {
	if a.loopback || a.oidc != nil || (a.anonymous != "" && a.anonymous != "none") {
		return nil
	}
	n, err := a.db.CountLiveTokens(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	return fmt.Errorf("refusing to serve %s without authentication: no API token exists and auth.oidc is not set; "+
		"create one (flymodel token create --name admin --role admin) or set auth.anonymous = \"read\", \"write\" or \"admin\" to open it on purpose", addr)
}

// IsLoopback reports whether bind (a host name or address, as given to
// serve --bind) only listens on loopback addresses.
func IsLoopback(bind string) bool {
	if bind == "localhost" {
		return true
	}
	ip := net.ParseIP(bind)
	return ip != nil && ip.IsLoopback()
}
