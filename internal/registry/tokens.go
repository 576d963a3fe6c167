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

// toToken is t as listed, with the names now of the namespaces it is
// limited to: ["*"] for every namespace, [] for a token whose namespaces
// were all deleted (it reaches none).
func (r *Registry) toToken(t db.ApiToken, namespaces []string) Token {
	out := Token{ID: t.ID, Name: t.Name, Role: t.Role, Namespaces: namespaces,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt.UTC(), Status: api.TokenActive}
	if t.AllNamespaces {
		out.Namespaces = []string{auth.AllNamespaces}
	}
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

// tokenNamespaces are the names now of the namespaces of one token, or of
// every token (nil), by token id.
func tokenNamespaces(ctx context.Context, q db.Queries, token *int64) (map[int64][]string, error) {
	rows, err := q.ListTokenNamespaces(ctx, token)
	if err != nil {
		return nil, err
	}
	out := map[int64][]string{}
	for _, g := range rows {
		out[g.TokenID] = append(out[g.TokenID], g.Name)
	}
	return out, nil
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
	// Namespaces limit the token, by name now and by id from then on (a
	// rename keeps them, a deleted namespace goes from the token); ["*"]
	// (auth.AllNamespaces) is every namespace. Required: none is refused,
	// so that an empty list never means everything.
	Namespaces []string
	// ExpiresIn is its lifetime ("90d", "12h"); "" means it never expires.
	ExpiresIn string
}

// Validate checks a token to create, every field at once: a
// *ValidationError names the fields (name, role, namespaces, expires_in).
// It does not look the namespaces up: CreateToken does.
func (in NewToken) Validate() error {
	_, err := in.validate()
	return err
}

// allNamespaces reports whether in is for every namespace.
func (in NewToken) allNamespaces() bool {
	return slices.Equal(in.Namespaces, []string{auth.AllNamespaces})
}

func (in NewToken) validate() (lifetime time.Duration, err error) {
	var v validation
	v.add("name", ValidateTokenName(in.Name))
	if !slices.Contains(api.Roles, in.Role) {
		v.addf("role", "must be %s, not %q", orList(api.Roles), in.Role)
	}
	switch {
	case len(in.Namespaces) == 0:
		v.addf("namespaces", `required: the namespaces the token is limited to, or ["%s"] for every namespace`, auth.AllNamespaces)
	case in.allNamespaces():
	case slices.Contains(in.Namespaces, auth.AllNamespaces):
		v.addf("namespaces", `"%s" (every namespace) goes alone, not beside names`, auth.AllNamespaces)
	default:
		for _, ns := range in.Namespaces {
			validName(&v, "namespaces", ns)
		}
	}
	if in.ExpiresIn != "" {
		if lifetime, err = auth.ParseLifetime(in.ExpiresIn); err != nil {
			v.add("expires_in", err)
		}
	}
	return lifetime, v.err()
}

// CreateToken creates an API token and returns it with its secret, which
// exists nowhere else: only its hash is stored. Its namespaces must exist
// (422 naming the first that does not); they are held by id.
func (r *Registry) CreateToken(ctx context.Context, in NewToken) (Token, string, error) {
	lifetime, err := in.validate()
	if err != nil {
		return Token{}, "", err
	}
	namespaces := slices.Compact(slices.Sorted(slices.Values(in.Namespaces)))
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
			Name: in.Name, SecretHash: auth.HashSecret(secret), Role: in.Role, AllNamespaces: in.allNamespaces(),
			CreatedBy: callerActor(ctx), Now: now, ExpiresAt: expires,
		})
		if err != nil {
			return conflict(err, "token", TokenPath(in.Name))
		}
		var ids []int64
		if !out.AllNamespaces {
			for _, name := range namespaces {
				ns, err := q.GetNamespaceByName(ctx, name)
				if errors.Is(err, db.ErrNotFound) {
					var v validation
					v.addf("namespaces", "no namespace is called %q", name)
					return v.err()
				}
				if err != nil {
					return err
				}
				if err := q.AddTokenNamespace(ctx, db.AddTokenNamespaceParams{TokenID: out.ID, NamespaceID: ns.ID}); err != nil {
					return err
				}
				ids = append(ids, ns.ID)
			}
		}
		return r.record(ctx, q, "token.create", "", TokenPath(in.Name),
			map[string]any{"role": in.Role, "namespaces": namespaces, "namespace_ids": ids, "expires_at": expires})
	})
	if err != nil {
		return Token{}, "", err
	}
	if out.AllNamespaces {
		namespaces = nil
	}
	return r.toToken(out, namespaces), secret, nil
}

// ListTokens lists every token, revoked ones too, oldest first.
func (r *Registry) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := r.db.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	names, err := tokenNamespaces(ctx, r.db, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(rows))
	for i, t := range rows {
		out[i] = r.toToken(t, names[t.ID])
	}
	return out, nil
}

// RevokeToken revokes the live token called name; requests carrying it
// are refused from then on.
func (r *Registry) RevokeToken(ctx context.Context, name string) (Token, error) {
	var out db.ApiToken
	var names map[int64][]string
	err := r.write(ctx, func(q db.Queries) error {
		now := r.now()
		var err error
		out, err = q.RevokeToken(ctx, db.RevokeTokenParams{Name: name, Now: &now})
		if err != nil {
			return notFound(err, "token", TokenPath(name))
		}
		if names, err = tokenNamespaces(ctx, q, &out.ID); err != nil {
			return err
		}
		return r.record(ctx, q, "token.revoke", "", TokenPath(name), nil)
	})
	return r.toToken(out, names[out.ID]), err
}

// Audit reads the audit log.
func (r *Registry) Audit(ctx context.Context, f audit.Filter) ([]audit.Item, int64, error) {
	return audit.List(ctx, r.db, f)
}
