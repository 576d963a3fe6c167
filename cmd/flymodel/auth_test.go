package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/engine"
	"github.com/flymodel/flymodel/internal/registry"
)

// authDB is a database the auth tests run against.
type authDB struct {
	url  string
	file string // the SQLite file; "" for PostgreSQL
}

// authDatabases runs fn against a SQLite file and, when
// FLYMODEL_TEST_POSTGRES_URL is set, a fresh PostgreSQL database.
func authDatabases(t *testing.T, fn func(t *testing.T, d authDB)) {
	t.Run("sqlite", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "db", "flymodel.db")
		fn(t, authDB{url: "sqlite:" + file, file: file})
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, authDB{url: dbtest.PostgresURL(t)})
	})
}

// holds reports whether the database holds s anywhere in its tokens or its
// audit log: for SQLite, anywhere in the file's bytes (and its WAL).
func (d authDB) holds(t *testing.T, s string) bool {
	t.Helper()
	if d.file != "" {
		found := false
		for _, suffix := range []string{"", "-wal", "-journal"} {
			b, err := os.ReadFile(d.file + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			found = found || strings.Contains(string(b), s)
		}
		return found
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM api_tokens t WHERE strpos(t::text, $1) > 0)
		+ (SELECT COUNT(*) FROM audit_log a WHERE strpos(a::text, $1) > 0)`, s).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// localUser is the actor the CLI records for this process's user.
func localUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil || u.Username == "" {
		return "local:unknown"
	}
	return "local:" + u.Username
}

// makeNamespaces creates the namespaces in the database at dbURL (migrated
// first): a token is limited to namespaces that exist.
func makeNamespaces(t *testing.T, dbURL string, names ...string) {
	t.Helper()
	ctx := context.Background()
	store, err := engine.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(ctx, db.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := registry.New(registry.Options{DB: store})
	for _, name := range names {
		if _, err := r.CreateNamespace(ctx, registry.NewNamespace{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
}

// createToken runs `token create` and returns the secret it printed.
func createToken(t *testing.T, dir, dbURL, name, role string, extra ...string) string {
	t.Helper()
	res := flymodel(t, dir, nil, append([]string{"token", "create", "-d", dbURL, "--name", name, "--role", role}, extra...)...)
	res.expectCode(t, 0)
	secret := strings.TrimSuffix(res.stdout, "\n")
	if !strings.HasPrefix(secret, auth.TokenPrefix) || strings.ContainsAny(secret, " \n\t") || len(secret) < 40 {
		t.Fatalf("token create: stdout is not one fm_ secret\n%s", res)
	}
	if strings.Contains(res.stderr, secret) || !strings.Contains(res.stderr, "created token "+name) {
		t.Fatalf("token create: want a note without the secret on stderr\n%s", res)
	}
	return secret
}

// tokenRow is one line of `token list`.
type tokenRow struct {
	name, role, namespaces, status, created, expires, createdBy string
}

// listTokens runs `token list` and parses its table.
func listTokens(t *testing.T, dir, dbURL string) ([]tokenRow, result) {
	t.Helper()
	res := flymodel(t, dir, nil, "token", "list", "-d", dbURL)
	res.expectCode(t, 0)
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "NAME ") {
		t.Fatalf("token list: no header\n%s", res)
	}
	var rows []tokenRow
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 7 {
			t.Fatalf("token list: line %q has %d columns, want 7", line, len(f))
		}
		rows = append(rows, tokenRow{f[0], f[1], f[2], f[3], f[4], f[5], f[6]})
	}
	return rows, res
}

func TestTokenLifecycle(t *testing.T) {
	authDatabases(t, testTokenLifecycle)
}

func testTokenLifecycle(t *testing.T, d authDB) {
	dir := t.TempDir()
	me := localUser(t)
	tok := func(args ...string) result {
		t.Helper()
		if !slices.Contains(args, "-d") {
			args = append(append([]string{}, args...), "-d", d.url)
		}
		return flymodel(t, dir, nil, args...)
	}

	// Reading and dry runs create nothing, not even the database file.
	if res := tok("token", "list"); res.code != 1 || !strings.Contains(res.stderr, "no registry here") {
		t.Fatalf("token list on an empty database:\n%s", res)
	}
	if res := tok("--dry", "token", "create", "--name", "ci", "--role", "write"); res.code != 0 || res.stdout != "would create token ci: write in every namespace\n" {
		t.Fatalf("--dry token create:\n%s", res)
	}
	if res := tok("--dry", "token", "revoke", "ci"); res.code != 1 || !strings.Contains(res.stderr, `no live token named "ci"`) {
		t.Fatalf("--dry token revoke of no token:\n%s", res)
	}
	if d.file != "" {
		if _, err := os.Stat(filepath.Dir(d.file)); !os.IsNotExist(err) {
			t.Fatalf("list and dry runs created the database: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "flymodel-data")); !os.IsNotExist(err) {
		t.Fatalf("token commands created the data folder: %v", err)
	}

	makeNamespaces(t, d.url, "usa", "canada")
	ci := createToken(t, dir, d.url, "ci", "write", "--namespace", "usa", "--namespace", "canada", "--expires", "90d")
	admin := createToken(t, dir, d.url, "admin", "admin")
	if ci == admin {
		t.Fatal("two tokens share a secret")
	}
	rows, list := listTokens(t, dir, d.url)
	if len(rows) != 2 {
		t.Fatalf("token list: want 2 tokens\n%s", list)
	}
	in90d := time.Now().Add(90 * 24 * time.Hour)
	if r := rows[0]; r.name != "ci" || r.role != "write" || r.namespaces != "canada,usa" || r.status != "active" || r.createdBy != me {
		t.Errorf("token list: ci is %+v\n%s", r, list)
	} else if exp, err := time.Parse(time.RFC3339, r.expires); err != nil || exp.Sub(in90d).Abs() > time.Minute {
		t.Errorf("token list: ci expires %q, want about %s", r.expires, in90d.Format(time.RFC3339))
	}
	if r := rows[1]; r.name != "admin" || r.role != "admin" || r.namespaces != "*" || r.status != "active" || r.expires != "never" || r.createdBy != me {
		t.Errorf("token list: admin is %+v\n%s", r, list)
	}

	// The secrets are shown once: never listed, never stored; their hashes are.
	for name, secret := range map[string]string{"ci": ci, "admin": admin} {
		if strings.Contains(list.stdout, secret) || strings.Contains(list.stdout, secret[len(auth.TokenPrefix):]) {
			t.Errorf("token list shows the secret of %s", name)
		}
		if d.holds(t, secret[len(auth.TokenPrefix):]) {
			t.Errorf("the database holds the secret of %s in plain text", name)
		}
		if !d.holds(t, auth.HashSecret(secret)) {
			t.Errorf("the database does not hold the hash of %s's secret: the search above proves nothing", name)
		}
	}

	// Refusals change nothing: the list stays as it is.
	refusals := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"duplicate live name", []string{"token", "create", "--name", "ci", "--role", "read"}, 3, []string{"token ci", "not revoked", "token revoke ci"}},
		{"duplicate live name, dry", []string{"--dry", "token", "create", "--name", "admin", "--role", "read"}, 3, []string{"token admin", "not revoked"}},
		{"bad role", []string{"token", "create", "--name", "x", "--role", "owner"}, 2, []string{"--role", "owner", "read, write or admin"}},
		{"role none", []string{"token", "create", "--name", "x", "--role", "none"}, 2, []string{"--role"}},
		{"bad role, dry", []string{"--dry", "token", "create", "--name", "x", "--role", "owner"}, 2, []string{"--role"}},
		{"bad expires", []string{"token", "create", "--name", "x", "--expires", "soon"}, 2, []string{"--expires", "soon"}},
		{"zero expires", []string{"token", "create", "--name", "x", "--expires", "0d"}, 2, []string{"--expires"}},
		{"negative expires", []string{"token", "create", "--name", "x", "--expires", "-1h"}, 2, []string{"--expires"}},
		{"name anonymous", []string{"token", "create", "--name", "anonymous", "--role", "admin"}, 2, []string{"--name", "anonymous"}},
		{"name with a colon", []string{"token", "create", "--name", "oidc:x"}, 2, []string{"--name"}},
		{"name with a slash", []string{"token", "create", "--name", "a/b"}, 2, []string{"--name"}},
		{"no name", []string{"token", "create", "--role", "read"}, 2, []string{"name"}},
		{"bad namespace", []string{"token", "create", "--name", "x", "--namespace", ".."}, 2, []string{"--namespace"}},
		{"unknown namespace", []string{"token", "create", "--name", "x", "--namespace", "canada", "--namespace", "nowhere"}, 2, []string{"--namespace", `no namespace is called "nowhere"`}},
		{"unknown namespace, dry", []string{"--dry", "token", "create", "--name", "x", "--namespace", "nowhere"}, 2, []string{"--namespace", `no namespace is called "nowhere"`}},
		{"* beside a namespace", []string{"token", "create", "--name", "x", "--namespace", "*", "--namespace", "canada"}, 2, []string{"--namespace", "alone"}},
		{"revoke unknown", []string{"token", "revoke", "nope"}, 1, []string{`no live token named "nope"`}},
		{"revoke unknown, dry", []string{"--dry", "token", "revoke", "nope"}, 1, []string{`no live token named "nope"`}},
		{"revoke without a name", []string{"token", "revoke"}, 2, []string{"arg"}},
		{"empty database url", []string{"token", "list", "-d", ""}, 2, []string{"--database-url is empty"}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			res := tok(tt.args...)
			res.expectCode(t, tt.code)
			first := strings.SplitN(res.stderr, "\n", 2)[0]
			for _, want := range tt.stderr {
				if !strings.HasPrefix(first, "flymodel: ") || !strings.Contains(first, want) {
					t.Errorf("want %q in the first line of stderr\n%s", want, res)
				}
			}
			if res.stdout != "" {
				t.Errorf("a refusal printed on stdout\n%s", res)
			}
			if _, now := listTokens(t, dir, d.url); now.stdout != list.stdout {
				t.Errorf("a refusal changed the tokens:\nbefore\n%s\nafter\n%s", list.stdout, now.stdout)
			}
		})
	}

	// A dry revoke names the token and revokes nothing.
	if res := tok("--dry", "token", "revoke", "ci"); res.code != 0 || res.stdout != "would revoke token ci (write in canada,usa)\n" {
		t.Fatalf("--dry token revoke:\n%s", res)
	}
	if _, now := listTokens(t, dir, d.url); now.stdout != list.stdout {
		t.Fatalf("--dry token revoke changed the tokens:\n%s", now.stdout)
	}

	if res := tok("token", "revoke", "ci"); res.code != 0 || res.stdout != "revoked token ci\n" {
		t.Fatalf("token revoke:\n%s", res)
	}
	rows, list = listTokens(t, dir, d.url)
	if len(rows) != 2 || rows[0].name != "ci" || rows[0].status != "revoked" || rows[1].status != "active" {
		t.Fatalf("after revoke:\n%s", list)
	}
	if res := tok("token", "revoke", "ci"); res.code != 1 || !strings.Contains(res.stderr, `no live token named "ci"`) {
		t.Fatalf("revoking a revoked token:\n%s", res)
	}

	// A revoked token's name may be given again; the old one stays revoked.
	ci2 := createToken(t, dir, d.url, "ci", "read")
	if ci2 == ci {
		t.Fatal("the new token has the revoked one's secret")
	}
	rows, list = listTokens(t, dir, d.url)
	want := [][3]string{{"ci", "write", "revoked"}, {"admin", "admin", "active"}, {"ci", "read", "active"}}
	if len(rows) != len(want) {
		t.Fatalf("after creating ci again:\n%s", list)
	}
	for i, w := range want {
		if rows[i].name != w[0] || rows[i].role != w[1] || rows[i].status != w[2] {
			t.Errorf("row %d is %+v, want %v\n%s", i, rows[i], w, list)
		}
	}

	// Every change is in the audit log, by the local user, in order.
	items := readAudit(t, dir, d.url)
	var got []string
	for _, it := range items {
		got = append(got, it.actor+" "+it.action+" "+it.target+" "+it.outcome)
	}
	wantLog := []string{
		"system namespace.create /namespaces/usa ok", // makeNamespaces
		"system namespace.create /namespaces/canada ok",
		me + " token.create /tokens/ci ok",
		me + " token.create /tokens/admin ok",
		me + " token.revoke /tokens/ci ok",
		me + " token.create /tokens/ci ok",
	}
	if !slices.Equal(got, wantLog) {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLog, "\n"))
	}
}

// auditRow is one line of `flymodel audit`.
type auditRow struct {
	at                                      time.Time
	actor, action, target, outcome, request string
	detail                                  string
}

func (r auditRow) String() string {
	return r.actor + " " + r.action + " " + r.target + " " + r.outcome
}

// readAudit runs `flymodel audit args…` and parses its table.
func readAudit(t *testing.T, dir, dbURL string, args ...string) []auditRow {
	t.Helper()
	res := flymodel(t, dir, nil, append([]string{"audit", "-d", dbURL}, args...)...)
	res.expectCode(t, 0)
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "TIME ") {
		t.Fatalf("audit: no header\n%s", res)
	}
	var rows []auditRow
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 7 {
			t.Fatalf("audit: line %q has %d columns, want 7", line, len(f))
		}
		at, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil {
			t.Fatalf("audit: time %q: %v", f[0], err)
		}
		rows = append(rows, auditRow{at: at, actor: f[1], action: f[2], target: f[3], outcome: f[4], request: f[5], detail: f[6]})
	}
	return rows
}

// httpReply is a finished HTTP exchange.
type httpReply struct {
	status int
	header http.Header
	body   string
}

// httpCall sends method path to base with the bearer token (none when "") and
// a JSON body (none when "").
func httpCall(t *testing.T, base, method, path, token, body string) httpReply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return httpReply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// loopbackBase is the base URL of s through the loopback interface, also
// when it listens on every address.
func loopbackBase(t *testing.T, s *server) string {
	t.Helper()
	_, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + port
}

const (
	bearerChallenge        = `Bearer realm="flymodel"`
	bearerInvalidChallenge = `Bearer realm="flymodel", error="invalid_token"`
)

// TestAuthPolicy: a laptop server is open until its first token exists,
// then each token gets what its role and namespaces allow; every change
// and every refused change is in the audit log, which the CLI and the API
// show alike.
func TestAuthPolicy(t *testing.T) {
	authDatabases(t, testAuthPolicy)
}

func testAuthPolicy(t *testing.T, d authDB) {
	dir := t.TempDir()
	me := localUser(t)
	srv := startServe(t, dir, nil, "-p", "0", "-d", d.url)
	base := "http://" + srv.addr
	var wantLog []string // what the audit log should hold, in order
	logged := func(actor, action, target, outcome string) {
		wantLog = append(wantLog, actor+" "+action+" "+target+" "+outcome)
	}

	// No token yet: anonymous requests may write, and create a namespace.
	if r := httpCall(t, base, "POST", "/api/v1/namespaces", "", `{"name": "canada"}`); r.status != http.StatusCreated {
		t.Fatalf("anonymous namespace create before any token: %d %s\n%s", r.status, r.body, srv.drainLogs())
	}
	logged("anonymous", "namespace.create", "/namespaces/canada", "ok")
	// A token is limited to namespaces that exist: other is made now too.
	if r := httpCall(t, base, "POST", "/api/v1/namespaces", "", `{"name": "other"}`); r.status != http.StatusCreated {
		t.Fatalf("anonymous namespace create before any token: %d %s\n%s", r.status, r.body, srv.drainLogs())
	}
	logged("anonymous", "namespace.create", "/namespaces/other", "ok")

	// The first token closes the running server to anonymous requests.
	admin := createToken(t, dir, d.url, "admin", "admin")
	logged(me, "token.create", "/tokens/admin", "ok")
	start := time.Now()
	expiring := createToken(t, dir, d.url, "expiring", "write", "--expires", "1s")
	created := time.Now()
	logged(me, "token.create", "/tokens/expiring", "ok")
	// Its expiry lies between start+1s and created+1s; a request answered
	// before start+1s was checked before it.
	if r := httpCall(t, base, "GET", "/api/v1/namespaces/canada", expiring, ""); time.Since(start) < time.Second && r.status != http.StatusOK {
		t.Errorf("a token about to expire: %d %s", r.status, r.body)
	}
	reader := createToken(t, dir, d.url, "reader", "read")
	logged(me, "token.create", "/tokens/reader", "ok")
	writer := createToken(t, dir, d.url, "writer", "write", "--namespace", "canada")
	logged(me, "token.create", "/tokens/writer", "ok")
	otherWriter := createToken(t, dir, d.url, "other-writer", "write", "--namespace", "other")
	logged(me, "token.create", "/tokens/other-writer", "ok")
	canadaAdmin := createToken(t, dir, d.url, "canada-admin", "admin", "--namespace", "canada")
	logged(me, "token.create", "/tokens/canada-admin", "ok")

	type check struct {
		name                      string
		method, path, token, body string
		status                    int
		challenge                 string // the WWW-Authenticate of a 401
		denied                    string // the actor of the denied record a refusal leaves
	}
	checks := []check{
		{name: "anonymous GET", method: "GET", path: "/api/v1/namespaces", status: 401, challenge: bearerChallenge},
		{name: "anonymous create", method: "POST", path: "/api/v1/namespaces", body: `{"name": "nope"}`, status: 401, challenge: bearerChallenge},
		{name: "anonymous model create", method: "POST", path: "/api/v1/namespaces/canada/models", body: `{"name": "nope"}`, status: 401, challenge: bearerChallenge},
		{name: "unknown token", method: "GET", path: "/api/v1/namespaces", token: auth.NewSecret(), status: 401, challenge: bearerInvalidChallenge},
		{name: "not an fm_ token", method: "GET", path: "/api/v1/namespaces", token: "s3cret", status: 401, challenge: bearerInvalidChallenge},
		{name: "admin creates a namespace", method: "POST", path: "/api/v1/namespaces", token: admin, body: `{"name": "third"}`, status: 201},
		{name: "read GET", method: "GET", path: "/api/v1/namespaces/canada", token: reader, status: 200},
		{name: "read list", method: "GET", path: "/api/v1/namespaces/canada/models", token: reader, status: 200},
		{name: "read POST", method: "POST", path: "/api/v1/namespaces/canada/models", token: reader, body: `{"name": "by-reader"}`, status: 403, denied: "reader"},
		{name: "read creates no namespace", method: "POST", path: "/api/v1/namespaces", token: reader, body: `{"name": "r"}`, status: 403, denied: "reader"},
		{name: "write elsewhere POST", method: "POST", path: "/api/v1/namespaces/canada/models", token: otherWriter, body: `{"name": "by-other"}`, status: 403, denied: "other-writer"},
		{name: "write elsewhere GET", method: "GET", path: "/api/v1/namespaces/canada", token: otherWriter, status: 403},
		{name: "write in its namespace", method: "POST", path: "/api/v1/namespaces/other/models", token: otherWriter, body: `{"name": "m"}`, status: 201},
		{name: "write", method: "POST", path: "/api/v1/namespaces/canada/models", token: writer, body: `{"name": "m"}`, status: 201},
		{name: "write deletes nothing", method: "DELETE", path: "/api/v1/namespaces/canada/models/m", token: writer, status: 403, denied: "writer"},
		{name: "scoped admin creates no namespace", method: "POST", path: "/api/v1/namespaces", token: canadaAdmin, body: `{"name": "s"}`, status: 403, denied: "canada-admin"},
		{name: "scoped admin lists no tokens", method: "GET", path: "/api/v1/tokens", token: canadaAdmin, status: 403},
		{name: "scoped admin reads no audit", method: "GET", path: "/api/v1/audit", token: canadaAdmin, status: 403},
		{name: "read reads no audit", method: "GET", path: "/api/v1/audit", token: reader, status: 403},
		{name: "write reads no audit", method: "GET", path: "/api/v1/audit", token: writer, status: 403},
	}
	denials := map[string]string{} // request id → actor, of the refusals recorded
	for _, c := range checks {
		r := httpCall(t, base, c.method, c.path, c.token, c.body)
		if r.status != c.status {
			t.Errorf("%s: %s %s: %d, want %d: %s", c.name, c.method, c.path, r.status, c.status, r.body)
			continue
		}
		if got := r.header.Get("WWW-Authenticate"); got != c.challenge {
			t.Errorf("%s: WWW-Authenticate %q, want %q", c.name, got, c.challenge)
		}
		if c.status >= 400 && !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d is not a problem: %s %s", c.name, c.status, r.header.Get("Content-Type"), r.body)
		}
		if c.status == 403 && !strings.Contains(r.body, "role") {
			t.Errorf("%s: the 403 does not name the role it needs: %s", c.name, r.body)
		}
		switch {
		case c.denied != "":
			logged(c.denied, "request."+strings.ToLower(c.method), strings.TrimPrefix(c.path, "/api/v1"), "denied")
			denials[r.header.Get("X-Request-Id")] = c.denied
		case c.status == 201 && c.path == "/api/v1/namespaces":
			actor := map[string]string{admin: "admin"}[c.token]
			logged(actor, "namespace.create", "/namespaces/third", "ok")
		case c.status == 201:
			actor := map[string]string{writer: "writer", otherWriter: "other-writer"}[c.token]
			logged(actor, "model.create", strings.TrimPrefix(c.path, "/api/v1")+"/m", "ok")
		}
	}

	// The expired token, then a revoked one, are refused as invalid.
	time.Sleep(time.Until(created.Add(time.Second + 50*time.Millisecond)))
	if r := httpCall(t, base, "GET", "/api/v1/namespaces/canada", expiring, ""); r.status != 401 || r.header.Get("WWW-Authenticate") != bearerInvalidChallenge {
		t.Errorf("expired token: %d %q %s", r.status, r.header.Get("WWW-Authenticate"), r.body)
	}
	if r := httpCall(t, base, "GET", "/api/v1/namespaces/canada", writer, ""); r.status != 200 {
		t.Fatalf("writer before its revocation: %d %s", r.status, r.body)
	}
	if res := flymodel(t, dir, nil, "token", "revoke", "writer", "-d", d.url); res.code != 0 {
		t.Fatalf("token revoke:\n%s", res)
	}
	logged(me, "token.revoke", "/tokens/writer", "ok")
	if r := httpCall(t, base, "GET", "/api/v1/namespaces/canada", writer, ""); r.status != 401 || r.header.Get("WWW-Authenticate") != bearerInvalidChallenge {
		t.Errorf("revoked token: %d %q %s", r.status, r.header.Get("WWW-Authenticate"), r.body)
	}
	// Revoking every token but expired ones does not reopen the server:
	// anonymous requests stay refused while tokens are in use.
	if r := httpCall(t, base, "GET", "/api/v1/namespaces", "", ""); r.status != 401 {
		t.Errorf("anonymous at the end: %d %s", r.status, r.body)
	}

	// The audit log, as the CLI prints it.
	rows := readAudit(t, dir, d.url)
	got := make([]string, len(rows))
	for i, r := range rows {
		got[i] = r.String()
		local := strings.HasPrefix(r.actor, "local:")
		if local != (r.request == "-") {
			t.Errorf("record %q has request id %q", got[i], r.request)
		}
		if r.outcome == "denied" {
			if denials[r.request] != r.actor || r.detail == "-" || !strings.Contains(r.detail, "needs") {
				t.Errorf("denied record %q (request %s, detail %s) does not match a refused request: %v", got[i], r.request, r.detail, denials)
			}
		}
		if i > 0 && r.at.Before(rows[i-1].at) {
			t.Errorf("record %d is older than the one before", i)
		}
		if time.Since(r.at) > time.Hour || time.Until(r.at) > time.Minute {
			t.Errorf("record %q is at %s", got[i], r.at)
		}
	}
	if !slices.Equal(got, wantLog) {
		t.Fatalf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLog, "\n"))
	}

	// Its filters.
	filtered := func(args ...string) []string {
		t.Helper()
		var out []string
		for _, r := range readAudit(t, dir, d.url, args...) {
			out = append(out, r.String())
		}
		return out
	}
	where := func(keep func(actor, action, target, outcome string) bool) []string {
		var out []string
		for _, l := range wantLog {
			f := strings.Fields(l)
			if keep(f[0], f[1], f[2], f[3]) {
				out = append(out, l)
			}
		}
		return out
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	filters := []struct {
		args []string
		want []string
	}{
		{[]string{"--actor", "reader"}, where(func(a, _, _, _ string) bool { return a == "reader" })},
		{[]string{"--actor", "anonymous"}, wantLog[:2]},
		{[]string{"--actor", me}, where(func(a, _, _, _ string) bool { return a == me })},
		{[]string{"--outcome", "denied"}, where(func(_, _, _, o string) bool { return o == "denied" })},
		{[]string{"--outcome", "ok"}, where(func(_, _, _, o string) bool { return o == "ok" })},
		{[]string{"--action", "token.revoke"}, wantLog[len(wantLog)-1:]},
		{[]string{"--action", "namespace.create", "--actor", "admin"}, []string{"admin namespace.create /namespaces/third ok"}},
		{[]string{"--namespace", "other"}, where(func(_, _, tg, _ string) bool { return strings.HasPrefix(tg, "/namespaces/other") })},
		{[]string{"--since", "1h"}, wantLog},
		{[]string{"--since", rows[1].at.Format(time.RFC3339Nano)}, wantLog[1:]},
		{[]string{"--since", future}, nil},
		{[]string{"--limit", "1"}, wantLog[:1]},
		{[]string{"--limit", "2", "--outcome", "denied"}, where(func(_, _, _, o string) bool { return o == "denied" })[:2]},
		{[]string{"--actor", "nobody"}, nil},
	}
	for _, f := range filters {
		if got := filtered(f.args...); !slices.Equal(got, f.want) {
			t.Errorf("audit %s:\n%s\nwant\n%s", strings.Join(f.args, " "), strings.Join(got, "\n"), strings.Join(f.want, "\n"))
		}
	}
	for _, args := range [][]string{{"--since", "garbage"}, {"--since", "-1h"}, {"--outcome", "maybe"}, {"--limit", "-1"}} {
		res := flymodel(t, dir, nil, append([]string{"audit", "-d", d.url}, args...)...)
		if res.code != 2 || res.stdout != "" || !strings.Contains(res.stderr, args[0]) {
			t.Errorf("audit %s: want exit 2 naming the flag\n%s", strings.Join(args, " "), res)
		}
	}

	// The same records over the API, for an unscoped admin only.
	type apiItem struct {
		ID        int64           `json:"id"`
		At        time.Time       `json:"at"`
		Actor     string          `json:"actor"`
		Action    string          `json:"action"`
		Target    string          `json:"target"`
		Namespace string          `json:"namespace"`
		Outcome   string          `json:"outcome"`
		RequestID string          `json:"request_id"`
		Detail    json.RawMessage `json:"detail"`
	}
	type apiPage struct {
		Items []apiItem `json:"items"`
		Next  *int64    `json:"next"`
	}
	page := func(query string) apiPage {
		t.Helper()
		r := httpCall(t, base, "GET", "/api/v1/audit"+query, admin, "")
		if r.status != 200 {
			t.Fatalf("GET /api/v1/audit%s: %d %s", query, r.status, r.body)
		}
		var p apiPage
		if err := json.Unmarshal([]byte(r.body), &p); err != nil {
			t.Fatalf("GET /api/v1/audit%s: %v: %s", query, err, r.body)
		}
		return p
	}
	all := page("")
	if all.Next != nil || len(all.Items) != len(rows) {
		t.Fatalf("GET /api/v1/audit: %d items (next %v), the CLI printed %d", len(all.Items), all.Next, len(rows))
	}
	// flymodel audit --output json prints the API's items, one per line.
	jsonOut := flymodel(t, dir, nil, "audit", "-d", d.url, "--output", "json")
	jsonOut.expectCode(t, 0)
	var lines []string
	for _, it := range all.Items {
		b, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	var printed []string
	for _, line := range strings.Split(strings.TrimSpace(jsonOut.stdout), "\n") {
		var it apiItem
		if err := json.Unmarshal([]byte(line), &it); err != nil {
			t.Fatalf("audit --output json: %q: %v", line, err)
		}
		b, _ := json.Marshal(it)
		printed = append(printed, string(b))
	}
	if strings.Join(printed, "\n") != strings.Join(lines, "\n") {
		t.Errorf("audit --output json:\n%s\nwant the API's items:\n%s", strings.Join(printed, "\n"), strings.Join(lines, "\n"))
	}
	for i, it := range all.Items {
		r := rows[i]
		request := it.RequestID
		if request == "" {
			request = "-"
		}
		detail := string(it.Detail)
		if detail == "" {
			detail = "-"
		}
		if it.Actor+" "+it.Action+" "+it.Target+" "+it.Outcome != r.String() || !it.At.Equal(r.at) || request != r.request || detail != r.detail {
			t.Errorf("item %d: API %+v, CLI %+v", i, it, r)
		}
		if i > 0 && it.ID <= all.Items[i-1].ID {
			t.Errorf("item %d: id %d after %d", i, it.ID, all.Items[i-1].ID)
		}
	}
	// Paging: next continues where a page stops.
	first := page("?limit=2")
	if len(first.Items) != 2 || first.Next == nil || *first.Next != first.Items[1].ID {
		t.Fatalf("GET /api/v1/audit?limit=2: %+v", first)
	}
	rest := page("?after=" + strconv.FormatInt(*first.Next, 10))
	if len(rest.Items) != len(all.Items)-2 || rest.Items[0].ID != all.Items[2].ID {
		t.Errorf("GET /api/v1/audit?after=%d: %d items from %d", *first.Next, len(rest.Items), rest.Items[0].ID)
	}
	if denied := page("?outcome=denied&actor=reader"); len(denied.Items) != 2 {
		t.Errorf("GET /api/v1/audit?outcome=denied&actor=reader: %+v", denied)
	}

	srv.stop(t, syscall.SIGTERM)
}

// TestAuthServeNonLoopback: serve refuses to open a non-loopback address
// to everyone, or to no one, by accident.
func TestAuthServeNonLoopback(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		token     bool
		start     bool
		anonymous int // the status of an anonymous GET once started
	}{
		{name: "no token", start: false},
		{name: "anonymous none", env: []string{"FLYMODEL_AUTH_ANONYMOUS=none"}, start: false},
		{name: "anonymous read", env: []string{"FLYMODEL_AUTH_ANONYMOUS=read"}, start: true, anonymous: 200},
		{name: "anonymous write", env: []string{"FLYMODEL_AUTH_ANONYMOUS=write"}, start: true, anonymous: 200},
		{name: "a token", token: true, start: true, anonymous: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dbURL := "sqlite:" + filepath.Join(dir, "flymodel.db")
			var token string
			if tt.token {
				token = createToken(t, dir, dbURL, "admin", "admin")
			}
			if !tt.start {
				// A port nothing listens on: after the refusal, still nothing does.
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				_, port, _ := net.SplitHostPort(ln.Addr().String())
				ln.Close()
				res := flymodel(t, dir, tt.env, "serve", "-b", "0.0.0.0", "-p", port, "-d", dbURL)
				res.expectCode(t, 1)
				last := strings.Split(strings.TrimSpace(res.stderr), "\n")
				msg := last[len(last)-1]
				for _, want := range []string{"flymodel: ", "refusing to serve", "0.0.0.0:" + port, "auth.anonymous", "token create"} {
					if !strings.Contains(msg, want) {
						t.Errorf("want %q in the error line %q\n%s", want, msg, res)
					}
				}
				if strings.Contains(res.stderr, `"msg":"listening"`) {
					t.Errorf("serve listened before refusing:\n%s", res)
				}
				if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
					c.Close()
					t.Errorf("something listens on %s after the refusal", port)
				}
				return
			}
			srv := startServe(t, dir, tt.env, "-b", "0.0.0.0", "-p", "0", "-d", dbURL)
			base := loopbackBase(t, srv)
			r := httpCall(t, base, "GET", "/api/v1/namespaces", "", "")
			if r.status != tt.anonymous {
				t.Errorf("anonymous GET: %d, want %d: %s", r.status, tt.anonymous, r.body)
			}
			// Even an explicitly open server lets no anonymous request
			// create namespaces unless it may write.
			r = httpCall(t, base, "POST", "/api/v1/namespaces", "", `{"name": "anon"}`)
			wantCreate := map[bool]int{true: 201, false: 401}[slices.Contains(tt.env, "FLYMODEL_AUTH_ANONYMOUS=write")]
			if r.status != wantCreate {
				t.Errorf("anonymous namespace create: %d, want %d: %s", r.status, wantCreate, r.body)
			}
			if token != "" {
				if r := httpCall(t, base, "POST", "/api/v1/namespaces", token, `{"name": "canada"}`); r.status != 201 {
					t.Errorf("admin namespace create: %d %s", r.status, r.body)
				}
			}
			srv.stop(t, syscall.SIGINT)
		})
	}
}
