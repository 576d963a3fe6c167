// Package config holds the configuration of the flymodel binary and loads it with
// koanf from, in increasing precedence: embedded defaults, one file, and FLYMODEL_*
// environment variables. Command-line flags come last: the CLI sets fields on the
// loaded Config itself.
package config

import (
	"path/filepath"
	"time"

	"github.com/flymodel/flymodel/api"
)

// Lifecycles are the lifecycle states of a model version, in promotion order. They
// are also the roles of storage locations. "staging" is accepted in configuration
// as an alias of "stage" (the original flymodel used it) and normalised on load.
var Lifecycles = api.Lifecycles

// Config is the whole configuration. Its koanf tags are the dotted keys of
// DESIGN.md's configuration table.
type Config struct {
	// DataDir is the data folder; the default database file, blob root and
	// upload staging folder live inside it.
	DataDir   string               `koanf:"data_dir"`
	Log       Log                  `koanf:"log"`
	Database  Database             `koanf:"database"`
	Server    Server               `koanf:"server"`
	Promotion map[string]Promotion `koanf:"promotion"` // keyed by lifecycle
	Retention map[string]Retention `koanf:"retention"` // keyed by lifecycle
	Storage   Storage              `koanf:"storage"`
	Auth      Auth                 `koanf:"auth"`
	Client    Client               `koanf:"client"`
	Upsert    Upsert               `koanf:"upsert"`
	Tracing   Tracing              `koanf:"tracing"`
	Aliases   Aliases              `koanf:"aliases"`

	// Source is the file the configuration was read from, "" if none.
	Source string `koanf:"-"`
	// Shadowed lists the files of the search path that exist but were
	// not read, because Source came first or -c named another.
	Shadowed []string `koanf:"-"`
	// EnvVars lists the environment variables that set keys, sorted.
	EnvVars []string `koanf:"-"`
}

// Log configures logging.
type Log struct {
	Level  string `koanf:"level"`  // error, warn, info, debug or trace ("warning" is read as warn)
	Format string `koanf:"format"` // auto (text on a terminal, else json), text or json
}

// Database configures the metadata database.
type Database struct {
	// URL is postgres://…, postgresql://…, sqlite:PATH or a bare file path;
	// "" means the embedded SQLite file (see Config.DatabaseURL). The DB_URL
	// environment variable also sets it, below FLYMODEL_DATABASE_URL.
	URL string `koanf:"url"`
	// BusyTimeout is how long a write to the SQLite database waits for a
	// lock another process holds before it is answered 503 (SQLite's
	// busy_timeout); PostgreSQL ignores it.
	BusyTimeout time.Duration `koanf:"busy_timeout"`
}

// Server configures `flymodel serve`.
type Server struct {
	Bind string `koanf:"bind"`
	Port int    `koanf:"port"`
	// TempDir stages uploads that must not sit in memory; "" means
	// <data_dir>/tmp (see Config.TempDir).
	TempDir        string `koanf:"temp_dir"`
	MaxUploadBytes int64  `koanf:"max_upload_bytes"`
	// MaxConcurrentUploads caps the uploads in flight (429 beyond).
	MaxConcurrentUploads int `koanf:"max_concurrent_uploads"`
	// MaxUploadsPerPrincipal caps the uploads in flight of one caller (a
	// token, an OIDC subject, or all anonymous requests together), so that
	// one caller cannot hold every slot.
	MaxUploadsPerPrincipal int           `koanf:"max_uploads_per_principal"`
	ShutdownTimeout        time.Duration `koanf:"shutdown_timeout"`
	// StallTimeout cuts off a request body that sends nothing for this long.
	StallTimeout time.Duration `koanf:"stall_timeout"`
	// SweepInterval is how often the server applies retention.
	SweepInterval time.Duration `koanf:"sweep_interval"`
	// TLS: Certs enables HTTPS; CASource additionally requires clients to
	// present a certificate signed by that CA bundle (mTLS).
	TLS TLS `koanf:"tls"`
	// AllowedOrigins are the origins (scheme://host[:port], as browsers
	// send them) besides the server's own whose pages may send it
	// state-changing requests without a bearer token.
	AllowedOrigins []string `koanf:"allowed_origins"`
	// AllowedHosts are the Host header values (host, or host:port) the
	// server answers besides the loopback ones; when set, or on a loopback
	// bind, other Hosts are refused (DNS rebinding).
	AllowedHosts []string `koanf:"allowed_hosts"`
	// UI serves the web UI at / (every path outside the API); false
	// leaves only the API (other paths are JSON 404s).
	UI bool `koanf:"ui"`
}

// TLS is a TLS setup: for the server, Certs is its certificate and CASource the
// CA that client certificates must chain to; for a client (tracing), Certs is
// its client certificate and CASource the CA it trusts for the server.
type TLS struct {
	Certs    TLSCerts `koanf:"certs"`
	CASource string   `koanf:"ca_source"`
}

// TLSCerts is a certificate and its key, given either as one PEM file holding the
// certificate chain then the key (the string form, `certs = "x.pem"`) or as two
// files (the table form, `certs = {cert_file = "…", key_file = "…"}`).
type TLSCerts struct {
	CertFile string `koanf:"cert_file"`
	KeyFile  string `koanf:"key_file"`
	PEMFile  string `koanf:"-"` // set by the string form
}

// IsSet reports whether a certificate is configured in either form.
func (c TLSCerts) IsSet() bool { return c.CertFile != "" || c.KeyFile != "" || c.PEMFile != "" }

// Promotion gates entry into one lifecycle.
type Promotion struct {
	// Require names experiments that must have passed on the version.
	Require []string `koanf:"require"`
	// RequireAllPassed requires every experiment of the version to have passed,
	// and at least one to exist.
	RequireAllPassed bool `koanf:"require_all_passed"`
}

// Retention says how many days to keep things in one lifecycle; nil is forever.
type Retention struct {
	Models *int `koanf:"models"` // model versions
	Runs   *int `koanf:"runs"`   // experiment runs
}

// Storage lists blob locations. With none configured, see Config.EffectiveFS.
type Storage struct {
	S3 []S3Storage `koanf:"s3"`
	FS []FSStorage `koanf:"fs"`
	// PresignTTL is how long the presigned URL of a redirected download
	// (GET …?redirect=true on a private S3 store) stays valid.
	PresignTTL time.Duration `koanf:"presign_ttl"`
}

// DefaultPresignTTL is the default of storage.presign_ttl.
const DefaultPresignTTL = 15 * time.Minute

// MaxPresignTTL is the longest storage.presign_ttl: S3 signatures (version
// 4) are valid for at most seven days.
const MaxPresignTTL = 7 * 24 * time.Hour

// S3Storage is one S3-compatible bucket serving one role. Without keys,
// credentials come from the standard AWS environment at use time.
type S3Storage struct {
	Bucket   string `koanf:"bucket"`
	Endpoint string `koanf:"endpoint"` // "" = AWS
	Region   string `koanf:"region"`
	Role     string `koanf:"role"` // a lifecycle
	// Public: setup-storage lets anyone read the bucket's objects (not
	// list them), and artifacts stored in it show their object URL.
	Public bool `koanf:"public"`
	// PathStyle addresses buckets as endpoint/bucket (MinIO, Ceph) rather than
	// bucket.endpoint. It defaults to true, applied per entry when loading.
	PathStyle       bool   `koanf:"path_style"`
	AccessKeyID     string `koanf:"access_key_id"`
	SecretAccessKey string `koanf:"secret_access_key"`
	// Timeout bounds each wait on the server: a small call in all, a
	// transfer between two chunks of bytes. 0 is the store's default
	// (s3blob.DefaultTimeout, 30s).
	Timeout time.Duration `koanf:"timeout"`
}

// MinS3Timeout and MaxS3Timeout bound storage.s3[].timeout.
const (
	MinS3Timeout = time.Second
	MaxS3Timeout = time.Hour
)

// FSStorage is a blob root on the local filesystem. Role is a lifecycle, or ""
// for a root serving every role that no other entry serves; a file may write
// "*" or leave role out for the same thing ("*" is normalised to "").
type FSStorage struct {
	Path string `koanf:"path"`
	Role string `koanf:"role"`
}

// Serves reports whether the root stores blobs for lifecycle role.
func (f FSStorage) Serves(role string) bool { return f.Role == "" || f.Role == role }

// Auth configures who may do what.
type Auth struct {
	// Anonymous is what requests without a token may do: none, read, write or
	// admin; "" leaves it to the server (write on a loopback bind while no
	// token exists, else none).
	Anonymous string `koanf:"anonymous"`
	OIDC      OIDC   `koanf:"oidc"`
	// SessionTTL is how long a web UI session lasts from sign-in (fixed,
	// not sliding); a token's session also ends with the token.
	SessionTTL time.Duration `koanf:"session_ttl"`
}

// DefaultSessionTTL is the default of auth.session_ttl.
const DefaultSessionTTL = 12 * time.Hour

// MinSessionTTL and MaxSessionTTL bound auth.session_ttl.
const (
	MinSessionTTL = time.Minute
	MaxSessionTTL = 30 * 24 * time.Hour
)

// DefaultOIDCScopes is the default of auth.oidc.scopes.
const DefaultOIDCScopes = "openid profile email"

// OIDC configures JWT bearer tokens from an OpenID Connect issuer.
type OIDC struct {
	Issuer    string `koanf:"issuer"`
	Audience  string `koanf:"audience"`
	RoleClaim string `koanf:"role_claim"`
	// Roles maps a value of the role claim to read, write or admin.
	Roles map[string]string `koanf:"roles"`
	// JWKSMinRefresh is the least time between two fetches of the issuer's
	// key set (a token naming an unknown key makes one).
	JWKSMinRefresh time.Duration `koanf:"jwks_min_refresh"`
	// ClientID enables "Sign in with <issuer>" in the web UI (the
	// authorization-code flow with PKCE); ID tokens must name it as their
	// audience.
	ClientID string `koanf:"client_id"`
	// ClientSecret makes the web UI a confidential client; "" for a public
	// one.
	ClientSecret string `koanf:"client_secret"`
	// Scopes are asked for at sign-in, space-separated; openid is required.
	Scopes string `koanf:"scopes"`
	// RedirectURL is the callback URL registered at the issuer
	// (…/ui/oidc/callback or as the UI names it); "" derives it from each
	// request's scheme and Host.
	RedirectURL string `koanf:"redirect_url"`
}

// DefaultJWKSMinRefresh is the default of auth.oidc.jwks_min_refresh.
const DefaultJWKSMinRefresh = time.Minute

// MaxJWKSMinRefresh is the longest auth.oidc.jwks_min_refresh: a key the
// issuer rotates in is accepted at most this long after its first use.
const MaxJWKSMinRefresh = 24 * time.Hour

// DefaultMaxUploadsPerPrincipal is the default of
// server.max_uploads_per_principal: a quarter of the default
// server.max_concurrent_uploads.
const DefaultMaxUploadsPerPrincipal = 16

// Client says where `flymodel upsert` sends its requests. FLYMODEL_SERVER and
// FLYMODEL_TOKEN also set these, below FLYMODEL_CLIENT_SERVER/_TOKEN.
type Client struct {
	Server string    `koanf:"server"` // http(s) URL
	Token  string    `koanf:"token"`
	TLS    ClientTLS `koanf:"tls"`
}

// ClientTLS is how client commands reach an HTTPS server: CAFile adds a PEM
// bundle of CAs to the system's trusted roots (a private CA); CertFile and
// KeyFile are the client certificate a server with mTLS asks for.
type ClientTLS struct {
	CAFile   string `koanf:"ca_file"`
	CertFile string `koanf:"cert_file"`
	KeyFile  string `koanf:"key_file"`
}

// Upsert is what `flymodel upsert` registers.
type Upsert struct {
	Namespace   string             `koanf:"namespace"`
	Model       string             `koanf:"model"`
	Version     string             `koanf:"version"`
	State       string             `koanf:"state"` // a lifecycle, "" = leave as is
	Artifacts   []UpsertArtifact   `koanf:"artifacts"`
	Experiments []UpsertExperiment `koanf:"experiments"`
}

// UpsertArtifact is one file to upload to the version.
type UpsertArtifact struct {
	Name   string         `koanf:"name"`
	Path   string         `koanf:"path"`
	Format string         `koanf:"format"`
	Encode string         `koanf:"encode"`
	Extra  map[string]any `koanf:"extra"`
}

// UpsertExperiment is one experiment of the version.
type UpsertExperiment struct {
	Name    string         `koanf:"name"`
	State   string         `koanf:"state"` // created, running, passed or failed; "" = leave as is
	Metrics map[string]any `koanf:"metrics"`
	Params  map[string]any `koanf:"params"`
}

// Tracing configures span export.
type Tracing struct {
	OTLP OTLP `koanf:"otlp"`
}

// OTLP configures the OTLP/gRPC exporter; an empty Target disables it.
type OTLP struct {
	Target string `koanf:"target"` // host:port or URL
	TLS    TLS    `koanf:"tls"`
}

// Default returns the embedded defaults: a laptop setup that needs no services.
func Default() *Config {
	return &Config{
		DataDir:  "flymodel-data",
		Log:      Log{Level: "info", Format: "auto"},
		Database: Database{BusyTimeout: 10 * time.Second},
		Server: Server{
			Bind:                   "localhost",
			Port:                   9009,
			MaxUploadBytes:         5 << 30,
			MaxConcurrentUploads:   64,
			MaxUploadsPerPrincipal: DefaultMaxUploadsPerPrincipal,
			ShutdownTimeout:        30 * time.Second,
			StallTimeout:           time.Minute,
			SweepInterval:          time.Hour,
			UI:                     true,
		},
		Storage: Storage{PresignTTL: DefaultPresignTTL},
		Auth: Auth{SessionTTL: DefaultSessionTTL,
			OIDC: OIDC{RoleClaim: "roles", JWKSMinRefresh: DefaultJWKSMinRefresh, Scopes: DefaultOIDCScopes}},
	}
}

// DatabaseURL is Database.URL, or the embedded SQLite file in the data folder.
func (c *Config) DatabaseURL() string {
	if c.Database.URL != "" {
		return c.Database.URL
	}
	return "sqlite:" + filepath.Join(c.DataDir, "flymodel.db")
}

// TempDir is Server.TempDir, or tmp in the data folder.
func (c *Config) TempDir() string {
	if c.Server.TempDir != "" {
		return c.Server.TempDir
	}
	return filepath.Join(c.DataDir, "tmp")
}

// EffectiveFS is the configured filesystem roots or, when no storage at all is
// configured, the default: one root, <data_dir>/blobs, serving every role.
func (c *Config) EffectiveFS() []FSStorage {
	if len(c.Storage.S3) == 0 && len(c.Storage.FS) == 0 {
		return []FSStorage{{Path: filepath.Join(c.DataDir, "blobs")}}
	}
	return c.Storage.FS
}

// Aliases configures model aliases (champion, canary, …).
type Aliases struct {
	// Protected are the aliases that only a role may move or delete, and
	// whose target must be in a lifecycle; each name applies to that alias
	// of every model.
	Protected []ProtectedAlias `koanf:"protected"`
}

// ProtectedAlias is the rule of one alias name: moving or deleting it
// needs Role in the model's namespace ("" leaves it to write, as any
// alias), and setting it needs a target in Lifecycle ("" for any).
type ProtectedAlias struct {
	Name      string `koanf:"name"`
	Role      string `koanf:"role"`      // read, write or admin; "" = write
	Lifecycle string `koanf:"lifecycle"` // a lifecycle; "" = any
}
