// Command benchapi measures the HTTP API over loopback against a registry of
// many model versions, on SQLite and on PostgreSQL: concurrent clients
// create, get and list versions through the real server, and the command
// prints requests/s and latency percentiles as Markdown tables. It exits
// non-zero when any request got an unexpected answer.
//
//	go run ./internal/cmd/benchapi -engine sqlite -versions 100000 -duration 10s
//	make bench-api BENCH_FLAGS='-engine all -postgres-url postgres://…'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/engine"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// postgresEnv is the variable the tests read the PostgreSQL admin URL from;
// the benchmark uses the same server when no -postgres-url is given.
const postgresEnv = "FLYMODEL_TEST_POSTGRES_URL"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchapi:", err)
		os.Exit(1)
	}
}

type config struct {
	engines     []string
	postgresURL string
	versions    int
	models      int
	concurrency int
	duration    time.Duration
	maxRequests int
	ops         []string
	seedOnly    bool
	cpuProfile  string
	anonymous   bool
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("benchapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	engineFlag := fs.String("engine", "", "sqlite, postgres or all (default: sqlite, plus postgres when a PostgreSQL URL is known)")
	fs.StringVar(&c.postgresURL, "postgres-url", "", "admin `url` of a PostgreSQL server, where a throwaway database is created (default $"+postgresEnv+")")
	fs.IntVar(&c.versions, "versions", 100_000, "versions seeded into the registry")
	fs.IntVar(&c.models, "models", 10, "models the seeded versions are spread over")
	fs.IntVar(&c.concurrency, "concurrency", 8, "concurrent clients")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long each operation runs")
	fs.IntVar(&c.maxRequests, "max-requests", 1_000_000, "requests after which an operation stops early")
	opsFlag := fs.String("ops", strings.Join(operationNames, ","), "operations to run, comma-separated")
	fs.BoolVar(&c.seedOnly, "seed-only", false, "seed the registry and report the time, send no requests")
	fs.BoolVar(&c.anonymous, "anonymous", false, "send no token (a laptop server with none defined); by default every request carries a write token")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the request phases (client and server) to `file`; with several engines, one file each, the engine inserted before the extension")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.postgresURL == "" {
		c.postgresURL = getenv(postgresEnv)
	}
	switch *engineFlag {
	case "":
		c.engines = []string{db.EngineSQLite}
		if c.postgresURL != "" {
			c.engines = append(c.engines, db.EnginePostgres)
		}
	case "all":
		c.engines = []string{db.EngineSQLite, db.EnginePostgres}
	case db.EngineSQLite, db.EnginePostgres:
		c.engines = []string{*engineFlag}
	default:
		return c, fmt.Errorf("-engine %q: want sqlite, postgres or all", *engineFlag)
	}
	if slices.Contains(c.engines, db.EnginePostgres) && c.postgresURL == "" {
		return c, fmt.Errorf("postgres needs -postgres-url or $%s", postgresEnv)
	}
	for _, op := range strings.Split(*opsFlag, ",") {
		if !slices.Contains(operationNames, op) {
			return c, fmt.Errorf("-ops: unknown operation %q (want some of %v)", op, operationNames)
		}
		c.ops = append(c.ops, op)
	}
	switch {
	case c.versions < 1, c.models < 1, c.concurrency < 1, c.maxRequests < 1:
		return c, errors.New("-versions, -models, -concurrency and -max-requests must be at least 1")
	case c.duration <= 0:
		return c, errors.New("-duration must be positive")
	}
	c.models = min(c.models, c.versions)
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "machine: %s/%s, %d CPUs (%s), GOMAXPROCS %d, %s\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(stdout, "registry: %d versions over %d models; %d clients, %s or %d requests per operation\n",
		c.versions, c.models, c.concurrency, c.duration, c.maxRequests)
	failed := 0
	for _, name := range c.engines {
		n, err := benchEngine(ctx, c, name, stdout, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		failed += n
	}
	if failed > 0 {
		return fmt.Errorf("%d requests got an unexpected answer", failed)
	}
	return nil
}

// benchEngine seeds a fresh database of one engine, serves it on loopback,
// runs the operations against it and prints their table. It returns the
// number of failed requests.
func benchEngine(ctx context.Context, c config, engineName string, stdout, stderr io.Writer) (failed int, err error) {
	dbURL, cleanup, err := freshDatabase(ctx, engineName, c.postgresURL)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, cleanup()) }()
	database, err := engine.Open(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer database.Close()
	if _, err := database.Migrate(ctx, db.MigrateOptions{}); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}

	start := time.Now()
	reg, err := seed(ctx, database, c.versions, c.models)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "\n%s: seeded %d versions in %s (%.0f versions/s)\n",
		engineName, c.versions, took.Round(time.Millisecond), float64(c.versions)/took.Seconds())
	if c.seedOnly {
		return 0, nil
	}

	reg2 := registry.New(registry.Options{DB: database})
	var token string
	if !c.anonymous {
		if _, token, err = reg2.CreateToken(ctx, registry.NewToken{Name: "bench", Role: "write", Namespaces: []string{"*"}}); err != nil {
			return 0, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	// As `flymodel serve` on a laptop: a loopback bind (Hosts checked) and
	// connections that follow the framing of their requests.
	srv := &http.Server{
		Handler: httpapi.NewServer(reg2, auth.New(auth.Options{DB: database, Loopback: true}), httpapi.Options{
			Logger: slog.New(slog.DiscardHandler), LoopbackBind: true,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       httpapi.ConnContext,
	}
	go func() { _ = srv.Serve(httpapi.Listener(ln)) }()
	defer srv.Close()

	if c.cpuProfile != "" {
		stop, err := startProfile(profilePath(c.cpuProfile, engineName, len(c.engines)))
		if err != nil {
			return 0, err
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	l := &load{
		engine:      engineName,
		client:      newClient(c.concurrency),
		base:        "http://" + ln.Addr().String() + "/api/v1/namespaces/" + benchNamespace + "/models/",
		reg:         reg,
		concurrency: c.concurrency,
		duration:    c.duration,
		maxRequests: c.maxRequests,
		stderr:      stderr,
		token:       token,
	}
	defer l.client.CloseIdleConnections()
	var results []result
	for _, name := range c.ops {
		r, err := l.run(ctx, operations[name])
		if err != nil {
			return 0, err
		}
		results = append(results, r)
		failed += r.errors
	}
	printTable(stdout, engineName, results)
	return failed, nil
}

func printTable(w io.Writer, engineName string, results []result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| engine | operation | requests | req/s | p50 | p99 | max | errors | CPU/req |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		cpu := "-"
		if r.cpu > 0 && r.requests > 0 {
			cpu = fmt.Sprintf("%dµs", (r.cpu / time.Duration(r.requests)).Microseconds())
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.0f | %s | %s | %s | %d | %s |\n",
			engineName, r.operation, r.requests, float64(r.requests)/r.elapsed.Seconds(),
			ms(r.p50), ms(r.p99), ms(r.max), r.errors, cpu)
	}
	fmt.Fprintln(w, "\nCPU/req is the CPU time of the whole process (server and clients) per request.")
}

// startProfile starts a CPU profile into path; stop ends and writes it.
func startProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// profilePath names the profile of one engine: path itself when only one
// engine runs, else path with the engine inserted before the extension.
func profilePath(path, engineName string, engines int) string {
	if engines == 1 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + engineName + ext
}

// cpuModel is the processor name on Linux, for comparing runs across
// machines; elsewhere it is "unknown CPU".
func cpuModel() string {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for line := range strings.Lines(string(info)) {
			if key, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(key) == "model name" {
				return strings.TrimSpace(value)
			}
		}
	}
	return "unknown CPU"
}
