// Package httpapi is flymodel's HTTP interface: NewServer builds the handler
// that `flymodel serve` listens with. routes.go lists every route.
package httpapi

import (
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/mux"
	graphql "github.com/graph-gophers/graphql-go"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// Options are the server's settings beyond its two dependencies.
type Options struct {
	// Logger receives the access log and the errors; nil discards them.
	Logger *slog.Logger
	// Version is the flymodel version the server reports.
	Version string
	// Metrics receive the server's counters and are served at GET
	// /metrics; nil makes new ones, for this server alone.
	Metrics *Metrics
	// MaxConcurrentUploads caps the uploads in flight; more are answered
	// 429. 0 means DefaultMaxConcurrentUploads.
	MaxConcurrentUploads int
	// MaxUploadsPerPrincipal caps the uploads in flight of one principal
	// (by name; every anonymous request is one); more are answered 429. 0
	// means MaxConcurrentUploads (no cap of its own).
	MaxUploadsPerPrincipal int
	// StallTimeout cuts off a request body that sends nothing for this
	// long; 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	// PresignTTL is how long the presigned URL of a redirected download
	// (GET …?redirect=true on an S3 store) stays valid; 0 turns redirects
	// off (every download streams through the server).
	PresignTTL time.Duration
	// TempDir stages the file of a multipart upload that comes before its
	// metadata (server.temp_dir); "" means os.TempDir(). Staged files are
	// named StagePrefix….
	TempDir string
	// LoopbackBind: the server listens on a loopback address only, so it
	// answers only requests whose Host is a loopback one (localhost,
	// 127.0.0.1, [::1], any port) or in AllowedHosts (edge.go).
	LoopbackBind bool
	// AllowedHosts are server.allowed_hosts: Host header values ("host",
	// any port, or "host:port") answered besides the loopback ones; when
	// set, other Hosts are refused whatever the bind.
	AllowedHosts []string
	// AllowedOrigins are server.allowed_origins: origins besides the
	// server's own whose browser pages may send state-changing requests
	// without a bearer token.
	AllowedOrigins []string
	// TLS: the server is served over TLS, so its own origin is https.
	TLS bool
	// UI serves every request whose path is not the API's (IsAPIPath):
	// the web UI (internal/web), behind the same edge guard, request id,
	// access log and panic recovery. nil: those paths are JSON 404s.
	UI http.Handler
	// Sessions are the web UI's sessions: a GET or HEAD without a bearer
	// token is authenticated by its session cookie (so a page's download
	// links work for a signed-in browser). nil: bearer tokens only.
	Sessions *auth.Sessions
}

// server holds the dependencies the handlers share.
type server struct {
	registry *registry.Registry
	logger   *slog.Logger
	version  string

	// maxUpload is the registry's limit, checked against Content-Length
	// before a body is read.
	maxUpload int64
	metrics   *Metrics
	stall     time.Duration
	router    *mux.Router
	auth      *auth.Authenticator
	sessions  *auth.Sessions
	// uploads holds a slot per upload in flight.
	uploads chan struct{}
	// slots counts each principal's uploads in flight.
	slots *principalSlots
	// presignTTL is Options.PresignTTL.
	presignTTL time.Duration
	// tempDir stages file-first multipart uploads.
	tempDir string
	// gql is the schema of POST /graphql (graphql.go).
	gql *graphql.Schema
}

// DefaultMaxConcurrentUploads is the default cap on uploads in flight.
const DefaultMaxConcurrentUploads = 64

// NewServer returns the handler of the whole HTTP API: the routes of
// routes.go behind panic recovery, request ids and the access log. reg
// applies the rules and owns the database, the blob stores and the upload
// limit; authn tells who a request comes from. Both are required.
func NewServer(reg *registry.Registry, authn *auth.Authenticator, opts Options) http.Handler {
	if reg == nil || authn == nil {
		panic("httpapi.NewServer: a registry and an authenticator are required")
	}
	s := &server{
		registry:  reg,
		auth:      authn,
		sessions:  opts.Sessions,
		logger:    opts.Logger,
		version:   opts.Version,
		maxUpload: reg.MaxUploadBytes(),
		metrics:   opts.Metrics,
		stall:     opts.StallTimeout,
		tempDir:   opts.TempDir,
		// Routes match the escaped path, so that an escaped "/" in a name
		// stays inside its segment (and is then refused by the naming
		// rules), and paths are never cleaned into a redirect: "..", "."
		// and "//" reach the handlers, which refuse them.
		router: mux.NewRouter().UseEncodedPath().SkipClean(true),
	}
	s.presignTTL = opts.PresignTTL
	if s.stall <= 0 {
		s.stall = DefaultStallTimeout
	}
	if s.tempDir == "" {
		s.tempDir = os.TempDir()
	}
	if opts.MaxConcurrentUploads <= 0 {
		opts.MaxConcurrentUploads = DefaultMaxConcurrentUploads
	}
	s.uploads = make(chan struct{}, opts.MaxConcurrentUploads)
	if opts.MaxUploadsPerPrincipal <= 0 || opts.MaxUploadsPerPrincipal > opts.MaxConcurrentUploads {
		opts.MaxUploadsPerPrincipal = opts.MaxConcurrentUploads
	}
	s.slots = &principalSlots{perPrincipal: opts.MaxUploadsPerPrincipal, inFlight: map[string]int{}}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	s.metrics.init()
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	// A database that reports its connection pool has it published as
	// flymodel_db_pool_*.
	if pool, ok := reg.DBPool(); ok {
		if err := s.metrics.observeDB(pool); err != nil {
			s.logger.Warn("database pool metrics not published", "err", err)
		}
	}
	s.gql = s.newGraphQL()
	s.routes()
	s.router.NotFoundHandler = s.handle(s.handleNotFound)
	if opts.UI != nil {
		s.router.NotFoundHandler = uiOrNotFound(opts.UI, s.router.NotFoundHandler)
	}
	s.router.MethodNotAllowedHandler = s.handle(s.handleMethodNotAllowed)
	s.router.Use(recordRoute)

	var h http.Handler = s.router
	h = s.recoverPanics(h)
	h = newEdgeGuard(opts).wrap(h)
	h = s.logRequests(h)
	h = withRequestID(h)
	return h
}
