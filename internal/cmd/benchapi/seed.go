package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

const (
	benchNamespace = "bench"
	// seedBatch versions are inserted per transaction: large enough that
	// commits do not dominate, small enough to keep transactions short.
	seedBatch = 5000
	// seedWorkers is the number of batch transactions in flight.
	seedWorkers = 4
	// listPageSize and listPages bound the pages the list operation asks for.
	listPageSize = 25
	listPages    = 20
)

// seeded describes what seed wrote, for the requests to aim at: version i
// is versionName(i) of model models[i % len(models)].
type seeded struct {
	models   []string
	versions int
	// qaPages is, per model, the number of pages of qa versions the list
	// operation picks from (1 to listPages).
	qaPages []int
}

func versionName(i int) string { return fmt.Sprintf("seed-%06d", i) }

// lifecycleOf is the state of version i: test, qa, stage and prod in turn
// within each model.
func lifecycleOf(i, models int) string {
	return registry.Lifecycles[(i/models)%len(registry.Lifecycles)]
}

// seed writes namespace bench with models model-00… and the versions
// spread over them round-robin, through the database's queries in batched
// transactions (the same rows the registry writes: the version, its seal
// outside test, the first history entry). The lifecycle cycles through
// test, qa, stage and prod within each model, so one version in four is in
// qa. Creation times are a millisecond apart, oldest first.
func seed(ctx context.Context, database db.DB, versions, models int) (seeded, error) {
	now := api.Timestamp(time.Now())
	s := seeded{versions: versions, qaPages: make([]int, models)}
	modelIDs := make([]int64, models)
	err := database.InTx(ctx, func(q db.Queries) error {
		ns, err := q.CreateNamespace(ctx, db.CreateNamespaceParams{Name: benchNamespace, Description: "benchapi", Now: now})
		if err != nil {
			return fmt.Errorf("seed namespace: %w", err)
		}
		for m := range models {
			model, err := q.CreateModel(ctx, db.CreateModelParams{NamespaceID: ns.ID, Name: fmt.Sprintf("model-%02d", m), Now: now})
			if err != nil {
				return fmt.Errorf("seed model: %w", err)
			}
			modelIDs[m] = model.ID
			s.models = append(s.models, model.Name)
		}
		return nil
	})
	if err != nil {
		return s, err
	}

	// Batches run on a few transactions at once: PostgreSQL overlaps their
	// round trips; SQLite's single writer connection takes them in turn.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	first := now.Add(-time.Duration(versions) * time.Millisecond)
	lows := make(chan int)
	var wg sync.WaitGroup
	for range seedWorkers {
		wg.Go(func() {
			for lo := range lows {
				if err := seedVersions(ctx, database, modelIDs, lo, min(lo+seedBatch, versions), first); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for lo := 0; lo < versions; lo += seedBatch {
		select {
		case lows <- lo:
		case <-ctx.Done():
			break feed
		}
	}
	close(lows)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return s, err
	}

	qa := make([]int, models)
	for i := range versions {
		if lifecycleOf(i, models) == "qa" {
			qa[i%models]++
		}
	}
	for m, n := range qa {
		s.qaPages[m] = min(max(1, (n+listPageSize-1)/listPageSize), listPages)
	}
	return s, nil
}

// seedVersions writes versions lo to hi-1 in one transaction.
func seedVersions(ctx context.Context, database db.DB, modelIDs []int64, lo, hi int, first time.Time) error {
	models := len(modelIDs)
	return database.InTx(ctx, func(q db.Queries) error {
		for i := lo; i < hi; i++ {
			state := lifecycleOf(i, models)
			at := first.Add(time.Duration(i) * time.Millisecond)
			v, err := q.CreateVersion(ctx, db.CreateVersionParams{ModelID: modelIDs[i%models], Version: versionName(i), State: state, Now: at})
			if err != nil {
				return fmt.Errorf("seed version %d: %w", i, err)
			}
			if state != "test" {
				_, err := q.SetVersionState(ctx, db.SetVersionStateParams{ID: v.ID, State: state, SealedAt: &at, Now: at})
				if err != nil {
					return fmt.Errorf("seed version %d: seal: %w", i, err)
				}
			}
			_, err = q.CreateStateChange(ctx, db.CreateStateChangeParams{VersionID: v.ID, ToState: state, Actor: "benchapi", Now: at})
			if err != nil {
				return fmt.Errorf("seed version %d: history: %w", i, err)
			}
		}
		return nil
	})
}

// freshDatabase returns the URL of an empty database of engineName and a
// function that removes it: a file in a temporary folder for SQLite, a
// throwaway database on the admin server for PostgreSQL.
func freshDatabase(ctx context.Context, engineName, postgresAdmin string) (dbURL string, cleanup func() error, err error) {
	if engineName == db.EngineSQLite {
		dir, err := os.MkdirTemp("", "flymodel-bench-")
		if err != nil {
			return "", nil, err
		}
		return "sqlite:" + filepath.Join(dir, "flymodel.db"), func() error { return os.RemoveAll(dir) }, nil
	}

	u, err := url.Parse(postgresAdmin)
	if err != nil {
		return "", nil, fmt.Errorf("postgres url: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "flymodel_bench_" + hex.EncodeToString(b[:])
	if err := adminExec(ctx, postgresAdmin, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() error {
		// Also after Ctrl-C: the database must not outlive the run.
		ctx := context.WithoutCancel(ctx)
		if err := adminExec(ctx, postgresAdmin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func adminExec(ctx context.Context, adminURL, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, sql)
	return errors.Join(err, conn.Close(ctx))
}
