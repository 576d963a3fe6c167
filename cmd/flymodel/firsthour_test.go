package main

// Issue 14, points 2, 3, 5, 7 and 12: what a new user hits in the first
// hour with the CLI, each with the built binary.

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flymodel/flymodel/client"
)

// TestUpsertSaysWhereItWrites: without a server upsert says it registers
// into the data folder; a configured server (FLYMODEL_SERVER,
// client.server) is used; --local registers locally anyway; two
// destinations at once are a usage error.
func TestUpsertSaysWhereItWrites(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"upsert", "--namespace", "n", "--model", "m", "--version", "v1", "--artifact", "f.txt"}

	local := flymodel(t, dir, nil, args...)
	local.expectCode(t, 0)
	if !strings.Contains(local.stderr, "no --server: registering into ./flymodel-data\n") {
		t.Errorf("local mode did not say where it writes:\n%s", local)
	}

	upsertServers(t, func(t *testing.T, s *testServer) {
		sdir := t.TempDir()
		if err := os.WriteFile(filepath.Join(sdir, "f.txt"), []byte("hello"), 0o644); err != nil {
			t.Fatal(err)
		}
		remote := flymodel(t, sdir, []string{"FLYMODEL_SERVER=" + s.URL}, args...)
		remote.expectCode(t, 0)
		if strings.Contains(remote.stderr, "registering into") || s.writes.Load() == 0 {
			t.Errorf("FLYMODEL_SERVER was not used:\n%s", remote)
		}
		if _, err := os.Stat(filepath.Join(sdir, "flymodel-data")); !os.IsNotExist(err) {
			t.Errorf("a second registry was made next to the configured server: %v", err)
		}
		config := filepath.Join(sdir, "flymodel.toml")
		if err := os.WriteFile(config, []byte("[client]\nserver = \""+s.URL+"\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// A server is configured and -d names a database: which one? Refused.
		both := flymodel(t, sdir, nil, append(args, "-d", "sqlite:"+filepath.Join(sdir, "x.db"))...)
		both.expectCode(t, 2)
		if !strings.Contains(both.stderr, "--local") {
			t.Errorf("want a hint to --local:\n%s", both)
		}
		writes := s.writes.Load()
		forced := flymodel(t, sdir, nil, append(args, "--local")...)
		forced.expectCode(t, 0)
		if !strings.Contains(forced.stderr, "--local: registering into ./flymodel-data") || s.writes.Load() != writes {
			t.Errorf("--local did not register locally (%d writes to the server):\n%s", s.writes.Load()-writes, forced)
		}
		flymodel(t, sdir, nil, append(args, "--local", "--server", s.URL)...).expectCode(t, 2)
	})
}

// TestNoRegistryHere: the commands that read a registry, run where there
// is none, say so and exit 1, creating nothing; -d finds it (gc, verify and
// retention take -d like every command).
func TestNoRegistryHere(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "retention.toml")
	if err := os.WriteFile(config, []byte("[retention.prod]\nmodels = 30\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "elsewhere")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	commands := [][]string{{"verify"}, {"audit"}, {"token", "list"}, {"gc"}, {"-c", config, "retention"}}
	for _, args := range commands {
		res := flymodel(t, empty, nil, args...)
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "no registry here (looked for flymodel-data/flymodel.db); use -d or run in the registry's folder") {
			t.Errorf("%v: want the no-registry message\n%s", args, res)
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("the refused commands created %v", entries)
	}
	dbURL := "sqlite:" + filepath.Join(dir, "reg", "flymodel.db")
	flymodel(t, dir, nil, "migrate", "up", "-d", dbURL).expectCode(t, 0)
	// -d names the database; the blob root stays the data folder's (gc
	// lists it, so it must exist).
	if err := os.MkdirAll(filepath.Join(empty, "flymodel-data", "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range commands {
		res := flymodel(t, empty, nil, append(args, "-d", dbURL)...)
		res.expectCode(t, 0)
	}
	gc := flymodel(t, empty, nil, "--dry", "gc", "-d", dbURL)
	verify := flymodel(t, empty, nil, "verify", "-d", dbURL)
	retention := flymodel(t, empty, nil, "-c", config, "--dry", "retention", "-d", dbURL)
	if !strings.Contains(gc.stdout, "would remove 0 blobs") || !strings.Contains(verify.stdout, "checked 0 artifacts") ||
		!strings.Contains(retention.stdout, "would remove 0 versions") {
		t.Errorf("-d: gc, verify, retention:\n%s\n%s\n%s", gc, verify, retention)
	}
	if _, err := os.Stat(filepath.Join(empty, "flymodel-data", "flymodel.db")); !os.IsNotExist(err) {
		t.Fatalf("commands given -d made a database here: %v", err)
	}
}

// countingServer answers every request with 500 and counts them.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// TestUpsertNamesCheckedFirst: every name is checked with the registry's
// rules before anything is sent or read; a bad one is a usage error naming
// it, and the server sees no request.
func TestUpsertNamesCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, requests := countingServer(t)
	base := []string{"upsert", "--server", srv.URL}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--namespace", "n", "--model", "m", "--version", "v5/x"}, `version "v5/x": must not contain '/'`},
		{[]string{"--namespace", "..", "--model", "m", "--version", "v"}, `namespace ".."`},
		{[]string{"--namespace", "n", "--model", "a?b", "--version", "v"}, `model "a?b"`},
		{[]string{"--namespace", "n", "--model", "m", "--version", "v", "--artifact", "../x=f.txt"}, `artifact "../x"`},
		{[]string{"--namespace", "n", "--model", "m", "--version", "v", "--experiment", "a/b"}, `experiment "a/b"`},
	} {
		res := flymodel(t, dir, nil, append(base, tc.args...)...)
		res.expectCode(t, 2)
		if !strings.Contains(res.stderr, tc.want) || res.stdout != "" {
			t.Errorf("%v: want %q in the error and nothing printed\n%s", tc.args, tc.want, res)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests were sent for names the registry would refuse", n)
	}
}

// TestUpsertStagingIsStage: one vocabulary — the original's "staging" is
// "stage" on the command line and in the API alike.
func TestUpsertStagingIsStage(t *testing.T) {
	upsertServers(t, func(t *testing.T, s *testServer) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := runUpsert(t, dir, 0, "--server", s.URL, "--namespace", "n", "--model", "m", "--version", "v1", "--artifact", "f.txt", "--state", "staging")
		if out.Changed == 0 {
			t.Fatalf("upsert --state staging: %+v", out)
		}
		c, _ := client.New(s.URL)
		v, err := c.GetVersion(context.Background(), client.VersionRef{Namespace: "n", Model: "m", Version: "v1"})
		if err != nil || v.State != "stage" {
			t.Fatalf("version after --state staging: %+v %v", v, err)
		}
		path := "/api/v1/namespaces/n/models/m/versions"
		if r := httpCall(t, s.URL, "POST", path, "", `{"version": "v2", "state": "staging"}`); r.status != http.StatusCreated || !strings.Contains(r.body, `"state":"stage"`) {
			t.Fatalf("POST a version in staging: %d %s", r.status, r.body)
		}
		if r := httpCall(t, s.URL, "PUT", path+"/v1/state", "", `{"state": "staging"}`); r.status != http.StatusOK || !strings.Contains(r.body, `"state":"stage"`) {
			t.Fatalf("PUT state staging: %d %s", r.status, r.body)
		}
		if r := httpCall(t, s.URL, "GET", path+"?state=staging", "", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"total_items":2`) {
			t.Fatalf("GET ?state=staging: %d %s", r.status, r.body)
		}
	})
}

// TestUpsertResultWrittenOnce: a finished experiment's result is written
// once: other metrics, another duration or other params on a rerun are a
// conflict showing both values (exit 3), never a silent "unchanged"; the
// flags that would be dropped are usage errors.
func TestUpsertResultWrittenOnce(t *testing.T) {
	upsertServers(t, func(t *testing.T, s *testServer) {
		dir := t.TempDir()
		args := []string{"--server", s.URL, "--namespace", "n", "--model", "m", "--version", "v1", "--experiment", "eval"}
		first := runUpsert(t, dir, 0, append(args, "--param", "lr=0.001", "--param", "opt=adam", "--experiment-state", "passed",
			"--metrics", `{"acc": 0.9}`, "--duration", "42s")...)
		if first.Changed == 0 {
			t.Fatalf("first run: %+v", first)
		}
		c, _ := client.New(s.URL)
		e, err := c.GetExperiment(context.Background(), client.VersionRef{Namespace: "n", Model: "m", Version: "v1"}, "eval")
		if err != nil || e.DurationMs == nil || *e.DurationMs != 42000 || !sameJSONText(e.Params, `{"lr":0.001,"opt":"adam"}`) {
			t.Fatalf("experiment after the first run: %+v %v (params %s)", e, err, e.Params)
		}
		// The same result again: unchanged, whatever the key order.
		again := runUpsert(t, dir, 0, append(args, "--param", "opt=adam", "--param", "lr=0.001", "--experiment-state", "passed",
			"--metrics", `{ "acc":0.9 }`, "--duration", "42s")...)
		if again.Changed != 0 || again.Conflicts != 0 {
			t.Fatalf("identical rerun: %+v", again)
		}
		writes := s.writes.Load()
		for _, tc := range []struct {
			extra []string
			want  []string
		}{
			{[]string{"--experiment-state", "passed", "--metrics", `{"acc": 0.8}`}, []string{`metrics {"acc":0.9}, given {"acc":0.8}`}},
			{[]string{"--experiment-state", "passed", "--duration", "1m"}, []string{"duration 42000 ms, given 60000 ms"}},
			{[]string{"--param", "lr=0.1"}, []string{`created with params {"lr":0.001,"opt":"adam"}, given {"lr":0.1}`}},
			{[]string{"--experiment-state", "failed"}, []string{"already recorded as passed"}},
		} {
			res := flymodel(t, dir, nil, append(append([]string{"upsert"}, args...), tc.extra...)...)
			res.expectCode(t, 3)
			for _, want := range tc.want {
				if !strings.Contains(res.stdout, want) {
					t.Errorf("%v: want %q\n%s", tc.extra, want, res)
				}
			}
		}
		if s.writes.Load() != writes {
			t.Fatalf("conflicting reruns sent %d writes", s.writes.Load()-writes)
		}
		for _, extra := range [][]string{
			{"--metrics", `{"acc": 1}`},                                // no state: the metrics would be dropped
			{"--experiment-state", "running", "--metrics", `{"a": 1}`}, // running records no result
			{"--experiment-state", "running", "--duration", "1s"},
			{"--param", "novalue"},
			{"--param", "a=1", "--param", "a=2"},
		} {
			flymodel(t, dir, nil, append(append([]string{"upsert"}, args...), extra...)...).expectCode(t, 2)
		}
		noExp := []string{"upsert", "--server", s.URL, "--namespace", "n", "--model", "m", "--version", "v1"}
		flymodel(t, dir, nil, append(noExp, "--param", "a=1")...).expectCode(t, 2)
		flymodel(t, dir, nil, append(noExp, "--duration", "1s")...).expectCode(t, 2)
	})
}

func sameJSONText(got []byte, want string) bool {
	var a, b any
	return json.Unmarshal(got, &a) == nil && json.Unmarshal([]byte(want), &b) == nil && strings.EqualFold(mustJSON(a), mustJSON(b))
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestUpsertPlanBeforeUploads: the plan's lines are printed before the
// first upload starts — the server holds every upload until the test has
// read the plan.
func TestUpsertPlanBeforeUploads(t *testing.T) {
	upsertServers(t, func(t *testing.T, s *testServer) {
		target, _ := url.Parse(s.URL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		release := make(chan struct{})
		gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				<-release
			}
			proxy.ServeHTTP(w, r)
		}))
		defer gate.Close()
		var once bool
		closeRelease := func() {
			if !once {
				once = true
				close(release)
			}
		}
		defer closeRelease()

		dir := t.TempDir()
		writeTree(t, filepath.Join(dir, "out"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary, "upsert", "--server", gate.URL, "--namespace", "n", "--model", "m", "--version", "v1", "--artifact", "model=out")
		cmd.Dir, cmd.Env = dir, cleanEnv()
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		scanner := bufio.NewScanner(stdout)
		var plan []string
		for len(plan) < 7 && scanner.Scan() { // namespace, model, version, 4 artifacts
			plan = append(plan, scanner.Text())
		}
		if len(plan) < 7 || !strings.HasPrefix(plan[6], "upload    artifact") {
			t.Fatalf("the plan was not printed while the uploads were held: %q", plan)
		}
		closeRelease()
		var rest []string
		for scanner.Scan() {
			rest = append(rest, scanner.Text())
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("upsert: %v; after the plan: %q", err, rest)
		}
		if len(rest) != 1 || !strings.Contains(rest[0], "7 changed, 0 unchanged") {
			t.Fatalf("after the plan, want the summary alone: %q", rest)
		}
	})
}

func TestProgressLine(t *testing.T) {
	got := progressLine("w.bin", 50<<20, 200<<20, 5*time.Second)
	for _, want := range []string{"w.bin [#####...............]  25.0%", "50.0 MiB / 200.0 MiB", "10.0 MiB/s", "15s left"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress line %q: no %q", got, want)
		}
	}
}

// TestServeDry: serve --dry prints the plan and exits, creating nothing
// and listening nowhere.
func TestServeDry(t *testing.T) {
	dir := t.TempDir()
	res := flymodel(t, dir, nil, "--dry", "serve", "-p", "0")
	res.expectCode(t, 0)
	n := latestMigration(t)
	for _, want := range []string{
		"database  sqlite:flymodel-data/flymodel.db would be created",
		"would apply " + strconv.Itoa(n) + " pending migrations",
		"store     local fs:" + filepath.Join(dir, "flymodel-data", "blobs") + " (test,qa,stage,prod): missing, would be created",
		"listen    localhost:0",
		"auth      anonymous unset",
		"tracing   off",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("no %q in the plan\n%s", want, res)
		}
	}
	if strings.Contains(res.stderr, `"listening"`) {
		t.Errorf("serve --dry listened\n%s", res)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("serve --dry created %v", entries)
	}
}

// TestBareFlymodel: no command is a usage error, with the help on stderr.
func TestBareFlymodel(t *testing.T) {
	res := flymodel(t, t.TempDir(), nil)
	res.expectCode(t, 2)
	if res.stdout != "" || !strings.Contains(res.stderr, "Usage:") || !strings.Contains(res.stderr, "flymodel: no command given") {
		t.Fatalf("bare flymodel:\n%s", res)
	}
	flymodel(t, t.TempDir(), nil, "--help").expectCode(t, 0)
}

// TestCompletion: the shells complete the fixed vocabularies, and
// namespace and model names from the configured server (quietly nothing
// when it cannot be reached).
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	complete := func(env []string, args ...string) []string {
		t.Helper()
		res := flymodel(t, dir, env, append([]string{"__complete"}, args...)...)
		res.expectCode(t, 0)
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
			if !strings.HasPrefix(line, ":") {
				out = append(out, strings.SplitN(line, "\t", 2)[0])
			}
		}
		return out
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"upsert", "--state", ""}, "test qa stage prod"},
		{[]string{"upsert", "--experiment-state", ""}, "running passed failed"},
		{[]string{"upsert", "--output", ""}, "text json"},
		{[]string{"verify", "--output", ""}, "text json"},
		{[]string{"audit", "--output", ""}, "text json"},
		{[]string{"pull", "--output", ""}, "text json"},
		{[]string{"serve", "--log-format", ""}, "auto text json"},
		{[]string{"token", "create", "--role", ""}, "read write admin"},
	} {
		if got := strings.Join(complete(nil, tc.args...), " "); got != tc.want {
			t.Errorf("complete %v: %q, want %q", tc.args, got, tc.want)
		}
	}
	upsertServers(t, func(t *testing.T, s *testServer) {
		c, _ := client.New(s.URL)
		ctx := context.Background()
		for _, ns := range []string{"canada", "usa"} {
			if _, err := c.CreateNamespace(ctx, ns, ""); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []string{"llm.sm", "llm.lg"} {
			if _, err := c.CreateModel(ctx, "canada", m); err != nil {
				t.Fatal(err)
			}
		}
		env := []string{"FLYMODEL_SERVER=" + s.URL}
		if got := strings.Join(complete(env, "upsert", "--namespace", "ca"), " "); got != "canada" {
			t.Errorf("namespaces: %q", got)
		}
		if got := strings.Join(complete(env, "upsert", "--namespace", "canada", "--model", ""), " "); got != "llm.lg llm.sm" {
			t.Errorf("models: %q", got)
		}
		if got := strings.Join(complete(env, "pull", ""), " "); got != "canada/ usa/" {
			t.Errorf("pull NS/: %q", got)
		}
		if got := strings.Join(complete(env, "pull", "canada/llm.s"), " "); got != "canada/llm.sm" {
			t.Errorf("pull NS/MODEL: %q", got)
		}
	})
	srv, _ := countingServer(t)
	if got := complete([]string{"FLYMODEL_SERVER=" + srv.URL}, "upsert", "--namespace", ""); len(got) != 0 {
		t.Errorf("a failing server completed %q", got)
	}
}

// TestServeLogsTracing: the log says at start that tracing is on and
// where; a collector that is not there does not hold the shutdown.
func TestServeLogsTracing(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.NotFoundHandler())
	target := srv.Listener.Addr().String()
	srv.Close() // nothing listens there now
	s := startServe(t, dir, []string{"FLYMODEL_TRACING_OTLP_TARGET=" + target}, "-p", "0")
	s.get(t, "/healthz", http.StatusOK)
	s.stop(t, syscall.SIGTERM)
	logs := s.drainLogs()
	if !strings.Contains(logs, `"msg":"tracing on"`) || !strings.Contains(logs, `"target":"`+target+`"`) {
		t.Errorf("no start line saying where spans go:\n%s", logs)
	}
	if !strings.Contains(logs, "unreachable") {
		t.Errorf("the shutdown did not say the collector was unreachable:\n%s", logs)
	}
}
