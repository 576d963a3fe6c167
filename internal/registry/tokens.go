package registry

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
)

// Token is an API token as listed: never its secret.
type Token = api.Token

func (r *Registry) toToken(t db.ApiToken) Token {
	out := Token{ID: t.ID, Name: t.Name, Role: t.Role, Namespaces: auth.SplitNamespaces(t.Namespaces),
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt.UTC(), Status: api.TokenActive}
	if out.Namespaces == nil {
		out.Namespaces = []string{}
	}
	if t.ExpiresAt != nil {
		e := t.ExpiresAt.UTC()
		out.ExpiresAt = &e
		if !r.now().Before(e) {
			out.Status = api.TokenExpired
		}
	}
	if t.RevokedAt != nil {
		rv := t.RevokedAt.UTC()
		out.RevokedAt, out.Status = &rv, api.TokenRevoked
	}
	return out
}

// TokenPath is a token's path under /api/v1.
func TokenPath(name string) string { return "/tokens/" + url.PathEscape(name) }

// ValidateTokenName checks a token's name: a name by the naming rules,
// and none of the names the audit log gives other actors.
func ValidateTokenName(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if api.IsReservedActor(name) {
		return errors.New(reservedNameRule)
	}
	return nil
}

// reservedNameRule reads `must not be "anonymous", "system" or "sweeper"
// or hold ":" (…)`.
var reservedNameRule = "must not be " + orList(quoted(api.ReservedActors)) +
	` or hold ":" (those name other actors in the audit log)`

func quoted(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// orList joins s as "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// NewToken is a token to create.
type NewToken struct {
	Name string
	Role string // read, write or admin
	// Namespaces limit the token; none means every namespace.
	Namespaces []string
	// ExpiresIn is its lifetime ("90d", "12h"); "" means it never expires.
	ExpiresIn string
}

// Validate checks a token to create, every field at once: a
// *ValidationError names the fields (name, role, namespaces, expires_in).
func (in NewToken) Validate() error {
	_, err := in.validate()
	return err
}

func (in NewToken) validate() (lifetime time.Duration, err error) {
	var v validation
	v.add("name", ValidateTokenName(in.Name))
	if !slices.Contains(api.Roles, in.Role) {
		v.addf("role", "must be %s, not %q", orList(api.Roles), in.Role)
	}
	for _, ns := range in.Namespaces {
		validName(&v, "namespaces", ns)
	}
	if in.ExpiresIn != "" {
		if lifetime, err = auth.ParseLifetime(in.ExpiresIn); err != nil {
			v.add("expires_in", err)
		}
	}
	return lifetime, v.err()
}

// CreateToken creates an API token and returns it with its secret, which
// exists nowhere else: only its hash is stored.
func (r *Registry) CreateToken(ctx context.Context, in NewToken) (Token, string, error) {
	lifetime, err := in.validate()
	if err != nil {
		return Token{}, "", err
	}
	namespaces := slices.Compact(slices.Sorted(slices.Values(in.Namespaces)))
	if namespaces == nil {
		namespaces = []string{}
	}
	secret := auth.NewSecret()
	now := r.now()
	var expires *time.Time
	if lifetime > 0 {
		e := now.Add(lifetime)
		expires = &e
	}
	var out db.ApiToken
	err = r.write(ctx, func(q db.Queries) error {
		var err error
		out, err = q.CreateToken(ctx, db.CreateTokenParams{
			Name: in.Name, SecretHash: auth.HashSecret(secret), Role: in.Role, Namespaces: auth.JoinNamespaces(namespaces),
			CreatedBy: callerActor(ctx), Now: now, ExpiresAt: expires,
		})
		if err != nil {
			return conflict(err, "token", TokenPath(in.Name))
		}
		return r.record(ctx, q, "token.create", "", TokenPath(in.Name),
			map[string]any{"role": in.Role, "namespaces": namespaces, "expires_at": expires})
	})
	if err != nil {
		return Token{}, "", err
	}
	return r.toToken(out), secret, nil
}

// ListTokens lists every token, revoked ones too, oldest first.
func (r *Registry) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := r.db.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	return convert(rows, r.toToken), nil
}

// RevokeToken revokes the live token called name; requests carrying it
// are refused from then on.
func (r *Registry) RevokeToken(ctx context.Context, name string) (Token, error) {
	var out db.ApiToken
	err := r.write(ctx, func(q db.Queries) error {
		now := r.now()
		var err error
		out, err = q.RevokeToken(ctx, db.RevokeTokenParams{Name: name, Now: &now})
		if err != nil {
			return notFound(err, "token", TokenPath(name))
		}
		return r.record(ctx, q, "token.revoke", "", TokenPath(name), nil)
	})
	return r.toToken(out), err
}

// Audit reads the audit log.
func (r *Registry) Audit(ctx context.Context, f audit.Filter) ([]audit.Item, int64, error) {
	return audit.List(ctx, r.db, f)
}
