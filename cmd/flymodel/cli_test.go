package main

import (
	"github.com/flymodel/flymodel/internal/browser"

	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/engine"
)

// binary is the flymodel executable built once for the tests of this file.
var binary string

// testVersion is stamped into the binary to check -V.
const testVersion = "v0.0.0-clitest"

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flymodel-cli-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "flymodel")
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build flymodel: %v\n", err)
		return 1
	}
	// The browser tests (ui_*_test.go) share one Chromium, closed here
	// with its temporary profile.
	defer browser.CloseShared()
	return m.Run()
}

// result is what a finished flymodel process left.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cleanEnv is the test process's environment without anything that would
// configure flymodel, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FLYMODEL_") || strings.HasPrefix(kv, "DB_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// flymodel runs the binary in dir with args and waits for it to exit.
func flymodel(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	default:
		t.Fatalf("flymodel %s: %v", strings.Join(args, " "), err)
	}
	return res
}

func (r result) expectCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

func TestMigrateSQLite(t *testing.T) {
	dir := t.TempDir()
	// The parent folder does not exist yet: it must be created.
	testMigrate(t, "sqlite:"+filepath.Join(dir, "x", "flymodel.db"))
}

func TestMigratePostgres(t *testing.T) {
	testMigrate(t, dbtest.PostgresURL(t))
}

// testMigrate runs the migrate commands against the database at url.
func testMigrate(t *testing.T, url string) {
	dir := t.TempDir()

	first := flymodel(t, dir, nil, "migrate", "up", "--test-data", "multi_region", "-d", url)
	first.expectCode(t, 0)
	for _, want := range []string{"applied migration 1 (", "loaded test data multi_region\n", " (0 pending)\n"} {
		if !strings.Contains(first.stdout, want) {
			t.Errorf("first migrate up: no %q in output\n%s", want, first)
		}
	}
	namespaces, models := countFixtures(t, url)
	if namespaces != 2 || models != 3 {
		t.Errorf("after migrate up --test-data multi_region: %d namespaces and %d models in canada, want 2 and 3", namespaces, models)
	}

	again := flymodel(t, dir, nil, "migrate", "up", "--test-data", "multi_region", "-d", url)
	again.expectCode(t, 0)
	if strings.Contains(again.stdout, "applied migration") {
		t.Errorf("second migrate up applied migrations again:\n%s", again)
	}
	if n, m := countFixtures(t, url); n != namespaces || m != models {
		t.Errorf("second load duplicated test data: %d namespaces, %d models", n, m)
	}

	bad := flymodel(t, dir, nil, "migrate", "up", "--test-data", "nope", "-d", url)
	bad.expectCode(t, 2)
	if !strings.Contains(bad.stderr, "basic, multi_region") {
		t.Errorf("unknown --test-data: the valid sets are not listed\n%s", bad)
	}

	// down --test-data removes the data and keeps the schema.
	unload := flymodel(t, dir, nil, "migrate", "down", "--test-data", "multi_region", "-d", url)
	unload.expectCode(t, 0)
	if strings.Contains(unload.stdout, "rolled back") || !strings.Contains(unload.stdout, "removed test data multi_region") {
		t.Errorf("down --test-data: want the data removed and no migration rolled back\n%s", unload)
	}
	if n, m := countFixtures(t, url); n != 0 || m != 0 {
		t.Errorf("after down --test-data: %d namespaces, %d models, want none", n, m)
	}

	n, previous := migrationVersions(t)
	down := flymodel(t, dir, nil, "migrate", "down", "-d", url)
	down.expectCode(t, 0)
	if !strings.Contains(down.stdout, fmt.Sprintf("rolled back migration %d", n)) || !strings.Contains(down.stdout, fmt.Sprintf("schema at version %d (", previous)) {
		t.Errorf("down: want the latest migration rolled back\n%s", down)
	}
	// Rolling back everything deletes all the data: not without --yes.
	refused := flymodel(t, dir, nil, "migrate", "down", "--steps", "0", "-d", url)
	refused.expectCode(t, 2)
	if !strings.Contains(refused.stderr, "--yes") || strings.Contains(refused.stdout, "rolled back") {
		t.Errorf("down --steps 0 without --yes: want a refusal naming --yes\n%s", refused)
	}
	if st := flymodel(t, dir, nil, "--dry", "migrate", "up", "-d", url); !strings.Contains(st.stdout, fmt.Sprintf("schema at version %d (", previous)) {
		t.Errorf("the refused down --steps 0 changed the schema\n%s", st)
	}
	all := flymodel(t, dir, nil, "migrate", "down", "--steps", "0", "--yes", "-d", url)
	all.expectCode(t, 0)
	if !strings.Contains(all.stdout, "schema at version 0 (") {
		t.Errorf("down --steps 0: want every migration rolled back\n%s", all)
	}

	up := flymodel(t, dir, nil, "migrate", "up", "-d", url)
	up.expectCode(t, 0)
	if !strings.Contains(up.stdout, "applied migration 1 (") || !strings.Contains(up.stdout, fmt.Sprintf("applied migration %d (", n)) {
		t.Errorf("up after down: want every migration applied again\n%s", up)
	}
}

// countFixtures counts the namespaces, and the models of namespace canada.
func countFixtures(t *testing.T, url string) (namespaces, canadaModels int64) {
	t.Helper()
	ctx := context.Background()
	store, err := engine.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	namespaces, err = store.CountNamespaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	canada, err := store.GetNamespaceByName(ctx, "canada")
	if err != nil {
		return namespaces, 0
	}
	canadaModels, err = store.CountNamespaceModels(ctx, canada.ID)
	if err != nil {
		t.Fatal(err)
	}
	return namespaces, canadaModels
}

// server is a running `flymodel serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string        // host:port from the "listening" log line
	exited chan struct{} // closed when the process has exited
	logs   *logBuffer
	err    error // Wait's result, once exited is closed
}

// logBuffer keeps every line the server logged, for failure messages.
type logBuffer struct {
	lines chan string
	all   strings.Builder
}

// startServe starts `flymodel serve args…` in dir and returns once it logs
// the address it listens on. The process is killed at the end of the test
// if it is still running.
func startServe(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{}), logs: &logBuffer{lines: make(chan string, 1024)}}
	go func() {
		s.err = cmd.Wait()
		pw.Close()
		close(s.exited)
	}()
	addrFound := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(pr)
		for scanner.Scan() {
			line := scanner.Text()
			s.logs.lines <- line
			var entry struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" && entry.Addr != "" {
				addrFound <- entry.Addr
			}
		}
		close(s.logs.lines)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = cmd.Process.Kill()
			<-s.exited
		}
	})

	select {
	case s.addr = <-addrFound:
		return s
	case <-s.exited:
		t.Fatalf("serve exited before listening: %v\n%s", s.err, s.drainLogs())
	case <-time.After(time.Minute):
		t.Fatalf("serve did not log its address within a minute\n%s", s.drainLogs())
	}
	return nil
}

// drainLogs returns what the server has logged so far.
func (s *server) drainLogs() string {
	for {
		select {
		case line, ok := <-s.logs.lines:
			if !ok {
				return s.logs.all.String()
			}
			s.logs.all.WriteString(line + "\n")
		default:
			return s.logs.all.String()
		}
	}
}

// stop sends sig and expects a clean exit within a deadline.
func (s *server) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Fatalf("serve did not stop within 30s of %v\n%s", sig, s.drainLogs())
	}
	if s.err != nil {
		t.Fatalf("serve exited with %v after %v\n%s", s.err, sig, s.drainLogs())
	}
}

// get fetches path from the server and checks the status.
func (s *server) get(t *testing.T, path string, status int) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d; body: %s", path, resp.StatusCode, status, body)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: body is not JSON: %s", path, body)
	}
	return v
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, nil, "-p", "0", "-d", "sqlite:"+filepath.Join(dir, "db", "flymodel.db"))
	if v := s.get(t, "/healthz", http.StatusOK); v["status"] != "ok" {
		t.Errorf("/healthz: %v", v)
	}
	if v := s.get(t, "/readyz", http.StatusOK); v["status"] != "ready" {
		t.Errorf("/readyz: %v", v)
	}
	s.stop(t, syscall.SIGINT)
	logs := s.drainLogs()
	for _, want := range []string{`"msg":"migration applied"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %s in the log:\n%s", want, logs)
		}
	}
}

// TestServeZeroConfig is the laptop case: no configuration file, no database
// flag, an empty folder. Only the port is given, so that tests can run side
// by side.
func TestServeZeroConfig(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, nil, "-p", "0")
	if !strings.HasPrefix(s.addr, "127.0.0.1:") && !strings.HasPrefix(s.addr, "[::1]:") {
		t.Errorf("default bind is not loopback: %s", s.addr)
	}
	if _, err := os.Stat(filepath.Join(dir, "flymodel-data", "flymodel.db")); err != nil {
		t.Errorf("the default database file was not created: %v", err)
	}
	s.get(t, "/readyz", http.StatusOK)
	s.stop(t, syscall.SIGTERM)
}

// TestServeNoMigrateCreatesNothing: refusing to migrate a folder with no
// registry creates nothing there, not even the database file.
func TestServeNoMigrateCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	res := flymodel(t, dir, nil, "serve", "--no-migrate", "-p", "0")
	res.expectCode(t, 1)
	if !strings.Contains(res.stderr, "no database at flymodel-data/flymodel.db") || !strings.Contains(res.stderr, `"flymodel migrate up"`) {
		t.Errorf("want an error naming the missing database and migrate up:\n%s", res)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("serve --no-migrate created %v", entries)
	}
}

func TestServeNoMigrate(t *testing.T) {
	dir := t.TempDir()
	// A database without its schema (an empty SQLite file is one).
	if err := os.WriteFile(filepath.Join(dir, "flymodel.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	res := flymodel(t, dir, nil, "serve", "--no-migrate", "-p", "0", "-d", "sqlite:"+filepath.Join(dir, "flymodel.db"))
	res.expectCode(t, 1)
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "flymodel: ") || !strings.Contains(last, "pending migration") || !strings.Contains(last, `"flymodel migrate up"`) {
		t.Errorf("want an error naming flymodel migrate up, got:\n%s", res)
	}
	if strings.Contains(res.stderr, `"msg":"listening"`) {
		t.Errorf("serve listened with pending migrations:\n%s", res)
	}
}

func TestErrorsAndVersion(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string // exact, when not ""
		stderr    string // a substring of the first line
		hintLines bool   // a usage error: the error, then the hint
	}{
		{name: "version", args: []string{"-V"}, stdout: "flymodel " + testVersion + "\n"},
		{name: "version long", args: []string{"--version"}, stdout: "flymodel " + testVersion + "\n"},
		{name: "missing config", args: []string{"-c", "/nonexistent.toml", "serve"}, code: 1, stderr: "/nonexistent.toml"},
		{name: "unknown command", args: []string{"nope"}, code: 2, stderr: `unknown command "nope"`, hintLines: true},
		{name: "unknown flag", args: []string{"serve", "--nope"}, code: 2, stderr: "unknown flag: --nope", hintLines: true},
		{name: "bad flag value", args: []string{"serve", "-p", "many"}, code: 2, stderr: "invalid argument", hintLines: true},
		{name: "extra argument", args: []string{"serve", "now"}, code: 2, stderr: "unknown command", hintLines: true},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := flymodel(t, dir, nil, tt.args...)
			res.expectCode(t, tt.code)
			if tt.stdout != "" && res.stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", res.stdout, tt.stdout)
			}
			if tt.code == 0 {
				return
			}
			lines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
			wantLines := 1
			if tt.hintLines {
				wantLines = 2
			}
			if len(lines) != wantLines || !strings.HasPrefix(lines[0], "flymodel: ") || !strings.Contains(lines[0], tt.stderr) {
				t.Errorf("want %d line(s), the first %q containing %q; got:\n%s", wantLines, "flymodel: …", tt.stderr, res.stderr)
			}
			if tt.hintLines && !strings.Contains(lines[1], "--help") {
				t.Errorf("no --help hint: %q", lines[1])
			}
		})
	}
}
