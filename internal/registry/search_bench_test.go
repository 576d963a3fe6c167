package registry_test

import (
	"context"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/registry/registrytest"
)

// BenchmarkSearch times a page (25 rows) of the search routes' queries
// over one model of FLYMODEL_BENCH_SEARCH_VERSIONS versions (default
// 10,000) with one experiment each (metrics accuracy, loss, note), every
// 50th version deleted: the first page and one 40 pages deep (through the
// cursors), newest first, of each filter; it reports the p99 per page.
//
//	FLYMODEL_BENCH_SEARCH_VERSIONS=100000 go test ./internal/registry -run '^$' -bench Search -benchtime 200x
func BenchmarkSearch(b *testing.B) {
	n := 10_000
	if s := os.Getenv("FLYMODEL_BENCH_SEARCH_VERSIONS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	benchEngines(b, func(b *testing.B, s db.DB, analyze func() error) {
		ctx := context.Background()
		if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := registrytest.Seed(ctx, s, registrytest.SeedOptions{Namespace: "bench", Models: 1, VersionsPerModel: n, ExperimentsPerVersion: 1}); err != nil {
			b.Fatal(err)
		}
		if err := analyze(); err != nil {
			b.Fatal(err)
		}
		reg := registry.New(registry.Options{DB: s})
		for _, c := range []struct {
			name, resource, filter, order string
		}{
			{"versions/all", "versions", "", ""},
			{"versions/prod", "versions", `state = "prod"`, ""},
			{"versions/prod-accuracy", "versions", `state = "prod" AND experiments.eval0.metrics.accuracy >= 0.9`, ""},
			{"versions/name-like", "versions", `name LIKE "v0001%"`, ""},
			{"experiments/accuracy", "experiments", `metrics.accuracy >= 0.9`, ""},
			{"experiments/by-accuracy", "experiments", `metrics.accuracy >= 0.9`, "metrics.accuracy desc"},
		} {
			b.Run(c.name, func(b *testing.B) {
				var times []time.Duration
				for b.Loop() {
					req := registry.SearchRequest{Filter: c.filter, OrderBy: c.order, Limit: 25}
					for page := 0; page < 40; page += 39 {
						start := time.Now()
						var next string
						var err error
						if c.resource == "versions" {
							var p registry.SearchPage[registry.Version]
							p, err = reg.SearchVersions(ctx, req)
							next = p.Next
						} else {
							var p registry.SearchPage[registry.Experiment]
							p, err = reg.SearchExperiments(ctx, req)
							next = p.Next
						}
						if err != nil {
							b.Fatal(err)
						}
						times = append(times, time.Since(start))
						if next == "" {
							break
						}
						// Walk to page 40 without timing it.
						for range 38 {
							req.After = next
							if c.resource == "versions" {
								p, _ := reg.SearchVersions(ctx, req)
								next = p.Next
							} else {
								p, _ := reg.SearchExperiments(ctx, req)
								next = p.Next
							}
						}
						req.After = next
					}
				}
				sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
				if len(times) > 0 {
					b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms/page")
				}
			})
		}
	})
}
