// Package sqlite is the embedded SQLite engine of the metadata database
// (modernc.org/sqlite, no cgo).
//
// One writer connection serialises writes: its transactions begin
// IMMEDIATE, so a writer waits for the lock (busy_timeout) instead of
// failing with SQLITE_BUSY half-way. Reads go to a separate read-only pool
// and, with WAL, never wait for the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/sqlite/internal/sqlitedb"
	"github.com/flymodel/flymodel/internal/filter"
	"github.com/flymodel/flymodel/schema"
)

// Every connection gets these pragmas, after busy_timeout (see dsnPragmas),
// which comes first so that the others wait for a lock rather than fail.
// mmap_size lets reads map the database file (256 MiB) instead of copying
// pages through read calls.
const pragmas = "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=mmap_size(268435456)&_time_format=sqlite"

// DefaultBusyTimeout is how long a connection waits for a lock another
// connection holds (SQLite's busy_timeout) before its statement fails with
// db.ErrBusy.
const DefaultBusyTimeout = 10 * time.Second

// maxProbeWait bounds how long Ping waits for the write lock.
const maxProbeWait = time.Second

// Options tune Open.
type Options struct {
	// BusyTimeout is SQLite's busy_timeout: how long a statement waits for
	// a lock held by another connection (another process) before it fails
	// with db.ErrBusy. 0 means DefaultBusyTimeout.
	BusyTimeout time.Duration
}

// dsnPragmas are the pragmas of every connection, waiting at most wait for
// a lock.
func dsnPragmas(wait time.Duration) string {
	return fmt.Sprintf("_pragma=busy_timeout(%d)&%s", max(wait.Milliseconds(), 1), pragmas)
}

// DB is the SQLite implementation of db.DB.
type DB struct {
	queries
	writer   *sql.DB
	reader   *sql.DB
	migrator *db.Migrator
	shared   atomic.Pointer[bound]

	locksMu sync.Mutex
	locks   map[string]bool // names held by Exclusive

	// prober is Ping's connection (opened on the first Ping): it begins an
	// IMMEDIATE transaction, waiting at most probeWait, to tell whether a
	// write could start, without queueing behind the writer pool.
	path      string
	probeWait time.Duration
	probeMu   sync.Mutex
	prober    *sql.DB
}

// bound are the generated queries bound to the two pools: prepared once
// the schema exists, plain before.
type bound struct {
	read, write *sqlitedb.Queries
}

// queries runs the generated queries on the pools, or inside a transaction
// (tx set) on the transaction for reads and writes alike.
type queries struct {
	shared *atomic.Pointer[bound]
	tx     *sqlitedb.Queries
}

func (q queries) reader() *sqlitedb.Queries {
	if q.tx != nil {
		return q.tx
	}
	return q.shared.Load().read
}

func (q queries) writer() *sqlitedb.Queries {
	if q.tx != nil {
		return q.tx
	}
	return q.shared.Load().write
}

var _ db.DB = (*DB)(nil)

// Open opens (creating when missing, with its parent folder) the database
// file at path, with the default Options.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with opts.
func OpenWith(ctx context.Context, path string, opts Options) (*DB, error) {
	wait := opts.BusyTimeout
	if wait <= 0 {
		wait = DefaultBusyTimeout
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create folder for %s: %w", path, err)
		}
	}
	writer, err := sql.Open("sqlite", path+"?"+dsnPragmas(wait)+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", path+"?"+dsnPragmas(wait)+"&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Keep every reader open: a new connection costs its pragmas, the
	// schema and re-preparing the statements (database/sql keeps 2 by default).
	readers := max(4, runtime.NumCPU())
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	migrations, err := fs.Sub(schema.SQLite, "sqlite")
	if err != nil {
		return nil, err
	}
	m, err := db.NewMigrator(writer, goose.DialectSQLite3, migrations)
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, err
	}
	s := &DB{writer: writer, reader: reader, migrator: m, path: path, probeWait: min(wait, maxProbeWait)}
	s.queries = queries{shared: &s.shared}
	s.shared.Store(&bound{read: sqlitedb.New(reader), write: sqlitedb.New(writer)})
	s.prepare(ctx)
	return s, nil
}

// prepare binds prepared statements to both pools when the schema holds
// every table the queries use (after the migrations); otherwise the plain
// queries stay. Statements replaced by a later prepare are left to close
// with the pools: migrations are rare, and a caller may still hold them.
func (d *DB) prepare(ctx context.Context) {
	read, err := sqlitedb.Prepare(ctx, d.reader)
	if err != nil {
		return
	}
	write, err := sqlitedb.Prepare(ctx, d.writer)
	if err != nil {
		_ = read.Close()
		return
	}
	d.shared.Store(&bound{read: read, write: write})
}

// InTx implements db.DB.
func (d *DB) InTx(ctx context.Context, fn func(q db.Queries) error) error {
	write := d.shared.Load().write
	tx, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", mapError(err))
	}
	if err := fn(queries{tx: write.WithTx(tx)}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapError(err))
	}
	return nil
}

// Exclusive implements db.DB. An SQLite database serves one machine,
// so the lock is held in this process.
func (d *DB) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	d.locksMu.Lock()
	if d.locks[name] {
		d.locksMu.Unlock()
		return false, nil
	}
	if d.locks == nil {
		d.locks = map[string]bool{}
	}
	d.locks[name] = true
	d.locksMu.Unlock()
	defer func() {
		d.locksMu.Lock()
		delete(d.locks, name)
		d.locksMu.Unlock()
	}()
	return true, fn(ctx)
}

// Migrate implements db.DB.
func (d *DB) Migrate(ctx context.Context, opts db.MigrateOptions) ([]db.MigrationResult, error) {
	res, err := d.migrator.Migrate(ctx, opts)
	if len(res) > 0 {
		d.prepare(ctx)
	}
	return res, err
}

// MigrationStatus implements db.DB.
func (d *DB) MigrationStatus(ctx context.Context) (db.MigrationStatus, error) {
	return d.migrator.Status(ctx)
}

// Ping implements db.DB: a reader answers, and a write could begin — an
// IMMEDIATE transaction, begun on a connection of its own that waits at
// most a second (or the busy timeout, when shorter) for the write lock,
// and rolled back at once. A lock another process holds longer is
// db.ErrBusy; the probe holds the lock only for an empty transaction, so it
// never keeps the writer waiting.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.reader.PingContext(ctx); err != nil {
		return err
	}
	if d.path == ":memory:" {
		return nil // a connection of its own would be another database
	}
	prober, err := d.probe()
	if err != nil {
		return err
	}
	tx, err := prober.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin a write: %w", mapError(err))
	}
	return tx.Rollback()
}

// probe returns Ping's connection, opening it on first use.
func (d *DB) probe() (*sql.DB, error) {
	d.probeMu.Lock()
	defer d.probeMu.Unlock()
	if d.prober != nil {
		return d.prober, nil
	}
	prober, err := sql.Open("sqlite", d.path+"?"+dsnPragmas(d.probeWait)+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", d.path, err)
	}
	prober.SetMaxOpenConns(1)
	d.prober = prober
	return prober, nil
}

// Stats reports both connection pools together, for metrics.
func (d *DB) Stats() sql.DBStats {
	w, r := d.writer.Stats(), d.reader.Stats()
	return sql.DBStats{
		MaxOpenConnections: w.MaxOpenConnections + r.MaxOpenConnections,
		OpenConnections:    w.OpenConnections + r.OpenConnections,
		InUse:              w.InUse + r.InUse,
		Idle:               w.Idle + r.Idle,
		WaitCount:          w.WaitCount + r.WaitCount,
		WaitDuration:       w.WaitDuration + r.WaitDuration,
		MaxIdleClosed:      w.MaxIdleClosed + r.MaxIdleClosed,
		MaxIdleTimeClosed:  w.MaxIdleTimeClosed + r.MaxIdleTimeClosed,
		MaxLifetimeClosed:  w.MaxLifetimeClosed + r.MaxLifetimeClosed,
	}
}

// Engine implements db.DB.
func (d *DB) Engine() string { return db.EngineSQLite }

// Close implements db.DB.
func (d *DB) Close() error {
	d.probeMu.Lock()
	defer d.probeMu.Unlock()
	var probeErr error
	if d.prober != nil {
		probeErr = d.prober.Close()
	}
	return errors.Join(d.reader.Close(), d.writer.Close(), probeErr)
}

// mapError turns SQLite errors into the db package's typed errors.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return db.ErrNotFound
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: %s", db.ErrBusy, se.Error())
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return conflict(se.Error())
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return db.ErrForeignKey
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return fmt.Errorf("%w: %s", db.ErrInvalid, se.Error())
	}
	return err
}

// conflict parses "UNIQUE constraint failed: models.namespace_id, models.name".
func conflict(msg string) error {
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return &db.ConflictError{}
	}
	rest := msg[i+len(marker):]
	if j := strings.Index(rest, " ("); j >= 0 {
		rest = rest[:j] // modernc appends " (2067)"
	}
	e := &db.ConflictError{}
	for _, col := range strings.Split(rest, ", ") {
		table, name, ok := strings.Cut(strings.TrimSpace(col), ".")
		if !ok {
			continue
		}
		e.Table = table
		e.Columns = append(e.Columns, name)
	}
	return e
}

// Search implements db.DB on the read-only pool.
func (d *DB) Search(ctx context.Context, q filter.Query) ([]db.SearchHit, error) {
	query, args, err := filter.Build(filter.SQLite, q)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, db.SearchTimeout)
	defer cancel()
	rows, err := d.reader.QueryContext(ctx, query, args...)
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
	query, args, err := filter.Build(filter.SQLite, q)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, db.SearchTimeout)
	defer cancel()
	var n int64
	if err := d.reader.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("search: %w", mapError(err))
	}
	return n, nil
}
