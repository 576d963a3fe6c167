package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
)

// The browser's session and the CSRF token of its forms.
//
// A request is authenticated, in order, by its session cookie (when the UI
// has Options.Sessions), else by its Authorization header, else as the
// anonymous policy says (sessionPrincipal). A cookie whose session has
// ended (signed out, expired, its token revoked) counts as no cookie.
//
// Every form that changes something carries the field CSRFField:
//   - with a session, its value is the session's CSRF secret (kept in the
//     session's row, auth.CheckCSRF compares in constant time);
//   - without one (the anonymous policy of a laptop server, or a bearer
//     header), it must equal the CSRFCookie cookie, which the pages set
//     (the double-submit pattern: another site can neither read nor set a
//     SameSite=Strict, HttpOnly cookie of this origin).
//
// The edge guard in front (httpapi) also refuses a state-changing request
// whose Origin is another site's.

// CSRFField is the form field that carries the CSRF token.
const CSRFField = "csrf"

// CSRFCookie holds the CSRF token of a browser without a session.
const CSRFCookie = "flymodel_csrf"

// maxFormBytes caps the body of a form.
const maxFormBytes = 64 << 10

type sessionKey struct{}

// sessionOf is the request's session, if it came with one.
func sessionOf(ctx context.Context) (auth.Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(auth.Session)
	return s, ok
}

// sessionFrom is the session of r's cookie: false without a cookie or
// once its session has ended (signed out, expired, its token revoked).
func (u *ui) sessionFrom(r *http.Request) (auth.Session, bool, error) {
	c := auth.SessionCookieValue(r)
	if u.sessions == nil || c == "" {
		return auth.Session{}, false, nil
	}
	s, err := u.sessions.Lookup(r.Context(), c)
	if errors.Is(err, auth.ErrNoSession) {
		return auth.Session{}, false, nil
	}
	return s, err == nil, err
}

// csrfToken is the CSRF token the request's forms carry: the session's,
// else the CSRFCookie's value, set on w when the browser has none yet.
func (u *ui) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if s, ok := sessionOf(r.Context()); ok {
		return s.CSRF
	}
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= 16 {
		return c.Value
	}
	token := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: u.tls, SameSite: http.SameSiteStrictMode})
	// The pages of this request see it too.
	r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: token})
	return token
}

// checkCSRF refuses a form whose CSRF field does not match the request's
// session (or, without a session, its CSRF cookie).
func checkCSRF(r *http.Request) error {
	got := r.PostFormValue(CSRFField)
	if s, ok := sessionOf(r.Context()); ok {
		if auth.CheckCSRF(s, got) {
			return nil
		}
	} else if c, err := r.Cookie(CSRFCookie); err == nil && got != "" &&
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) == 1 {
		return nil
	}
	return Errorf(api.ProblemForbidden, "the form's security token is missing or out of date (it was not sent from this site's page, or the session changed); reload the page and try again")
}

// ActionFunc handles a form POST that passed the CSRF check: it either
// redirects (303, to a path of this server) or renders a View (say, a
// token's secret shown once, or the server's refusal in context).
type ActionFunc func(w http.ResponseWriter, r *http.Request) (redirect string, v View, err error)

// action serves a form: POST only, the principal resolved, the body
// capped and parsed, the CSRF token checked, then fn; errors are error
// pages as for a PageFunc.
func (u *ui) action(fn ActionFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			u.renderError(w, r, Errorf(api.ProblemMethodNotAllowed, "%s is not allowed on %s; allowed: POST", r.Method, r.URL.Path))
			return
		}
		r, err := u.authenticate(w, r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			u.renderError(w, r, Errorf(api.ProblemMalformedRequest, "the form could not be read: %v", err))
			return
		}
		if err := checkCSRF(r); err != nil {
			u.recordRefusal(w, r, "csrf")
			u.renderError(w, r, err)
			return
		}
		to, v, err := fn(w, r)
		if err != nil {
			if e := (*Error)(nil); errors.As(err, &e) && e.Status == http.StatusForbidden {
				u.recordRefusal(w, r, "role")
			}
			u.renderError(w, r, err)
			return
		}
		if to != "" {
			http.Redirect(w, r, localPath(to), http.StatusSeeOther)
			return
		}
		u.render(w, r, v)
	})
}

// localPath is p if it is a path of this server, else "/": a redirect
// never leaves the site.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || len(p) == 0 || p[0] != '/' ||
		(len(p) > 1 && (p[1] == '/' || p[1] == '\\')) {
		return "/"
	}
	return p
}

// recordRefusal writes a refused form of a signed-in (not anonymous)
// principal to the audit log, as the API records a refused change
// (action request.post, outcome denied); why is "csrf" or "role".
func (u *ui) recordRefusal(w http.ResponseWriter, r *http.Request, why string) {
	ctx := r.Context()
	if Principal(ctx).Anonymous {
		return
	}
	if err := u.reg.RecordDenied(ctx, "request.post", r.PathValue("namespace"), r.URL.Path, map[string]string{"refused": why}); err != nil {
		u.logger.ErrorContext(ctx, "recording a refused form", "request_id", requestID(w), "err", err)
	}
}
