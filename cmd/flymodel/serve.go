package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/tracing"
	"github.com/flymodel/flymodel/internal/web"
)

func (a *app) newServeCommand() *cobra.Command {
	defaults := config.Default()
	var (
		port      int
		bind      string
		noMigrate bool
		logFormat string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server",
		Long: `Run the HTTP server until SIGINT or SIGTERM, then finish the requests in
flight (up to server.shutdown_timeout) and stop.

Pending database migrations are applied at start, unless --no-migrate is
given: then they are an error, and "flymodel migrate up" applies them (and
nothing is created, not even the database file).

With --dry, print the plan (pending migrations, the blob stores and their
state, the listen address, the anonymous policy) and exit: nothing is
served, migrated or created.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := a.cfg
			flags := cmd.Flags()
			if flags.Changed("port") {
				cfg.Server.Port = port
			}
			if flags.Changed("bind") {
				cfg.Server.Bind = bind
			}
			if flags.Changed("log-format") {
				cfg.Log.Format = logFormat
			}
			if cfg.Server.Port < 0 || cfg.Server.Port > 65535 {
				return usageErrorf(cmd, "port %d is out of range 0-65535", cfg.Server.Port)
			}
			if a.dry {
				return a.servePlan(cmd.Context(), cfg, noMigrate)
			}
			return a.serve(cmd.Context(), cfg, noMigrate)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&port, "port", "p", defaults.Server.Port, "TCP port to listen on; 0 picks a free one (config server.port)")
	f.StringVarP(&bind, "bind", "b", defaults.Server.Bind, "address to listen on (config server.bind)")
	f.BoolVar(&noMigrate, "no-migrate", false, "refuse to start when migrations are pending instead of applying them")
	f.StringVar(&logFormat, "log-format", "auto", "log format: auto (text on a terminal, else JSON), text or json (config log.format)")
	completeFixed(cmd, "log-format", []string{"auto", "text", "json"})
	return cmd
}

// serve runs the server until ctx is cancelled, then shuts it down.
func (a *app) serve(ctx context.Context, cfg *config.Config, noMigrate bool) (err error) {
	logger, err := newLogger(cfg.Log, a.stderr)
	if err != nil {
		return err
	}
	// Checked first, so that a bad certificate stops the start before anything
	// else happens.
	tlsConfig, err := serverTLS(cfg.Server.TLS, time.Now())
	if err != nil {
		return err
	}
	logger.Info("configuration", "sources", cfg.Sources())

	// Spans flush last: the deferred shutdown runs after the server, the
	// sweeper and the database have stopped.
	shutdownTracing, err := tracing.Setup(ctx, cfg.Tracing)
	if err != nil {
		return err
	}
	if where := tracing.Describe(cfg.Tracing); where != "" {
		logger.Info("tracing on", "exporter", where, "target", cfg.Tracing.OTLP.Target)
	} else {
		logger.Debug("tracing off", "set", "tracing.otlp.target")
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if terr := shutdownTracing(flushCtx); terr != nil {
			logger.Warn("flushing trace spans failed", "err", terr)
		}
	}()

	schema := schemaMigrate
	if noMigrate {
		schema = schemaCurrent
	}
	l, err := a.openRegistry(ctx, openOptions{schema: schema, blobs: blobsServe, logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	authn, err := newAuthenticator(ctx, cfg, l.db, logger)
	if err != nil {
		return err
	}
	tempDir, err := prepareTempDir(cfg.TempDir(), logger)
	if err != nil {
		return err
	}
	metrics := httpapi.NewMetrics()
	var ui http.Handler
	var sessions *auth.Sessions
	if cfg.Server.UI {
		sessions = auth.NewSessions(auth.SessionOptions{DB: l.db, TTL: cfg.Auth.SessionTTL})
		ui = web.New(l.reg, authn, web.Options{Logger: logger, Version: buildVersion(), TLS: tlsConfig != nil, Sessions: sessions})
	}
	handler := httpapi.NewServer(l.reg, authn, httpapi.Options{
		Logger: logger, Version: buildVersion(), Metrics: metrics,
		MaxConcurrentUploads: cfg.Server.MaxConcurrentUploads, StallTimeout: cfg.Server.StallTimeout, MaxUploadsPerPrincipal: cfg.Server.MaxUploadsPerPrincipal,
		TempDir: tempDir, PresignTTL: cfg.Storage.PresignTTL,
		LoopbackBind: auth.IsLoopback(cfg.Server.Bind), AllowedHosts: cfg.Server.AllowedHosts,
		AllowedOrigins: cfg.Server.AllowedOrigins, TLS: tlsConfig != nil, UI: ui, Sessions: sessions,
	})
	// The sweeper stops (and finishes a sweep in progress) before the
	// database closes: defers run in reverse.
	sweepCtx, stopSweep := context.WithCancel(ctx)
	waitSweep := startSweeper(sweepCtx, l.db, l.reg, retentionRules(cfg.Retention), cfg.Server.SweepInterval, logger, newSweepMetrics(metrics.Registerer()))
	defer func() {
		stopSweep()
		waitSweep()
	}()

	ln, scheme, err := listen(cfg.Server, tlsConfig)
	if err != nil {
		return err
	}
	return serveUntilDone(ctx, newHTTPServer(handler, logger), ln, scheme, cfg.Server.ShutdownTimeout, logger)
}

// prepareTempDir creates server.temp_dir, where multipart uploads that
// send their file before their metadata are staged, and removes the
// staged files an earlier server left behind (a crash mid-upload).
func prepareTempDir(dir string, logger *slog.Logger) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("server.temp_dir: %w", err)
	}
	n, err := httpapi.RemoveStaleStaged(dir, staleUploadAge)
	if err != nil {
		logger.Warn("removing interrupted staged uploads failed", "dir", dir, "err", err)
	} else if n > 0 {
		logger.Info("removed interrupted staged uploads", "dir", dir, "count", n)
	}
	return dir, nil
}

// listen opens the server's listener, with TLS when tlsConfig is set.
func listen(cfg config.Server, tlsConfig *tls.Config) (ln net.Listener, scheme string, err error) {
	ln, err = net.Listen("tcp", net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, "", fmt.Errorf("listen: %w", err)
	}
	// httpapi.Listener lets the server refuse requests framed two ways
	// (Content-Length and Transfer-Encoding): it reads what the server reads.
	if tlsConfig != nil {
		return httpapi.Listener(tls.NewListener(ln, tlsConfig)), "https", nil
	}
	return httpapi.Listener(ln), "http", nil
}

// newHTTPServer is the http.Server of handler.
func newHTTPServer(handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler: handler,
		// Headers must arrive promptly and stay small; bodies have no overall
		// deadline (a 5 GiB upload takes a while) but one that stalls for
		// httpapi.DefaultStallTimeout is cut off (see httpapi's body reader).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ConnContext:       httpapi.ConnContext,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serveUntilDone serves srv on ln until ctx is cancelled, then shuts it
// down, waiting up to timeout (0: forever) for the requests in flight.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, scheme string, timeout time.Duration, logger *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// Tests find the address in this line: keep the message and the key.
	logger.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "version", buildVersion())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down", "timeout", timeout)
	shutdownCtx := context.WithoutCancel(ctx)
	if timeout > 0 {
		var cancel context.CancelFunc
		shutdownCtx, cancel = context.WithTimeout(shutdownCtx, timeout)
		defer cancel()
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down: requests still running after %s: %w", timeout, err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
