package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

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
func startSweeper(ctx context.Context, store db.Store, reg *registry.Registry, rules map[string]registry.RetentionRule, interval time.Duration, logger *slog.Logger) (wait func()) {
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
			ran, err := store.Exclusive(ctx, "sweeper", func(ctx context.Context) error {
				if len(rules) > 0 {
					rep, err := reg.Retention(ctx, rules, false)
					if err != nil {
						return err
					}
					if len(rep.Versions)+len(rep.Experiments) > 0 {
						logger.Info("retention", "versions", len(rep.Versions), "experiments", len(rep.Experiments), "blobs", rep.Blobs)
					}
				}
				rep, err := reg.GC(ctx, registry.GCOptions{Grace: sweepGrace})
				if err != nil {
					return err
				}
				if n := len(rep.Blobs) + len(rep.Orphans) + rep.TempFiles; n > 0 {
					logger.Info("garbage collected", "blobs", len(rep.Blobs), "orphans", len(rep.Orphans), "temp_files", rep.TempFiles, "bytes", rep.Bytes)
				}
				return nil
			})
			switch {
			case err != nil && ctx.Err() == nil:
				logger.Error("sweep failed", "err", err)
			case !ran:
				logger.Debug("sweep skipped: another replica holds the lock")
			}
		}
	}()
	return wg.Wait
}
