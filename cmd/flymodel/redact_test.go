package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/db/dbtest"
)

// TestSecretsNotPrinted runs real commands with credentials in every URL
// they take — a PostgreSQL URL with a password in its userinfo and in its
// query, --server with user information (a good URL and one that does not
// parse), an S3 endpoint and an OIDC issuer with credentials — and greps
// everything they print (stdout, stderr, the server's log) for the
// secrets: none may show.
func TestSecretsNotPrinted(t *testing.T) {
	dir := t.TempDir()
	var secrets []string
	secret := func(name string) string {
		s := "Sec" + name + "-Zq7w"
		secrets = append(secrets, s)
		return s
	}
	check := func(t *testing.T, what, out string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s shows the secret %s:\n%s", what, s, out)
			}
		}
	}
	checkRun := func(t *testing.T, wantCode int, env []string, args ...string) result {
		t.Helper()
		res := flymodel(t, dir, env, args...)
		if res.code != wantCode && (wantCode >= 0 || res.code == 0) {
			t.Errorf("%s: exit %d, want %d (-1: a failure)\n%s", strings.Join(args, " "), res.code, wantCode, res)
		}
		check(t, strings.Join(args, " "), res.stdout+res.stderr)
		return res
	}

	t.Run("postgres-url", func(t *testing.T) {
		if os.Getenv(dbtest.PostgresEnv) == "" && os.Getenv(dbtest.RequireServicesEnv) != "1" {
			t.Skip(dbtest.PostgresEnv + " not set: skipping PostgreSQL")
		}
		// The test server trusts local connections: the passwords are
		// sent, and ignored.
		u, err := url.Parse(dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), secret("UserInfo"))
		q := u.Query()
		q.Set("password", secret("Query"))
		u.RawQuery = q.Encode()
		dbURL := u.String()
		checkRun(t, 0, nil, "migrate", "up", "-d", dbURL)
		checkRun(t, 0, []string{"DB_URL=" + dbURL, "FLYMODEL_LOG_LEVEL=debug"}, "token", "list")
		srv := startServe(t, dir, []string{"FLYMODEL_LOG_LEVEL=debug"}, "-p", "0", "-d", dbURL)
		logs := srv.drainLogs()
		if !strings.Contains(logs, "database opened") || !strings.Contains(logs, "xxxxx") {
			t.Errorf("no redacted database URL in the log:\n%s", logs)
		}
		check(t, "serve's log", logs)
		// Unreachable: the error names the URL.
		down := "postgres://fm:" + secret("Down") + "@127.0.0.1:1/fm?sslmode=disable&password=" + secret("DownQuery")
		checkRun(t, 1, nil, "migrate", "up", "-d", down)
	})

	t.Run("server-url", func(t *testing.T) {
		for _, server := range []string{
			"http://user:" + secret("Server") + "@127.0.0.1:1",
			"http://user:" + secret("BadHost") + "@bad host:1",
			"http://127.0.0.1:1/?token=" + secret("ServerQuery"),
		} {
			checkRun(t, 2, nil, "upsert", "--server", server, "--namespace", "ns", "--model", "m", "--version", "v1")
			checkRun(t, -1, []string{"FLYMODEL_SERVER=" + server}, "upsert", "--namespace", "ns", "--model", "m", "--version", "v1")
			checkRun(t, 2, nil, "pull", "--server", server, "ns/m", "v1", filepath.Join(dir, "out"))
		}
	})

	t.Run("config-urls", func(t *testing.T) {
		for name, content := range map[string]string{
			"s3-endpoint":       "[[storage.s3]]\nbucket = \"b\"\nrole = \"test\"\nendpoint = \"http://AKIA:" + secret("Endpoint") + "@127.0.0.1:1\"\n",
			"s3-endpoint-slash": "[[storage.s3]]\nbucket = \"b\"\nrole = \"test\"\nendpoint = \"http://AKIA:" + secret("Endpoint") + "/x@127.0.0.1:1\"\n",
			"database-url":      "[database]\nurl = \"postgres://fm:" + secret("ConfigDB") + "@127.0.0.1:1/fm?password=" + secret("ConfigDBQuery") + "\"\n",
			"client-server":     "[client]\nserver = \"http://u:" + secret("ConfigServer") + "@bad host\"\n",
		} {
			t.Run(name, func(t *testing.T) {
				file := filepath.Join(dir, name+".toml")
				if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				res := flymodel(t, dir, nil, "-c", file, "serve", "-p", "0")
				if res.code == 0 {
					t.Fatalf("serve started:\n%s", res)
				}
				check(t, "serve -c "+name, res.stdout+res.stderr)
			})
		}
		// OIDC discovery fails, naming the issuer.
		file := filepath.Join(dir, "oidc.toml")
		content := "[auth.oidc]\nissuer = \"http://u:" + secret("Issuer") + "@127.0.0.1:1\"\naudience = \"fm\"\n"
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		res := flymodel(t, dir, nil, "-c", file, "serve", "-p", "0")
		if res.code == 0 || !strings.Contains(res.stderr, "oidc") {
			t.Fatalf("serve with an unreachable issuer:\n%s", res)
		}
		check(t, "serve with an unreachable issuer", res.stdout+res.stderr)
	})
}
