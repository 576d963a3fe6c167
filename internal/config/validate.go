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

	"github.com/flymodel/flymodel/api"
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

func (c *Config) problems() []problem {
	var probs []problem
	add := func(key, format string, args ...any) {
		probs = append(probs, problem{key, fmt.Sprintf(format, args...)})
	}
	oneOf := func(key, value string, allowed ...string) {
		if !slices.Contains(allowed, value) {
			add(key, "invalid value %q (want %s)", value, want(allowed))
		}
	}
	lifecycle := func(key, value string) { oneOf(key, value, Lifecycles...) }
	httpURL := func(key, value string) {
		u, err := url.Parse(value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(key, "invalid URL %q (want http://host[:port] or https://…)", value)
		}
	}
	certs := func(key string, tls TLS) {
		if tls.Certs.PEMFile != "" && (tls.Certs.CertFile != "" || tls.Certs.KeyFile != "") {
			add(key+".certs", "give either one PEM file or cert_file and key_file, not both")
		}
		if (tls.Certs.CertFile == "") != (tls.Certs.KeyFile == "") {
			add(key+".certs", "cert_file and key_file go together")
		}
	}

	if c.DataDir == "" {
		add("data_dir", "must not be empty")
	}
	oneOf("log.level", c.Log.Level, "error", "info", "debug", "trace")
	oneOf("log.format", c.Log.Format, "auto", "text", "json")

	if c.Server.Port < 0 || c.Server.Port > 65535 {
		add("server.port", "invalid value %d (want 0 to 65535; 0 picks a free port)", c.Server.Port)
	}
	if c.Server.MaxConcurrentUploads <= 0 {
		add("server.max_concurrent_uploads", "invalid value %d (want more than 0)", c.Server.MaxConcurrentUploads)
	}
	if c.Server.MaxUploadBytes <= 0 {
		add("server.max_upload_bytes", "invalid value %d (want more than 0)", c.Server.MaxUploadBytes)
	}
	if c.Server.StallTimeout <= 0 {
		add("server.stall_timeout", "invalid value %s (want more than 0)", c.Server.StallTimeout)
	}
	if c.Server.ShutdownTimeout < 0 {
		add("server.shutdown_timeout", "invalid value %s (want 0 or more)", c.Server.ShutdownTimeout)
	}
	if c.Server.SweepInterval <= 0 {
		add("server.sweep_interval", "invalid value %s (want more than 0)", c.Server.SweepInterval)
	}
	certs("server.tls", c.Server.TLS)
	if c.Server.TLS.CASource != "" && !c.Server.TLS.Certs.IsSet() {
		add("server.tls.ca_source", "client certificates (mTLS) need server.tls.certs")
	}

	for _, lc := range slices.Sorted(maps.Keys(c.Promotion)) {
		key := "promotion." + lc
		lifecycleKey(add, key, lc)
		for i, name := range c.Promotion[lc].Require {
			if name == "" {
				add(fmt.Sprintf("%s.require[%d]", key, i), "empty experiment name")
			}
		}
	}
	for _, lc := range slices.Sorted(maps.Keys(c.Retention)) {
		key := "retention." + lc
		lifecycleKey(add, key, lc)
		r := c.Retention[lc]
		if r.Models != nil && *r.Models <= 0 {
			add(key+".models", "invalid value %d (want days, more than 0; leave out to keep forever)", *r.Models)
		}
		if r.Runs != nil && *r.Runs <= 0 {
			add(key+".runs", "invalid value %d (want days, more than 0; leave out to keep forever)", *r.Runs)
		}
	}

	// Each role has at most one configured location; an fs root with role ""
	// serves the roles no other entry does.
	servedBy := map[string]string{}
	serve := func(key, role string) {
		if other, dup := servedBy[role]; dup {
			what := fmt.Sprintf("role %q", role)
			if role == "" {
				what = "every role"
			}
			add(key, "%s is already served by %s", what, other)
			return
		}
		servedBy[role] = key
	}
	for i, s := range c.Storage.S3 {
		key := fmt.Sprintf("storage.s3[%d]", i)
		if s.Bucket == "" {
			add(key+".bucket", "required")
		}
		if s.Role == "" {
			add(key+".role", "required (want %s)", want(Lifecycles))
		} else if slices.Contains(Lifecycles, s.Role) {
			serve(key+".role", s.Role)
		} else {
			lifecycle(key+".role", s.Role)
		}
		if s.Endpoint != "" {
			httpURL(key+".endpoint", s.Endpoint)
		}
		if (s.AccessKeyID == "") != (s.SecretAccessKey == "") {
			add(key+".access_key_id", "access_key_id and secret_access_key go together")
		}
	}
	for i, f := range c.Storage.FS {
		key := fmt.Sprintf("storage.fs[%d]", i)
		if f.Path == "" {
			add(key+".path", "required")
		}
		if f.Role != "" && !slices.Contains(Lifecycles, f.Role) {
			oneOf(key+".role", f.Role, append([]string{"*"}, Lifecycles...)...)
			continue
		}
		serve(key+".role", f.Role)
	}

	oneOf("auth.anonymous", c.Auth.Anonymous, "", "none", "read", "write")
	oidc := c.Auth.OIDC
	if oidc.Issuer != "" {
		if u, err := url.Parse(oidc.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("auth.oidc.issuer", "invalid URL %q", oidc.Issuer)
		}
		if oidc.Audience == "" {
			add("auth.oidc.audience", "required with auth.oidc.issuer")
		}
		if oidc.RoleClaim == "" {
			add("auth.oidc.role_claim", "required with auth.oidc.issuer")
		}
	} else if oidc.Audience != "" || len(oidc.Roles) > 0 {
		add("auth.oidc.issuer", "required when auth.oidc is configured")
	}
	for _, claim := range slices.Sorted(maps.Keys(oidc.Roles)) {
		if v := oidc.Roles[claim]; !validRoleMapping(v) {
			add("auth.oidc.roles."+claim, "invalid value %q (want read, write or admin, or <role>:<namespace> such as write:ml-team)", v)
		}
	}

	if c.Client.Server != "" {
		httpURL("client.server", c.Client.Server)
	}

	if c.Upsert.State != "" {
		lifecycle("upsert.state", c.Upsert.State)
	}
	names := map[string]string{}
	for i, a := range c.Upsert.Artifacts {
		key := fmt.Sprintf("upsert.artifacts[%d]", i)
		if a.Path == "" {
			add(key+".path", "required")
		}
		if a.Name != "" {
			if other, dup := names[a.Name]; dup {
				add(key+".name", "%q is also the name of %s", a.Name, other)
			}
			names[a.Name] = key
		}
	}
	names = map[string]string{}
	for i, e := range c.Upsert.Experiments {
		key := fmt.Sprintf("upsert.experiments[%d]", i)
		if e.Name == "" {
			add(key+".name", "required")
		} else if other, dup := names[e.Name]; dup {
			add(key+".name", "%q is also the name of %s", e.Name, other)
		} else {
			names[e.Name] = key
		}
		if e.State != "" {
			oneOf(key+".state", e.State, api.ExperimentStates...)
		}
	}

	otlp := c.Tracing.OTLP
	if otlp.Target != "" && !validTarget(otlp.Target) {
		add("tracing.otlp.target", "invalid value %q (want host:port or a URL)", otlp.Target)
	}
	certs("tracing.otlp.tls", otlp.TLS)
	if otlp.Target == "" && (otlp.TLS.CASource != "" || otlp.TLS.Certs.IsSet()) {
		add("tracing.otlp.tls", "set without tracing.otlp.target")
	}
	return probs
}

// lifecycleKey checks a map key that must be a lifecycle.
func lifecycleKey(add func(key, format string, args ...any), key, lc string) {
	if !slices.Contains(Lifecycles, lc) {
		add(key, "unknown lifecycle %q (want %s)", lc, want(Lifecycles))
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
