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
	"time"
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
