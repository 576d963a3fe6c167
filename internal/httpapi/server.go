// Package httpapi is flymodel's HTTP interface: NewServer builds the handler
// that `flymodel serve` listens with. routes.go lists every route.
package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// Options are the dependencies of the HTTP server.
type Options struct {
	// Store is the metadata store; /readyz pings it.
	Store db.Store
	// Registry applies the rules; nil builds one over Store with no gates.
	Registry *registry.Registry
	// Logger receives the access log and the errors; nil discards them.
	Logger *slog.Logger
	// Version is the flymodel version the server reports.
	Version string
	// MaxUploadBytes refuses larger uploads up front; 0 means 5 GiB.
	MaxUploadBytes int64
	// Metrics receive the server's counters and are served at GET
	// /metrics; nil makes new ones.
	Metrics *Metrics
	// Stores are the blob stores /readyz checks (the registry uses its own).
	Stores registry.Stores
	// Auth tells who a request comes from; nil authenticates no one and
	// gives anonymous requests the default policy of a loopback server
	// (write while no token exists).
	Auth *auth.Authenticator
	// MaxConcurrentUploads caps the uploads in flight; more are answered
	// 429. 0 means DefaultMaxConcurrentUploads.
	MaxConcurrentUploads int
	// StallTimeout cuts off a request body that sends nothing for this
	// long; 0 means DefaultStallTimeout.
	StallTimeout time.Duration
}

// server holds the dependencies the handlers share.
type server struct {
	store    db.Store
	registry *registry.Registry
	logger   *slog.Logger
	version  string

	maxUpload int64
	metrics   *Metrics
	stores    registry.Stores
	stall     time.Duration
	router    *mux.Router
	auth      *auth.Authenticator
	// uploads holds a slot per upload in flight.
	uploads chan struct{}
}

// DefaultMaxConcurrentUploads is the default cap on uploads in flight.
const DefaultMaxConcurrentUploads = 64

// NewServer returns the handler of the whole HTTP API: the routes of
// routes.go behind panic recovery, request ids and the access log.
func NewServer(opts Options) http.Handler {
	s := &server{
		store:    opts.Store,
		registry: opts.Registry,
		logger:   opts.Logger,
		version:  opts.Version,
		// Routes match the escaped path, so that an escaped "/" in a name
		// stays inside its segment (and is then refused by the naming
		// rules), and paths are never cleaned into a redirect: "..", "."
		// and "//" reach the handlers, which refuse them.
		router: mux.NewRouter().UseEncodedPath().SkipClean(true),
	}
	s.maxUpload, s.metrics, s.stores, s.stall = opts.MaxUploadBytes, opts.Metrics, opts.Stores, opts.StallTimeout
	if s.stall <= 0 {
		s.stall = DefaultStallTimeout
	}
	if s.maxUpload <= 0 {
		s.maxUpload = registry.DefaultMaxUploadBytes
	}
	s.auth = opts.Auth
	if s.auth == nil {
		s.auth = auth.New(auth.Options{Store: opts.Store, Loopback: true})
	}
	if opts.MaxConcurrentUploads <= 0 {
		opts.MaxConcurrentUploads = DefaultMaxConcurrentUploads
	}
	s.uploads = make(chan struct{}, opts.MaxConcurrentUploads)
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	s.metrics.init()
	if s.registry == nil {
		s.registry = registry.New(registry.Options{Store: opts.Store})
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	// A store that reports its connection pool has it published as
	// flymodel_db_pool_*.
	if pool, ok := opts.Store.(dbStatser); ok {
		if err := s.metrics.observeDB(pool); err != nil {
			s.logger.Warn("database pool metrics not published", "err", err)
		}
	}
	s.routes()
	s.router.NotFoundHandler = s.handle(s.handleNotFound)
	s.router.MethodNotAllowedHandler = s.handle(s.handleMethodNotAllowed)
	s.router.Use(recordRoute)

	var h http.Handler = s.router
	h = s.recoverPanics(h)
	h = s.logRequests(h)
	h = withRequestID(h)
	return h
}
