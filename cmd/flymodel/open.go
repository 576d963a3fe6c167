package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/blob/s3blob"
	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/engine"
	"github.com/flymodel/flymodel/internal/redact"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/tracing"
)

// This file is the composition root of the commands: the one place that
// opens the database, the blob stores and the registry over them, from the
// configuration and -d/--database-url.

// applyDatabaseURL puts -d/--database-url, when given, over the
// configuration (and DB_URL). Every command has the flag (it is the
// root's); the root applies it once, after loading the configuration.
func (a *app) applyDatabaseURL(cmd *cobra.Command) error {
	if !cmd.Flags().Changed("database-url") {
		return nil
	}
	if a.databaseURL == "" {
		return usageErrorf(cmd, "--database-url is empty")
	}
	a.cfg.Database.URL = a.databaseURL
	return nil
}

// databaseURLHelp documents -d/--database-url.
const databaseURLHelp = `database: postgres://…, postgresql://…, sqlite:PATH or a file path
(env DB_URL, config database.url; default: the SQLite file in the data folder)`

// schemaPolicy is what opening the registry does about the database schema.
type schemaPolicy int

const (
	// schemaAsIs changes nothing, not even by creating a SQLite file: a
	// database that does not exist or was never migrated opens empty, and
	// pending migrations are an error.
	schemaAsIs schemaPolicy = iota
	// schemaMigrate applies pending migrations first (creating a SQLite
	// file).
	schemaMigrate
	// schemaCurrent refuses pending migrations (serve --no-migrate).
	schemaCurrent
)

// blobPolicy is what opening the registry does about the blob stores.
type blobPolicy int

const (
	// blobsNone opens none: the token and audit commands touch no store.
	blobsNone blobPolicy = iota
	// blobsOpen opens the configured stores and changes nothing.
	blobsOpen
	// blobsEnsure also creates the stores that are missing.
	blobsEnsure
	// blobsServe readies the stores for serving: filesystem roots created,
	// interrupted uploads removed, every store probed (a failure is logged
	// and left to /readyz), and traced when tracing is on.
	blobsServe
)

// openOptions say what a command opens and what opening may change.
type openOptions struct {
	schema schemaPolicy
	blobs  blobPolicy
	// logger is told each step (serve); nil logs nothing.
	logger *slog.Logger
}

// local is the registry a command works on in this process, over the
// configured database and blob stores.
type local struct {
	// db is nil when the registry is empty (see schemaAsIs).
	db  db.DB
	reg *registry.Registry
}

// noRegistry is the error of a command that reads a registry where there
// is none (a SQLite file that does not exist, a database never migrated):
// most likely the command runs in another folder than the registry's.
func (a *app) noRegistry() error {
	url := a.cfg.DatabaseURL()
	if file, ok := sqliteFile(url); ok {
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no registry here (looked for %s); use -d or run in the registry's folder", file)
		}
	}
	return fmt.Errorf("no registry here (%s has no schema yet; run \"flymodel migrate up\" to make one); use -d or run in the registry's folder", redact.URL(url))
}

// empty reports a database that does not exist or was never migrated.
func (l *local) empty() bool { return l.db == nil }

// Close closes the database.
func (l *local) Close() error {
	if l.db == nil {
		return nil
	}
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// openRegistry opens the configured database and blob stores as a
// registry in this process: every command that works on the registry
// itself opens it here.
func (a *app) openRegistry(ctx context.Context, opts openOptions) (_ *local, err error) {
	logger := opts.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	url := a.cfg.DatabaseURL()
	if file, ok := sqliteFile(url); ok && opts.schema != schemaMigrate {
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			if opts.schema == schemaCurrent {
				// Refusing to migrate creates nothing, not even the file.
				return nil, fmt.Errorf("no database at %s; run \"flymodel migrate up\" to create it", file)
			}
			return &local{}, nil
		}
	}
	database, err := engine.OpenWith(ctx, url, engine.Options{SQLiteBusyTimeout: a.cfg.Database.BusyTimeout})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	defer func() {
		if err != nil {
			database.Close()
		}
	}()
	logger.Info("database opened", "engine", database.Engine(), "url", redact.URL(url))
	if empty, err := prepareSchema(ctx, database, opts.schema, logger); err != nil {
		return nil, err
	} else if empty {
		database.Close()
		return &local{}, nil
	}

	var blobs registry.BlobStores
	if opts.blobs != blobsNone {
		if blobs, err = openBlobStores(a.cfg); err != nil {
			return nil, err
		}
		if err := prepareStores(ctx, blobs, opts.blobs, logger); err != nil {
			return nil, err
		}
		if opts.blobs == blobsServe && a.cfg.Tracing.OTLP.Target != "" {
			for name, st := range blobs.ByName {
				blobs.ByName[name] = tracing.Blob(name, st)
			}
		}
	}
	reg := registry.New(registry.Options{
		DB: database, Gates: promotionGates(a.cfg.Promotion), Blobs: blobs, MaxUploadBytes: a.cfg.Server.MaxUploadBytes,
		ProtectedAliases: aliasRules(a.cfg.Aliases),
	})
	if opts.blobs == blobsServe {
		if err := reportStores(ctx, a.cfg, reg, logger); err != nil {
			return nil, err
		}
	}
	return &local{db: database, reg: reg}, nil
}

// reportStores logs, at serve start, the lifecycles that the configured
// storage leaves to the data folder, and each namespace/lifecycle that no
// store serves at all.
func reportStores(ctx context.Context, cfg *config.Config, reg *registry.Registry, logger *slog.Logger) error {
	if roles := fallbackLifecycles(cfg); len(roles) > 0 {
		logger.Warn("lifecycles without a configured store keep their artifacts in the data folder (fine on one machine; configure storage for them when several replicas serve)",
			"lifecycles", strings.Join(roles, ","), "store", "local", "path", defaultBlobRoot(cfg))
	}
	missing, err := reg.MissingStores(ctx)
	if err != nil {
		return fmt.Errorf("check the stores of the namespaces' buckets: %w", err)
	}
	for _, m := range missing {
		logger.Warn("no blob store serves this lifecycle: uploads and state changes into it are refused (409 no-store)",
			"namespace", m.Namespace, "lifecycle", m.Lifecycle, "bucket", m.Bucket, "add", m.ConfigKey())
	}
	return nil
}

// fallbackLifecycles lists the lifecycles that configured storage leaves
// to the data folder's root (none when no storage is configured: then the
// data folder is the storage).
func fallbackLifecycles(cfg *config.Config) []string {
	if len(cfg.Storage.S3) == 0 && len(cfg.Storage.FS) == 0 {
		return nil
	}
	served := map[string]bool{}
	for _, e := range cfg.Storage.S3 {
		served[e.Role] = true
	}
	for _, e := range cfg.Storage.FS {
		if e.Role == "" {
			return nil
		}
		served[e.Role] = true
	}
	var roles []string
	for _, role := range config.Lifecycles {
		if !served[role] {
			roles = append(roles, role)
		}
	}
	return roles
}

// openDatabase opens the database at url, as it is.
func openDatabase(ctx context.Context, url string) (db.DB, error) {
	database, err := engine.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return database, nil
}

// sqliteFile returns the file of a SQLite database URL.
func sqliteFile(url string) (string, bool) {
	name, target, err := engine.Parse(url)
	if err != nil || name != db.EngineSQLite || target == ":memory:" {
		return "", false
	}
	return target, true
}

// prepareSchema applies policy to the schema of database; empty reports a
// database never migrated, under schemaAsIs.
func prepareSchema(ctx context.Context, database db.DB, policy schemaPolicy, logger *slog.Logger) (empty bool, err error) {
	var applied []db.MigrationResult
	if policy == schemaMigrate {
		applied, err = database.Migrate(ctx, db.MigrateOptions{})
		for _, m := range applied {
			logger.Info("migration applied", "version", m.Version, "source", path.Base(m.Source), "duration_ms", float64(m.Duration.Microseconds())/1000)
		}
		if err != nil {
			return false, fmt.Errorf("migrate: %w", err)
		}
	}
	status, err := database.MigrationStatus(ctx)
	switch {
	case err != nil:
		return false, fmt.Errorf("read migration status: %w", err)
	case policy == schemaAsIs && status.Current == 0:
		return true, nil
	case status.Pending > 0:
		return false, fmt.Errorf("%d pending %s; run \"flymodel migrate up\"", status.Pending, plural(status.Pending, "migration", "migrations"))
	}
	logger.Info("schema up to date", "version", status.Current, "applied", len(applied))
	return false, nil
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

// openBlobStores builds the blob stores of the configuration: each S3 entry
// under its bucket name, each filesystem root under "local" (every role)
// or "local-<role>". A lifecycle that no entry serves is served by the
// default root in the data folder, "local" (with no storage configured,
// that is every lifecycle). With no storage configured, every bucket a
// namespace records is a folder of its own, <data_dir>/blobs/buckets/<bucket>
// (see registry.BlobStores.Folders).
func openBlobStores(cfg *config.Config) (registry.BlobStores, error) {
	blobs := registry.BlobStores{ByName: map[string]blob.Store{}, ForRole: map[string]string{}}
	for _, e := range cfg.Storage.S3 {
		st, err := s3blob.New(s3blob.Config{
			Bucket: e.Bucket, Endpoint: e.Endpoint, Region: e.Region, PathStyle: e.PathStyle,
			AccessKeyID: e.AccessKeyID, SecretAccessKey: e.SecretAccessKey, Public: e.Public, Timeout: e.Timeout,
		})
		if err != nil {
			return blobs, fmt.Errorf("storage.s3 bucket %s: %w", e.Bucket, err)
		}
		blobs.ByName[e.Bucket] = st
		blobs.ForRole[e.Role] = e.Bucket
	}
	var catchAll string
	for _, e := range cfg.EffectiveFS() {
		name := "local"
		if e.Role != "" {
			name = "local-" + e.Role
		}
		st, err := fsblob.New(e.Path)
		if err != nil {
			return blobs, fmt.Errorf("storage.fs %s: %w", e.Path, err)
		}
		blobs.ByName[name] = st
		if e.Role == "" {
			catchAll = name
		} else {
			blobs.ForRole[e.Role] = name
		}
	}
	if catchAll == "" && len(unservedLifecycles(blobs)) > 0 {
		// The original flymodel's sample configures one bucket (prod): the
		// other lifecycles keep working on the local disk.
		st, err := fsblob.New(defaultBlobRoot(cfg))
		if err != nil {
			return blobs, err
		}
		catchAll = "local"
		blobs.ByName[catchAll] = st
	}
	if catchAll != "" {
		for _, role := range config.Lifecycles {
			if _, ok := blobs.ForRole[role]; !ok {
				blobs.ForRole[role] = catchAll
			}
		}
	}
	if len(cfg.Storage.S3) == 0 && len(cfg.Storage.FS) == 0 {
		folders, err := fsblob.NewFolders(filepath.Join(defaultBlobRoot(cfg), "buckets"))
		if err != nil {
			return blobs, err
		}
		blobs.Folders = folders
	}
	return blobs, nil
}

// defaultBlobRoot is the filesystem root that serves every lifecycle when
// no storage is configured.
func defaultBlobRoot(cfg *config.Config) string {
	bare := config.Config{DataDir: cfg.DataDir}
	return bare.EffectiveFS()[0].Path
}

// unservedLifecycles lists the lifecycles no configured store serves.
func unservedLifecycles(blobs registry.BlobStores) []string {
	var roles []string
	for _, role := range config.Lifecycles {
		if blobs.ForRole[role] == "" {
			roles = append(roles, role)
		}
	}
	return roles
}

// storeNames lists the stores in a stable order.
func storeNames(blobs registry.BlobStores) []string {
	names := make([]string, 0, len(blobs.ByName))
	for name := range blobs.ByName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// prepareStores applies policy to the blob stores.
func prepareStores(ctx context.Context, blobs registry.BlobStores, policy blobPolicy, logger *slog.Logger) error {
	switch policy {
	case blobsEnsure:
		for _, name := range storeNames(blobs) {
			if err := blobs.ByName[name].Ensure(ctx); err != nil {
				return fmt.Errorf("blob store %s: %w", blobs.ByName[name], err)
			}
		}
	case blobsServe:
		return checkStores(ctx, blobs, logger)
	}
	return nil
}

// staleUploadAge is how long a temporary upload file must have been left
// untouched before start-up removes it: an upload in progress writes to its
// file continuously, an interrupted one (a crash) stops.
const staleUploadAge = time.Minute

// checkStores runs at serve start: filesystem roots are created when
// missing (the zero-config case) and cleared of interrupted uploads; every
// store is probed. A failing probe is logged and left to /readyz, so that
// the server can start while a remote store is briefly down.
func checkStores(ctx context.Context, blobs registry.BlobStores, logger *slog.Logger) error {
	for _, name := range storeNames(blobs) {
		st := blobs.ByName[name]
		if _, ok := st.(*fsblob.Store); ok {
			if err := st.Ensure(ctx); err != nil {
				return fmt.Errorf("blob store %s: %w", st, err)
			}
		}
		if n, err := st.RemoveStale(ctx, staleUploadAge); err != nil {
			logger.Warn("removing interrupted uploads failed", "store", st.String(), "err", err)
		} else if n > 0 {
			logger.Info("removed interrupted uploads", "store", st.String(), "count", n)
		}
		probeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := st.Probe(probeCtx)
		cancel()
		if err != nil {
			logger.Error("blob store not usable", "store", st.String(), "err", err)
			continue
		}
		logger.Info("blob store ready", "name", name, "store", st.String())
	}
	return nil
}

// aliasRules are the registry's rules of the protected aliases of
// aliases.protected.
func aliasRules(a config.Aliases) []registry.AliasRule {
	out := make([]registry.AliasRule, len(a.Protected))
	for i, p := range a.Protected {
		out[i] = registry.AliasRule{Name: p.Name, Role: p.Role, Lifecycle: p.Lifecycle}
	}
	return out
}
