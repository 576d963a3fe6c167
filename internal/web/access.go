package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
)

// PrincipalFunc tells who a request without a live session comes from, as
// the API's guard does: an error of class api.ErrUnauthorized
// (auth.ErrInvalidToken) for credentials that are not valid, the anonymous
// principal for none. The session cookie (Options.Sessions) is tried
// before it (authenticate).
type PrincipalFunc func(r *http.Request) (auth.Principal, error)

// BearerPrincipal is the API's rule: the Authorization bearer header, else
// the anonymous policy of authn.
func BearerPrincipal(authn *auth.Authenticator) PrincipalFunc {
	return func(r *http.Request) (auth.Principal, error) {
		return authn.Authenticate(r.Context(), r.Header.Get("Authorization"))
	}
}

type principalKey struct{}

// Principal is the principal of a page's request (set before any page
// runs).
func Principal(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	return p
}

// authenticate resolves the principal of r and puts it in the context,
// with the audit caller, so registry calls are audited as the API's are.
func (u *ui) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	ctx := r.Context()
	s, ok, err := u.sessionFrom(r)
	if err != nil {
		return r, err
	}
	var p auth.Principal
	if ok {
		p = s.Principal
		ctx = context.WithValue(ctx, sessionKey{}, s)
	} else if p, err = u.principal(r); err != nil {
		if errors.Is(err, auth.ErrInvalidToken) {
			return r, Errorf(api.ProblemUnauthorized, "the credentials are invalid, expired or revoked")
		}
		return r, err
	}
	ctx = context.WithValue(ctx, principalKey{}, p)
	ctx = audit.WithCaller(ctx, audit.Caller{Actor: p.Name, RequestID: requestID(w)})
	return r.WithContext(ctx), nil
}

// requestID is the id the API's middleware gave the request: the
// X-Request-Id of the answer ("" outside that middleware).
func requestID(w http.ResponseWriter) string { return w.Header().Get("X-Request-Id") }

// need checks that the request's principal holds role in namespace ns
// ("" for a role in every namespace). An anonymous principal without it
// is sent to sign in (credentials might help); any other gets 403.
func need(r *http.Request, ns string, role auth.Role) error {
	p := Principal(r.Context())
	if p.Allows(ns, role) {
		return nil
	}
	return refusal(r, p, ns, role)
}

// refusal is the answer to a principal without role in ns.
func refusal(r *http.Request, p auth.Principal, ns string, role auth.Role) error {
	if p.Anonymous {
		return &signInError{next: r.URL.RequestURI()}
	}
	detail := "this page needs the " + role.String() + " role"
	if ns != "" {
		detail += " in namespace " + ns
	} else {
		detail += " in every namespace"
	}
	return Errorf(api.ProblemForbidden, "%s", detail)
}

// signInError sends an anonymous caller to the sign-in page, which comes
// back to next.
type signInError struct{ next string }

func (e *signInError) Error() string { return "sign-in required" }

// signInURL is the sign-in page that returns to next (a path of this
// server).
func signInURL(next string) string {
	return "/ui/signin?" + url.Values{"next": {next}}.Encode()
}
