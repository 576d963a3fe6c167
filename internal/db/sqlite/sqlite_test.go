package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/sqlite"
)

func open(t *testing.T, path string) db.DB {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	dbtest.Run(t, func(t *testing.T) db.DB {
		path := dbtest.SQLitePath(t)
		return withExec{DB: open(t, path), path: path}
	})
}

// withExec lets the conformance suite run SQL of its own (dbtest.Execer)
// on a connection of its own to the same file.
type withExec struct {
	db.DB
	path string
}

func (w withExec) ExecSQL(ctx context.Context, query string, args ...any) error {
	conn, err := sql.Open("sqlite", w.path+"?_pragma=busy_timeout(10000)&_time_format=sqlite")
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, query, args...)
	return err
}

func TestOpenCreatesFolderAndUsesWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "flymodel.db")
	s := open(t, path)
	if _, err := s.Migrate(context.Background(), db.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	// WAL mode leaves a -wal file beside the database while it is open.
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no WAL file: %v", err)
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, path := range []string{"", "x.db?mode=ro", "a#b.db"} {
		if _, err := sqlite.Open(context.Background(), path); err == nil {
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

// TestWriteLockedByAnotherProcess: a connection outside the DB (as another
// process would) holds the write lock past the busy timeout. A write then
// fails with db.ErrBusy, and so does Ping, while reads go on; once the lock
// is released both work again.
func TestWriteLockedByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flymodel.db")
	s, err := sqlite.OpenWith(ctx, path, sqlite.Options{BusyTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping before the lock: %v", err)
	}
	create := func(name string) error {
		return s.InTx(ctx, func(q db.Queries) error {
			_, err := q.CreateNamespace(ctx, db.CreateNamespaceParams{Name: name, Now: time.Now().UTC()})
			return err
		})
	}

	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	if err := create("locked-out"); !errors.Is(err, db.ErrBusy) {
		t.Errorf("write while another connection holds the lock: %v, want db.ErrBusy", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, db.ErrBusy) {
		t.Errorf("ping while another connection holds the lock: %v, want db.ErrBusy", err)
	}
	if _, err := s.CountNamespaces(ctx); err != nil {
		t.Errorf("read while another connection holds the lock: %v", err)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("ping after the lock: %v", err)
	}
	if err := create("after"); err != nil {
		t.Errorf("write after the lock: %v", err)
	}
	if n, err := s.CountNamespaces(ctx); err != nil || n != 1 {
		t.Errorf("namespaces = %d, %v; want 1 (the locked-out write left nothing)", n, err)
	}
}

func BenchmarkRead(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	dbtest.BenchmarkRead(b, s)
}
