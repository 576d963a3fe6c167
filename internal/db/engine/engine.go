// Package engine opens the metadata database named by a database URL.
package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/postgres"
	"github.com/flymodel/flymodel/internal/db/sqlite"
)

// Open opens the database for rawURL: postgres://… or postgresql://… for
// PostgreSQL; sqlite:PATH, sqlite://PATH or a bare file path for SQLite
// (the file and its folder are created when missing).
func Open(ctx context.Context, rawURL string) (db.DB, error) {
	return OpenWith(ctx, rawURL, Options{})
}

// Options tune OpenWith; the zero value is Open's defaults.
type Options struct {
	// SQLiteBusyTimeout is how long a SQLite write waits for a lock another
	// process holds (sqlite.Options.BusyTimeout); 0 is the default.
	SQLiteBusyTimeout time.Duration
}

// OpenWith is Open with opts.
func OpenWith(ctx context.Context, rawURL string, opts Options) (db.DB, error) {
	engine, target, err := Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if engine == db.EnginePostgres {
		return postgres.Open(ctx, target)
	}
	return sqlite.OpenWith(ctx, target, sqlite.Options{BusyTimeout: opts.SQLiteBusyTimeout})
}

// Parse returns the engine a database URL names and what that engine
// opens: the URL itself for PostgreSQL, the file path for SQLite.
func Parse(rawURL string) (engine, target string, err error) {
	switch {
	case rawURL == "":
		return "", "", fmt.Errorf("database url is empty")
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return db.EnginePostgres, rawURL, nil
	case strings.HasPrefix(rawURL, "sqlite://"):
		return db.EngineSQLite, strings.TrimPrefix(rawURL, "sqlite://"), nil
	case strings.HasPrefix(rawURL, "sqlite:"):
		return db.EngineSQLite, strings.TrimPrefix(rawURL, "sqlite:"), nil
	case strings.Contains(rawURL, "://"):
		scheme, _, _ := strings.Cut(rawURL, "://")
		return "", "", fmt.Errorf("database url: unsupported scheme %q (want postgres://, postgresql:// or sqlite:)", scheme)
	default:
		return db.EngineSQLite, rawURL, nil
	}
}
