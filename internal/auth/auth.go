// Package auth decides who a request comes from and what it may do: API
// tokens (stored as hashes), OIDC JWT bearer tokens, and the anonymous
// policy; and the web UI's sessions (cookie secrets stored as hashes, CSRF
// tokens) and sign-in through the OIDC issuer (authorization code with
// PKCE). Of HTTP it knows the Authorization header value, the cookies it
// defines, and the issuer's endpoints.
package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flymodel/flymodel/api"
)

// Role is what a principal may do in a namespace; each role includes the
// ones below it.
type Role int

// Roles, weakest first. None grants nothing.
const (
	None Role = iota
	Read
	Write
	Admin
)

// roleNames are the names of the roles, None to Admin.
var roleNames = append([]string{"none"}, api.Roles...)

func (r Role) String() string {
	if r < None || r > Admin {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole parses read, write or admin (and none).
func ParseRole(s string) (Role, error) {
	if i := slices.Index(roleNames, s); i >= 0 {
		return Role(i), nil
	}
	return None, fmt.Errorf("unknown role %q (want read, write or admin)", s)
}

// Grant is a role in one namespace, or in every namespace when Namespace is "".
type Grant struct {
	Namespace string
	Role      Role
}

// Principal is who a request comes from.
type Principal struct {
	// Name is the actor recorded in the audit log: a token's name,
	// "oidc:<subject>", or "anonymous".
	Name string
	// Grants are what it may do; none holds the role None.
	Grants []Grant
	// Anonymous is set for requests without credentials.
	Anonymous bool
	// MayCreateNamespaces lets a principal that is not an unscoped admin
	// create namespaces: the anonymous write policy of a laptop server,
	// so that a first upsert works without a token.
	MayCreateNamespaces bool
}

// RoleIn is the strongest role the principal holds in namespace ns.
func (p Principal) RoleIn(ns string) Role {
	best := None
	for _, g := range p.Grants {
		if (g.Namespace == "" || g.Namespace == ns) && g.Role > best {
			best = g.Role
		}
	}
	return best
}

// Strongest is the strongest role the principal holds in any namespace.
func (p Principal) Strongest() Role {
	best := None
	for _, g := range p.Grants {
		best = max(best, g.Role)
	}
	return best
}

// Global is the role the principal holds in every namespace (its unscoped
// grants: no namespace is named "").
func (p Principal) Global() Role { return p.RoleIn("") }

// Allows reports whether the principal holds at least role need in ns.
func (p Principal) Allows(ns string, need Role) bool { return p.RoleIn(ns) >= need }

// Namespaces are the namespaces a scoped principal is limited to; nil
// means every namespace (it holds an unscoped grant).
func (p Principal) Namespaces() []string {
	var out []string
	for _, g := range p.Grants {
		if g.Namespace == "" {
			return nil
		}
		out = append(out, g.Namespace)
	}
	if out == nil {
		return []string{}
	}
	return out
}

// ErrInvalidToken is a bearer token that is unknown, revoked, expired,
// malformed or fails verification (401, of class api.ErrUnauthorized); it
// never says which.
var ErrInvalidToken = api.NewError(api.ErrUnauthorized, "invalid or expired token")

// BearerToken extracts the token from an Authorization header value
// ("Bearer <token>", scheme case-insensitive); ok is false when the header
// is empty, and err is set when it is present but not a bearer token.
func BearerToken(header string) (token string, ok bool, err error) {
	if header == "" {
		return "", false, nil
	}
	scheme, rest, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", true, ErrInvalidToken
	}
	token = strings.TrimSpace(rest)
	if token == "" || len(token) > 8192 {
		return "", true, ErrInvalidToken
	}
	return token, true, nil
}
