package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/db"
)

func (a *app) newSetupStorageCommand() *cobra.Command {
	var (
		namespaces  []string
		databaseURL string
	)
	cmd := &cobra.Command{
		Use:   "setup-storage",
		Short: "Create and verify the configured buckets (versioning on) and record them",
		Long: `For every configured storage location: create the bucket (or folder) when
missing, turn versioning on, and prove write, read and delete with a probe
object. Each location that fails is reported on its own line and the
command exits 1.

With --namespace NS (repeatable), the configured S3 buckets are also
recorded as NS's buckets, one per lifecycle role, so that NS's uploads
route to them whatever the defaults become. With --dry, only report.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := a.cfg
			if cmd.Flags().Changed("database-url") {
				cfg.Database.URL = databaseURL
			}
			return a.setupStorage(cmd.Context(), namespaces)
		},
	}
	cmd.Flags().StringArrayVar(&namespaces, "namespace", nil, "record the configured S3 buckets as this namespace's buckets (repeatable)")
	cmd.Flags().StringVarP(&databaseURL, "database-url", "d", "", databaseURLHelp)
	return cmd
}

func (a *app) setupStorage(ctx context.Context, namespaces []string) error {
	stores, err := openStores(a.cfg)
	if err != nil {
		return err
	}
	failed := 0
	for _, name := range storeNames(stores) {
		st := stores.ByName[name]
		if a.dry {
			fmt.Fprintf(a.stdout, "would ensure %s (%s): create when missing, versioning on, probe\n", st, rolesOf(stores, name))
			continue
		}
		stepCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err := st.Ensure(stepCtx)
		if err == nil {
			err = st.Probe(stepCtx)
		}
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(a.stderr, "FAILED %s: %v\n", st, err)
			continue
		}
		fmt.Fprintf(a.stdout, "ok %s (%s): exists, versioning on where supported, write/read/delete probe passed\n", st, rolesOf(stores, name))
	}
	if len(namespaces) > 0 {
		if err := a.recordBuckets(ctx, namespaces); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d storage locations failed", failed, len(stores.ByName))
	}
	return nil
}

// recordBuckets records the configured S3 buckets as the buckets of each
// namespace, one per role.
func (a *app) recordBuckets(ctx context.Context, namespaces []string) error {
	if len(a.cfg.Storage.S3) == 0 {
		return errors.New("--namespace: no storage.s3 buckets are configured to record")
	}
	store, err := openStore(ctx, a.cfg.DatabaseURL())
	if err != nil {
		return err
	}
	defer store.Close()
	return store.InTx(ctx, func(q db.Queries) error {
		for _, nsName := range namespaces {
			ns, err := q.GetNamespaceByName(ctx, nsName)
			if err != nil {
				return fmt.Errorf("namespace %s: %w", nsName, err)
			}
			for _, e := range a.cfg.Storage.S3 {
				if a.dry {
					fmt.Fprintf(a.stdout, "would record bucket %s (%s) for role %s in namespace %s\n", e.Bucket, e.Region, e.Role, nsName)
					continue
				}
				if _, err := q.UpsertBucket(ctx, db.UpsertBucketParams{NamespaceID: ns.ID, Name: e.Bucket, Region: e.Region, Role: e.Role, Now: time.Now().UTC().Truncate(time.Microsecond)}); err != nil {
					return fmt.Errorf("record bucket %s in %s: %w", e.Bucket, nsName, err)
				}
				fmt.Fprintf(a.stdout, "recorded bucket %s (%s) for role %s in namespace %s\n", e.Bucket, e.Region, e.Role, nsName)
			}
		}
		return nil
	})
}
