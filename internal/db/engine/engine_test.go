package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
)

func TestParse(t *testing.T) {
	cases := []struct {
		url, engine, target string
		wantErr             bool
	}{
		{"postgres://u:p@h:5432/d?sslmode=disable", db.EnginePostgres, "postgres://u:p@h:5432/d?sslmode=disable", false},
		{"postgresql://h/d", db.EnginePostgres, "postgresql://h/d", false},
		{"sqlite:flymodel-data/flymodel.db", db.EngineSQLite, "flymodel-data/flymodel.db", false},
		{"sqlite:///var/lib/flymodel.db", db.EngineSQLite, "/var/lib/flymodel.db", false},
		{"sqlite://rel/x.db", db.EngineSQLite, "rel/x.db", false},
		{"/abs/path.db", db.EngineSQLite, "/abs/path.db", false},
		{"relative.db", db.EngineSQLite, "relative.db", false},
		{"mysql://h/d", "", "", true},
		{"", "", "", true},
	}
	for _, c := range cases {
		engine, target, err := Parse(c.url)
		if (err != nil) != c.wantErr || engine != c.engine || target != c.target {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q, error %v", c.url, engine, target, err, c.engine, c.target, c.wantErr)
		}
	}
}

func TestOpenBothEngines(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new", "flymodel.db")
	urls := map[string]string{db.EngineSQLite: "sqlite:" + path}
	if os.Getenv(dbtest.PostgresEnv) != "" || os.Getenv(dbtest.RequireServicesEnv) == "1" {
		urls[db.EnginePostgres] = dbtest.PostgresURL(t)
	}
	for engine, url := range urls {
		s, err := Open(ctx, url)
		if err != nil {
			t.Fatalf("Open(%s): %v", engine, err)
		}
		if s.Engine() != engine {
			t.Errorf("Open(%s).Engine() = %s", url, s.Engine())
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("ping %s: %v", engine, err)
		}
		s.Close()
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("sqlite file not created: %v", err)
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	ctx := context.Background()
	// Port 1 on loopback: nothing listens there.
	if _, err := Open(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"); err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
}

// The database layer reaches tracing only through its leaf, internal/tracing/spans:
// not the configuration (tracing.Setup) nor the blob stores (tracing.Blob).
func TestDatabaseLayerImportsNoConfigOrBlob(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/flymodel/flymodel/"
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == module+"internal/tracing/spans":
		case strings.HasPrefix(pkg, module+"internal/config"), strings.HasPrefix(pkg, module+"internal/blob"),
			strings.HasPrefix(pkg, module+"internal/tracing"):
			t.Errorf("internal/db/engine imports %s", pkg)
		}
	}
}
