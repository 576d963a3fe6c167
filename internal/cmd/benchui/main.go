// Command benchui measures the web UI's server-side render time per page on
// a registry of 100,000 versions and 100,000 experiments (plus artifacts,
// tags and audit records), on SQLite and on PostgreSQL. It builds the
// handler `flymodel serve` builds (httpapi.NewServer with web.New as its
// UI), sends each page's URLs to it in turn, one request at a time and in
// process (no network: the time is the server's), and prints p50, p99 and
// max per page as a Markdown table. The pages are the table in pages.go.
// It exits non-zero when a page answers anything but 200 (a page that
// answers 404 on its first URL is skipped as not built yet).
//
//	go run ./internal/cmd/benchui                 # SQLite, plus PostgreSQL when $FLYMODEL_TEST_POSTGRES_URL is set
//	make bench-ui BENCH_FLAGS='-engine all -requests 500'
//
// The seeded SQLite file is cached under the user's cache folder
// (flymodel/benchui), keyed by the seed's parameters and the schema, and
// copied for each run; PostgreSQL is seeded into a throwaway database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/engine"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/web"
)

// postgresEnv is the variable the tests read the PostgreSQL admin URL from.
const postgresEnv = "FLYMODEL_TEST_POSTGRES_URL"

// target is the bound on every page's p99 on SQLite.
const target = 50 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchui:", err)
		os.Exit(1)
	}
}

type config struct {
	engines               []string
	postgresURL           string
	models                int
	versionsPerModel      int
	experimentsPerVersion int
	requests              int
	pages                 *regexp.Regexp
	cacheDir              string
	keepPostgres          bool
	sqliteAnalyze         bool
	cpuProfile            string
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("benchui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	defaultCache := ""
	if dir, err := os.UserCacheDir(); err == nil {
		defaultCache = filepath.Join(dir, "flymodel", "benchui")
	}
	engineFlag := fs.String("engine", "", "sqlite, postgres or all (default: sqlite, plus postgres when a PostgreSQL URL is known)")
	fs.StringVar(&c.postgresURL, "postgres-url", "", "admin `url` of a PostgreSQL server, where a throwaway database is created (default $"+postgresEnv+")")
	fs.IntVar(&c.models, "models", 100, "models seeded")
	fs.IntVar(&c.versionsPerModel, "versions-per-model", 1000, "versions seeded per model (every 50th soft-deleted)")
	fs.IntVar(&c.experimentsPerVersion, "experiments-per-version", 1, "experiments seeded per version")
	fs.IntVar(&c.requests, "requests", 300, "requests per page, spread over its URLs")
	pagesFlag := fs.String("pages", "", "measure only the pages whose name matches this `regexp`")
	fs.StringVar(&c.cacheDir, "cache", defaultCache, "`folder` keeping seeded SQLite files between runs (\"\": seed every run)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the requests to `file` (with several engines, the engine is inserted before the extension)")
	fs.BoolVar(&c.sqliteAnalyze, "sqlite-analyze", false, "run ANALYZE on the seeded SQLite file (flymodel never does: by default the file has no statistics, as a server's has)")
	fs.BoolVar(&c.keepPostgres, "keep-postgres", false, "keep the seeded PostgreSQL database (for EXPLAIN) instead of dropping it")
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
	var err error
	if c.pages, err = regexp.Compile(*pagesFlag); err != nil {
		return c, fmt.Errorf("-pages: %w", err)
	}
	if c.models < 1 || c.versionsPerModel < 4 || c.experimentsPerVersion < 1 || c.requests < 1 {
		return c, errors.New("-models, -experiments-per-version and -requests must be at least 1, -versions-per-model at least 4")
	}
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
	fmt.Fprintf(stdout, "machine: %s/%s, %d CPUs (%s), GOMAXPROCS %d, %s, %s\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.GOMAXPROCS(0), runtime.Version(), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(stdout, "load average at start: %s (the machine's other work shares its CPUs)\n", loadAverage())
	fmt.Fprintf(stdout, "registry: %d models × %d versions (%d versions, every 50th soft-deleted) × %d experiments; %d requests per page, one at a time\n",
		c.models, c.versionsPerModel, c.models*c.versionsPerModel, c.experimentsPerVersion, c.requests)
	var all []result
	for _, name := range c.engines {
		rs, err := benchEngine(ctx, c, name, stdout)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, rs...)
	}
	printTable(stdout, all)
	var failed []string
	for _, r := range all {
		if r.err != "" {
			failed = append(failed, r.engine+" "+r.page+": "+r.err)
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// result is one page's figures on one engine.
type result struct {
	engine, page  string
	urls          int
	requests      int
	p50, p99, max time.Duration
	// cpu is the process's CPU time per request (0: unknown).
	cpu time.Duration
	// slowest is the URL with the highest median.
	slowest string
	skipped string
	err     string
}

func benchEngine(ctx context.Context, c config, engineName string, stdout io.Writer) (results []result, err error) {
	var d database
	if engineName == db.EngineSQLite {
		d, err = seededSQLite(ctx, c)
	} else {
		d, err = seededPostgres(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.cleanup()) }()
	if d.took > 0 {
		fmt.Fprintf(stdout, "%s: seeded in %s\n", engineName, d.took.Round(time.Millisecond))
	} else {
		fmt.Fprintf(stdout, "%s: seeded file reused from %s\n", engineName, c.cacheDir)
	}
	database, err := engine.Open(ctx, d.url)
	if err != nil {
		return nil, err
	}
	defer database.Close()
	if _, err := database.Migrate(ctx, db.MigrateOptions{}); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	h, token, err := handler(ctx, database)
	if err != nil {
		return nil, err
	}
	if c.cpuProfile != "" {
		path := c.cpuProfile
		if len(c.engines) > 1 {
			ext := filepath.Ext(path)
			path = strings.TrimSuffix(path, ext) + "." + engineName + ext
		}
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		defer func() {
			pprof.StopCPUProfile()
			err = errors.Join(err, f.Close())
		}()
	}
	for _, p := range pages {
		if !c.pages.MatchString(p.name) {
			continue
		}
		r := measure(h, token, engineName, p, p.urls(d.seeded), c.requests)
		results = append(results, r)
	}
	return results, nil
}

// handler is the server `flymodel serve` runs on a laptop (loopback bind,
// the UI on), over database, with a filesystem blob store for every
// lifecycle and prod gated on eval0, and an admin API token its requests
// carry.
func handler(ctx context.Context, database db.DB) (http.Handler, string, error) {
	dir, err := os.MkdirTemp("", "flymodel-benchui-blobs-")
	if err != nil {
		return nil, "", err
	}
	// The store is never written: the benchmark only reads.
	defer os.RemoveAll(dir)
	fs, err := fsblob.New(dir)
	if err != nil {
		return nil, "", err
	}
	stores := registry.BlobStores{ByName: map[string]blob.Store{"main": fs},
		ForRole: map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "main"}}
	reg := registry.New(registry.Options{DB: database, Blobs: stores,
		Gates: map[string]registry.Gate{"prod": {Require: []string{"eval0"}, RequireAllPassed: true}}})
	_, token, err := reg.CreateToken(ctx, registry.NewToken{Name: "benchui", Role: "admin", Namespaces: []string{"*"}})
	if err != nil {
		return nil, "", err
	}
	authn := auth.New(auth.Options{DB: database, Loopback: true})
	logger := slog.New(slog.DiscardHandler)
	ui := web.New(reg, authn, web.Options{Logger: logger, Version: "benchui",
		Sessions: auth.NewSessions(auth.SessionOptions{DB: database})})
	return httpapi.NewServer(reg, authn, httpapi.Options{Logger: logger, UI: ui, LoopbackBind: true}), token, nil
}

// measure sends n requests to the page's URLs in turn, after one warm-up
// request each, and times ServeHTTP.
func measure(h http.Handler, token, engineName string, p page, urls []string, n int) result {
	r := result{engine: engineName, page: p.name, urls: len(urls)}
	get := func(u string) (time.Duration, int) {
		req := httptest.NewRequest(http.MethodGet, u, nil)
		req.Host = "localhost:9009"
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		return time.Since(start), rec.Code
	}
	for i, u := range urls {
		_, code := get(u)
		switch {
		case code == http.StatusNotFound && i == 0:
			r.skipped = "answers 404: not built on this branch yet"
			return r
		case code != http.StatusOK:
			r.err = fmt.Sprintf("GET %s: status %d", u, code)
			return r
		}
	}
	all := make([]time.Duration, 0, n)
	per := make([][]time.Duration, len(urls))
	cpu0 := processCPU()
	for i := range n {
		k := i % len(urls)
		d, code := get(urls[k])
		if code != http.StatusOK {
			r.err = fmt.Sprintf("GET %s: status %d", urls[k], code)
			return r
		}
		all = append(all, d)
		per[k] = append(per[k], d)
	}
	r.requests = n
	if cpu0 > 0 {
		r.cpu = (processCPU() - cpu0) / time.Duration(n)
	}
	r.p50, r.p99, r.max = percentile(all, 50), percentile(all, 99), slices.Max(all)
	var worst time.Duration
	for k, ds := range per {
		if len(ds) > 0 {
			if m := percentile(ds, 50); m > worst {
				worst, r.slowest = m, urls[k]
			}
		}
	}
	return r
}

// percentile is the p-th percentile of ds (nearest rank); it sorts ds.
func percentile(ds []time.Duration, p int) time.Duration {
	slices.Sort(ds)
	i := (len(ds)*p + 99) / 100
	return ds[max(i-1, 0)]
}

func printTable(w io.Writer, results []result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| engine | page | URLs | requests | p50 | p99 | max | CPU/req | slowest URL (by median) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---|")
	var over []string
	for _, r := range results {
		switch {
		case r.skipped != "":
			fmt.Fprintf(w, "| %s | %s | %d | - | - | - | - | - | skipped: %s |\n", r.engine, r.page, r.urls, r.skipped)
		case r.err != "":
			fmt.Fprintf(w, "| %s | %s | %d | - | - | - | - | - | FAILED: %s |\n", r.engine, r.page, r.urls, r.err)
		default:
			cpu := "-"
			if r.cpu > 0 {
				cpu = ms(r.cpu)
			}
			fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %s | %s | %s | `%s` |\n", r.engine, r.page, r.urls, r.requests, ms(r.p50), ms(r.p99), ms(r.max), cpu, r.slowest)
			if r.engine == db.EngineSQLite && r.p99 >= target {
				over = append(over, r.page)
			}
		}
	}
	if len(over) > 0 {
		fmt.Fprintf(w, "\nSQLite p99 at or over %s: %s\n", ms(target), strings.Join(over, ", "))
	} else {
		fmt.Fprintf(w, "\nEvery page measured has a SQLite p99 under %s.\n", ms(target))
	}
	fmt.Fprintln(w, "CPU/req is the CPU time of the whole process (the server; garbage collection included) per request.")
}

// loadAverage is the 1, 5 and 15 minute load averages on Linux ("unknown"
// elsewhere): wall times on a busy machine are longer than CPU times.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// cpuModel is the processor name on Linux ("unknown CPU" elsewhere).
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
