package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	// The namespaces are checked before any store is touched.
	var buckets []registry.NewBucket
	if len(namespaces) > 0 {
		if buckets, err = a.checkNamespaces(ctx, namespaces); err != nil {
			return err
		}
	}
	public := publicBuckets(a.cfg)
	failed := 0
	// A dry run's checks, which write nothing, run at once.
	type inspection struct {
		line string
		err  error
	}
	inspected := map[string]*inspection{}
	if a.dry {
		var wg sync.WaitGroup
		for _, name := range storeNames(blobs) {
			in := &inspection{}
			inspected[name] = in
			wg.Go(func() {
				stepCtx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				in.line, in.err = inspectStore(stepCtx, blobs.ByName[name], public[name])
			})
		}
		wg.Wait()
	}
	for _, name := range storeNames(blobs) {
		st := blobs.ByName[name]
		roles := rolesOf(blobs, name)
		if in := inspected[name]; in != nil {
			if in.err != nil {
				failed++
				fmt.Fprintf(a.stderr, "FAILED %s (%s): %v\n", st, roles, in.err)
				continue
			}
			fmt.Fprintf(a.stdout, "would ensure %s (%s): %s\n", st, roles, in.line)
			continue
		}
		stepCtx, cancel := context.WithTimeout(ctx, time.Minute)
		rep, err := ensureStore(stepCtx, st)
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
			fmt.Fprintf(a.stderr, "FAILED %s (%s): %v\n", st, roles, err)
			continue
		}
		fmt.Fprintf(a.stdout, "ok %s (%s): %s, write/read/delete probe passed%s\n", st, roles, rep, policy)
	}
	if len(namespaces) > 0 {
		if err := a.recordBuckets(ctx, namespaces, buckets); err != nil {
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

// ensureStore ensures st and says what it found and did: "created" or
// "exists", and the versioning the server reports when asked again.
func ensureStore(ctx context.Context, st blob.Store) (string, error) {
	s, ok := blob.SetupOf(st)
	if !ok {
		return "exists", st.Ensure(ctx)
	}
	rep, err := s.EnsureReport(ctx)
	if err != nil {
		return "", err
	}
	what := "exists"
	if rep.Created {
		what = "created"
	}
	return what + ", " + versioningState(rep), nil
}

// versioningState says whether a store keeps versions, as its server
// reports it.
func versioningState(rep blob.SetupReport) string {
	switch {
	case rep.NoVersions:
		return "no versioning (a folder)"
	case rep.Versioning == "Enabled" && rep.VersioningTurnedOn:
		return "versioning turned on"
	case rep.Versioning == "Enabled":
		return "versioning on"
	case rep.Versioning == "":
		return "versioning NOT on (the server reports none): replaced or deleted bytes are not kept"
	}
	return fmt.Sprintf("versioning NOT on (the server reports %q): replaced or deleted bytes are not kept", rep.Versioning)
}

// inspectStore checks, writing nothing, that st answers with the
// credentials configured, and says what setup-storage would do.
func inspectStore(ctx context.Context, st blob.Store, public bool) (string, error) {
	also := ""
	if public {
		also = ", grant anonymous read of objects (public = true)"
	}
	s, ok := blob.SetupOf(st)
	if !ok {
		return "create when missing, versioning on, probe" + also, nil
	}
	rep, err := s.Inspect(ctx)
	if err != nil {
		return "", err
	}
	const checked = " (connection and credentials checked; nothing written)"
	versioning := ", turn versioning on"
	if rep.NoVersions || rep.Versioning == "Enabled" {
		versioning = ""
	}
	if rep.Created {
		return "missing: would create it" + versioning + ", probe" + also + checked, nil
	}
	return "exists, " + versioningState(rep) + ": would" + strings.TrimPrefix(versioning, ",") + " probe" + also + checked, nil
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

// storeRoles lists the lifecycles a store serves by default.
func storeRoles(blobs registry.BlobStores, name string) []string {
	var roles []string
	for _, role := range config.Lifecycles {
		if blobs.ForRole[role] == name {
			roles = append(roles, role)
		}
	}
	return roles
}

// rolesOf says which lifecycles a store serves by default.
func rolesOf(blobs registry.BlobStores, name string) string {
	roles := storeRoles(blobs, name)
	if len(roles) == 0 {
		return "no default role"
	}
	return strings.Join(roles, ", ")
}

// checkNamespaces checks, before setup-storage touches a store (for a dry
// run too: it must refuse what the real run would refuse), that the
// configured S3 buckets can be recorded and that every namespace exists,
// and returns the buckets to record.
func (a *app) checkNamespaces(ctx context.Context, namespaces []string) ([]registry.NewBucket, error) {
	if len(a.cfg.Storage.S3) == 0 {
		return nil, errors.New("--namespace: no storage.s3 buckets are configured to record")
	}
	buckets := make([]registry.NewBucket, len(a.cfg.Storage.S3))
	for i, e := range a.cfg.Storage.S3 {
		buckets[i] = registry.NewBucket{Name: e.Bucket, Region: e.Region, Role: e.Role}
		if err := buckets[i].Validate(); err != nil {
			return nil, fmt.Errorf("storage.s3 bucket %s: %w", e.Bucket, err)
		}
	}
	l, err := a.openRegistry(ctx, openOptions{schema: schemaAsIs, blobs: blobsNone})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	if l.empty() {
		return nil, fmt.Errorf("namespace %s: the database has no schema yet", namespaces[0])
	}
	for _, ns := range namespaces {
		if _, err := l.reg.GetNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	return buckets, nil
}

// recordBuckets records buckets (checkNamespaces checked them) as the
// buckets of each namespace, one per role, through the registry:
// validated, and audited where they change something.
func (a *app) recordBuckets(ctx context.Context, namespaces []string, buckets []registry.NewBucket) error {
	l, err := a.openRegistry(ctx, openOptions{schema: schemaAsIs, blobs: blobsNone})
	if err != nil {
		return err
	}
	defer l.Close()
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
