package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/redact"
)

// servePlan is serve --dry: what serve would do with this configuration —
// the migrations it would apply, the blob stores and their state, the
// address and the anonymous policy — found without writing anything (no
// database file, no folder, no probe object) and without serving.
func (a *app) servePlan(ctx context.Context, cfg *config.Config, noMigrate bool) error {
	out := a.stdout
	fmt.Fprintln(out, "dry run: nothing is served, migrated or created")
	url := cfg.DatabaseURL()
	status, exists, err := peekMigrationStatus(ctx, url)
	if err != nil {
		return err
	}
	switch {
	case !exists && noMigrate:
		fmt.Fprintf(out, "database  %s does not exist: --no-migrate refuses to start\n", redact.URL(url))
	case !exists:
		fmt.Fprintf(out, "database  %s would be created\n", redact.URL(url))
	default:
		fmt.Fprintf(out, "database  %s\n", redact.URL(url))
	}
	switch {
	case status.Pending == 0:
		fmt.Fprintf(out, "schema    at version %d, no pending migration\n", status.Current)
	case noMigrate:
		fmt.Fprintf(out, "schema    at version %d, %d pending %s: --no-migrate refuses to start\n", status.Current, status.Pending, plural(status.Pending, "migration", "migrations"))
	default:
		fmt.Fprintf(out, "schema    at version %d, would apply %d pending %s (to version %d)\n", status.Current, status.Pending, plural(status.Pending, "migration", "migrations"), status.Latest)
	}

	blobs, err := openBlobStores(cfg)
	if err != nil {
		return err
	}
	for _, name := range storeNames(blobs) {
		fmt.Fprintf(out, "store     %s %s (%s): %s\n", name, blobs.ByName[name], strings.Join(storeRoles(blobs, name), ","), storeState(ctx, blobs.ByName[name]))
	}
	if blobs.Folders != nil {
		fmt.Fprintf(out, "store     buckets of namespaces: folders under %s\n", filepath.Join(defaultBlobRoot(cfg), "buckets"))
	}

	fmt.Fprintf(out, "listen    %s\n", net.JoinHostPort(cfg.Server.Bind, strconv.Itoa(cfg.Server.Port)))
	policy := cfg.Auth.Anonymous
	if policy == "" {
		policy = "unset (write on a loopback address while no token exists, else none)"
	}
	oidc := "off"
	if cfg.Auth.OIDC.Issuer != "" {
		oidc = cfg.Auth.OIDC.Issuer
	}
	fmt.Fprintf(out, "auth      anonymous %s; oidc %s\n", policy, oidc)
	tracing := "off"
	if cfg.Tracing.OTLP.Target != "" {
		tracing = "OTLP to " + cfg.Tracing.OTLP.Target
	}
	fmt.Fprintf(out, "tracing   %s\n", tracing)
	return nil
}

// storeState says whether a store is there, reading only: a filesystem
// root exists or would be created; an S3 bucket answers a listing.
func storeState(ctx context.Context, st blob.Store) string {
	if fs, ok := st.(*fsblob.Store); ok {
		root := strings.TrimPrefix(fs.String(), "fs:")
		if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
			return "missing, would be created"
		} else if err != nil {
			return "unusable: " + err.Error()
		}
		return "exists"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	errStop := errors.New("stop")
	err := st.List(ctx, "objects/", func(blob.Info) error { return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return "unreachable: " + redact.URL(err.Error())
	}
	return "reachable"
}
