package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/flymodel/flymodel/api"
)

// The edge guard answers, before authentication and routing, the requests
// a browser can be tricked into sending:
//
//   - DNS rebinding: a page of evil.example whose name is made to resolve
//     to 127.0.0.1 reaches a laptop server as a same-origin page, its
//     requests carrying "Host: evil.example". A server bound to loopback
//     answers only loopback Hosts (and server.allowed_hosts); others get
//     421 misdirected-request. A server bound elsewhere answers any Host,
//     unless server.allowed_hosts is set.
//   - Cross-site requests: any page may POST a form (multipart/form-data
//     included) to any origin without a preflight, and a laptop server
//     lets anonymous requests write. A state-changing request (not GET,
//     HEAD or OPTIONS) that a browser marks as coming from a page of
//     another origin than the server's own or server.allowed_origins is
//     refused with 403 cross-origin-request, unless it carries a bearer
//     token (which a page of another origin cannot add without a CORS
//     preflight, which the server never grants). Requests without Origin
//     and Sec-Fetch-Site (the CLI, the clients, curl) are not browsers'
//     and pass.
//
// The server's own origin is its scheme (https when it serves TLS) and
// the Host the request came to: what the browser's address bar shows.
type edgeGuard struct {
	// restrictHosts: only loopback Hosts and hosts are answered.
	restrictHosts bool
	// hosts are server.allowed_hosts: "host" (any port) or "host:port",
	// lowercase.
	hosts map[string]bool
	// origins decides cross-origin requests (the standard library's
	// Sec-Fetch-Site and Origin checks), trusting server.allowed_origins.
	origins *http.CrossOriginProtection
	// trusted are server.allowed_origins.
	trusted map[string]bool
	// scheme is the server's own: "http" or "https".
	scheme string
}

func newEdgeGuard(opts Options) *edgeGuard {
	g := &edgeGuard{
		restrictHosts: opts.LoopbackBind || len(opts.AllowedHosts) > 0,
		hosts:         map[string]bool{},
		origins:       http.NewCrossOriginProtection(),
		trusted:       map[string]bool{},
		scheme:        "http",
	}
	if opts.TLS {
		g.scheme = "https"
	}
	for _, h := range opts.AllowedHosts {
		g.hosts[strings.ToLower(h)] = true
	}
	for _, o := range opts.AllowedOrigins {
		if err := g.origins.AddTrustedOrigin(o); err != nil {
			panic("httpapi.NewServer: server.allowed_origins: " + err.Error())
		}
		g.trusted[o] = true
	}
	return g
}

// probePaths are answered whatever the Host: load balancers and
// orchestrators probe a server by its address, and they tell nothing.
var probePaths = map[string]bool{"/healthz": true, "/readyz": true}

func (g *edgeGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuseSmuggling(w, r) {
			return
		}
		if p := g.check(r); p != nil {
			writeProblem(w, r, p)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check returns the problem that refuses r, or nil.
func (g *edgeGuard) check(r *http.Request) *Problem {
	if g.restrictHosts && !g.hostAllowed(r.Host) && !probePaths[r.URL.Path] {
		return newProblem(kindMisdirected, fmt.Sprintf(
			"this server does not answer for host %q: it answers localhost, 127.0.0.1 and [::1] on any port, and the hosts of server.allowed_hosts", clip(r.Host)))
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if hasBearer(r) {
		return nil
	}
	if err := g.origins.Check(r); err != nil || !g.sameScheme(r) {
		return newProblem(kindCrossOrigin, fmt.Sprintf(
			"a page of another origin (%q) may not change anything here: only pages of this server's own origin or of server.allowed_origins, or requests with a bearer token",
			clip(r.Header.Get("Origin"))))
	}
	return nil
}

// sameScheme refuses what http.CrossOriginProtection lets through when
// a browser sends Origin but no Sec-Fetch-Site: an Origin of the
// request's Host but another scheme (an http page posting to an https
// server). A trusted origin passes.
func (g *edgeGuard) sameScheme(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || r.Header.Get("Sec-Fetch-Site") != "" || g.trusted[origin] {
		return true
	}
	scheme, _, _ := strings.Cut(origin, "://")
	return scheme == g.scheme
}

// hasBearer reports whether r carries a bearer token (valid or not: the
// guard of the route judges it).
func hasBearer(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != ""
}

// hostAllowed reports whether the Host hostport is a loopback host (any
// port) or one of server.allowed_hosts.
func (g *edgeGuard) hostAllowed(hostport string) bool {
	host := hostport
	switch i := strings.LastIndexByte(hostport, ':'); {
	case strings.HasPrefix(hostport, "["):
		end := strings.IndexByte(hostport, ']')
		if end < 0 || (end+1 < len(hostport) && hostport[end+1] != ':') {
			return false
		}
		host = hostport[1:end]
	case i >= 0:
		host = hostport[:i]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() && ip.Zone() == "" {
		return true
	}
	if len(g.hosts) == 0 {
		return false
	}
	lower := strings.ToLower(hostport)
	if g.hosts[lower] {
		return true
	}
	if hostport != host {
		if strings.HasPrefix(lower, "[") {
			return g.hosts[lower[:len(host)+2]]
		}
		return g.hosts[lower[:len(host)]]
	}
	return false
}

var (
	kindCrossOrigin = kind(api.ProblemCrossOrigin)
	kindMisdirected = kind(api.ProblemMisdirected)
)
