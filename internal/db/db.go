// Package db is flymodel's metadata database: the domain rows, the DB
// interface that both engines (PostgreSQL and SQLite) satisfy, the typed
// errors their constraint violations map to, migrations and fixtures.
//
// The queries live in queries/*.sql and are compiled by sqlc once per
// engine (internal/db/postgres/internal/pgdb,
// internal/db/sqlite/internal/sqlitedb). queries_gen.go holds the
// engine-neutral copy of the generated interface and row types; the engine
// adapters (internal/db/postgres, internal/db/sqlite) convert between them.
package db

import (
	"context"
	"fmt"
	"time"

	"github.com/flymodel/flymodel/internal/filter"
)

// Engine names.
const (
	EnginePostgres = "postgres"
	EngineSQLite   = "sqlite"
)

// DB is the metadata database. Its Queries run outside any transaction
// (each statement on its own); InTx runs several atomically.
type DB interface {
	Queries

	// InTx runs fn in one transaction, committed when fn returns nil and
	// rolled back otherwise. On SQLite the transaction takes the write lock
	// when it begins, so concurrent writers queue instead of failing.
	InTx(ctx context.Context, fn func(q Queries) error) error

	// Migrate applies (or with Down, rolls back) schema migrations.
	Migrate(ctx context.Context, opts MigrateOptions) ([]MigrationResult, error)
	// MigrationStatus reports the applied schema version and how many
	// migrations are pending.
	MigrationStatus(ctx context.Context) (MigrationStatus, error)

	// Exclusive runs fn while holding the lock called name, unless another
	// holder (another replica, on PostgreSQL an advisory lock) has it: then
	// it returns false at once without running fn. Background work (the
	// retention sweeper, garbage collection) runs under it, so that with
	// several replicas one does it at a time.
	Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (ran bool, err error)

	// Ping checks that the database answers and could start a write now:
	// on SQLite, that no other connection holds the write lock past a
	// short wait (an error matching ErrBusy then). It never holds a lock
	// itself for longer than an empty transaction.
	Ping(ctx context.Context) error
	// Search runs a filter query (internal/filter): the ids of the rows it
	// selects, in its order, each with its sort key (for the next cursor).
	// It only reads (on SQLite, through the read-only pool) and gives up
	// after SearchTimeout. sqlc's static queries cannot express a user's
	// filter; this is the one path that runs SQL built at run time, and
	// that SQL comes only from filter.Build's fixed vocabulary.
	Search(ctx context.Context, q filter.Query) ([]SearchHit, error)
	// SearchCount is the number of rows Search would select without
	// limits (q.Count set).
	SearchCount(ctx context.Context, q filter.Query) (int64, error)
	// Engine is EnginePostgres or EngineSQLite.
	Engine() string
	Close() error
}

// MigrateOptions selects the direction and the number of migrations.
type MigrateOptions struct {
	Down bool
	// Steps is the number of migrations to apply or roll back; 0 means all.
	Steps int
}

// MigrationResult describes one applied or rolled-back migration.
type MigrationResult struct {
	Version   int64
	Source    string
	Direction string // "up" or "down"
	Duration  time.Duration
}

// MigrationStatus is the schema state of a database.
type MigrationStatus struct {
	Current int64 // 0 when nothing is applied
	Latest  int64
	Pending int
}

// SearchTimeout bounds one Search statement.
const SearchTimeout = 10 * time.Second

// SearchHit is a row Search selected: its id and its sort key (time.Time,
// string, float64, or nil when the row has none).
type SearchHit struct {
	ID  int64
	Key any
}

// SearchKey normalises a sort key as an engine's driver scanned it to the
// type of kind: time.Time, string or float64 (nil stays nil).
func SearchKey(kind filter.KeyKind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kind {
	case filter.KeyTime:
		switch t := v.(type) {
		case time.Time:
			return t.UTC(), nil
		case string:
			return parseStoredTime(t)
		case []byte:
			return parseStoredTime(string(t))
		}
	case filter.KeyText:
		switch s := v.(type) {
		case string:
			return s, nil
		case []byte:
			return string(s), nil
		}
	case filter.KeyNumber:
		switch n := v.(type) {
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		case int32:
			return float64(n), nil
		case interface{ Float64() (float64, error) }:
			return n.Float64()
		}
	}
	return nil, fmt.Errorf("search: sort key %T does not fit its order", v)
}

// parseStoredTime reads a time as SQLite stores it (modernc's
// _time_format=sqlite) or as RFC 3339.
func parseStoredTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("search: sort key %q is not a time", s)
}
