package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/httpapi"
)

// PageFunc is a page: it returns the View to render, or an error shown as
// an error page (an *Error, a registry error, or any other as a 500).
type PageFunc func(r *http.Request) (View, error)

// View is what a page renders.
type View struct {
	// Template names the page's template: templates/<Template>.html,
	// which defines "title" and "content".
	Template string
	// Title is the document title (before " · flymodel").
	Title string
	// Crumbs are the breadcrumb links after the home link, outermost
	// first; the last is the current page.
	Crumbs []Crumb
	// Data is the page's own data, .Data in its template.
	Data any
	// Status is the HTTP status; 0 means 200.
	Status int
}

// Crumb is one breadcrumb link.
type Crumb struct {
	Label string
	URL   string
}

// document is what the layout renders: the View and what every page
// shows around it.
type document struct {
	View
	Principal auth.Principal
	Version   string
	RequestID string
	// CSRF is the token a form that changes something carries in the
	// field CSRFField (session.go): {{template "csrf" .}}.
	CSRF string
	// Access is who is signed in and how, for the header (access.go).
	Access accessInfo
	// URL is the request's URL, for links that keep its query (link,
	// Pager).
	URL *url.URL
}

// pageTemplate is a page's template set: the layout, the components and
// the page.
type pageTemplate = *template.Template

// parseTemplates parses each page with the layout and the components
// (every template file not a page is shared: layout.html,
// components.html).
func (u *ui) parseTemplates() map[string]pageTemplate {
	shared := []string{"templates/layout.html", "templates/components.html"}
	base := template.Must(template.New("layout").Funcs(u.funcs()).ParseFS(templateFS, shared...))
	pages := map[string]pageTemplate{}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		if f == shared[0] || f == shared[1] {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
		pages[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return pages
}

// page serves a PageFunc: GET and HEAD only, the principal resolved, the
// View rendered in the layout, errors as error pages. Pages are never
// cached.
func (u *ui) page(fn PageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			u.renderError(w, r, Errorf(api.ProblemMethodNotAllowed, "%s is not allowed on %s; allowed: GET, HEAD", r.Method, r.URL.Path))
			return
		}
		r, err := u.authenticate(w, r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		v, err := fn(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		u.render(w, r, v)
	})
}

// render writes v in the layout; a template that fails is a 500, never
// half a page.
func (u *ui) render(w http.ResponseWriter, r *http.Request, v View) {
	t, ok := u.pages[v.Template]
	if !ok {
		panic("web: no template " + v.Template)
	}
	var buf bytes.Buffer
	doc := document{View: v, Principal: Principal(r.Context()), Version: u.version, RequestID: requestID(w), URL: r.URL,
		CSRF: u.csrfToken(w, r), Access: u.accessInfo(w, r)}
	if err := t.ExecuteTemplate(&buf, "layout", doc); err != nil {
		u.logger.ErrorContext(r.Context(), "rendering a page", "template", v.Template, "request_id", requestID(w), "err", err)
		http.Error(w, "500 internal server error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	status := v.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// Error is an error page: the problem's status, title and detail, in the
// API's vocabulary (api.Problem*).
type Error struct {
	Status int
	Title  string
	Detail string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Detail) }

// Errorf is the error page of the problem type slug (api.Problem…, which
// gives its status and title) with a detail.
func Errorf(slug, format string, args ...any) *Error {
	k, ok := api.ProblemKindOf(slug)
	if !ok {
		panic("web: no problem type " + slug)
	}
	return &Error{Status: api.Status(api.ProblemClass(slug)), Title: k.Title, Detail: fmt.Sprintf(format, args...)}
}

// renderError shows err: a sign-in redirect, an *Error, a registry error
// as the API classifies it (httpapi.ProblemOf), else a 500 whose text
// stays in the log.
func (u *ui) renderError(w http.ResponseWriter, r *http.Request, err error) {
	var signIn *signInError
	if errors.As(err, &signIn) {
		http.Redirect(w, r, signInURL(signIn.next), http.StatusSeeOther)
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		if p, ok := httpapi.ProblemOf(err); ok {
			e = &Error{Status: p.Status, Title: p.Title, Detail: p.Detail}
		} else {
			u.logger.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "request_id", requestID(w), "err", err)
			e = Errorf(api.ProblemInternal, "the page could not be shown; the log has the details under the request id")
		}
	}
	u.render(w, r, View{Template: "error", Title: e.Title, Data: e, Status: e.Status})
}
