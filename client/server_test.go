package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/blob/s3blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// serverConfig configures a real flymodel server for the tests and the
// examples: SQLite and a filesystem blob store in dir.
type serverConfig struct {
	dir       string
	maxUpload int64
	gates     map[string]registry.Gate
	logger    *slog.Logger
	// withToken creates an unscoped admin token (testServer.Token); without
	// one the server on loopback takes anonymous writes, as on a laptop.
	withToken bool
	// s3 stores the blobs in a fresh bucket of the test S3 server instead
	// of the filesystem (pull_test.go); presignTTL turns redirected
	// downloads on.
	s3         *s3blob.Config
	presignTTL time.Duration
}

// testServer is the real HTTP API over httptest.
type testServer struct {
	URL      string
	BlobRoot string
	Token    string
	srv      *httptest.Server
	store    db.DB
	blobs    blob.Store
}

// startServer builds the server as `flymodel serve` does, with its
// dependencies in cfg.dir.
func startServer(cfg serverConfig) (*testServer, error) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(cfg.dir, "flymodel.db"))
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, db.MigrateOptions{}); err != nil {
		store.Close()
		return nil, err
	}
	root := filepath.Join(cfg.dir, "blobs")
	var blobs blob.Store
	blobs, err = fsblob.New(root)
	if cfg.s3 != nil {
		root = ""
		blobs, err = s3blob.New(*cfg.s3)
	}
	if err != nil {
		store.Close()
		return nil, err
	}
	if err := blobs.Ensure(ctx); err != nil {
		store.Close()
		return nil, err
	}
	stores := registry.BlobStores{
		// ml-prod: the bucket a test records (a bucket must be a store).
		ByName:  map[string]blob.Store{"local": blobs, "ml-prod": blobs},
		ForRole: map[string]string{"test": "local", "qa": "local", "stage": "local", "prod": "local"},
	}
	reg := registry.New(registry.Options{DB: store, Blobs: stores, Gates: cfg.gates, MaxUploadBytes: cfg.maxUpload})
	var token string
	if cfg.withToken {
		if _, token, err = reg.CreateToken(ctx, registry.NewToken{Name: "test-admin", Role: "admin", Namespaces: []string{"*"}}); err != nil {
			store.Close()
			return nil, err
		}
	}
	h := httpapi.NewServer(reg, auth.New(auth.Options{DB: store, Loopback: true}), httpapi.Options{Logger: cfg.logger, PresignTTL: cfg.presignTTL})
	srv := httptest.NewServer(h)
	return &testServer{URL: srv.URL, BlobRoot: root, Token: token, srv: srv, store: store, blobs: blobs}, nil
}

// Close stops the server: connections first, then the database.
func (s *testServer) Close() {
	s.srv.Close()
	s.store.Close()
}

// newServer starts a server for one test and returns a client of it.
func newServer(t *testing.T, cfg serverConfig, opts ...client.Option) (*client.Client, *testServer) {
	t.Helper()
	cfg.dir = t.TempDir()
	cfg.withToken = true
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := startServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c, err := client.New(s.URL, append([]client.Option{client.WithToken(s.Token)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// tWriter sends the server's log to the test log, shown on failure.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// alterBlob replaces, behind the server's back, the stored bytes equal to
// old with altered ones of the same length, straight in the blob folder.
func (s *testServer) alterBlob(old, altered []byte) error {
	found := 0
	err := filepath.WalkDir(s.BlobRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, old) {
			return err
		}
		found++
		return os.WriteFile(path, altered, 0o644)
	})
	if err == nil && found != 1 {
		err = fmt.Errorf("found %d stored copies of the bytes, want 1", found)
	}
	return err
}

// exampleServer starts a server in a temporary folder for an example; stop
// removes everything.
func exampleServer() (url string, stop func()) {
	dir, err := os.MkdirTemp("", "flymodel-example-")
	if err != nil {
		panic(err)
	}
	s, err := startServer(serverConfig{dir: dir})
	if err != nil {
		panic(errors.Join(err, os.RemoveAll(dir)))
	}
	return s.URL, func() {
		s.Close()
		os.RemoveAll(dir)
	}
}
