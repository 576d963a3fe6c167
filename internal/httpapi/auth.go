package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// access is what a route requires of the principal.
type access int

const (
	// public routes (probes, metrics, the OpenAPI document) need nothing.
	public access = iota
	// read, write and admin need that role in the path's {namespace}.
	read
	write
	admin
	// listNamespaces needs some grant; the list shows what it reaches.
	listNamespaces
	// createNamespace needs an unscoped admin, or the anonymous write
	// policy of a laptop server.
	createNamespace
	// globalAdmin needs an unscoped admin: tokens and the audit log.
	globalAdmin
	// byResource authenticates only: the handler authorizes once it
	// knows the namespace (the original flymodel's routes, by id).
	byResource
)

// accessRoles is the role each access level asks for (in the path's
// namespace, or for the last three in every namespace).
var accessRoles = map[access]auth.Role{read: auth.Read, write: auth.Write, admin: auth.Admin,
	listNamespaces: auth.Read, createNamespace: auth.Admin, globalAdmin: auth.Admin}

// role is the access level in a word, for the route table (Route.Role).
func (a access) role() string {
	switch a {
	case public:
		return "public"
	case read, write, admin:
		return accessRoles[a].String()
	case listNamespaces:
		return "any grant"
	case createNamespace, globalAdmin:
		return "global admin"
	}
	return "by resource"
}

// String describes the access level in a sentence (Route.Access).
func (a access) String() string {
	switch a {
	case public:
		return "none: public"
	case read, write, admin:
		return accessRoles[a].String() + " in the path's namespace"
	case listNamespaces:
		return "read in some namespace: the list shows the namespaces the caller reaches"
	case createNamespace:
		return "admin in every namespace (or the anonymous write policy of a loopback server)"
	case globalAdmin:
		return "admin in every namespace"
	}
	return "authenticated; the role (read to download, write to upload or change) is checked in the namespace of the resource named"
}

type principalKey struct{}

// principalFrom returns the principal the guard authenticated.
func principalFrom(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	return p
}

// guard authenticates a request and refuses it unless the principal has
// the access the route needs: 401 with a WWW-Authenticate challenge for
// missing or bad credentials, 403 for a principal without the role (and
// an audit record of the refusal when it was a change).
func (s *server) guard(need access, h handlerFunc) handlerFunc {
	if need == public {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		p, err := s.principal(r)
		if errors.Is(err, auth.ErrInvalidToken) {
			s.logger.InfoContext(ctx, "authentication failed", "request_id", requestIDFrom(ctx), "err", err)
			return unauthorized(w, `Bearer realm="flymodel", error="invalid_token"`, "the bearer token is invalid, expired or revoked; "+getToken(auth.Read))
		}
		if err != nil {
			return err
		}
		ctx = context.WithValue(ctx, principalKey{}, p)
		ctx = audit.WithCaller(ctx, audit.Caller{Actor: p.Name, RequestID: requestIDFrom(ctx)})
		ctx = registry.WithRoleCheck(ctx, func(ns, role string) bool {
			need, err := auth.ParseRole(role)
			return err == nil && p.Allows(ns, need)
		})
		r = r.WithContext(ctx)
		ns := rawNamespace(r)
		if !allowed(p, need, ns) {
			return s.refuse(w, r, p, ns, accessRoles[need])
		}
		return h(w, r)
	}
}

// principal is who r comes from: its bearer token, else — for a GET or
// HEAD only, such as an artifact's download link on a UI page — the web
// UI's session cookie, else the anonymous policy. A session never
// authorizes a change through the API: a state-changing request from a
// browser carries no CSRF token here, so it must bring a bearer token.
func (s *server) principal(r *http.Request) (auth.Principal, error) {
	header := r.Header.Get("Authorization")
	if header == "" && s.sessions != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if c := auth.SessionCookieValue(r); c != "" {
			sess, err := s.sessions.Lookup(r.Context(), c)
			if err == nil {
				return sess.Principal, nil
			}
			if !errors.Is(err, auth.ErrNoSession) {
				return auth.Principal{}, err
			}
		}
	}
	return s.auth.Authenticate(r.Context(), header)
}

// allowed reports whether p may use a route needing need in namespace ns.
func allowed(p auth.Principal, need access, ns string) bool {
	switch need {
	case public:
		return true
	case byResource, listNamespaces:
		// Some grant, in some namespace: the list shows what it reaches,
		// and a byResource handler checks the namespace it finds.
		return len(p.Grants) > 0
	case createNamespace:
		return p.Global() >= auth.Admin || p.MayCreateNamespaces
	case globalAdmin:
		return p.Global() >= auth.Admin
	}
	return p.Allows(ns, accessRoles[need])
}

// authorize is the guard's check for byResource routes, once the handler
// knows the namespace.
func (s *server) authorize(w http.ResponseWriter, r *http.Request, ns string, need auth.Role) error {
	p := principalFrom(r.Context())
	if p.Allows(ns, need) {
		return nil
	}
	return s.refuse(w, r, p, ns, need)
}

// refuse answers a principal without the role: 401 for a request without
// credentials (they might help), 403 for one whose credentials do not.
// A refused change by an authenticated principal is written to the audit
// log with outcome denied.
func (s *server) refuse(w http.ResponseWriter, r *http.Request, p auth.Principal, ns string, need auth.Role) error {
	if p.Anonymous {
		detail := "this request needs a bearer token"
		if need > auth.None {
			detail += " with the " + need.String() + " role"
			if ns != "" {
				detail += " in namespace " + ns
			}
		}
		if role := p.Strongest(); role > auth.None {
			detail += " (anonymous requests may only " + role.String() + " here)"
		} else {
			detail += " (anonymous requests may do nothing here)"
		}
		return unauthorized(w, `Bearer realm="flymodel"`, detail+"; "+getToken(max(need, auth.Read)))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		ctx := r.Context()
		err := s.registry.RecordDenied(ctx, "request."+strings.ToLower(r.Method), ns,
			strings.TrimPrefix(r.URL.EscapedPath(), apiBase), map[string]string{"needs": need.String()})
		if err != nil {
			s.logger.ErrorContext(ctx, "recording a refused request", "request_id", requestIDFrom(ctx), "err", err)
		}
	}
	detail := "the token does not grant this"
	if need > auth.None {
		detail = "this needs the " + need.String() + " role"
		if ns != "" {
			detail += " in namespace " + ns
		} else {
			detail += " in every namespace (a token without --namespace)"
		}
	}
	return newProblem(kindForbidden, detail)
}

// getToken tells a caller without a valid token how to get one, for
// every 401: tokens are made with the CLI on the server, with its
// configuration (or over /api/v1/tokens by an unscoped admin). It names
// nothing of the server's internals.
func getToken(role auth.Role) string {
	return "create one with `flymodel token create --name NAME --role " + role.String() +
		"` on the server (or ask its admin) and send it as Authorization: Bearer <token> (FLYMODEL_TOKEN or --token for the CLI)"
}

func unauthorized(w http.ResponseWriter, challenge, detail string) error {
	w.Header().Set("WWW-Authenticate", challenge)
	return newProblem(kindUnauthorized, detail)
}

// rawNamespace is the path's {namespace}, unescaped when it can be (the
// handler refuses a name that is not valid; a scoped grant never matches
// one).
func rawNamespace(r *http.Request) string {
	raw, ok := mux.Vars(r)["namespace"]
	if !ok {
		return ""
	}
	if name, err := url.PathUnescape(raw); err == nil {
		return name
	}
	return raw
}
