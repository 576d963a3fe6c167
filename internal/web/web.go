// Package web is flymodel's web UI: server-rendered pages over the
// registry, served by `flymodel serve` at every path that is not the API's
// (httpapi.Options.UI).
//
// The pieces, one file each:
//
//   - web.go: New, the routes (the one list of what the UI serves), the
//     security headers, the static assets.
//   - access.go: who a request comes from (PrincipalFunc) and the role
//     checks of a page (need).
//   - session.go: the session cookie, the CSRF token of forms, and
//     action (a form's POST: body cap, CSRF check, audited refusals).
//   - render.go: the templates, View, and the error pages.
//   - helpers.go: what pages share: paging, sorting, query links, sizes,
//     times, Markdown.
//   - the pages: browse.go (home, namespace, model), version.go (the
//     version and its promotion), compare.go, metrics.go (the chart),
//     apiref.go (the API reference), signin.go (sign-in and sign-out,
//     OIDC), access_pages.go (tokens, audit), pages.go (404).
//
// A page is a PageFunc: it reads the request (pathName/pathNames for
// names, PageRequest for paging, ReadSort for order, r.URL.Query() for
// filters), checks access with need(r, ns, role), asks the registry, and
// returns a View naming its template and the data it shows; an error
// becomes an HTML error page with the status the API would answer (an
// *Error from Errorf, or a registry error as httpapi.ProblemOf classifies
// it). To add a page: write the PageFunc in a file of its own, its
// template templates/<name>.html defining "content" (its data is .Data,
// the request's URL .URL, the principal .Principal), and one line in
// routes.
//
// Components (templates/components.html), called as {{template "name" arg}}:
// "time" (a time.Time: relative, with the absolute time), "copy" (a text
// with a copy button), "badge" (a lifecycle or experiment state),
// "sealed" (a bool), "tags" (tagsIn .URL tags: links that filter the
// list), "empty" (empty "message" "command"), "pager" (a Pager),
// "markdown" (a description), "csrf" (a form's hidden CSRF field, called
// with the document: {{template "csrf" $}}), "sortth" (a sortable column
// header), "who" (the header's principal and sign-in/out). Functions
// (funcs in helpers.go): asset, nsURL, modelURL, versionURL, compareURL,
// metricsURL, downloadURL, signInURL, link, sortLink, sh, withQuery,
// bytes, ago, absolute, markdown, members, empty, badgeClass, duration,
// deref, derefs, inc, tagsIn, shortDigest.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options are the UI's settings beyond its two dependencies.
type Options struct {
	// Logger receives the errors of pages; nil discards them.
	Logger *slog.Logger
	// Version is the flymodel version shown in the footer.
	Version string
	// TLS: the server is served over TLS (for the session cookie's Secure
	// flag, next).
	TLS bool
	// Principal tells who a request comes from; nil means BearerPrincipal
	// of the authenticator (the API's rule). The session cookie plugs in
	// here.
	Principal PrincipalFunc
	// Sessions are the browsers' sessions (sign-in with a token or OIDC,
	// session.go); nil means pages see only bearer headers and the
	// anonymous policy.
	Sessions *auth.Sessions
}

// CSP is the Content-Security-Policy of every UI answer: no inline script
// or style, nothing from another host.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ui holds what the pages share.
type ui struct {
	reg       *registry.Registry
	logger    *slog.Logger
	version   string
	tls       bool
	principal PrincipalFunc
	sessions  *auth.Sessions
	authn     *auth.Authenticator
	pages     map[string]pageTemplate
	// assets maps a hashed asset name (app.3f2a9c1d.css) to its file, and
	// assetURL a file name to its URL.
	assets   map[string]asset
	assetURL map[string]string
}

type asset struct {
	body        []byte
	contentType string
}

// New returns the handler of the UI. reg and authn are required.
func New(reg *registry.Registry, authn *auth.Authenticator, opts Options) http.Handler {
	if reg == nil || authn == nil {
		panic("web.New: a registry and an authenticator are required")
	}
	u := &ui{reg: reg, logger: opts.Logger, version: opts.Version, tls: opts.TLS, principal: opts.Principal, sessions: opts.Sessions, authn: authn}
	if u.logger == nil {
		u.logger = slog.New(slog.DiscardHandler)
	}
	if u.principal == nil {
		u.principal = BearerPrincipal(authn)
	}
	u.loadAssets()
	u.pages = u.parseTemplates()
	return u.routes()
}

// routes is the one list of the UI's paths. Names are path segments,
// escaped one by one (a "/" in a name is %2F); pathName unescapes and
// checks them.
func (u *ui) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/{$}", u.page(u.homePage))
	mux.Handle("/ns/{namespace}", u.page(u.namespacePage))
	mux.Handle("/ns/{namespace}/models/{model}", u.page(u.modelPage))
	mux.Handle("/ns/{namespace}/models/{model}/versions/{version}", u.page(u.versionPage))
	mux.Handle("POST /ns/{namespace}/models/{model}/versions/{version}/state", u.action(u.promote))
	mux.Handle("/ns/{namespace}/models/{model}/compare", u.page(u.comparePage))
	mux.Handle("/ns/{namespace}/models/{model}/metrics", u.page(u.metricsPage))
	mux.Handle("/ui/api", u.page(u.apiPage))
	mux.Handle("/ui/signin", u.page(u.signIn))
	mux.Handle("POST /ui/signin", u.action(u.signInAction))
	mux.Handle("POST /ui/signout", u.action(u.signOutAction))
	mux.Handle("/ui/oidc/start", http.HandlerFunc(u.oidcStart))
	mux.Handle("/ui/oidc/callback", http.HandlerFunc(u.oidcCallback))
	mux.Handle("/ui/tokens", u.page(u.tokensPage))
	mux.Handle("POST /ui/tokens", u.action(u.createTokenAction))
	mux.Handle("/ui/tokens/{token}/revoke", u.page(u.revokeTokenPage))
	mux.Handle("POST /ui/tokens/{token}/revoke", u.action(u.revokeTokenAction))
	mux.Handle("/ui/audit", u.page(u.auditPage))
	mux.Handle("/ui/static/{file}", http.HandlerFunc(u.static))
	mux.Handle("GET /favicon.ico", http.HandlerFunc(u.favicon))
	mux.Handle("/", u.page(u.notFound))
	return secure(mux)
}

// secure sets the headers every UI answer carries (the API's middleware
// set stricter ones first; these replace them).
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// loadAssets hashes the embedded static files: each is served under a
// name holding its content's hash, cached for a year.
func (u *ui) loadAssets() {
	u.assets, u.assetURL = map[string]asset{}, map[string]string{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := path.Base(p)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}[ext]
		if ct == "" {
			ct = "application/octet-stream"
		}
		u.assets[hashed] = asset{body: body, contentType: ct}
		u.assetURL[name] = "/ui/static/" + hashed
		return nil
	})
	if err != nil {
		panic("web: reading the embedded assets: " + err.Error())
	}
}

// static serves a hashed asset; its name changes with its content, so it
// is cached for good.
// favicon answers the /favicon.ico that browsers ask for on their own
// (on pages that are not the UI's, such as a download): the UI's icon, so
// that no request of a browser ends in a 404.
func (u *ui) favicon(w http.ResponseWriter, r *http.Request) {
	r.SetPathValue("file", strings.TrimPrefix(u.assetURL["favicon.svg"], "/ui/static/"))
	u.static(w, r)
}

func (u *ui) static(w http.ResponseWriter, r *http.Request) {
	a, ok := u.assets[r.PathValue("file")]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		u.page(u.notFound).ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}
