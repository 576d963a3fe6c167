package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// The admin pages: API tokens (/ui/tokens) and the audit log (/ui/audit),
// for a principal that is admin in every namespace, as the API's
// /api/v1/tokens and /api/v1/audit are. They call the registry as the API
// does, so the audit log records the same thing either way.

// tokenForm is the create form's values (kept when the server refuses
// them).
type tokenForm struct {
	Name, Role, Namespaces, ExpiresIn string
}

// tokenRow is a token as the pages show it, with the URL of its
// revocation.
type tokenRow struct {
	registry.Token
	RevokeURL string
}

// TokenRevokeURL is the page that revokes the token name (after a
// confirmation).
func TokenRevokeURL(name string) string { return "/ui/tokens/" + url.PathEscape(name) + "/revoke" }

func rowOf(t registry.Token) tokenRow { return tokenRow{Token: t, RevokeURL: TokenRevokeURL(t.Name)} }

// tokensData is the tokens page's.
type tokensData struct {
	Tokens []tokenRow
	Form   tokenForm
	// Problem is why the last create was refused.
	Problem *Error
	// Revoked names a token just revoked.
	Revoked string
}

func tokensView(d tokensData, status int) View {
	return View{Template: "tokens", Title: "API tokens", Crumbs: []Crumb{{"Tokens", "/ui/tokens"}}, Data: d, Status: status}
}

func (u *ui) tokensPage(r *http.Request) (View, error) {
	if err := need(r, "", auth.Admin); err != nil {
		return View{}, err
	}
	return u.tokensWith(r, tokenForm{Role: "read", Namespaces: "*", ExpiresIn: "90d"}, nil)
}

func (u *ui) tokensWith(r *http.Request, f tokenForm, problem *Error) (View, error) {
	tokens, err := u.reg.ListTokens(r.Context())
	if err != nil {
		return View{}, err
	}
	rows := make([]tokenRow, len(tokens))
	for i, t := range tokens {
		rows[i] = rowOf(t)
	}
	d := tokensData{Tokens: rows, Form: f, Problem: problem, Revoked: r.URL.Query().Get("revoked")}
	status := 0
	if problem != nil {
		status = problem.Status
	}
	return tokensView(d, status), nil
}

// splitNamespaces reads the namespaces field: names separated by commas
// or spaces; "*" is every namespace.
func splitNamespaces(s string) []string {
	return strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' })
}

// createdData is the page that shows a new token's secret, once.
type createdData struct {
	Token  registry.Token
	Secret string
}

// createTokenAction creates a token (registry.CreateToken, as POST
// /api/v1/tokens) and shows its secret once; a refusal shows the form
// again with the values given and the reason.
func (u *ui) createTokenAction(w http.ResponseWriter, r *http.Request) (string, View, error) {
	if err := need(r, "", auth.Admin); err != nil {
		return "", View{}, err
	}
	f := tokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role"),
		Namespaces: r.PostFormValue("namespaces"), ExpiresIn: strings.TrimSpace(r.PostFormValue("expires_in"))}
	t, secret, err := u.reg.CreateToken(r.Context(), registry.NewToken{Name: f.Name, Role: f.Role,
		Namespaces: splitNamespaces(f.Namespaces), ExpiresIn: f.ExpiresIn})
	if err != nil {
		p, ok := httpapi.ProblemOf(err)
		if !ok || p.Status >= 500 {
			return "", View{}, err
		}
		v, err := u.tokensWith(r, f, &Error{Status: p.Status, Title: p.Title, Detail: p.Detail})
		return "", v, err
	}
	w.Header().Set("Cache-Control", "no-store")
	return "", View{Template: "token-created", Title: "Token created", Crumbs: []Crumb{{"Tokens", "/ui/tokens"}, {t.Name, "/ui/tokens"}},
		Data: createdData{Token: t, Secret: secret}, Status: http.StatusCreated}, nil
}

// tokenByName is the listed token name, or a 404.
func (u *ui) tokenByName(r *http.Request) (registry.Token, error) {
	name, err := pathName(r, "token")
	if err != nil {
		return registry.Token{}, err
	}
	tokens, err := u.reg.ListTokens(r.Context())
	if err != nil {
		return registry.Token{}, err
	}
	var found *registry.Token
	for i, t := range tokens {
		// A live token's name is unique; a revoked one may share it: the
		// live one is the one revoke acts on.
		if t.Name == name && (found == nil || t.Status == api.TokenActive) {
			found = &tokens[i]
		}
	}
	if found == nil {
		return registry.Token{}, Errorf(api.ProblemNotFound, "no token named %s", name)
	}
	return *found, nil
}

// revokeTokenPage asks to confirm a revocation.
func (u *ui) revokeTokenPage(r *http.Request) (View, error) {
	if err := need(r, "", auth.Admin); err != nil {
		return View{}, err
	}
	t, err := u.tokenByName(r)
	if err != nil {
		return View{}, err
	}
	return View{Template: "token-revoke", Title: "Revoke " + t.Name, Crumbs: []Crumb{{"Tokens", "/ui/tokens"}, {"Revoke " + t.Name, TokenRevokeURL(t.Name)}}, Data: rowOf(t)}, nil
}

// revokeTokenAction revokes a token (registry.RevokeToken, as DELETE
// /api/v1/tokens/{token}): requests and sessions with it stop working now.
func (u *ui) revokeTokenAction(w http.ResponseWriter, r *http.Request) (string, View, error) {
	if err := need(r, "", auth.Admin); err != nil {
		return "", View{}, err
	}
	name, err := pathName(r, "token")
	if err != nil {
		return "", View{}, err
	}
	if _, err := u.reg.RevokeToken(r.Context(), name); err != nil {
		return "", View{}, err
	}
	return "/ui/tokens?revoked=" + url.QueryEscape(name), View{}, nil
}

// auditPageSize is how many records the audit page shows at once.
const auditPageSize = 50

// auditData is the audit page's.
type auditData struct {
	Namespace, Actor, Action, Outcome, Since, Until string
	Items                                           []audit.Item
	// Older links to the next page of older records ("" at the end).
	Older string
	// First: this is the newest page (no cursor).
	First bool
}

// parseFilterTime reads a since/until field: RFC 3339, or the
// datetime-local form (2006-01-02T15:04, taken as UTC), or a date.
func parseFilterTime(key, v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, Errorf(api.ProblemMalformedRequest, "%s must be a time: RFC 3339 (2026-01-02T15:04:05Z) or 2026-01-02T15:04 (UTC), got %q", key, v)
}

// auditPage lists the audit log newest first, filtered as the API's
// /api/v1/audit filters, an older page at a time.
func (u *ui) auditPage(r *http.Request) (View, error) {
	if err := need(r, "", auth.Admin); err != nil {
		return View{}, err
	}
	q := r.URL.Query()
	d := auditData{Namespace: q.Get("namespace"), Actor: q.Get("actor"), Action: q.Get("action"), Outcome: q.Get("outcome"),
		Since: q.Get("since"), Until: q.Get("until")}
	f := audit.Filter{Namespace: d.Namespace, Actor: d.Actor, Action: d.Action, Outcome: d.Outcome, Newest: true, Limit: auditPageSize}
	if f.Outcome != "" && f.Outcome != string(audit.OK) && f.Outcome != string(audit.Denied) {
		return View{}, Errorf(api.ProblemMalformedRequest, "outcome must be ok or denied, got %q", f.Outcome)
	}
	var err error
	if d.Since != "" {
		if f.Since, err = parseFilterTime("since", d.Since); err != nil {
			return View{}, err
		}
	}
	if d.Until != "" {
		if f.Until, err = parseFilterTime("until", d.Until); err != nil {
			return View{}, err
		}
	}
	if b := q.Get("before"); b != "" {
		if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before < 1 {
			return View{}, Errorf(api.ProblemMalformedRequest, "before must be a record id (a positive integer), got %q", b)
		}
	}
	d.First = f.Before == 0
	items, next, err := u.reg.Audit(r.Context(), f)
	if err != nil {
		return View{}, err
	}
	d.Items = items
	if next != 0 {
		d.Older = Link(r.URL, "before", strconv.FormatInt(next, 10))
	}
	return View{Template: "audit", Title: "Audit log", Crumbs: []Crumb{{"Audit", "/ui/audit"}}, Data: d}, nil
}
