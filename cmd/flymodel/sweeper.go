package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// sweepGrace is how long garbage collection in the server spares recent
// blobs, objects and temporary files.
const sweepGrace = time.Hour

// startSweeper runs retention and garbage collection every interval until
// ctx ends, under the database's "sweeper" lock so that with several
// replicas one sweeps at a time. The returned function waits for a sweep
// in progress to finish.
func startSweeper(ctx context.Context, database db.DB, reg *registry.Registry, rules map[string]registry.RetentionRule, interval time.Duration, logger *slog.Logger, m *sweepMetrics) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			ctx := audit.WithCaller(ctx, audit.Caller{Actor: api.ActorSweeper})
			ran, err := database.Exclusive(ctx, "sweeper", func(ctx context.Context) error {
				if len(rules) > 0 {
					rep, err := reg.Retention(ctx, rules, false)
					if err != nil {
						return err
					}
					m.removed.WithLabelValues("retention", "versions").Add(float64(len(rep.Versions)))
					m.removed.WithLabelValues("retention", "experiments").Add(float64(len(rep.Experiments)))
					m.removed.WithLabelValues("retention", "blobs").Add(float64(rep.Blobs))
					if len(rep.Versions)+len(rep.Experiments) > 0 {
						logger.Info("retention", "versions", len(rep.Versions), "experiments", len(rep.Experiments), "blobs", rep.Blobs)
					}
				}
				rep, err := reg.GC(ctx, registry.GCOptions{Grace: sweepGrace})
				if err != nil {
					return err
				}
				m.removed.WithLabelValues("gc", "blobs").Add(float64(len(rep.Blobs)))
				m.removed.WithLabelValues("gc", "orphans").Add(float64(len(rep.Orphans)))
				m.removed.WithLabelValues("gc", "temp_files").Add(float64(rep.TempFiles))
				if n := len(rep.Blobs) + len(rep.Orphans) + rep.TempFiles; n > 0 {
					logger.Info("garbage collected", "blobs", len(rep.Blobs), "orphans", len(rep.Orphans), "temp_files", rep.TempFiles, "bytes", rep.Bytes)
				}
				return nil
			})
			switch {
			case err != nil && ctx.Err() == nil:
				m.sweeps.WithLabelValues("failed").Inc()
				logger.Error("sweep failed", "err", err)
			case !ran:
				m.sweeps.WithLabelValues("skipped").Inc()
				logger.Debug("sweep skipped: another replica holds the lock")
			case err == nil:
				m.sweeps.WithLabelValues("done").Inc()
			}
		}
	}()
	return wg.Wait
}

// sweepMetrics count what the sweeper does.
type sweepMetrics struct {
	sweeps  *prometheus.CounterVec
	removed *prometheus.CounterVec
}

func newSweepMetrics(reg prometheus.Registerer) *sweepMetrics {
	m := &sweepMetrics{
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flymodel_sweeps_total", Help: "Sweeps (retention then garbage collection) by outcome: done, skipped (another replica held the lock), failed.",
		}, []string{"outcome"}),
		removed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flymodel_swept_total", Help: "What the sweeper removed, by task (retention, gc) and kind.",
		}, []string{"task", "kind"}),
	}
	reg.MustRegister(m.sweeps, m.removed)
	return m
}
