package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // checkpoint (and ANALYZE) the seeded file

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/engine"
	"github.com/flymodel/flymodel/internal/registry/registrytest"
	"github.com/flymodel/flymodel/schema"
)

const (
	benchNamespace = "bench"
	// modelTag is on every tenth model, versionTag on every hundredth
	// version of each model (the tag filters' pages).
	modelTag   = "team-a"
	versionTag = "candidate"
	// auditRecords are written besides those of the seed itself.
	auditRecords = 10_000
	// seedFormat names what seedRegistry writes: change it when that
	// changes, so cached SQLite files of the old shape are not reused.
	seedFormat = "benchui-1"
)

// seeded is what the pages are aimed at.
type seeded struct {
	namespace        string
	models           []string
	versionsPerModel int
}

// seedRegistry fills an empty, migrated database: registrytest.Seed's
// models, versions (every 50th soft-deleted) and experiments, then
// artifacts (two on every tenth version and on the middle version's
// neighbour, for compare), tags and audit records (the caller analyses).
func seedRegistry(ctx context.Context, database db.DB, c config) (seeded, error) {
	sd, err := registrytest.Seed(ctx, database, registrytest.SeedOptions{Namespace: benchNamespace, Models: c.models,
		VersionsPerModel: c.versionsPerModel, ExperimentsPerVersion: c.experimentsPerVersion})
	if err != nil {
		return seeded{}, fmt.Errorf("seed: %w", err)
	}
	s := seeded{namespace: sd.Namespace, models: sd.Models, versionsPerModel: c.versionsPerModel}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = database.InTx(ctx, func(q db.Queries) error {
		ns, err := q.GetNamespaceByName(ctx, s.namespace)
		if err != nil {
			return err
		}
		mt, err := q.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: modelTag, Color: "#3b82f6", Now: start})
		if err != nil {
			return fmt.Errorf("tag: %w", err)
		}
		vt, err := q.CreateTag(ctx, db.CreateTagParams{NamespaceID: ns.ID, Tag: versionTag, Color: "#3b82f6", Now: start})
		if err != nil {
			return fmt.Errorf("tag: %w", err)
		}
		for mi, name := range s.models {
			m, err := q.GetModelByName(ctx, db.GetModelByNameParams{NamespaceID: ns.ID, Name: name})
			if err != nil {
				return err
			}
			if mi%10 == 0 {
				if _, err := q.AttachTag(ctx, db.AttachTagParams{TagID: mt.ID, ModelID: &m.ID}); err != nil {
					return fmt.Errorf("tag model: %w", err)
				}
			}
			config := sha(name + "/config.json")
			for vi := range c.versionsPerModel {
				withArtifacts := vi%10 == 0 || vi == c.versionsPerModel/2+1
				if !withArtifacts && vi%100 != 0 {
					continue
				}
				v, err := q.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: s.namespace, Model: name, Version: versionName(vi)})
				if err != nil {
					return fmt.Errorf("version %s/%s: %w", name, versionName(vi), err)
				}
				if vi%100 == 0 {
					if _, err := q.AttachTag(ctx, db.AttachTagParams{TagID: vt.ID, VersionID: &v.ID}); err != nil {
						return fmt.Errorf("tag version: %w", err)
					}
				}
				if !withArtifacts {
					continue
				}
				at := start.Add(time.Duration(vi) * time.Millisecond)
				for _, a := range []struct {
					name, sha, contentType string
					size                   int64
				}{
					{"model.bin", sha(name + "/" + versionName(vi)), "application/octet-stream", int64(100_000_000 + vi)},
					{"config.json", config, "application/json", 1234},
				} {
					b, err := q.CreateBlob(ctx, db.CreateBlobParams{Store: "main", Key: a.sha + "-" + versionName(vi) + "-" + name,
						Size: a.size, Sha256: a.sha, Now: at})
					if err != nil {
						return fmt.Errorf("blob: %w", err)
					}
					n, err := q.NextArtifactNumber(ctx, "version")
					if err != nil {
						return err
					}
					if _, err := q.CreateArtifact(ctx, db.CreateArtifactParams{VersionID: v.ID, Number: n, Name: a.name, FileName: a.name,
						BlobID: b.ID, ContentType: a.contentType, Encoding: "uncompressed", Now: at}); err != nil {
						return fmt.Errorf("artifact: %w", err)
					}
				}
			}
		}
		actors := []string{"alice", "bob", "carol", "dave"}
		actions := []string{"version.create", "version.state", "artifact.create", "experiment.update"}
		for i := range auditRecords {
			ctx := audit.WithCaller(ctx, audit.Caller{Actor: actors[i%len(actors)]})
			e := audit.Entry{Action: actions[i/4%len(actions)], Namespace: s.namespace,
				Target: "/namespaces/" + s.namespace + "/models/" + s.models[i%len(s.models)]}
			if err := audit.Record(ctx, q, start.Add(time.Duration(i)*time.Second), e); err != nil {
				return fmt.Errorf("audit: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	return s, nil
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// database is a seeded database for one engine's run.
type database struct {
	url     string
	seeded  seeded
	cleanup func() error
	// took is how long seeding took; 0 when a cached file was reused.
	took time.Duration
}

// seededSQLite returns a copy of the seeded SQLite file of c, made once
// and kept under c.cacheDir keyed by the seed's parameters and the schema
// (seeding takes about a minute; copying the file a second). Every run
// works on its own copy (its API token is written there), so the cached
// file never changes. With no cache folder, it seeds a file of its own.
func seededSQLite(ctx context.Context, c config) (database, error) {
	dir, err := os.MkdirTemp("", "flymodel-benchui-")
	if err != nil {
		return database{}, err
	}
	d := database{url: "sqlite:" + filepath.Join(dir, "flymodel.db"), cleanup: func() error { return os.RemoveAll(dir) }}
	d.seeded = seeded{namespace: benchNamespace, versionsPerModel: c.versionsPerModel}
	for i := range c.models {
		d.seeded.models = append(d.seeded.models, fmt.Sprintf("m%04d", i))
	}
	fail := func(err error) (database, error) { return database{}, errors.Join(err, d.cleanup()) }

	cached := ""
	if c.cacheDir != "" {
		key, err := cacheKey(c)
		if err != nil {
			return fail(err)
		}
		cached = filepath.Join(c.cacheDir, "seed-"+key+".db")
		if _, err := os.Stat(cached); err == nil {
			return d, errors.Join(copyFile(cached, filepath.Join(dir, "flymodel.db")))
		}
	}
	start := time.Now()
	path := filepath.Join(dir, "flymodel.db")
	if err := seedFile(ctx, path, c); err != nil {
		return fail(err)
	}
	d.took = time.Since(start)
	if cached != "" {
		if err := os.MkdirAll(c.cacheDir, 0o755); err != nil {
			return fail(err)
		}
		tmp := cached + ".tmp"
		if err := copyFile(path, tmp); err != nil {
			return fail(err)
		}
		if err := os.Rename(tmp, cached); err != nil {
			return fail(err)
		}
	}
	return d, nil
}

// seedFile seeds a new SQLite file at path and leaves it closed and
// checkpointed (no write-ahead log beside it). It is analysed only with
// -sqlite-analyze: flymodel never runs ANALYZE on SQLite, so a server's
// database has no statistics, and with them (sqlite_stat4) SQLite
// re-prepares every statement whose plan may depend on a bound value at
// each execution (about half the CPU of the namespace page).
func seedFile(ctx context.Context, path string, c config) error {
	dbase, err := engine.Open(ctx, "sqlite:"+path)
	if err != nil {
		return err
	}
	_, err = dbase.Migrate(ctx, db.MigrateOptions{})
	if err == nil {
		_, err = seedRegistry(ctx, dbase, c)
	}
	if err = errors.Join(err, dbase.Close()); err != nil {
		return err
	}
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	if c.sqliteAnalyze {
		_, err = conn.ExecContext(ctx, "ANALYZE")
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return errors.Join(err, conn.Close())
}

// cacheKey names a seeded file by what it depends on: the seed's
// parameters and shape, and every migration of the schema.
func cacheKey(c config) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %d %d %d %t\n", seedFormat, c.models, c.versionsPerModel, c.experimentsPerVersion, c.sqliteAnalyze)
	err := fs.WalkDir(schema.SQLite, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(schema.SQLite, p)
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	return errors.Join(err, dst.Close())
}

// seededPostgres seeds a throwaway database on the admin server (dropped
// by cleanup, also after Ctrl-C). It is not cached: a database left
// behind on a shared server is worse than the minute seeding takes.
func seededPostgres(ctx context.Context, c config) (database, error) {
	u, err := url.Parse(c.postgresURL)
	if err != nil {
		return database{}, fmt.Errorf("postgres url: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "flymodel_benchui_" + hex.EncodeToString(b[:])
	if err := adminExec(ctx, c.postgresURL, "CREATE DATABASE "+name); err != nil {
		return database{}, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	d := database{url: u.String(), cleanup: func() error {
		if c.keepPostgres {
			fmt.Fprintf(os.Stderr, "benchui: kept %s\n", u.Redacted())
			return nil
		}
		if err := adminExec(context.WithoutCancel(ctx), c.postgresURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}}
	start := time.Now()
	dbase, err := engine.Open(ctx, d.url)
	if err != nil {
		return database{}, errors.Join(err, d.cleanup())
	}
	_, err = dbase.Migrate(ctx, db.MigrateOptions{})
	if err == nil {
		d.seeded, err = seedRegistry(ctx, dbase, c)
	}
	if err == nil {
		// VACUUM as autovacuum would after a bulk load (PostgreSQL 13+
		// vacuums after inserts): it sets the visibility map, without which
		// no scan reads an index alone.
		err = adminExec(ctx, d.url, "VACUUM ANALYZE")
	}
	if err = errors.Join(err, dbase.Close()); err != nil {
		return database{}, errors.Join(err, d.cleanup())
	}
	d.took = time.Since(start)
	return d, nil
}

func adminExec(ctx context.Context, adminURL, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, sql)
	return errors.Join(err, conn.Close(ctx))
}
