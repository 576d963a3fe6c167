package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
	dbtest.Run(t, func(t *testing.T) db.DB { return open(t, dbtest.SQLitePath(t)) })
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

func BenchmarkRead(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	dbtest.BenchmarkRead(b, s)
}
