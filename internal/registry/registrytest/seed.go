// Package registrytest builds large registries for tests and benchmarks
// straight through the database layer (not through HTTP or the registry's
// rules), in one transaction.
package registrytest

import (
	"context"
	"fmt"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
)

// SeedOptions shape a seeded namespace.
type SeedOptions struct {
	// Namespace is created; "" means "bench".
	Namespace string
	// Models in the namespace, named m0000, m0001, …
	Models int
	// VersionsPerModel, named v000000, v000001, … in creation order (one
	// millisecond apart from Start). Version i is in prod when i%10 == 9,
	// stage when 7 or 8, qa when 5 or 6, test otherwise; every 50th is
	// soft-deleted.
	VersionsPerModel int
	// ExperimentsPerVersion, named eval0, eval1, …, finished: failed when
	// the version's index is a multiple of 7, passed otherwise, with the
	// metrics {"accuracy": <number>, "loss": <number>, "note": "text"}.
	ExperimentsPerVersion int
	// Start is the first version's creation time; zero means 2026-01-01 UTC.
	Start time.Time
}

// Seeded says what Seed made.
type Seeded struct {
	Namespace   string
	Models      []string
	Versions    int // live and deleted
	Deleted     int
	Experiments int
}

// Lifecycle is the lifecycle Seed gives version i.
func Lifecycle(i int) string {
	switch i % 10 {
	case 9:
		return api.Prod
	case 7, 8:
		return api.Stage
	case 5, 6:
		return api.QA
	}
	return api.Test
}

// Seed creates o's namespace, models, versions and experiments in s, in
// one transaction, and returns what it made. 100 models × 1,000 versions ×
// 1 experiment (100,000 versions and experiments) take seconds on SQLite
// and tens of seconds on PostgreSQL.
func Seed(ctx context.Context, s db.DB, o SeedOptions) (Seeded, error) {
	if o.Namespace == "" {
		o.Namespace = "bench"
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	out := Seeded{Namespace: o.Namespace}
	err := s.InTx(ctx, func(q db.Queries) error {
		now := api.Timestamp(o.Start)
		ns, err := q.CreateNamespace(ctx, db.CreateNamespaceParams{Name: o.Namespace, Now: now})
		if err != nil {
			return err
		}
		for mi := range o.Models {
			name := fmt.Sprintf("m%04d", mi)
			m, err := q.CreateModel(ctx, db.CreateModelParams{NamespaceID: ns.ID, Name: name, Now: now.Add(time.Duration(mi) * time.Second)})
			if err != nil {
				return err
			}
			out.Models = append(out.Models, name)
			for vi := range o.VersionsPerModel {
				at := now.Add(time.Duration(vi) * time.Millisecond)
				v, err := q.CreateVersion(ctx, db.CreateVersionParams{ModelID: m.ID, Version: fmt.Sprintf("v%06d", vi), State: Lifecycle(vi), Now: at})
				if err != nil {
					return err
				}
				out.Versions++
				for ei := range o.ExperimentsPerVersion {
					state := api.ExperimentPassed
					if vi%7 == 0 {
						state = api.ExperimentFailed
					}
					metrics := fmt.Sprintf(`{"accuracy": %g, "loss": %g, "note": "text"}`, 0.5+float64(vi%500)/1000, 1/float64(vi+1))
					if err := q.SeedExperiment(ctx, db.SeedExperimentParams{VersionID: v.ID, Name: fmt.Sprintf("eval%d", ei),
						State: state, Metrics: &metrics, DurationMs: int64(vi % 1000), Now: &at}); err != nil {
						return err
					}
					out.Experiments++
				}
				if vi%50 == 49 {
					if _, err := q.SoftDeleteVersion(ctx, db.SoftDeleteVersionParams{ID: v.ID, Now: at}); err != nil {
						return err
					}
					out.Deleted++
				}
			}
		}
		return nil
	})
	return out, err
}
