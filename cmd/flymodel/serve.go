package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/engine"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/tracing"
)

func (a *app) newServeCommand() *cobra.Command {
	defaults := config.Default()
	var (
		port        int
		bind        string
		databaseURL string
		noMigrate   bool
		logFormat   string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server",
		Long: `Run the HTTP server until SIGINT or SIGTERM, then finish the requests in
flight (up to server.shutdown_timeout) and stop.

Pending database migrations are applied at start, unless --no-migrate is
given: then they are an error, and "flymodel migrate up" applies them.`,
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
			if flags.Changed("database-url") {
				if databaseURL == "" {
					return usageErrorf(cmd, "--database-url is empty")
				}
				cfg.Database.URL = databaseURL
			}
			if cfg.Server.Port < 0 || cfg.Server.Port > 65535 {
				return usageErrorf(cmd, "port %d is out of range 0-65535", cfg.Server.Port)
			}
			return a.serve(cmd.Context(), cfg, noMigrate)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&port, "port", "p", defaults.Server.Port, "TCP port to listen on; 0 picks a free one (config server.port)")
	f.StringVarP(&bind, "bind", "b", defaults.Server.Bind, "address to listen on (config server.bind)")
	f.StringVarP(&databaseURL, "database-url", "d", "", databaseURLHelp)
	f.BoolVar(&noMigrate, "no-migrate", false, "refuse to start when migrations are pending instead of applying them")
	f.StringVar(&logFormat, "log-format", "auto", "log format: auto (text on a terminal, else JSON), text or json (config log.format)")
	return cmd
}

// databaseURLHelp documents -d/--database-url wherever it is a flag.
const databaseURLHelp = `database: postgres://…, postgresql://…, sqlite:PATH or a file path
(env DB_URL, config database.url; default: the SQLite file in the data folder)`

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

	// Spans flush last: the deferred shutdown runs after the server, the
	// sweeper and the database have stopped.
	shutdownTracing, err := tracing.Setup(ctx, cfg.Tracing)
	if err != nil {
		return err
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if terr := shutdownTracing(flushCtx); terr != nil {
			logger.Warn("flushing trace spans failed", "err", terr)
		}
	}()

	store, err := openStore(ctx, cfg.DatabaseURL())
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close database: %w", cerr)
		}
	}()
	logger.Info("database opened", "engine", store.Engine(), "url", engine.Redact(cfg.DatabaseURL()))

	if err := prepareSchema(ctx, store, noMigrate, logger); err != nil {
		return err
	}

	stores, err := openStores(cfg)
	if err != nil {
		return err
	}
	if err := checkStores(ctx, stores, logger); err != nil {
		return err
	}
	if cfg.Tracing.OTLP.Target != "" {
		for name, st := range stores.ByName {
			stores.ByName[name] = tracing.Blob(name, st)
		}
	}
	reg := registry.New(registry.Options{
		Store: store, Gates: promotionGates(cfg.Promotion), Stores: stores, MaxUploadBytes: cfg.Server.MaxUploadBytes,
	})
	authn, err := newAuthenticator(ctx, cfg, store, logger)
	if err != nil {
		return err
	}
	metrics := httpapi.NewMetrics()
	handler := httpapi.NewServer(httpapi.Options{
		Store: store, Registry: reg, Stores: stores, Logger: logger, Version: buildVersion(),
		MaxUploadBytes: cfg.Server.MaxUploadBytes, Metrics: metrics, Auth: authn,
		MaxConcurrentUploads: cfg.Server.MaxConcurrentUploads, StallTimeout: cfg.Server.StallTimeout,
	})
	// The sweeper stops (and finishes a sweep in progress) before the
	// database closes: defers run in reverse.
	sweepCtx, stopSweep := context.WithCancel(ctx)
	waitSweep := startSweeper(sweepCtx, store, reg, retentionRules(cfg.Retention), cfg.Server.SweepInterval, logger, newSweepMetrics(metrics.Registerer()))
	defer func() {
		stopSweep()
		waitSweep()
	}()

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Server.Bind, strconv.Itoa(cfg.Server.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if tlsConfig != nil {
		ln, scheme = tls.NewListener(ln, tlsConfig), "https"
	}
	srv := &http.Server{
		Handler: handler,
		// Headers must arrive promptly and stay small; bodies have no overall
		// deadline (a 5 GiB upload takes a while) but one that stalls for
		// httpapi.DefaultStallTimeout is cut off (see httpapi's body reader).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// Tests find the address in this line: keep the message and the key.
	logger.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "version", buildVersion())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout)
	shutdownCtx := context.WithoutCancel(ctx)
	if cfg.Server.ShutdownTimeout > 0 {
		var cancel context.CancelFunc
		shutdownCtx, cancel = context.WithTimeout(shutdownCtx, cfg.Server.ShutdownTimeout)
		defer cancel()
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down: requests still running after %s: %w", cfg.Server.ShutdownTimeout, err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// prepareSchema brings the schema up to date at start, or with noMigrate
// refuses to run on an outdated one.
func prepareSchema(ctx context.Context, store db.Store, noMigrate bool, logger *slog.Logger) error {
	if noMigrate {
		status, err := store.MigrationStatus(ctx)
		if err != nil {
			return fmt.Errorf("read migration status: %w", err)
		}
		if status.Pending > 0 {
			return fmt.Errorf("%d pending %s; run \"flymodel migrate up\"", status.Pending, plural(status.Pending, "migration", "migrations"))
		}
		logger.Info("schema up to date", "version", status.Current)
		return nil
	}

	applied, err := store.Migrate(ctx, db.MigrateOptions{})
	for _, m := range applied {
		logger.Info("migration applied", "version", m.Version, "source", path.Base(m.Source), "duration", m.Duration)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	status, err := store.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("read migration status: %w", err)
	}
	logger.Info("schema up to date", "version", status.Current, "applied", len(applied))
	return nil
}

// openStore opens the database at url.
func openStore(ctx context.Context, url string) (db.Store, error) {
	store, err := engine.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return store, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// promotionGates turns the promotion.<lifecycle> configuration into the
// registry's gates.
func promotionGates(promotion map[string]config.Promotion) map[string]registry.Gate {
	gates := make(map[string]registry.Gate, len(promotion))
	for lifecycle, p := range promotion {
		gates[lifecycle] = registry.Gate{Require: p.Require, RequireAllPassed: p.RequireAllPassed}
	}
	return gates
}
