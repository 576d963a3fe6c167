// Package dbtest is the metadata database conformance suite (Run) and the
// helpers tests use to get a database of each engine.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable holding the admin URL of a PostgreSQL
// server for tests, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "FLYMODEL_TEST_POSTGRES_URL"

// RequireServicesEnv, when "1", turns a missing test service into a failure.
const RequireServicesEnv = "FLYMODEL_REQUIRE_SERVICES"

// SkipOrFail skips the test because a service is not configured, or fails
// it when FLYMODEL_REQUIRE_SERVICES=1 (as in CI).
func SkipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireServicesEnv) == "1" {
		t.Fatalf("%s, and %s=1", why, RequireServicesEnv)
	}
	t.Skip(why)
}

// PostgresURL creates a fresh database on the server named by
// FLYMODEL_TEST_POSTGRES_URL, drops it when the test ends, and returns its
// URL. Without the variable the test is skipped (or fails in CI).
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		SkipOrFail(t, PostgresEnv+" not set: skipping PostgreSQL")
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "flymodel_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// SQLitePath returns a database file path in a fresh temporary folder
// (not yet created: Open creates it).
func SQLitePath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "data", "flymodel.db")
}
