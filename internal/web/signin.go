package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
)

// Signing in and out: the sign-in form (an API token), sign-in through
// the OIDC issuer (the authorization-code flow with PKCE), and sign-out.
// The session itself lives in auth.Sessions; the cookie it is known by is
// auth.SessionCookie (HttpOnly, SameSite=Strict, Secure under TLS).

// oidcNextCookie keeps the page to return to while the browser is at the
// issuer (SameSite=Lax like the flow cookie: the way back is a cross-site
// navigation).
const oidcNextCookie = "flymodel_oidc_next"

// accessInfo is what the header shows of the request's access.
type accessInfo struct {
	// Session: the request came with a live session (sign-out shows).
	Session bool
	// Method is how the session signed in: "token" or "OIDC" ("" without
	// one).
	Method string
	// Ended: the browser sent a session cookie whose session has ended
	// (expired, signed out elsewhere, its token revoked).
	Ended bool
	// Admin: the principal is admin in every namespace (the admin pages).
	Admin bool
}

// accessInfo is the header's access part of r; a cookie of an ended
// session is deleted, so that it is reported once.
func (u *ui) accessInfo(w http.ResponseWriter, r *http.Request) accessInfo {
	p := Principal(r.Context())
	a := accessInfo{Admin: !p.Anonymous && p.Allows("", auth.Admin)}
	if s, ok := sessionOf(r.Context()); ok {
		a.Session = true
		a.Method = map[string]string{auth.SessionByToken: "token", auth.SessionByOIDC: "OIDC"}[s.Method]
	} else if u.sessions != nil && auth.SessionCookieValue(r) != "" {
		a.Ended = true
		http.SetCookie(w, auth.ClearSessionCookie(u.tls))
	}
	return a
}

// signInData is the sign-in page's.
type signInData struct {
	Next string
	// OIDC is the issuer to offer ("" when sign-in through it is off).
	OIDC string
	// Problem is why the last attempt failed.
	Problem *Error
	// Enabled: the server keeps sessions (else only bearer headers work).
	Enabled bool
}

func (u *ui) signInView(r *http.Request, next string, problem *Error) View {
	d := signInData{Next: localPath(next), Problem: problem, Enabled: u.sessions != nil}
	if o := u.authn.OIDC(); o.SignInEnabled() && u.sessions != nil {
		d.OIDC = o.Issuer()
	}
	v := View{Template: "signin", Title: "Sign in", Crumbs: []Crumb{{"Sign in", "/ui/signin"}}, Data: d}
	if problem != nil {
		v.Status = problem.Status
	}
	return v
}

// signIn is the sign-in form; next is the page to return to.
func (u *ui) signIn(r *http.Request) (View, error) {
	return u.signInView(r, r.URL.Query().Get("next"), nil), nil
}

// signInAction signs in with an API token: the session cookie is set and
// the browser sent on to next (a path of this server). A token that is not
// valid shows the form again, 401.
func (u *ui) signInAction(w http.ResponseWriter, r *http.Request) (string, View, error) {
	next := localPath(r.PostFormValue("next"))
	if u.sessions == nil {
		return "", View{}, Errorf(api.ProblemNotFound, "this server keeps no browser sessions; send an Authorization header")
	}
	cookie, s, err := u.sessions.SignInWithToken(r.Context(), r.PostFormValue("token"))
	if errors.Is(err, auth.ErrInvalidToken) {
		return "", u.signInView(r, next, Errorf(api.ProblemUnauthorized,
			"the token is not valid: unknown, expired or revoked (sign in with an API token's secret, fm_…; OIDC users use the issuer's button)")), nil
	}
	if err != nil {
		return "", View{}, err
	}
	u.endOldSession(r)
	http.SetCookie(w, auth.SessionCookie(cookie, s, u.tls, time.Now()))
	return next, View{}, nil
}

// endOldSession signs out the session the browser came with, if any (a
// second sign-in replaces it).
func (u *ui) endOldSession(r *http.Request) {
	if old := auth.SessionCookieValue(r); old != "" {
		if err := u.sessions.SignOut(r.Context(), old); err != nil {
			u.logger.WarnContext(r.Context(), "ending the previous session", "err", err)
		}
	}
}

// signOutAction ends the session on the server and deletes its cookie.
func (u *ui) signOutAction(w http.ResponseWriter, r *http.Request) (string, View, error) {
	if u.sessions != nil {
		if c := auth.SessionCookieValue(r); c != "" {
			if err := u.sessions.SignOut(r.Context(), c); err != nil {
				return "", View{}, err
			}
		}
	}
	http.SetCookie(w, auth.ClearSessionCookie(u.tls))
	return "/", View{}, nil
}

// oidcRedirectURI is the callback URL given to the issuer: the configured
// one, else this server's /ui/oidc/callback as the request names it.
func (u *ui) oidcRedirectURI(r *http.Request) string {
	if ru := u.authn.OIDC().RedirectURL(); ru != "" {
		return ru
	}
	scheme := "http"
	if u.tls || r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/ui/oidc/callback"
}

// oidcStart begins a sign-in through the issuer: a fresh flow (state,
// nonce, PKCE verifier) in a cookie, then off to the issuer.
func (u *ui) oidcStart(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	o := u.authn.OIDC()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		u.renderAuthenticated(w, r, Errorf(api.ProblemMethodNotAllowed, "%s is not allowed on %s; allowed: GET, HEAD", r.Method, r.URL.Path))
		return
	}
	if !o.SignInEnabled() || u.sessions == nil {
		u.renderAuthenticated(w, r, Errorf(api.ProblemNotFound, "sign-in through an identity provider is not configured on this server"))
		return
	}
	f := auth.NewOIDCFlow()
	http.SetCookie(w, auth.OIDCFlowCookie(f, u.tls))
	http.SetCookie(w, &http.Cookie{Name: oidcNextCookie, Value: localPath(r.URL.Query().Get("next")), Path: "/",
		MaxAge: int(auth.OIDCFlowTTL / time.Second), HttpOnly: true, Secure: u.tls, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, o.AuthCodeURL(f, u.oidcRedirectURI(r)), http.StatusSeeOther)
}

// oidcCallback ends a sign-in through the issuer: the state checked, the
// code exchanged and its ID token verified, a session started. It answers
// 200 with a page that refreshes to the page to return to, not a
// redirect: a SameSite=Strict cookie set while the browser is in a
// redirect chain that began at another site may not be sent on the next
// hop, and the refresh is a navigation from this site.
func (u *ui) oidcCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.SetCookie(w, auth.ClearOIDCFlowCookie(u.tls))
	http.SetCookie(w, &http.Cookie{Name: oidcNextCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: u.tls, SameSite: http.SameSiteLaxMode})
	o := u.authn.OIDC()
	if !o.SignInEnabled() || u.sessions == nil {
		u.renderAuthenticated(w, r, Errorf(api.ProblemNotFound, "sign-in through an identity provider is not configured on this server"))
		return
	}
	next := "/"
	if c, err := r.Cookie(oidcNextCookie); err == nil {
		next = localPath(c.Value)
	}
	fail := func(err error) {
		u.logger.WarnContext(r.Context(), "OIDC sign-in failed", "request_id", requestID(w), "err", err)
		u.renderAuthenticated(w, r, Errorf(api.ProblemUnauthorized, "signing in through %s failed; try again (the server log has the reason under the request id)", o.Issuer()))
	}
	code, f, err := auth.OIDCCallback(r)
	if err != nil {
		fail(err)
		return
	}
	p, exp, err := o.Exchange(r.Context(), code, f, u.oidcRedirectURI(r))
	if err != nil {
		fail(err)
		return
	}
	cookie, s, err := u.sessions.SignInWithPrincipal(r.Context(), p, exp)
	if err != nil {
		u.renderAuthenticated(w, r, err)
		return
	}
	u.endOldSession(r)
	http.SetCookie(w, auth.SessionCookie(cookie, s, u.tls, time.Now()))
	// The page is rendered for the new session.
	ctx := context.WithValue(r.Context(), sessionKey{}, s)
	ctx = context.WithValue(ctx, principalKey{}, s.Principal)
	rr := r.WithContext(ctx)
	u.render(w, rr, View{Template: "signedin", Title: "Signed in", Data: next})
}

// renderAuthenticated shows err as an error page to r's principal.
func (u *ui) renderAuthenticated(w http.ResponseWriter, r *http.Request, err error) {
	if rr, aerr := u.authenticate(w, r); aerr == nil {
		r = rr
	}
	u.renderError(w, r, err)
}
