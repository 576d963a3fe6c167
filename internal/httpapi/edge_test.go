package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestEdgeGuard: which Hosts and which browser requests the edge guard
// refuses, for a laptop server (loopback bind), one with allowed hosts
// and origins, one bound elsewhere, and one serving TLS.
func TestEdgeGuard(t *testing.T) {
	laptop := Options{LoopbackBind: true}
	configured := Options{LoopbackBind: true, AllowedHosts: []string{"registry.example.com", "pinned.example.com:8443", "[fd00::1]"},
		AllowedOrigins: []string{"https://ui.example.com", "http://localhost:5173"}}
	public := Options{}
	pinned := Options{AllowedHosts: []string{"registry.example.com"}}
	tls := Options{LoopbackBind: true, TLS: true}
	type req struct {
		method, host, target string
		header               []string // name, value, …
	}
	tests := []struct {
		name string
		opts Options
		req  req
		want string // problem slug, "" for let through
	}{
		// DNS rebinding.
		{"localhost", laptop, req{"GET", "localhost:9009", "/api/v1/namespaces", nil}, ""},
		{"localhost without port", laptop, req{"GET", "localhost", "/api/v1/namespaces", nil}, ""},
		{"LOCALHOST", laptop, req{"GET", "LOCALHOST:9009", "/api/v1/namespaces", nil}, ""},
		{"127.0.0.1", laptop, req{"GET", "127.0.0.1:9009", "/api/v1/namespaces", nil}, ""},
		{"127.0.0.2", laptop, req{"GET", "127.0.0.2:1", "/api/v1/namespaces", nil}, ""},
		{"[::1]", laptop, req{"GET", "[::1]:9009", "/api/v1/namespaces", nil}, ""},
		{"[::1] without port", laptop, req{"GET", "[::1]", "/api/v1/namespaces", nil}, ""},
		{"rebinding", laptop, req{"GET", "rebind.evil.example:9009", "/api/v1/namespaces", nil}, "misdirected-request"},
		{"rebinding POST", laptop, req{"POST", "rebind.evil.example:9009", "/api/v1/namespaces", nil}, "misdirected-request"},
		{"rebinding without port", laptop, req{"GET", "rebind.evil.example", "/api/v1/namespaces", nil}, "misdirected-request"},
		{"localhost as a subdomain", laptop, req{"GET", "localhost.evil.example:9009", "/", nil}, "misdirected-request"},
		{"evil with localhost port", laptop, req{"GET", "evil.example:localhost", "/", nil}, "misdirected-request"},
		{"LAN address", laptop, req{"GET", "192.168.1.10:9009", "/", nil}, "misdirected-request"},
		{"mapped loopback", laptop, req{"GET", "[::ffff:127.0.0.1]:9009", "/", nil}, ""},
		{"bad brackets", laptop, req{"GET", "[::1]x", "/", nil}, "misdirected-request"},
		{"probe healthz", laptop, req{"GET", "10.0.0.5:9009", "/healthz", nil}, ""},
		{"probe readyz", laptop, req{"GET", "10.0.0.5:9009", "/readyz", nil}, ""},
		{"metrics is no probe", laptop, req{"GET", "10.0.0.5:9009", "/metrics", nil}, "misdirected-request"},
		{"allowed host any port", configured, req{"GET", "registry.example.com:9009", "/", nil}, ""},
		{"allowed host no port", configured, req{"GET", "registry.example.com", "/", nil}, ""},
		{"allowed host upper case", configured, req{"GET", "Registry.Example.COM", "/", nil}, ""},
		{"allowed host:port", configured, req{"GET", "pinned.example.com:8443", "/", nil}, ""},
		{"allowed host other port", configured, req{"GET", "pinned.example.com:9009", "/", nil}, "misdirected-request"},
		{"allowed v6 any port", configured, req{"GET", "[fd00::1]:9009", "/", nil}, ""},
		{"still loopback", configured, req{"GET", "localhost:9009", "/", nil}, ""},
		{"not allowed", configured, req{"GET", "evil.example", "/", nil}, "misdirected-request"},
		{"public bind any host", public, req{"GET", "anything.example", "/", nil}, ""},
		{"public bind pinned", pinned, req{"GET", "registry.example.com:9009", "/", nil}, ""},
		{"public bind pinned refuses", pinned, req{"GET", "10.0.0.5:9009", "/api/v1/namespaces", nil}, "misdirected-request"},
		{"public bind pinned loopback", pinned, req{"GET", "127.0.0.1:9009", "/", nil}, ""},

		// Cross-origin requests.
		{"CLI POST", laptop, req{"POST", "localhost:9009", "/api/v1/namespaces", nil}, ""},
		{"same origin", laptop, req{"POST", "localhost:9009", "/api/v1/namespaces", []string{"Origin", "http://localhost:9009", "Sec-Fetch-Site", "same-origin"}}, ""},
		{"same origin, old browser", laptop, req{"POST", "localhost:9009", "/api/v1/namespaces", []string{"Origin", "http://localhost:9009"}}, ""},
		{"user typed it", laptop, req{"POST", "localhost:9009", "/api/v1/namespaces", []string{"Sec-Fetch-Site", "none"}}, ""},
		{"cross-site form", laptop, req{"POST", "localhost:9009", "/upload/model-version-artifact", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}}, "cross-origin-request"},
		{"cross-site, old browser", laptop, req{"POST", "localhost:9009", "/api/v1/namespaces", []string{"Origin", "https://evil.example"}}, "cross-origin-request"},
		{"cross-site, no Origin", laptop, req{"POST", "localhost:9009", "/api/v1/namespaces", []string{"Sec-Fetch-Site", "cross-site"}}, "cross-origin-request"},
		{"same site, other port", laptop, req{"PUT", "localhost:9009", "/x", []string{"Origin", "http://localhost:3000", "Sec-Fetch-Site", "same-site"}}, "cross-origin-request"},
		{"other port, old browser", laptop, req{"PATCH", "localhost:9009", "/x", []string{"Origin", "http://localhost:3000"}}, "cross-origin-request"},
		{"other scheme, old browser", laptop, req{"POST", "localhost:9009", "/x", []string{"Origin", "https://localhost:9009"}}, "cross-origin-request"},
		{"null origin", laptop, req{"DELETE", "localhost:9009", "/x", []string{"Origin", "null"}}, "cross-origin-request"},
		{"cross-site GET", laptop, req{"GET", "localhost:9009", "/api/v1/namespaces", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}}, ""},
		{"cross-site HEAD", laptop, req{"HEAD", "localhost:9009", "/x", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}}, ""},
		{"cross-site with bearer", laptop, req{"POST", "localhost:9009", "/x", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site", "Authorization", "Bearer fm_x"}}, ""},
		{"cross-site with bearer lowercase", laptop, req{"POST", "localhost:9009", "/x", []string{"Origin", "https://evil.example", "Authorization", "bearer fm_x"}}, ""},
		{"cross-site with empty bearer", laptop, req{"POST", "localhost:9009", "/x", []string{"Origin", "https://evil.example", "Authorization", "Bearer "}}, "cross-origin-request"},
		{"cross-site with basic", laptop, req{"POST", "localhost:9009", "/x", []string{"Origin", "https://evil.example", "Authorization", "Basic eDp5"}}, "cross-origin-request"},
		{"allowed origin", configured, req{"POST", "localhost:9009", "/x", []string{"Origin", "https://ui.example.com", "Sec-Fetch-Site", "cross-site"}}, ""},
		{"allowed origin, old browser", configured, req{"POST", "localhost:9009", "/x", []string{"Origin", "http://localhost:5173"}}, ""},
		{"allowed origin, other port", configured, req{"POST", "localhost:9009", "/x", []string{"Origin", "https://ui.example.com:8443", "Sec-Fetch-Site", "cross-site"}}, "cross-origin-request"},
		{"own origin over TLS", tls, req{"POST", "localhost:9009", "/x", []string{"Origin", "https://localhost:9009"}}, ""},
		{"http page to TLS server", tls, req{"POST", "localhost:9009", "/x", []string{"Origin", "http://localhost:9009"}}, "cross-origin-request"},
		{"public bind cross-site", public, req{"POST", "registry.example.com", "/x", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}}, "cross-origin-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.req.method, tt.req.target, nil)
			r.Host = tt.req.host
			for i := 0; i+1 < len(tt.req.header); i += 2 {
				r.Header.Set(tt.req.header[i], tt.req.header[i+1])
			}
			p := newEdgeGuard(tt.opts).check(r)
			switch {
			case tt.want == "" && p != nil:
				t.Errorf("refused: %v", p)
			case tt.want != "" && p == nil:
				t.Errorf("let through, want %s", tt.want)
			case p != nil && p.Type != problemTypeBase+tt.want:
				t.Errorf("refused with %s, want %s", p.Type, tt.want)
			}
		})
	}
}

// TestEdgeGuardAnswers: the refusals are problems with the status of
// their type, before anything else runs.
func TestEdgeGuardAnswers(t *testing.T) {
	h := serverOver(pingStore{}, Options{LoopbackBind: true})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/namespaces", nil)
	req.Host = "rebind.evil.example:9009"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	expectProblem(t, rec, http.StatusMisdirectedRequest, "misdirected-request", "/api/v1/namespaces")

	req = httptest.NewRequest(http.MethodPost, "/api/v1/namespaces", nil)
	req.Host = "localhost:9009"
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	expectProblem(t, rec, http.StatusForbidden, "cross-origin-request", "/api/v1/namespaces")
}

// BenchmarkEdgeGuard is what the guard adds to a request: a GET from the
// CLI (the Host check only), and a POST from a same-origin browser page
// (the Host check, then Sec-Fetch-Site and Origin). Compare with the CPU
// of a whole GET in `make bench-api` (about 120–150 µs).
func BenchmarkEdgeGuard(b *testing.B) {
	g := newEdgeGuard(Options{LoopbackBind: true, AllowedHosts: []string{"registry.example.com"}})
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	h := g.wrap(next)
	get := httptest.NewRequest(http.MethodGet, "/api/v1/namespaces/canada/models/llm.sm/versions/v1", nil)
	get.Host = "127.0.0.1:9009"
	post := httptest.NewRequest(http.MethodPost, "/api/v1/namespaces/canada/models/llm.sm/versions", nil)
	post.Host = "localhost:9009"
	post.Header.Set("Origin", "http://localhost:9009")
	post.Header.Set("Sec-Fetch-Site", "same-origin")
	w := httptest.NewRecorder()
	b.Run("GET", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, get)
		}
	})
	b.Run("POST same-origin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, post)
		}
	})
	b.Run("none", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			next.ServeHTTP(w, get)
		}
	})
}
