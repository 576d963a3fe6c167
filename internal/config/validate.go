package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/redact"
)

// Validate reports every invalid value, each error naming its key. Load calls
// it (naming the source too); call it again after applying flags. Values must
// be canonical: Load, not Validate, maps "staging" to "stage" and fs role "*" to "".
func (c *Config) Validate() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, fmt.Errorf("config: %s: %s", p.key, p.msg))
	}
	return errors.Join(errs...)
}

// want formats allowed values as "a, b or c".
func want(allowed []string) string {
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		if a == "" {
			a = `""`
		}
		quoted[i] = a
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// checker collects problems; its methods check one section each, and the
// small rules the sections share.
type checker struct{ probs []problem }

// problems lists every invalid value, section by section.
func (c *Config) problems() []problem {
	var ch checker
	ch.general(c)
	ch.server(c.Server)
	ch.promotion(c.Promotion)
	ch.retention(c.Retention)
	ch.storage(c.Storage)
	ch.auth(c.Auth)
	ch.client(c.Client)
	ch.upsert(c.Upsert)
	ch.tracing(c.Tracing)
	ch.aliases(c.Aliases)
	return ch.probs
}

// add records a problem; a URL in its message (the value at fault) shows
// no credentials.
func (ch *checker) add(key, format string, args ...any) {
	ch.probs = append(ch.probs, problem{key, redact.URL(fmt.Sprintf(format, args...))})
}

func (ch *checker) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		ch.add(key, "invalid value %q (want %s)", value, want(allowed))
	}
}

func (ch *checker) lifecycle(key, value string) { ch.oneOf(key, value, Lifecycles...) }

// lifecycleKey checks a map key that must be a lifecycle.
func (ch *checker) lifecycleKey(key, lc string) {
	if !slices.Contains(Lifecycles, lc) {
		ch.add(key, "unknown lifecycle %q (want %s)", lc, want(Lifecycles))
	}
}

func (ch *checker) httpURL(key, value string) {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ch.add(key, "invalid URL %q (want http://host[:port] or https://…)", value)
	}
}

func (ch *checker) certs(key string, tls TLS) {
	if tls.Certs.PEMFile != "" && (tls.Certs.CertFile != "" || tls.Certs.KeyFile != "") {
		ch.add(key+".certs", "give either one PEM file or cert_file and key_file, not both")
	}
	if (tls.Certs.CertFile == "") != (tls.Certs.KeyFile == "") {
		ch.add(key+".certs", "cert_file and key_file go together")
	}
}

// general checks the top-level keys and log.
func (ch *checker) general(c *Config) {
	if c.DataDir == "" {
		ch.add("data_dir", "must not be empty")
	}
	ch.oneOf("log.level", c.Log.Level, "error", "warn", "info", "debug", "trace")
	ch.oneOf("log.format", c.Log.Format, "auto", "text", "json")
	if c.Database.BusyTimeout < time.Millisecond {
		ch.add("database.busy_timeout", "invalid value %s (want 1ms or more)", c.Database.BusyTimeout)
	}
}

func (ch *checker) server(s Server) {
	if s.Port < 0 || s.Port > 65535 {
		ch.add("server.port", "invalid value %d (want 0 to 65535; 0 picks a free port)", s.Port)
	}
	if s.MaxConcurrentUploads <= 0 {
		ch.add("server.max_concurrent_uploads", "invalid value %d (want more than 0)", s.MaxConcurrentUploads)
	}
	if s.MaxUploadsPerPrincipal <= 0 {
		ch.add("server.max_uploads_per_principal", "invalid value %d (want more than 0)", s.MaxUploadsPerPrincipal)
	}
	if s.MaxUploadBytes <= 0 {
		ch.add("server.max_upload_bytes", "invalid value %d (want more than 0)", s.MaxUploadBytes)
	}
	if s.StallTimeout <= 0 {
		ch.add("server.stall_timeout", "invalid value %s (want more than 0)", s.StallTimeout)
	}
	if s.ShutdownTimeout < 0 {
		ch.add("server.shutdown_timeout", "invalid value %s (want 0 or more)", s.ShutdownTimeout)
	}
	if s.SweepInterval <= 0 {
		ch.add("server.sweep_interval", "invalid value %s (want more than 0)", s.SweepInterval)
	}
	ch.certs("server.tls", s.TLS)
	if s.TLS.CASource != "" && !s.TLS.Certs.IsSet() {
		ch.add("server.tls.ca_source", "client certificates (mTLS) need server.tls.certs")
	}
	for i, o := range s.AllowedOrigins {
		if canon, ok := canonicalOrigin(o); !ok || canon != o {
			ch.add(fmt.Sprintf("server.allowed_origins[%d]", i), "invalid value %q (want an origin as browsers send it: scheme://host[:port], lowercase, no path%s)", o, suggest(canon, o))
		}
	}
	for i, h := range s.AllowedHosts {
		if canon, ok := canonicalHost(h); !ok || canon != h {
			ch.add(fmt.Sprintf("server.allowed_hosts[%d]", i), "invalid value %q (want a host name or address, optionally with :port, lowercase, no scheme or path%s)", h, suggest(canon, h))
		}
	}
}

// suggest is ", such as CANON" when canon is a nearby valid value.
func suggest(canon, given string) string {
	if canon == "" || canon == given {
		return ""
	}
	return fmt.Sprintf(", such as %q", canon)
}

// canonicalOrigin is o as a browser serializes an origin (RFC 6454):
// http or https, the host in lowercase, the port only when it is not
// the scheme's default; false when o is no origin at all.
func canonicalOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.TrimSuffix(o, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return "", false
	}
	host, ok := canonicalHost(u.Host)
	if !ok {
		return "", false
	}
	if port := u.Port(); (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return strings.ToLower(u.Scheme) + "://" + host, true
}

// canonicalHost is h, a Host header value (host or host:port; an IPv6
// address in brackets), in lowercase; false when it is not one.
func canonicalHost(h string) (string, bool) {
	host, port := h, ""
	if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
		var err error
		if host, port, err = net.SplitHostPort(h); err != nil {
			if !strings.HasPrefix(h, "[") || !strings.HasSuffix(h, "]") {
				return "", false
			}
			host, port = h[1:len(h)-1], ""
		}
		if port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
				return "", false
			}
		}
	}
	if host == "" || strings.ContainsAny(host, "/?#@ \t%") {
		return "", false
	}
	if strings.Contains(host, ":") {
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return "", false
		}
		host = "[" + host + "]"
	}
	host = strings.ToLower(host)
	if port != "" {
		host += ":" + port
	}
	return host, true
}

func (ch *checker) promotion(promotion map[string]Promotion) {
	for _, lc := range slices.Sorted(maps.Keys(promotion)) {
		key := "promotion." + lc
		ch.lifecycleKey(key, lc)
		for i, name := range promotion[lc].Require {
			if name == "" {
				ch.add(fmt.Sprintf("%s.require[%d]", key, i), "empty experiment name")
			}
		}
	}
}

func (ch *checker) retention(retention map[string]Retention) {
	for _, lc := range slices.Sorted(maps.Keys(retention)) {
		key := "retention." + lc
		ch.lifecycleKey(key, lc)
		r := retention[lc]
		if r.Models != nil && *r.Models <= 0 {
			ch.add(key+".models", "invalid value %d (want days, more than 0; leave out to keep forever)", *r.Models)
		}
		if r.Runs != nil && *r.Runs <= 0 {
			ch.add(key+".runs", "invalid value %d (want days, more than 0; leave out to keep forever)", *r.Runs)
		}
	}
}

// storage checks each location, and that each role has at most one; an fs
// root with role "" serves the roles no other entry does.
func (ch *checker) storage(s Storage) {
	servedBy := map[string]string{}
	serve := func(key, role string) {
		if other, dup := servedBy[role]; dup {
			what := fmt.Sprintf("role %q", role)
			if role == "" {
				what = "every role"
			}
			ch.add(key, "%s is already served by %s", what, other)
			return
		}
		servedBy[role] = key
	}
	for i, s := range s.S3 {
		key := fmt.Sprintf("storage.s3[%d]", i)
		if s.Bucket == "" {
			ch.add(key+".bucket", "required")
		}
		if s.Role == "" {
			ch.add(key+".role", "required (want %s)", want(Lifecycles))
		} else if slices.Contains(Lifecycles, s.Role) {
			serve(key+".role", s.Role)
		} else {
			ch.lifecycle(key+".role", s.Role)
		}
		if u, err := url.Parse(s.Endpoint); err == nil && u.User != nil {
			ch.add(key+".endpoint", "credentials in the URL are not allowed: give access_key_id and secret_access_key, or the AWS environment variables")
		} else if s.Endpoint != "" {
			ch.httpURL(key+".endpoint", s.Endpoint)
		}
		if (s.AccessKeyID == "") != (s.SecretAccessKey == "") {
			ch.add(key+".access_key_id", "access_key_id and secret_access_key go together")
		}
		if s.Timeout != 0 && (s.Timeout < MinS3Timeout || s.Timeout > MaxS3Timeout) {
			ch.add(key+".timeout", "invalid value %s (want %s to %s)", s.Timeout, MinS3Timeout, MaxS3Timeout)
		}
	}
	if s.PresignTTL < time.Second || s.PresignTTL > MaxPresignTTL {
		ch.add("storage.presign_ttl", "invalid value %s (want 1s to %s)", s.PresignTTL, MaxPresignTTL)
	}
	for i, f := range s.FS {
		key := fmt.Sprintf("storage.fs[%d]", i)
		if f.Path == "" {
			ch.add(key+".path", "required")
		}
		if f.Role != "" && !slices.Contains(Lifecycles, f.Role) {
			ch.oneOf(key+".role", f.Role, append([]string{"*"}, Lifecycles...)...)
			continue
		}
		serve(key+".role", f.Role)
	}
}

func (ch *checker) auth(a Auth) {
	// Unset (the loopback default), "none", or a role (api.Roles).
	ch.oneOf("auth.anonymous", a.Anonymous, append([]string{"", "none"}, api.Roles...)...)
	oidc := a.OIDC
	if oidc.Issuer != "" {
		if u, err := url.Parse(oidc.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			ch.add("auth.oidc.issuer", "invalid URL %q", oidc.Issuer)
		}
		if oidc.Audience == "" {
			ch.add("auth.oidc.audience", "required with auth.oidc.issuer")
		}
		if oidc.RoleClaim == "" {
			ch.add("auth.oidc.role_claim", "required with auth.oidc.issuer")
		}
	} else if oidc.Audience != "" || len(oidc.Roles) > 0 || oidc.ClientID != "" {
		ch.add("auth.oidc.issuer", "required when auth.oidc is configured")
	}
	if oidc.ClientID == "" && (oidc.ClientSecret != "" || oidc.RedirectURL != "") {
		ch.add("auth.oidc.client_id", "required with auth.oidc.client_secret or auth.oidc.redirect_url")
	}
	if oidc.RedirectURL != "" {
		if u, err := url.Parse(oidc.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
			ch.add("auth.oidc.redirect_url", "invalid URL %q (want an absolute http(s) URL without a fragment)", oidc.RedirectURL)
		}
	}
	if !slices.Contains(strings.Fields(oidc.Scopes), "openid") {
		ch.add("auth.oidc.scopes", "invalid value %q (want space-separated scopes including openid)", oidc.Scopes)
	}
	if a.SessionTTL < MinSessionTTL || a.SessionTTL > MaxSessionTTL {
		ch.add("auth.session_ttl", "invalid value %s (want %s to %s)", a.SessionTTL, MinSessionTTL, MaxSessionTTL)
	}
	if oidc.JWKSMinRefresh < time.Second || oidc.JWKSMinRefresh > MaxJWKSMinRefresh {
		ch.add("auth.oidc.jwks_min_refresh", "invalid value %s (want 1s to %s)", oidc.JWKSMinRefresh, MaxJWKSMinRefresh)
	}
	for _, claim := range slices.Sorted(maps.Keys(oidc.Roles)) {
		if v := oidc.Roles[claim]; !validRoleMapping(v) {
			ch.add("auth.oidc.roles."+claim, "invalid value %q (want read, write or admin, or <role>:<namespace> such as write:ml-team)", v)
		}
	}
}

func (ch *checker) client(c Client) {
	if c.Server != "" {
		ch.httpURL("client.server", c.Server)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		ch.add("client.tls", "cert_file and key_file go together")
	}
}

func (ch *checker) upsert(u Upsert) {
	if u.State != "" {
		ch.lifecycle("upsert.state", u.State)
	}
	names := map[string]string{}
	for i, a := range u.Artifacts {
		key := fmt.Sprintf("upsert.artifacts[%d]", i)
		if a.Path == "" {
			ch.add(key+".path", "required")
		}
		if a.Name != "" {
			if other, dup := names[a.Name]; dup {
				ch.add(key+".name", "%q is also the name of %s", a.Name, other)
			}
			names[a.Name] = key
		}
	}
	names = map[string]string{}
	for i, e := range u.Experiments {
		key := fmt.Sprintf("upsert.experiments[%d]", i)
		if e.Name == "" {
			ch.add(key+".name", "required")
		} else if other, dup := names[e.Name]; dup {
			ch.add(key+".name", "%q is also the name of %s", e.Name, other)
		} else {
			names[e.Name] = key
		}
		if e.State != "" {
			ch.oneOf(key+".state", e.State, api.ExperimentStates...)
		}
	}
}

func (ch *checker) tracing(t Tracing) {
	otlp := t.OTLP
	if otlp.Target != "" && !validTarget(otlp.Target) {
		ch.add("tracing.otlp.target", "invalid value %q (want host:port or a URL)", otlp.Target)
	}
	ch.certs("tracing.otlp.tls", otlp.TLS)
	if otlp.Target == "" && (otlp.TLS.CASource != "" || otlp.TLS.Certs.IsSet()) {
		ch.add("tracing.otlp.tls", "set without tracing.otlp.target")
	}
}

// validRoleMapping accepts read, write or admin (every namespace) or
// <role>:<namespace> (one namespace; a namespace name is one path segment of
// 1–255 characters without control characters, not . or ..).
func validRoleMapping(s string) bool {
	role, ns, scoped := strings.Cut(s, ":")
	if !slices.Contains(api.Roles, role) {
		return false
	}
	if !scoped {
		return true
	}
	if ns == "" || len(ns) > 255 || ns == "." || ns == ".." || strings.Contains(ns, "/") {
		return false
	}
	return !strings.ContainsFunc(ns, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// validTarget accepts host:port or an absolute URL with a host.
func validTarget(s string) bool {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		return err == nil && u.Host != ""
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// aliases checks aliases.protected: each entry names a valid alias (not a
// lifecycle, not starting with '@') once, a role and a lifecycle when set.
func (ch *checker) aliases(a Aliases) {
	names := map[string]string{}
	for i, p := range a.Protected {
		key := fmt.Sprintf("aliases.protected[%d]", i)
		switch err := aliasName(p.Name); {
		case p.Name == "":
			ch.add(key+".name", "required")
		case err != nil:
			ch.add(key+".name", "invalid alias name %q: %v", p.Name, err)
		default:
			if other, dup := names[p.Name]; dup {
				ch.add(key+".name", "%q is also the name of %s", p.Name, other)
			}
			names[p.Name] = key
		}
		if p.Role != "" {
			ch.oneOf(key+".role", p.Role, "read", "write", "admin")
		}
		if p.Lifecycle != "" {
			ch.lifecycle(key+".lifecycle", p.Lifecycle)
		}
	}
}

// aliasName checks an alias name by the rules of new names the registry
// applies (registry.ValidateAliasName, which this package does not
// import): the alias's own, then those a name in a URL path needs.
func aliasName(name string) error {
	if err := api.ValidateAliasName(name); err != nil {
		return err
	}
	switch {
	case len([]rune(name)) > api.MaxNameLen:
		return fmt.Errorf("must be at most %d characters", api.MaxNameLen)
	case name == "." || name == ".." || name == api.AllNamespaces:
		return fmt.Errorf("must not be %q", name)
	case strings.ContainsAny(name, "/\\"+api.NameReserved):
		return fmt.Errorf("must not contain '/', '\\', '?', '#' or '%%'")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("must not start or end with whitespace")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("must not contain control characters")
	}
	return nil
}
