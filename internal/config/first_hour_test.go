package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The original flymodel documented FLYMODEL_STORAGE_S3 as a JSON list: a
// list or table key takes JSON from the environment.
func TestEnvJSON(t *testing.T) {
	env := []string{
		`FLYMODEL_STORAGE_S3=[{"bucket": "models", "endpoint": "http://127.0.0.1:7070", "region": "us-east-1", "role": "staging", "timeout": "5s"}]`,
		`FLYMODEL_STORAGE_FS=[{"path": "/srv/blobs"}]`,
		`FLYMODEL_AUTH_OIDC_ROLES={"ml-admins": "admin"}`,
		`FLYMODEL_AUTH_OIDC_ISSUER=https://issuer.example`,
		`FLYMODEL_AUTH_OIDC_AUDIENCE=flymodel`,
		`FLYMODEL_SERVER_ALLOWED_ORIGINS=["https://a.example", "https://b.example"]`,
		`FLYMODEL_PROMOTION_PROD_REQUIRE=accuracy, latency`,
	}
	cfg, err := Load(LoadOptions{Dir: t.TempDir(), Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	wantS3 := []S3Storage{{Bucket: "models", Endpoint: "http://127.0.0.1:7070", Region: "us-east-1", Role: "stage", PathStyle: true, Timeout: 5 * time.Second}}
	if !reflect.DeepEqual(cfg.Storage.S3, wantS3) {
		t.Errorf("storage.s3 = %+v, want %+v", cfg.Storage.S3, wantS3)
	}
	if want := []FSStorage{{Path: "/srv/blobs"}}; !reflect.DeepEqual(cfg.Storage.FS, want) {
		t.Errorf("storage.fs = %+v, want %+v", cfg.Storage.FS, want)
	}
	if cfg.Auth.OIDC.Roles["ml-admins"] != "admin" {
		t.Errorf("auth.oidc.roles = %v", cfg.Auth.OIDC.Roles)
	}
	if want := []string{"https://a.example", "https://b.example"}; !reflect.DeepEqual(cfg.Server.AllowedOrigins, want) {
		t.Errorf("server.allowed_origins = %v, want %v", cfg.Server.AllowedOrigins, want)
	}
	if want := []string{"accuracy", "latency"}; !reflect.DeepEqual(cfg.Promotion["prod"].Require, want) {
		t.Errorf("promotion.prod.require = %v, want %v (comma-separated still works)", cfg.Promotion["prod"].Require, want)
	}
	if got := strings.Join(cfg.Sources(), "; "); !strings.Contains(got, "environment FLYMODEL_AUTH_OIDC_AUDIENCE, FLYMODEL_AUTH_OIDC_ISSUER, FLYMODEL_AUTH_OIDC_ROLES, FLYMODEL_PROMOTION_PROD_REQUIRE, FLYMODEL_SERVER_ALLOWED_ORIGINS, FLYMODEL_STORAGE_FS, FLYMODEL_STORAGE_S3") {
		t.Errorf("Sources() = %q, want the variables listed", got)
	}

	for _, tt := range []struct{ env, want string }{
		{`FLYMODEL_STORAGE_S3=models`, `config: FLYMODEL_STORAGE_S3: storage.s3: want JSON, such as [{"key": "value"}], got "models"`},
		{`FLYMODEL_STORAGE_S3=[{"bucket": "models",]`, `config: FLYMODEL_STORAGE_S3: storage.s3: invalid JSON`},
		{`FLYMODEL_STORAGE_S3=[{"bucket": "models", "rgion": "x"}]`, `config: unknown key "storage.s3[0].rgion"`},
		{`FLYMODEL_STORAGE_S3={"bucket": "models"}`, `config: FLYMODEL_STORAGE_S3: storage.s3: one table where a list of tables is wanted`},
	} {
		_, err := Load(LoadOptions{Dir: t.TempDir(), Environ: []string{tt.env}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Load = %v, want an error containing %q", tt.env, err, tt.want)
		}
	}
}

// [storage.s3] (one table) where [[storage.s3]] is meant gets a message
// that says so.
func TestOneTableForList(t *testing.T) {
	dir := writeFiles(t, map[string]string{"flymodel.toml": "[storage.s3]\nbucket = \"models\"\nrole = \"prod\"\n"})
	_, err := Load(LoadOptions{Dir: dir})
	want := "storage.s3: one table where a list of tables is wanted: write [[storage.s3]], with double brackets, once per entry"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load = %v, want an error containing %q", err, want)
	}
}

// -c wins over the search path; without it, the first file found is read
// and the others are named.
func TestShadowedFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"config/flymodel.yaml": "server:\n  port: 7001\n",
		"flymodel.toml":        "[server]\nport = 7002\n",
	})
	cfg, err := Load(LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Port != 7001 || cfg.Source != filepath.Join(dir, "config/flymodel.yaml") {
		t.Errorf("search: port %d from %s, want 7001 from config/flymodel.yaml", cfg.Server.Port, cfg.Source)
	}
	if want := []string{filepath.Join(dir, "flymodel.toml")}; !reflect.DeepEqual(cfg.Shadowed, want) {
		t.Errorf("Shadowed = %v, want %v", cfg.Shadowed, want)
	}
	cfg, err = Load(LoadOptions{Dir: dir, File: "flymodel.toml"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Port != 7002 || len(cfg.Shadowed) != 0 {
		t.Errorf("-c flymodel.toml: port %d, shadowed %v; want 7002 and none", cfg.Server.Port, cfg.Shadowed)
	}
	if got := cfg.Sources(); !reflect.DeepEqual(got, []string{"file " + filepath.Join(dir, "flymodel.toml")}) {
		t.Errorf("Sources() = %v", got)
	}
}

// warn is a level of its own, between error and info; "warning" is read
// as warn.
func TestLogLevelWarn(t *testing.T) {
	for _, level := range []string{"warn", "warning"} {
		cfg, err := Load(LoadOptions{Dir: t.TempDir(), Environ: []string{"FLYMODEL_LOG_LEVEL=" + level}})
		if err != nil {
			t.Fatalf("log.level = %s: %v", level, err)
		}
		if cfg.Log.Level != "warn" {
			t.Errorf("log.level = %s: loaded as %q, want warn", level, cfg.Log.Level)
		}
	}
}

func TestClientTLS(t *testing.T) {
	dir := writeFiles(t, map[string]string{"flymodel.toml": "[client.tls]\nca_file = \"ca.crt\"\ncert_file = \"me.crt\"\nkey_file = \"me.key\"\n"})
	cfg, err := Load(LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if want := (ClientTLS{CAFile: "ca.crt", CertFile: "me.crt", KeyFile: "me.key"}); cfg.Client.TLS != want {
		t.Errorf("client.tls = %+v, want %+v", cfg.Client.TLS, want)
	}
	_, err = Load(LoadOptions{Dir: t.TempDir(), Environ: []string{"FLYMODEL_CLIENT_TLS_CERT_FILE=me.crt"}})
	if err == nil || !strings.Contains(err.Error(), "client.tls: cert_file and key_file go together") {
		t.Errorf("cert_file alone: %v", err)
	}
}
