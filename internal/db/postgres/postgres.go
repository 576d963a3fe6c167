// Package postgres is the PostgreSQL engine of the metadata database (pgx/v5).
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/postgres/internal/pgdb"
	"github.com/flymodel/flymodel/internal/filter"
	"github.com/flymodel/flymodel/schema"
)

// DB is the PostgreSQL implementation of db.DB.
type DB struct {
	queries
	pool     *pgxpool.Pool
	migrator *db.Migrator
	closeSQL func() error
}

// queries runs the generated queries on the pool or a transaction; pgx
// caches prepared statements per connection by itself.
type queries struct {
	q *pgdb.Queries
}

func (q queries) reader() *pgdb.Queries { return q.q }
func (q queries) writer() *pgdb.Queries { return q.q }

var _ db.DB = (*DB)(nil)

// Open connects to the database at url (postgres://…).
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", cfg.ConnConfig.Host, err)
	}
	// goose needs database/sql; it shares the pool's connections. Its
	// session lock (an advisory lock) lets several replicas start at once.
	sqlDB := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		pool.Close()
		return nil, err
	}
	migrations, err := fs.Sub(schema.Postgres, "postgres")
	if err != nil {
		pool.Close()
		return nil, err
	}
	m, err := db.NewMigrator(sqlDB, goose.DialectPostgres, migrations, goose.WithSessionLocker(locker))
	if err != nil {
		sqlDB.Close()
		pool.Close()
		return nil, err
	}
	return &DB{queries: queries{q: pgdb.New(pool)}, pool: pool, migrator: m, closeSQL: sqlDB.Close}, nil
}

// InTx implements db.DB.
func (d *DB) InTx(ctx context.Context, fn func(q db.Queries) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		return fn(queries{q: pgdb.New(tx)})
	})
}

// Exclusive implements db.DB with a session advisory lock on a
// connection held for the duration of fn.
func (d *DB) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return false, mapError(err)
	}
	defer conn.Release()
	h := fnv.New64a()
	h.Write([]byte("flymodel:" + name))
	key := int64(h.Sum64())
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
		return false, mapError(err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		// Unlock even when ctx ended; a connection that cannot unlock is
		// closed, which releases the lock with the session.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			_ = conn.Conn().Close(uctx)
		}
	}()
	return true, fn(ctx)
}

// Migrate implements db.DB.
func (d *DB) Migrate(ctx context.Context, opts db.MigrateOptions) ([]db.MigrationResult, error) {
	return d.migrator.Migrate(ctx, opts)
}

// MigrationStatus implements db.DB.
func (d *DB) MigrationStatus(ctx context.Context) (db.MigrationStatus, error) {
	return d.migrator.Status(ctx)
}

// Ping implements db.DB.
func (d *DB) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

// Stats reports the connection pool in database/sql's terms, for metrics.
func (d *DB) Stats() sql.DBStats {
	st := d.pool.Stat()
	return sql.DBStats{
		MaxOpenConnections: int(st.MaxConns()),
		OpenConnections:    int(st.TotalConns()),
		InUse:              int(st.AcquiredConns()),
		Idle:               int(st.IdleConns()),
		WaitCount:          st.EmptyAcquireCount(),
		WaitDuration:       st.EmptyAcquireWaitTime(),
		MaxIdleTimeClosed:  st.MaxIdleDestroyCount(),
		MaxLifetimeClosed:  st.MaxLifetimeDestroyCount(),
	}
}

// Engine implements db.DB.
func (d *DB) Engine() string { return db.EnginePostgres }

// Close implements db.DB.
func (d *DB) Close() error {
	err := d.closeSQL()
	d.pool.Close()
	return err
}

// uniqueKeys are the unique indexes of schema/postgres by name, with what
// they cover: a unique violation names its index (PgError.ConstraintName),
// while its Detail text is translated by the server's locale.
// TestUniqueKeysMatchTheCatalogue keeps this list equal to the schema.
var uniqueKeys = map[string]db.ConflictError{
	"api_token_namespaces_pkey":         {Table: "api_token_namespaces", Columns: []string{"token_id", "namespace_id"}},
	"api_tokens_live_name_key":          {Table: "api_tokens", Columns: []string{"name"}},
	"api_tokens_secret_hash_key":        {Table: "api_tokens", Columns: []string{"secret_hash"}},
	"artifacts_kind_number_key":         {Table: "artifacts", Columns: []string{"kind", "number"}},
	"artifacts_owner_name_key":          {Table: "artifacts", Columns: []string{"version_id", "experiment_key", "name"}},
	"blobs_store_content_key":           {Table: "blobs", Columns: []string{"store", "namespace_id", "sha256", "size"}},
	"blobs_store_key_key":               {Table: "blobs", Columns: []string{"store", "key"}},
	"buckets_namespace_name_region_key": {Table: "buckets", Columns: []string{"namespace_id", "name", "region"}},
	"buckets_namespace_role_key":        {Table: "buckets", Columns: []string{"namespace_id", "role"}},
	"experiments_id_version_key":        {Table: "experiments", Columns: []string{"id", "version_id"}},
	"experiments_version_name_key":      {Table: "experiments", Columns: []string{"version_id", "name"}},
	"model_versions_model_version_key":  {Table: "model_versions", Columns: []string{"model_id", "version"}},
	"model_aliases_model_alias_key":     {Table: "model_aliases", Columns: []string{"model_id", "alias"}},
	"models_namespace_name_key":         {Table: "models", Columns: []string{"namespace_id", "name"}},
	"namespaces_name_key":               {Table: "namespaces", Columns: []string{"name"}},
	"tag_links_experiment_key":          {Table: "tag_links", Columns: []string{"experiment_id", "tag_id"}},
	"tag_links_model_key":               {Table: "tag_links", Columns: []string{"model_id", "tag_id"}},
	"tag_links_version_key":             {Table: "tag_links", Columns: []string{"version_id", "tag_id"}},
	"tags_namespace_tag_key":            {Table: "tags", Columns: []string{"namespace_id", "tag"}},
	"web_sessions_secret_hash_key":      {Table: "web_sessions", Columns: []string{"secret_hash"}},
	"version_parents_pkey":              {Table: "version_parents", Columns: []string{"child_id", "parent_id"}},
}

// mapError turns PostgreSQL errors into the db package's typed errors.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return db.ErrNotFound
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		if k, ok := uniqueKeys[pe.ConstraintName]; ok {
			return &db.ConflictError{Table: k.Table, Columns: slices.Clone(k.Columns)}
		}
		return &db.ConflictError{Table: pe.TableName}
	case "23503": // foreign_key_violation
		return db.ErrForeignKey
	case "23514", "23502", "22P02": // check, not null, invalid text (enum) value
		return fmt.Errorf("%w: %s", db.ErrInvalid, pe.Message)
	}
	return err
}

// Search implements db.DB.
func (d *DB) Search(ctx context.Context, q filter.Query) ([]db.SearchHit, error) {
	query, args, err := filter.Build(filter.Postgres, q)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, db.SearchTimeout)
	defer cancel()
	rows, err := d.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", mapError(err))
	}
	defer rows.Close()
	kind := q.Order.KeyKind(q.Resource)
	var out []db.SearchHit
	for rows.Next() {
		var (
			h   db.SearchHit
			key any
		)
		if err := rows.Scan(&h.ID, &key); err != nil {
			return nil, fmt.Errorf("search: %w", mapError(err))
		}
		if n, ok := key.(pgtype.Numeric); ok {
			f, err := n.Float64Value()
			if err != nil {
				return nil, fmt.Errorf("search: %w", err)
			}
			key = nil
			if f.Valid {
				key = f.Float64
			}
		}
		if h.Key, err = db.SearchKey(kind, key); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", mapError(err))
	}
	return out, nil
}

// SearchCount implements db.DB.
func (d *DB) SearchCount(ctx context.Context, q filter.Query) (int64, error) {
	q.Count = true
	query, args, err := filter.Build(filter.Postgres, q)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, db.SearchTimeout)
	defer cancel()
	var n int64
	if err := d.pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("search: %w", mapError(err))
	}
	return n, nil
}
