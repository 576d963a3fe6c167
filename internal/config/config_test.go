package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFiles creates files (path relative to dir → content) and returns dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadTOML loads content as flymodel.toml with environ.
func loadTOML(t *testing.T, content string, environ ...string) (*Config, error) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"flymodel.toml": content})
	return Load(LoadOptions{Dir: dir, Environ: environ})
}

func mustLoadTOML(t *testing.T, content string, environ ...string) *Config {
	t.Helper()
	cfg, err := loadTOML(t, content, environ...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func ptr[T any](v T) *T { return &v }

func TestDefaults(t *testing.T) {
	cfg, err := Load(LoadOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load with nothing = %+v, want Default() %+v", cfg, Default())
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"port", cfg.Server.Port, 9009},
		{"bind", cfg.Server.Bind, "localhost"},
		{"log level", cfg.Log.Level, "info"},
		{"log format", cfg.Log.Format, "auto"},
		{"max upload", cfg.Server.MaxUploadBytes, int64(5368709120)},
		{"shutdown", cfg.Server.ShutdownTimeout, 30 * time.Second},
		{"sweep", cfg.Server.SweepInterval, time.Hour},
		{"presign ttl", cfg.Storage.PresignTTL, 15 * time.Minute},
		{"uploads per principal", cfg.Server.MaxUploadsPerPrincipal, 16},
		{"jwks min refresh", cfg.Auth.OIDC.JWKSMinRefresh, time.Minute},
		{"session ttl", cfg.Auth.SessionTTL, 12 * time.Hour},
		{"oidc scopes", cfg.Auth.OIDC.Scopes, "openid profile email"},
		{"role claim", cfg.Auth.OIDC.RoleClaim, "roles"},
		{"source", cfg.Source, ""},
		{"database", cfg.DatabaseURL(), "sqlite:flymodel-data/flymodel.db"},
		{"temp dir", cfg.TempDir(), "flymodel-data/tmp"},
		{"fs", cfg.EffectiveFS(), []FSStorage{{Path: "flymodel-data/blobs"}}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if !cfg.EffectiveFS()[0].Serves("prod") {
		t.Error("default blob root does not serve prod")
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestS3Timeout(t *testing.T) {
	cfg := mustLoadTOML(t, "[[storage.s3]]\nbucket = \"a\"\nrole = \"prod\"\ntimeout = \"5s\"\n[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\n")
	if cfg.Storage.S3[0].Timeout != 5*time.Second || cfg.Storage.S3[1].Timeout != 0 {
		t.Errorf("timeouts = %s, %s; want 5s and 0 (the store's default)", cfg.Storage.S3[0].Timeout, cfg.Storage.S3[1].Timeout)
	}
}

func TestPresignTTL(t *testing.T) {
	cfg := mustLoadTOML(t, "[storage]\npresign_ttl = \"1h\"\n[[storage.s3]]\nbucket = \"b\"\nrole = \"prod\"\npublic = true\n")
	if cfg.Storage.PresignTTL != time.Hour || !cfg.Storage.S3[0].Public {
		t.Errorf("storage = %+v", cfg.Storage)
	}
	env, err := Load(LoadOptions{Dir: t.TempDir(), Environ: []string{"FLYMODEL_STORAGE_PRESIGN_TTL=90s"}})
	if err != nil || env.Storage.PresignTTL != 90*time.Second {
		t.Errorf("FLYMODEL_STORAGE_PRESIGN_TTL: %v, %v", env, err)
	}
}

func TestDerivedPaths(t *testing.T) {
	cfg := mustLoadTOML(t, `
data_dir = "/srv/fm"
[[storage.s3]]
bucket = "b"
role = "prod"
`)
	if got, want := cfg.DatabaseURL(), "sqlite:/srv/fm/flymodel.db"; got != want {
		t.Errorf("DatabaseURL = %q, want %q", got, want)
	}
	if got, want := cfg.TempDir(), "/srv/fm/tmp"; got != want {
		t.Errorf("TempDir = %q, want %q", got, want)
	}
	if got := cfg.EffectiveFS(); len(got) != 0 {
		t.Errorf("EffectiveFS with s3 configured = %v, want none", got)
	}
	if !cfg.Storage.S3[0].PathStyle {
		t.Error("path_style default is not true")
	}
}

// The same configuration in each format.
var formats = map[string]string{
	"toml": `
data_dir = "data"
[log]
level = "debug"
format = "json"
[database]
url = "postgres://u@h/db"
[server]
bind = "0.0.0.0"
port = 8080
max_upload_bytes = 1024
shutdown_timeout = "5s"
[server.tls]
certs = { cert_file = "c.crt", key_file = "c.key" }
ca_source = "ca.crt"
[promotion.prod]
require = ["eval", "smoke"]
require_all_passed = true
[retention.test]
models = 30
runs = 7
[[storage.s3]]
bucket = "ml-prod"
endpoint = "http://localhost:9000"
region = "ca-local"
role = "prod"
[[storage.s3]]
bucket = "ml-test"
role = "test"
path_style = false
public = true
[[storage.fs]]
path = "/blobs"
role = "*"
[auth]
anonymous = "read"
[auth.oidc]
issuer = "https://id.example.com"
audience = "flymodel"
roles = { admins = "admin" }
[client]
server = "http://localhost:9009"
token = "t"
[upsert]
namespace = "ns"
model = "m"
version = "v1"
state = "qa"
[[upsert.artifacts]]
name = "w"
path = "w.bin"
extra = { k = "v" }
[[upsert.experiments]]
name = "eval"
state = "passed"
metrics = { accuracy = 0.5 }
[tracing.otlp]
target = "localhost:4317"
[tracing.otlp.tls]
certs = "client.pem"
`,
	"yaml": `
data_dir: data
log: {level: debug, format: json}
database: {url: "postgres://u@h/db"}
server:
  bind: 0.0.0.0
  port: 8080
  max_upload_bytes: 1024
  shutdown_timeout: 5s
  tls:
    certs: {cert_file: c.crt, key_file: c.key}
    ca_source: ca.crt
promotion:
  prod: {require: [eval, smoke], require_all_passed: true}
retention:
  test: {models: 30, runs: 7}
storage:
  s3:
    - {bucket: ml-prod, endpoint: "http://localhost:9000", region: ca-local, role: prod}
    - {bucket: ml-test, role: test, path_style: false, public: true}
  fs:
    - {path: /blobs, role: "*"}
auth:
  anonymous: read
  oidc: {issuer: "https://id.example.com", audience: flymodel, roles: {admins: admin}}
client: {server: "http://localhost:9009", token: t}
upsert:
  namespace: ns
  model: m
  version: v1
  state: qa
  artifacts:
    - {name: w, path: w.bin, extra: {k: v}}
  experiments:
    - {name: eval, state: passed, metrics: {accuracy: 0.5}}
tracing:
  otlp: {target: "localhost:4317", tls: {certs: client.pem}}
`,
	"json": `{
"data_dir": "data",
"log": {"level": "debug", "format": "json"},
"database": {"url": "postgres://u@h/db"},
"server": {"bind": "0.0.0.0", "port": 8080, "max_upload_bytes": 1024, "shutdown_timeout": "5s",
  "tls": {"certs": {"cert_file": "c.crt", "key_file": "c.key"}, "ca_source": "ca.crt"}},
"promotion": {"prod": {"require": ["eval", "smoke"], "require_all_passed": true}},
"retention": {"test": {"models": 30, "runs": 7}},
"storage": {
  "s3": [{"bucket": "ml-prod", "endpoint": "http://localhost:9000", "region": "ca-local", "role": "prod"},
         {"bucket": "ml-test", "role": "test", "path_style": false, "public": true}],
  "fs": [{"path": "/blobs", "role": "*"}]},
"auth": {"anonymous": "read", "oidc": {"issuer": "https://id.example.com", "audience": "flymodel", "roles": {"admins": "admin"}}},
"client": {"server": "http://localhost:9009", "token": "t"},
"upsert": {"namespace": "ns", "model": "m", "version": "v1", "state": "qa",
  "artifacts": [{"name": "w", "path": "w.bin", "extra": {"k": "v"}}],
  "experiments": [{"name": "eval", "state": "passed", "metrics": {"accuracy": 0.5}}]},
"tracing": {"otlp": {"target": "localhost:4317", "tls": {"certs": "client.pem"}}}
}`,
	"json5": `// flymodel, in JSON5
{
  data_dir: 'data',
  log: {level: 'debug', format: 'json'},
  database: {url: 'postgres://u@h/db'},
  server: {bind: '0.0.0.0', port: 8080, max_upload_bytes: 1024, shutdown_timeout: '5s',
    tls: {certs: {cert_file: 'c.crt', key_file: 'c.key'}, ca_source: 'ca.crt'}},
  promotion: {prod: {require: ['eval', 'smoke',], require_all_passed: true}},
  retention: {test: {models: 30, runs: 7}},
  /* one bucket per role */
  storage: {
    s3: [{bucket: 'ml-prod', endpoint: 'http://localhost:9000', region: 'ca-local', role: 'prod'},
         {bucket: 'ml-test', role: 'test', path_style: false, public: true},],
    fs: [{path: '/blobs', role: '*'}],
  },
  auth: {anonymous: 'read', oidc: {issuer: 'https://id.example.com', audience: 'flymodel', roles: {admins: 'admin'}}},
  client: {server: 'http://localhost:9009', token: 't'},
  upsert: {namespace: 'ns', model: 'm', version: 'v1', state: 'qa',
    artifacts: [{name: 'w', path: 'w.bin', extra: {k: 'v'}}],
    experiments: [{name: 'eval', state: 'passed', metrics: {accuracy: 0.5}}]},
  tracing: {otlp: {target: 'localhost:4317', tls: {certs: 'client.pem'}}},
}`,
}

func TestFormats(t *testing.T) {
	want := Default()
	want.DataDir = "data"
	want.Log = Log{Level: "debug", Format: "json"}
	want.Database.URL = "postgres://u@h/db"
	want.Server.Bind = "0.0.0.0"
	want.Server.Port = 8080
	want.Server.MaxUploadBytes = 1024
	want.Server.ShutdownTimeout = 5 * time.Second
	want.Server.TLS = TLS{Certs: TLSCerts{CertFile: "c.crt", KeyFile: "c.key"}, CASource: "ca.crt"}
	want.Promotion = map[string]Promotion{"prod": {Require: []string{"eval", "smoke"}, RequireAllPassed: true}}
	want.Retention = map[string]Retention{"test": {Models: ptr(30), Runs: ptr(7)}}
	want.Storage = Storage{
		S3: []S3Storage{
			{Bucket: "ml-prod", Endpoint: "http://localhost:9000", Region: "ca-local", Role: "prod", PathStyle: true},
			{Bucket: "ml-test", Role: "test", Public: true},
		},
		FS:         []FSStorage{{Path: "/blobs"}},
		PresignTTL: DefaultPresignTTL,
	}
	want.Auth = Auth{Anonymous: "read", SessionTTL: DefaultSessionTTL, OIDC: OIDC{
		Issuer: "https://id.example.com", Audience: "flymodel", RoleClaim: "roles",
		Roles: map[string]string{"admins": "admin"}, JWKSMinRefresh: DefaultJWKSMinRefresh, Scopes: DefaultOIDCScopes,
	}}
	want.Client = Client{Server: "http://localhost:9009", Token: "t"}
	want.Upsert = Upsert{
		Namespace: "ns", Model: "m", Version: "v1", State: "qa",
		Artifacts:   []UpsertArtifact{{Name: "w", Path: "w.bin", Extra: map[string]any{"k": "v"}}},
		Experiments: []UpsertExperiment{{Name: "eval", State: "passed", Metrics: map[string]any{"accuracy": 0.5}}},
	}
	want.Tracing.OTLP = OTLP{Target: "localhost:4317", TLS: TLS{Certs: TLSCerts{PEMFile: "client.pem"}}}

	for ext, content := range formats {
		t.Run(ext, func(t *testing.T) {
			name := "config/flymodel." + ext
			dir := writeFiles(t, map[string]string{name: content})
			got, err := Load(LoadOptions{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if got.Source != filepath.Join(dir, name) {
				t.Errorf("Source = %q, want %q", got.Source, filepath.Join(dir, name))
			}
			got.Source = ""
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	content := func(name string, port int) string {
		switch filepath.Ext(name) {
		case ".toml":
			return "[server]\nport = " + itoa(port)
		case ".yaml", ".yml":
			return "server:\n  port: " + itoa(port)
		default:
			return `{"server": {"port": ` + itoa(port) + `}}`
		}
	}
	tests := []struct {
		name  string
		files []string // each gets its own port: 9100 + index
		file  string   // LoadOptions.File
		want  string   // file used; "" = none
	}{
		{name: "none"},
		{name: "root toml", files: []string{"flymodel.toml"}, want: "flymodel.toml"},
		{name: "config beats root", files: []string{"flymodel.toml", "config/flymodel.json5"}, want: "config/flymodel.json5"},
		{name: "json beats json5", files: []string{"config/flymodel.json5", "config/flymodel.json"}, want: "config/flymodel.json"},
		{name: "yml beats json", files: []string{"config/flymodel.json", "config/flymodel.yml"}, want: "config/flymodel.yml"},
		{name: "yaml beats yml", files: []string{"config/flymodel.yml", "config/flymodel.yaml"}, want: "config/flymodel.yaml"},
		{name: "toml beats yaml", files: []string{"flymodel.toml", "config/flymodel.yaml", "config/flymodel.toml"}, want: "config/flymodel.toml"},
		{name: "ignores others", files: []string{"flymodel.yaml", "config/flymodel.ini"}},
		{name: "explicit beats search", files: []string{"config/flymodel.toml", "other.yaml"}, file: "other.yaml", want: "other.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for i, f := range tt.files {
				files[f] = content(f, 9100+i)
			}
			dir := writeFiles(t, files)
			cfg, err := Load(LoadOptions{Dir: dir, File: tt.file})
			if err != nil {
				t.Fatal(err)
			}
			wantSource, wantPort := "", 9009
			if tt.want != "" {
				wantSource = filepath.Join(dir, tt.want)
				for i, f := range tt.files {
					if f == tt.want {
						wantPort = 9100 + i
					}
				}
			}
			if cfg.Source != wantSource || cfg.Server.Port != wantPort {
				t.Errorf("Source, port = %q, %d; want %q, %d", cfg.Source, cfg.Server.Port, wantSource, wantPort)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestFileErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"flymodel.ini": "x=1", "bad.toml": "[server\n"})
	tests := []struct {
		file, want string
	}{
		{"missing.toml", "config: " + filepath.Join(dir, "missing.toml") + ": file does not exist"},
		{filepath.Join(dir, "gone.yaml"), "config: " + filepath.Join(dir, "gone.yaml") + ": file does not exist"},
		{"flymodel.ini", `unknown file type ".ini"`},
		{"bad.toml", "config: " + filepath.Join(dir, "bad.toml") + ": "},
	}
	for _, tt := range tests {
		_, err := Load(LoadOptions{Dir: dir, File: tt.file})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q) = %v, want an error containing %q", tt.file, err, tt.want)
		}
	}
}

func TestEnv(t *testing.T) {
	const file = `
[log]
level = "error"
[database]
url = "postgres://file"
[server]
port = 7000
temp_dir = "/file/tmp"
[server.tls.certs]
cert_file = "c.crt"
key_file = "c.key"
[retention.test]
models = 30
[client]
server = "http://file:1"
`
	tests := []struct {
		name    string
		environ []string
		got     func(*Config) any
		want    any
	}{
		{"no env keeps file", nil, func(c *Config) any { return c.Server.Port }, 7000},
		{"temp dir", []string{"FLYMODEL_SERVER_TEMP_DIR=/env/tmp"}, func(c *Config) any { return c.Server.TempDir }, "/env/tmp"},
		{"log level", []string{"FLYMODEL_LOG_LEVEL=trace"}, func(c *Config) any { return c.Log.Level }, "trace"},
		{"port", []string{"FLYMODEL_SERVER_PORT=8080"}, func(c *Config) any { return c.Server.Port }, 8080},
		{"max upload", []string{"FLYMODEL_SERVER_MAX_UPLOAD_BYTES=1024"}, func(c *Config) any { return c.Server.MaxUploadBytes }, int64(1024)},
		{"duration", []string{"FLYMODEL_SERVER_SHUTDOWN_TIMEOUT=2m"}, func(c *Config) any { return c.Server.ShutdownTimeout }, 2 * time.Minute},
		{"DB_URL", []string{"DB_URL=sqlite:env.db"}, func(c *Config) any { return c.DatabaseURL() }, "sqlite:env.db"},
		{"FLYMODEL_DATABASE_URL beats DB_URL", []string{"FLYMODEL_DATABASE_URL=postgres://fm", "DB_URL=sqlite:env.db"}, func(c *Config) any { return c.Database.URL }, "postgres://fm"},
		{"FLYMODEL_DATABASE_URL beats DB_URL after it", []string{"DB_URL=sqlite:env.db", "FLYMODEL_DATABASE_URL=postgres://fm"}, func(c *Config) any { return c.Database.URL }, "postgres://fm"},
		{"empty is unset", []string{"DB_URL=", "FLYMODEL_SERVER_PORT="}, func(c *Config) any { return []any{c.Database.URL, c.Server.Port} }, []any{"postgres://file", 7000}},
		{"FLYMODEL_SERVER", []string{"FLYMODEL_SERVER=http://env:2"}, func(c *Config) any { return c.Client.Server }, "http://env:2"},
		{"FLYMODEL_CLIENT_SERVER beats FLYMODEL_SERVER", []string{"FLYMODEL_CLIENT_SERVER=http://env:3", "FLYMODEL_SERVER=http://env:2"}, func(c *Config) any { return c.Client.Server }, "http://env:3"},
		{"FLYMODEL_TOKEN", []string{"FLYMODEL_TOKEN=secret"}, func(c *Config) any { return c.Client.Token }, "secret"},
		{"list", []string{"FLYMODEL_PROMOTION_PROD_REQUIRE=eval, smoke,"}, func(c *Config) any { return c.Promotion["prod"].Require }, []string{"eval", "smoke"}},
		{"bool", []string{"FLYMODEL_PROMOTION_QA_REQUIRE_ALL_PASSED=true"}, func(c *Config) any { return c.Promotion["qa"].RequireAllPassed }, true},
		{"retention merges with file", []string{"FLYMODEL_RETENTION_TEST_RUNS=7"}, func(c *Config) any { return c.Retention["test"] }, Retention{Models: ptr(30), Runs: ptr(7)}},
		{"staging alias", []string{"FLYMODEL_RETENTION_STAGING_MODELS=9"}, func(c *Config) any { return *c.Retention["stage"].Models }, 9},
		{"pem replaces table", []string{"FLYMODEL_SERVER_TLS_CERTS=/env.pem"}, func(c *Config) any { return c.Server.TLS.Certs }, TLSCerts{PEMFile: "/env.pem"}},
		{"table field", []string{"FLYMODEL_SERVER_TLS_CERTS_KEY_FILE=env.key"}, func(c *Config) any { return c.Server.TLS.Certs }, TLSCerts{CertFile: "c.crt", KeyFile: "env.key"}},
		{"upsert scalar", []string{"FLYMODEL_UPSERT_STATE=staging"}, func(c *Config) any { return c.Upsert.State }, "stage"},
		{"unknown FLYMODEL_ ignored", []string{"FLYMODEL_TEST_POSTGRES_URL=postgres://x", "FLYMODEL_REQUIRE_SERVICES=1", "FLYMODEL_STORAGE_S3_0_BUCKET=x", "NOT_FLYMODEL=1"}, func(c *Config) any { return c.Server.Port }, 7000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoadTOML(t, file, tt.environ...)
			if got := tt.got(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// The original flymodel's conf/flymodel.toml retention section, verbatim.
const originalRetention = `[retention]

[[retention.prod]]

[[retention.qa]]
models = 365

[[retention.staging]]
models = 365

[[retention.test]]
models = 365
runs = 28
`

func TestRetentionForms(t *testing.T) {
	want := map[string]Retention{
		"prod":  {},
		"qa":    {Models: ptr(365)},
		"stage": {Models: ptr(365)},
		"test":  {Models: ptr(365), Runs: ptr(28)},
	}
	tests := []struct{ name, content string }{
		{"array form (original)", originalRetention},
		{"table form", `
[retention.prod]
[retention.qa]
models = 365
[retention.stage]
models = 365
[retention.test]
models = 365
runs = 28
`},
		{"array entries merge", `
[retention.prod]
[retention.qa]
models = 365
[retention.staging]
models = 365
[[retention.test]]
models = 365
[[retention.test]]
runs = 28
[[retention.test]]
models = 365
`},
		{"yaml list", "retention:\n  prod: []\n  qa: [{models: 365}]\n  staging: {models: 365}\n  test: [{models: 365}, {runs: 28}]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "flymodel.toml"
			if strings.HasPrefix(tt.name, "yaml") {
				name = "config/flymodel.yaml"
			}
			dir := writeFiles(t, map[string]string{name: tt.content})
			cfg, err := Load(LoadOptions{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Retention, want) {
				t.Errorf("Retention = %v, want %v", cfg.Retention, want)
			}
		})
	}
}

func TestStagingAlias(t *testing.T) {
	cfg := mustLoadTOML(t, `
[promotion.staging]
require = ["eval"]
[[storage.s3]]
bucket = "ml-stage"
role = "staging"
[[storage.fs]]
path = "/blobs"
[upsert]
state = "staging"
`)
	if got := cfg.Promotion["stage"].Require; !reflect.DeepEqual(got, []string{"eval"}) {
		t.Errorf("promotion.stage.require = %v", got)
	}
	if got := cfg.Storage.S3[0].Role; got != "stage" {
		t.Errorf("storage.s3[0].role = %q", got)
	}
	if got := cfg.Upsert.State; got != "stage" {
		t.Errorf("upsert.state = %q", got)
	}
	if !cfg.Storage.FS[0].Serves("test") || cfg.Storage.FS[0].Role != "" {
		t.Errorf("fs without role = %+v, want every role", cfg.Storage.FS[0])
	}
}

func TestTLSCerts(t *testing.T) {
	tests := []struct {
		name, content string
		want          TLSCerts
	}{
		{"string", "[server.tls]\ncerts = \"server.pem\"", TLSCerts{PEMFile: "server.pem"}},
		{"inline table", "[server.tls]\ncerts = { cert_file = \"s.crt\", key_file = \"s.key\" }", TLSCerts{CertFile: "s.crt", KeyFile: "s.key"}},
		{"table (original)", "[server.tls.certs]\ncert_file = \"s.crt\"\nkey_file = \"s.key\"", TLSCerts{CertFile: "s.crt", KeyFile: "s.key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoadTOML(t, tt.content)
			if cfg.Server.TLS.Certs != tt.want {
				t.Errorf("server.tls.certs = %+v, want %+v", cfg.Server.TLS.Certs, tt.want)
			}
			if !cfg.Server.TLS.Certs.IsSet() {
				t.Error("IsSet = false")
			}
			otlp := mustLoadTOML(t, "[tracing.otlp]\ntarget = \"h:4317\"\n"+strings.Replace(tt.content, "[server.tls", "[tracing.otlp.tls", 1))
			if otlp.Tracing.OTLP.TLS.Certs != tt.want {
				t.Errorf("tracing.otlp.tls.certs = %+v, want %+v", otlp.Tracing.OTLP.TLS.Certs, tt.want)
			}
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct{ content, key string }{
		{"[server]\nprot = 1", "server.prot"},
		{"[membership]\naddress = \"127.0.0.1:14426\"", "membership"},
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\nbuckt = \"c\"", "storage.s3[0].buckt"},
		{"[retention.prod]\ndays = 3", "retention.prod.days"},
		{"[[retention.prod]]\n[[retention.prod]]\ndays = 3", "retention.prod.days"},
		{"[server.tls.certs]\npem_file = \"x\"", "server.tls.certs.pem_file"},
		{"[[upsert.artifacts]]\npath = \"p\"\nnme = \"n\"", "upsert.artifacts[0].nme"},
		{"[tracing.otlp.tls]\nca = \"x\"", "tracing.otlp.tls.ca"},
	}
	for _, tt := range tests {
		dir := writeFiles(t, map[string]string{"flymodel.toml": tt.content})
		_, err := Load(LoadOptions{Dir: dir})
		want := `config: ` + filepath.Join(dir, "flymodel.toml") + `: unknown key "` + tt.key + `"`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v, want an error containing %q", tt.content, err, want)
		}
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		content string
		want    string // key: message, after "config: <file>: "
	}{
		{"[log]\nlevel = \"loud\"", `log.level: invalid value "loud" (want error, warn, info, debug or trace)`},
		{"[log]\nformat = \"xml\"", `log.format: invalid value "xml"`},
		{"[server]\nport = 70000", "server.port: invalid value 70000 (want 0 to 65535; 0 picks a free port)"},
		{"[server]\nport = 65536", "server.port: invalid value 65536"},
		{"[server]\nport = \"9009\"", "server.port: expected type 'int'"},
		{"[server]\nmax_upload_bytes = 0", "server.max_upload_bytes: invalid value 0"},
		{"[server]\nmax_upload_bytes = -1", "server.max_upload_bytes: invalid value -1"},
		{"[server]\nshutdown_timeout = \"soon\"", `server.shutdown_timeout: invalid duration "soon"`},
		{"[server]\nshutdown_timeout = 30", `server.shutdown_timeout: want a duration string`},
		{"[server]\nsweep_interval = \"0s\"", `server.sweep_interval: invalid value 0s`},
		{"[server.tls]\ncerts = { cert_file = \"c\" }", "server.tls.certs: cert_file and key_file go together"},
		{"[server.tls]\nca_source = \"ca.crt\"", "server.tls.ca_source: client certificates (mTLS) need server.tls.certs"},
		{"[promotion.live]\nrequire = [\"eval\"]", `promotion.live: unknown lifecycle "live" (want test, qa, stage or prod)`},
		{"[promotion.prod]\nrequire = \"eval\"", "promotion.prod.require: "},
		{"[retention.test]\nruns = -1", "retention.test.runs: invalid value -1"},
		{"[retention.test]\nmodels = 0", "retention.test.models: invalid value 0"},
		{"[retention.test]\nmodels = 1.5", "retention.test.models: want an integer, got 1.5"},
		{"[retention.forever]\nmodels = 1", `retention.forever: unknown lifecycle "forever"`},
		{"[[retention.test]]\nmodels = 1\n[[retention.test]]\nmodels = 2", "retention.test[1].models: set twice, to 1 and 2"},
		{"[retention.stage]\nmodels = 1\n[retention.staging]\nmodels = 2", "retention.staging.models: set twice, to 1 and 2"},
		{"[storage]\npresign_ttl = \"0s\"", "storage.presign_ttl: invalid value 0s (want 1s to 168h0m0s)"},
		{"[storage]\npresign_ttl = \"500ms\"", "storage.presign_ttl: invalid value 500ms"},
		{"[storage]\npresign_ttl = \"169h\"", "storage.presign_ttl: invalid value 169h0m0s"},
		{"[storage]\npresign_ttl = 60", "storage.presign_ttl: want a duration string"},
		{"[[aliases.protected]]\nrole = \"admin\"", "aliases.protected[0].name: required"},
		{"[[aliases.protected]]\nname = \"prod\"", `aliases.protected[0].name: invalid alias name "prod": must not be a lifecycle name`},
		{"[[aliases.protected]]\nname = \"@x\"", `aliases.protected[0].name: invalid alias name "@x": must not start with "@"`},
		{"[[aliases.protected]]\nname = \"a/b\"", `aliases.protected[0].name: invalid alias name "a/b": must not contain '/'`},
		{"[[aliases.protected]]\nname = \"c\"\n[[aliases.protected]]\nname = \"c\"", `aliases.protected[1].name: "c" is also the name of aliases.protected[0]`},
		{"[[aliases.protected]]\nname = \"c\"\nrole = \"owner\"", `aliases.protected[0].role: invalid value "owner" (want read, write or admin)`},
		{"[[aliases.protected]]\nname = \"c\"\nlifecycle = \"live\"", `aliases.protected[0].lifecycle: invalid value "live"`},
		{"[[aliases.protected]]\nname = \"c\"\nlifecycel = \"prod\"", `unknown key "aliases.protected[0].lifecycel"`},
		{"[[storage.s3]]\nrole = \"prod\"", "storage.s3[0].bucket: required"},
		{"[[storage.s3]]\nbucket = \"b\"", "storage.s3[0].role: required"},
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"live\"", `storage.s3[0].role: invalid value "live"`},
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\ntimeout = \"100ms\"", `storage.s3[0].timeout: invalid value 100ms (want 1s to 1h0m0s)`},
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\ntimeout = \"-5s\"", `storage.s3[0].timeout: invalid value -5s`},
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\ntimeout = \"2h\"", `storage.s3[0].timeout: invalid value 2h0m0s`},
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\ntimeout = 30", `storage.s3[0].timeout: want a duration string`},
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\nendpoint = \"localhost:9000\"", `storage.s3[0].endpoint: invalid URL "localhost:9000"`},
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\naccess_key_id = \"k\"", "storage.s3[0].access_key_id: access_key_id and secret_access_key go together"},
		{"[[storage.s3]]\nbucket = \"a\"\nrole = \"qa\"\n[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"", `storage.s3[1].role: role "qa" is already served by storage.s3[0].role`},
		{"[[storage.fs]]\nrole = \"qa\"", "storage.fs[0].path: required"},
		{"[[storage.fs]]\npath = \"a\"\n[[storage.fs]]\npath = \"b\"\nrole = \"*\"", "storage.fs[1].role: every role is already served by storage.fs[0].role"},
		{"[[storage.fs]]\npath = \"a\"\nrole = \"live\"", `storage.fs[0].role: invalid value "live" (want *, test, qa, stage or prod)`},
		{"[storage]\ns3 = { bucket = \"b\" }", "storage.s3: "},
		{"[auth]\nanonymous = \"all\"", `auth.anonymous: invalid value "all" (want "", none, read, write or admin)`},
		{"[auth.oidc]\njwks_min_refresh = \"0s\"", "auth.oidc.jwks_min_refresh: invalid value 0s (want 1s to 24h0m0s)"},
		{"[auth.oidc]\njwks_min_refresh = \"25h\"", "auth.oidc.jwks_min_refresh: invalid value 25h0m0s"},
		{"[auth.oidc]\njwks_min_refresh = 60", "auth.oidc.jwks_min_refresh: want a duration string"},
		{"[auth]\nsession_ttl = \"30s\"", "auth.session_ttl: invalid value 30s (want 1m0s to 720h0m0s)"},
		{"[auth]\nsession_ttl = \"721h\"", "auth.session_ttl: invalid value 721h0m0s"},
		{"[auth.oidc]\nclient_id = \"ui\"", "auth.oidc.issuer: required when auth.oidc is configured"},
		{"[auth.oidc]\nclient_secret = \"s\"", "auth.oidc.client_id: required with auth.oidc.client_secret"},
		{"[auth.oidc]\nissuer = \"https://id.example.com\"\naudience = \"a\"\nclient_id = \"ui\"\nscopes = \"profile email\"", "auth.oidc.scopes: invalid value \"profile email\""},
		{"[auth.oidc]\nissuer = \"https://id.example.com\"\naudience = \"a\"\nclient_id = \"ui\"\nredirect_url = \"/cb\"", "auth.oidc.redirect_url: invalid URL \"/cb\""},
		{"[server]\nmax_uploads_per_principal = 0", "server.max_uploads_per_principal: invalid value 0 (want more than 0)"},
		{"[server]\nmax_uploads_per_principal = -4", "server.max_uploads_per_principal: invalid value -4"},
		{"[auth.oidc]\nissuer = \"https://id\"", "auth.oidc.audience: required with auth.oidc.issuer"},
		{"[auth.oidc]\naudience = \"fm\"", "auth.oidc.issuer: required when auth.oidc is configured"},
		{"[auth.oidc]\nissuer = \"https://id\"\naudience = \"fm\"\nroles = { ops = \"root\" }", `auth.oidc.roles.ops: invalid value "root" (want read, write or admin, or <role>:<namespace> such as write:ml-team)`},
		{"[auth.oidc]\nissuer = \"https://id\"\naudience = \"fm\"\nroles = { ops = \"none\" }", `auth.oidc.roles.ops: invalid value "none"`},
		{"[auth.oidc]\nissuer = \"https://id\"\naudience = \"fm\"\nroles = { ops = \"root:ml\" }", `auth.oidc.roles.ops: invalid value "root:ml"`},
		{"[auth.oidc]\nissuer = \"https://id\"\naudience = \"fm\"\nroles = { ops = \"write:\" }", `auth.oidc.roles.ops: invalid value "write:"`},
		{"[auth.oidc]\nissuer = \"https://id\"\naudience = \"fm\"\nroles = { ops = \"write:a/b\" }", `auth.oidc.roles.ops: invalid value "write:a/b"`},
		{"[auth.oidc]\nissuer = \"https://id\"\naudience = \"fm\"\nroles = { ops = \"read:..\" }", `auth.oidc.roles.ops: invalid value "read:.."`},
		{"[client]\nserver = \"localhost:9009\"", `client.server: invalid URL "localhost:9009"`},
		{"[upsert]\nstate = \"done\"", `upsert.state: invalid value "done"`},
		{"[[upsert.artifacts]]\nname = \"a\"", "upsert.artifacts[0].path: required"},
		{"[[upsert.artifacts]]\nname = \"a\"\npath = \"x\"\n[[upsert.artifacts]]\nname = \"a\"\npath = \"y\"", `upsert.artifacts[1].name: "a" is also the name of upsert.artifacts[0]`},
		{"[[upsert.experiments]]\nstate = \"passed\"", "upsert.experiments[0].name: required"},
		{"[[upsert.experiments]]\nname = \"e\"\nstate = \"green\"", `upsert.experiments[0].state: invalid value "green" (want created, running, passed or failed)`},
		{"[tracing.otlp]\ntarget = \"localhost\"", `tracing.otlp.target: invalid value "localhost"`},
		{"[tracing.otlp.tls]\nca_source = \"ca\"", "tracing.otlp.tls: set without tracing.otlp.target"},
		{"data_dir = \"\"", "data_dir: must not be empty"},
	}
	for _, tt := range tests {
		dir := writeFiles(t, map[string]string{"flymodel.toml": tt.content})
		_, err := Load(LoadOptions{Dir: dir})
		want := "config: " + filepath.Join(dir, "flymodel.toml") + ": " + tt.want
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v\nwant an error containing %q", tt.content, err, want)
		}
	}
}

func TestOIDCScopedRoles(t *testing.T) {
	cfg := mustLoadTOML(t, `
[auth.oidc]
issuer = "https://id.example.com"
audience = "flymodel"
role_claim = "groups"
roles = { admins = "admin", ml = "write:ml-team", cv = "read:cv.vision", odd = "admin:a:b" }
`)
	want := map[string]string{"admins": "admin", "ml": "write:ml-team", "cv": "read:cv.vision", "odd": "admin:a:b"}
	if !reflect.DeepEqual(cfg.Auth.OIDC.Roles, want) {
		t.Errorf("roles = %v, want %v", cfg.Auth.OIDC.Roles, want)
	}
}

func TestAllErrorsReported(t *testing.T) {
	_, err := loadTOML(t, `
[server]
port = -1
prot = 1
shutdown_timeout = 30
[log]
level = "loud"
[promotion.prod]
require = "eval"
[[storage.fs]]
role = "qa"
`, "FLYMODEL_AUTH_ANONYMOUS=all", "FLYMODEL_SERVER_BIND=")
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, key := range []string{"server.port", `"server.prot"`, "server.shutdown_timeout", "log.level", "promotion.prod.require", "storage.fs[0].path", "FLYMODEL_AUTH_ANONYMOUS"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}

func TestInvalidEnv(t *testing.T) {
	tests := []struct{ env, want string }{
		{"FLYMODEL_LOG_LEVEL=loud", `config: FLYMODEL_LOG_LEVEL: log.level: invalid value "loud" (want error, warn, info, debug or trace)`},
		{"FLYMODEL_SERVER_PORT=abc", `config: FLYMODEL_SERVER_PORT: server.port: invalid integer "abc"`},
		{"FLYMODEL_SERVER_PORT=70000", `config: FLYMODEL_SERVER_PORT: server.port: invalid value 70000`},
		{"FLYMODEL_SERVER_MAX_UPLOAD_BYTES=5GiB", `config: FLYMODEL_SERVER_MAX_UPLOAD_BYTES: server.max_upload_bytes: invalid integer "5GiB"`},
		{"FLYMODEL_SERVER_SHUTDOWN_TIMEOUT=soon", `config: FLYMODEL_SERVER_SHUTDOWN_TIMEOUT: server.shutdown_timeout: invalid duration "soon"`},
		{"FLYMODEL_PROMOTION_PROD_REQUIRE_ALL_PASSED=maybe", `config: FLYMODEL_PROMOTION_PROD_REQUIRE_ALL_PASSED: promotion.prod.require_all_passed: invalid boolean "maybe"`},
		{"FLYMODEL_RETENTION_TEST_RUNS=-1", `config: FLYMODEL_RETENTION_TEST_RUNS: retention.test.runs: invalid value -1`},
		{"DB_URL=", ""}, // empty is the default, not an error
		{"FLYMODEL_AUTH_ANONYMOUS=all", `config: FLYMODEL_AUTH_ANONYMOUS: auth.anonymous: invalid value "all"`},
		{"FLYMODEL_SERVER=localhost", `config: FLYMODEL_SERVER: client.server: invalid URL "localhost"`},
	}
	for _, tt := range tests {
		_, err := loadTOML(t, "[log]\nlevel = \"info\"", tt.env)
		if tt.want == "" {
			if err != nil {
				t.Errorf("env %s: %v", tt.env, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %s: Load = %v\nwant an error containing %q", tt.env, err, tt.want)
		}
	}
	// Both forms of server.tls.certs from the environment.
	_, err := Load(LoadOptions{Dir: t.TempDir(), Environ: []string{"FLYMODEL_SERVER_TLS_CERTS=a.pem", "FLYMODEL_SERVER_TLS_CERTS_CERT_FILE=c.crt"}})
	want := "config: FLYMODEL_SERVER_TLS_CERTS_CERT_FILE: server.tls.certs.cert_file: conflicts with FLYMODEL_SERVER_TLS_CERTS"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("both cert forms: Load = %v, want an error containing %q", err, want)
	}
}

func TestValidateMessage(t *testing.T) {
	cfg := Default()
	cfg.Server.Port = -1
	want := "config: server.port: invalid value -1 (want 0 to 65535; 0 picks a free port)"
	if err := cfg.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %q", err, want)
	}
}

func TestSamples(t *testing.T) {
	var loaded []*Config
	for _, name := range []string{"../../conf/flymodel.toml", "../../conf/flymodel.yaml"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			cfg, err := Load(LoadOptions{File: name})
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Storage.S3) != 4 || cfg.Storage.S3[3].Bucket != "ml-prod" || !cfg.Storage.S3[3].PathStyle {
				t.Errorf("storage.s3 = %+v", cfg.Storage.S3)
			}
			if p := cfg.Promotion["prod"]; !p.RequireAllPassed || !reflect.DeepEqual(p.Require, []string{"eval"}) {
				t.Errorf("promotion.prod = %+v", p)
			}
			if r := cfg.Retention["test"]; r.Runs == nil || *r.Runs != 28 {
				t.Errorf("retention.test = %+v", r)
			}
			if !strings.HasPrefix(cfg.DatabaseURL(), "postgres://") {
				t.Errorf("DatabaseURL = %q", cfg.DatabaseURL())
			}
			cfg.Source = ""
			loaded = append(loaded, cfg)
		})
	}
	if len(loaded) == 2 {
		a, _ := json.Marshal(loaded[0])
		b, _ := json.Marshal(loaded[1])
		if string(a) != string(b) {
			t.Errorf("samples differ:\ntoml %s\nyaml %s", a, b)
		}
	}
}

func TestEnvWarnings(t *testing.T) {
	tests := []struct {
		env  string
		want string // "" = no warning
	}{
		{"FLYMODEL_LOG_LEVL=debug", "FLYMODEL_LOG_LEVL is not a configuration key; did you mean FLYMODEL_LOG_LEVEL (log.level)?"},
		{"FLYMODEL_SERVER_TEMPDIR=/t", "FLYMODEL_SERVER_TEMPDIR is not a configuration key; did you mean FLYMODEL_SERVER_TEMP_DIR (server.temp_dir)?"},
		{"FLYMODEL_server_port=1", "FLYMODEL_server_port is not a configuration key; did you mean FLYMODEL_SERVER_PORT (server.port)?"},
		{"FLYMODEL_RETENTION_STAGING_MODEL=1", "FLYMODEL_RETENTION_STAGING_MODEL is not a configuration key; did you mean FLYMODEL_RETENTION_STAGING_MODELS (retention.stage.models)?"},
		{"FLYMODEL_STORAGE_S3_0_BUCKET=x", "FLYMODEL_STORAGE_S3_0_BUCKET is not a configuration key: storage.s3 is set whole, in a configuration file or as JSON in FLYMODEL_STORAGE_S3"},
		{"FLYMODEL_UPSERT_ARTIFACTS_0_PATH=x", "FLYMODEL_UPSERT_ARTIFACTS_0_PATH is not a configuration key: upsert.artifacts is set whole, in a configuration file or as JSON in FLYMODEL_UPSERT_ARTIFACTS"},
		{"FLYMODEL_AUTH_OIDC_ROLES_OPS=admin", "FLYMODEL_AUTH_OIDC_ROLES_OPS is not a configuration key: auth.oidc.roles is set whole, in a configuration file or as JSON in FLYMODEL_AUTH_OIDC_ROLES"},
		{"FLYMODEL_LOG_LEVL=", ""}, // empty is unset
		{"FLYMODEL_LOG_LEVEL=debug", ""},
		{"FLYMODEL_SERVER=http://h:1", ""},
		{"FLYMODEL_TOKEN=t", ""},
		{"FLYMODEL_RETENTION_STAGING_MODELS=1", ""},
		{"FLYMODEL_SERVER_TLS_CERTS=a.pem", ""},
		{"FLYMODEL_TEST_POSTGRES_URL=postgres://x", ""},
		{"FLYMODEL_TEST_S3_ENDPOINT=http://x", ""},
		{"FLYMODEL_REQUIRE_SERVICES=1", ""},
		{"DB_URL=sqlite:x.db", ""},
		{"FLYMODELX=1", ""},
		{"PATH=/bin", ""},
	}
	for _, tt := range tests {
		var warnings []string
		_, err := Load(LoadOptions{Dir: t.TempDir(), Environ: []string{tt.env}, Warn: func(msg string) { warnings = append(warnings, msg) }})
		if err != nil {
			t.Errorf("env %s: Load = %v, want success", tt.env, err)
		}
		var want []string
		if tt.want != "" {
			want = []string{tt.want}
		}
		if !reflect.DeepEqual(warnings, want) {
			t.Errorf("env %s: warnings %q, want %q", tt.env, warnings, want)
		}
	}
	// A warning does not hide errors, nor do errors hide it.
	var warnings []string
	_, err := Load(LoadOptions{Dir: t.TempDir(), Environ: []string{"FLYMODEL_LOG_LEVEL=loud", "FLYMODEL_SERVR_PORT=1"}, Warn: func(msg string) { warnings = append(warnings, msg) }})
	if err == nil || !strings.Contains(err.Error(), "FLYMODEL_LOG_LEVEL: log.level") {
		t.Errorf("Load = %v, want the log.level error", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "did you mean FLYMODEL_SERVER_PORT (server.port)?") {
		t.Errorf("warnings = %q", warnings)
	}
}

// mapstructure lists a table's unknown keys only when all its values decode;
// Load lists them anyway.
func TestUnknownKeysBesideBadValues(t *testing.T) {
	_, err := loadTOML(t, "membership = 1\n[server]\nport = \"x\"\nprot = 1\n[[storage.s3]]\nbucket = 1\nbuckt = \"b\"\n[retention.test]\nmodels = 1.5\ndays = 1\n")
	for _, want := range []string{`unknown key "membership"`, `unknown key "server.prot"`, `unknown key "storage.s3[0].buckt"`, `unknown key "retention.test.days"`, "server.port: expected type 'int'", "retention.test.models: want an integer"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load = %v\nwant an error containing %q", err, want)
		}
	}
}

// TestAllowedOriginsAndHosts: server.allowed_origins and
// server.allowed_hosts take values as browsers send them (an origin,
// a Host header) and refuse anything else, suggesting the canonical form.
func TestAllowedOriginsAndHosts(t *testing.T) {
	good := "[server]\nallowed_origins = [\"https://ui.example.com\", \"http://localhost:5173\", \"http://[::1]:3000\"]\n" +
		"allowed_hosts = [\"registry.example.com\", \"registry.example.com:9009\", \"10.0.0.5\", \"[::1]:9009\"]\n"
	cfg, err := Load(LoadOptions{Dir: writeFiles(t, map[string]string{"flymodel.toml": good})})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Server.AllowedOrigins) != 3 || len(cfg.Server.AllowedHosts) != 4 {
		t.Errorf("loaded %q and %q", cfg.Server.AllowedOrigins, cfg.Server.AllowedHosts)
	}
	env := mustLoadTOML(t, "", "FLYMODEL_SERVER_ALLOWED_ORIGINS=https://a.example, https://b.example", "FLYMODEL_SERVER_ALLOWED_HOSTS=a.example")
	if !reflect.DeepEqual(env.Server.AllowedOrigins, []string{"https://a.example", "https://b.example"}) || !reflect.DeepEqual(env.Server.AllowedHosts, []string{"a.example"}) {
		t.Errorf("from the environment: %q and %q", env.Server.AllowedOrigins, env.Server.AllowedHosts)
	}
	tests := []struct{ content, want string }{
		{`allowed_origins = ["https://ui.example.com/"]`, `server.allowed_origins[0]: invalid value "https://ui.example.com/" (want an origin as browsers send it: scheme://host[:port], lowercase, no path, such as "https://ui.example.com")`},
		{`allowed_origins = ["https://UI.example.com"]`, `such as "https://ui.example.com"`},
		{`allowed_origins = ["https://ui.example.com:443"]`, `such as "https://ui.example.com"`},
		{`allowed_origins = ["ui.example.com"]`, `server.allowed_origins[0]: invalid value "ui.example.com"`},
		{`allowed_origins = ["ftp://ui.example.com"]`, `server.allowed_origins[0]: invalid value`},
		{`allowed_origins = ["https://ui.example.com/app"]`, `server.allowed_origins[0]: invalid value`},
		{`allowed_origins = ["https://user@ui.example.com"]`, `server.allowed_origins[0]: invalid value`},
		{`allowed_origins = ["null"]`, `server.allowed_origins[0]: invalid value "null"`},
		{`allowed_origins = ["https://ok.example", "*"]`, `server.allowed_origins[1]: invalid value "*"`},
		{`allowed_hosts = ["https://registry.example.com"]`, `server.allowed_hosts[0]: invalid value "https://registry.example.com" (want a host name or address, optionally with :port, lowercase, no scheme or path)`},
		{`allowed_hosts = ["Registry.example.com"]`, `such as "registry.example.com"`},
		{`allowed_hosts = ["registry.example.com:0"]`, `server.allowed_hosts[0]: invalid value`},
		{`allowed_hosts = ["registry.example.com:99999"]`, `server.allowed_hosts[0]: invalid value`},
		{`allowed_hosts = ["registry.example.com/x"]`, `server.allowed_hosts[0]: invalid value`},
		{`allowed_hosts = ["::1"]`, `server.allowed_hosts[0]: invalid value "::1"`},
		{`allowed_hosts = [""]`, `server.allowed_hosts[0]: invalid value ""`},
	}
	for _, tt := range tests {
		dir := writeFiles(t, map[string]string{"flymodel.toml": "[server]\n" + tt.content})
		_, err := Load(LoadOptions{Dir: dir})
		want := "config: " + filepath.Join(dir, "flymodel.toml") + ": " + tt.want
		if strings.HasPrefix(tt.want, "such as") {
			want = tt.want
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v\nwant an error containing %q", tt.content, err, want)
		}
	}
}

// TestErrorsHideSecrets: a URL at fault is named without its credentials,
// and an S3 endpoint with credentials in it is refused.
func TestErrorsHideSecrets(t *testing.T) {
	for _, c := range []struct{ content, want string }{
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\nendpoint = \"http://AKIA:s3cret@minio:9000\"",
			"storage.s3[0].endpoint: credentials in the URL are not allowed"},
		{"[[storage.s3]]\nbucket = \"b\"\nrole = \"qa\"\nendpoint = \"http://AKIA:s3c/ret@minio:9000\"",
			`storage.s3[0].endpoint: invalid URL "http://AKIA:xxxxx@minio:9000"`},
		{"[client]\nserver = \"http://u:s3cret@bad host:9009\"", `client.server: invalid URL "http://u:xxxxx@bad host:9009"`},
		{"[auth.oidc]\nissuer = \"ftp://u:s3cret@id\"\naudience = \"fm\"", `auth.oidc.issuer: invalid URL "ftp://u:xxxxx@id"`},
	} {
		_, err := loadTOML(t, c.content)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "ret@") {
			t.Errorf("Load(%q) = %v\nwant an error containing %q and no secret", c.content, err, c.want)
		}
	}
}

func TestProtectedAliases(t *testing.T) {
	cfg := mustLoadTOML(t, "[[aliases.protected]]\nname = \"champion\"\nrole = \"admin\"\nlifecycle = \"staging\"\n[[aliases.protected]]\nname = \"canary\"\n")
	want := []ProtectedAlias{{Name: "champion", Role: "admin", Lifecycle: "stage"}, {Name: "canary"}}
	if !reflect.DeepEqual(cfg.Aliases.Protected, want) {
		t.Errorf("aliases.protected = %+v, want %+v", cfg.Aliases.Protected, want)
	}
}
