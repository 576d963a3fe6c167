package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/registry"
)

func (a *app) newSetupStorageCommand() *cobra.Command {
	var namespaces []string
	cmd := &cobra.Command{
		Use:   "setup-storage",
		Short: "Create and verify the configured buckets (versioning on) and record them",
		Long: `For every configured storage location: create the bucket (or folder) when
missing, turn versioning on, and prove write, read and delete with a probe
object; for an S3 bucket with public = true, add to its policy a statement
that lets anyone read (not list) its objects. Each location that fails is
reported on its own line and the command exits 1.

With --namespace NS (repeatable), the configured S3 buckets are also
recorded as NS's buckets, one per lifecycle role, so that NS's uploads
route to them whatever the defaults become. With --dry, only report.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.setupStorage(cmd.Context(), namespaces)
		},
	}
	cmd.Flags().StringArrayVar(&namespaces, "namespace", nil, "record the configured S3 buckets as this namespace's buckets (repeatable)")
	return cmd
}

func (a *app) setupStorage(ctx context.Context, namespaces []string) error {
	blobs, err := openBlobStores(a.cfg)
	if err != nil {
		return err
	}
	public := publicBuckets(a.cfg)
	failed := 0
	for _, name := range storeNames(blobs) {
		st := blobs.ByName[name]
		if a.dry {
			also := ""
			if public[name] {
				also = ", anonymous read of objects (public = true)"
			}
			fmt.Fprintf(a.stdout, "would ensure %s (%s): create when missing, versioning on, probe%s\n", st, rolesOf(blobs, name), also)
			continue
		}
		stepCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err := st.Ensure(stepCtx)
		if err == nil {
			err = st.Probe(stepCtx)
		}
		var policy string
		if err == nil && public[name] {
			policy, err = ensurePublic(stepCtx, st)
		}
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(a.stderr, "FAILED %s: %v\n", st, err)
			continue
		}
		fmt.Fprintf(a.stdout, "ok %s (%s): exists, versioning on where supported, write/read/delete probe passed%s\n", st, rolesOf(blobs, name), policy)
	}
	if len(namespaces) > 0 {
		if err := a.recordBuckets(ctx, namespaces); err != nil {
			return err
		}
	}
	if roles := fallbackLifecycles(a.cfg); len(roles) > 0 {
		fmt.Fprintf(a.stdout, "note: no storage entry serves %s: %s, the data folder's root, does\n", strings.Join(roles, ", "), blobs.ByName["local"])
	}
	unserved, err := a.unservedLifecycles(ctx)
	if err != nil {
		return err
	}
	switch {
	case failed > 0 && unserved > 0:
		return fmt.Errorf("%d of %d storage locations failed, and %d namespace lifecycles have no store", failed, len(blobs.ByName), unserved)
	case failed > 0:
		return fmt.Errorf("%d of %d storage locations failed", failed, len(blobs.ByName))
	case unserved > 0:
		return fmt.Errorf("%d namespace lifecycles have no store", unserved)
	}
	return nil
}

// unservedLifecycles prints a line for each lifecycle of a namespace that
// no configured store serves (a bucket the namespace records that is not
// configured) and returns how many there are.
func (a *app) unservedLifecycles(ctx context.Context) (int, error) {
	l, err := a.openRegistry(ctx, openOptions{schema: schemaAsIs, blobs: blobsOpen})
	if err != nil {
		return 0, err
	}
	defer l.Close()
	if l.empty() {
		return 0, nil
	}
	missing, err := l.reg.MissingStores(ctx)
	if err != nil {
		return 0, err
	}
	for _, m := range missing {
		if m.Namespace == "" {
			fmt.Fprintf(a.stderr, "NO STORE for lifecycle %s: add %s\n", m.Lifecycle, m.ConfigKey())
			continue
		}
		fmt.Fprintf(a.stderr, "NO STORE for lifecycle %s of namespace %s (its bucket %s): add %s\n", m.Lifecycle, m.Namespace, m.Bucket, m.ConfigKey())
	}
	return len(missing), nil
}

// publicBuckets names the S3 buckets configured public = true.
func publicBuckets(cfg *config.Config) map[string]bool {
	public := map[string]bool{}
	for _, e := range cfg.Storage.S3 {
		public[e.Bucket] = e.Public
	}
	return public
}

// ensurePublic grants anonymous reads of a public bucket's objects (its
// bucket policy) and says so for the report line.
func ensurePublic(ctx context.Context, st blob.Store) (string, error) {
	d, ok := blob.DirectOf(st)
	if !ok {
		return "", fmt.Errorf("public = true: %s cannot be made public", st)
	}
	changed, err := d.EnsurePublic(ctx)
	switch {
	case err != nil:
		return "", fmt.Errorf("public = true: %w", err)
	case changed:
		return ", anonymous read of objects granted (bucket policy)", nil
	}
	return ", anonymous read of objects already granted", nil
}

// rolesOf lists the lifecycles a store serves by default.
func rolesOf(blobs registry.BlobStores, name string) string {
	var roles []string
	for _, role := range config.Lifecycles {
		if blobs.ForRole[role] == name {
			roles = append(roles, role)
		}
	}
	if len(roles) == 0 {
		return "no default role"
	}
	return strings.Join(roles, ", ")
}

// recordBuckets records the configured S3 buckets as the buckets of each
// namespace, one per role, through the registry: validated, and audited
// where they change something. Every namespace is checked before any is
// changed.
func (a *app) recordBuckets(ctx context.Context, namespaces []string) error {
	if len(a.cfg.Storage.S3) == 0 {
		return errors.New("--namespace: no storage.s3 buckets are configured to record")
	}
	// Checked first, for a dry run too: it must refuse what the real run
	// would refuse.
	buckets := make([]registry.NewBucket, len(a.cfg.Storage.S3))
	for i, e := range a.cfg.Storage.S3 {
		buckets[i] = registry.NewBucket{Name: e.Bucket, Region: e.Region, Role: e.Role}
		if err := buckets[i].Validate(); err != nil {
			return fmt.Errorf("storage.s3 bucket %s: %w", e.Bucket, err)
		}
	}
	l, err := a.openRegistry(ctx, openOptions{schema: schemaAsIs, blobs: blobsNone})
	if err != nil {
		return err
	}
	defer l.Close()
	if l.empty() {
		return fmt.Errorf("namespace %s: the database has no schema yet", namespaces[0])
	}
	for _, ns := range namespaces {
		if _, err := l.reg.GetNamespace(ctx, ns); err != nil {
			return err
		}
	}
	for _, ns := range namespaces {
		if a.dry {
			for _, b := range buckets {
				fmt.Fprintf(a.stdout, "would record bucket %s (%s) for role %s in namespace %s\n", b.Name, b.Region, b.Role, ns)
			}
			continue
		}
		changed, err := l.reg.RecordBuckets(ctx, ns, buckets)
		if err != nil {
			return fmt.Errorf("record buckets in %s: %w", ns, err)
		}
		for i, b := range buckets {
			verb := "recorded"
			if !changed[i] {
				verb = "unchanged"
			}
			fmt.Fprintf(a.stdout, "%s bucket %s (%s) for role %s in namespace %s\n", verb, b.Name, b.Region, b.Role, ns)
		}
	}
	return nil
}
