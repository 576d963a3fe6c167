package registry_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/registry/registrytest"
)

// benchSeed is the registry the overview benchmarks read: 100 models of
// 1,000 versions with one experiment each (100,000 versions and 100,000
// experiments), plus 10,000 audit records.
var benchSeed = registrytest.SeedOptions{Namespace: "bench", Models: 100, VersionsPerModel: 1000, ExperimentsPerVersion: 1}

// benchEngines runs fn once per engine on a fresh database; analyze
// updates the planner's statistics (as autovacuum would after a bulk load).
func benchEngines(b *testing.B, fn func(b *testing.B, s db.DB, analyze func() error)) {
	b.Run("sqlite", func(b *testing.B) {
		path := dbtest.SQLitePath(b)
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		fn(b, s, func() error {
			c, err := sql.Open("sqlite", path)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Exec("ANALYZE")
			return err
		})
	})
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(dbtest.PostgresEnv) == "" && os.Getenv(dbtest.RequireServicesEnv) != "1" {
			b.Skip(dbtest.PostgresEnv + " not set: skipping PostgreSQL")
		}
		url := dbtest.PostgresURL(b)
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		fn(b, s, func() error {
			c, err := pgx.Connect(ctx, url)
			if err != nil {
				return err
			}
			defer c.Close(ctx)
			_, err = c.Exec(ctx, "ANALYZE")
			return err
		})
	})
}

// BenchmarkOverview times each read of the web UI's pages on 100,000
// versions and experiments: go test ./internal/registry -run '^$' -bench Overview
func BenchmarkOverview(b *testing.B) {
	benchEngines(b, func(b *testing.B, s db.DB, analyze func() error) {
		if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		seeded, err := registrytest.Seed(ctx, s, benchSeed)
		if err != nil {
			b.Fatal(err)
		}
		err = s.InTx(ctx, func(q db.Queries) error {
			for i := range 10000 {
				c := audit.WithCaller(ctx, audit.Caller{Actor: []string{"alice", "bob", "carol", "dave"}[i%4]})
				if err := audit.Record(c, q, time.Now(), audit.Entry{Action: "version.create", Namespace: "bench", Target: "/x"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := analyze(); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d versions (%d deleted), %d experiments and 10,000 audit records in %v",
			seeded.Versions, seeded.Deleted, seeded.Experiments, time.Since(start).Round(time.Millisecond))
		r := registry.New(registry.Options{DB: s, Gates: map[string]registry.Gate{"prod": {Require: []string{"eval0"}, RequireAllPassed: true}}})
		m := seeded.Models[len(seeded.Models)/2]
		p := registry.PageRequest{Page: 1, Size: 50}
		deep := registry.PageRequest{Page: 10, Size: 50}
		ref := registry.Ref{Namespace: "bench", Model: m, Version: "v000500"}
		cases := []struct {
			name string
			fn   func() error
		}{
			{"NamespaceSummaries", func() error { _, err := r.NamespaceSummaries(ctx, nil, p); return err }},
			{"ModelOverviews", func() error { _, err := r.ModelOverviews(ctx, "bench", registry.ModelFilter{}, "", p); return err }},
			{"ModelOverviews/-updated", func() error {
				_, err := r.ModelOverviews(ctx, "bench", registry.ModelFilter{NameContains: "m00"}, "-updated", p)
				return err
			}},
			{"LifecycleBoard", func() error { _, err := r.LifecycleBoard(ctx, "bench", 20); return err }},
			{"VersionSummaries", func() error {
				_, err := r.VersionSummaries(ctx, "bench", m, registry.VersionFilter{}, "", p)
				return err
			}},
			{"VersionSummaries/version/page10", func() error {
				_, err := r.VersionSummaries(ctx, "bench", m, registry.VersionFilter{}, "version", deep)
				return err
			}},
			{"VersionSummaries/created/prod", func() error {
				_, err := r.VersionSummaries(ctx, "bench", m, registry.VersionFilter{State: "prod"}, "created", p)
				return err
			}},
			{"GatePreview", func() error { _, err := r.GatePreview(ctx, ref, "prod"); return err }},
			{"CompareVersions", func() error { _, err := r.CompareVersions(ctx, "bench", m, "v000500", "v000501"); return err }},
			{"MetricSeries/200", func() error { _, err := r.MetricSeries(ctx, "bench", m, "eval0", 0); return err }},
			{"MetricSeries/1000", func() error { _, err := r.MetricSeries(ctx, "bench", m, "eval0", 1000); return err }},
			{"ExperimentNames", func() error { _, err := r.ExperimentNames(ctx, "bench", m); return err }},
			{"AuditNewest", func() error { _, _, err := audit.List(ctx, s, audit.Filter{Newest: true, Limit: 50}); return err }},
			{"AuditNewest/actor", func() error {
				_, _, err := audit.List(ctx, s, audit.Filter{Newest: true, Actor: "carol", Before: 5000, Limit: 50})
				return err
			}},
		}
		for _, c := range cases {
			b.Run(c.name, func(b *testing.B) {
				for b.Loop() {
					if err := c.fn(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}
