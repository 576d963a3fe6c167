package registry

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
)

// What the HTTP server asks of the registry besides the rules: its limits
// and stores, whether its dependencies answer, and the record of a refused
// request. The registry owns the database and the blob stores; nothing
// reaches around it to them.

// MaxUploadBytes is the largest artifact the registry accepts.
func (r *Registry) MaxUploadBytes() int64 { return r.maxUpload }

// BlobStores are the blob stores the registry writes to, to read only.
func (r *Registry) BlobStores() BlobStores { return r.blobs }

// DBPool is the database's connection pool, when the database reports one.
func (r *Registry) DBPool() (pool interface{ Stats() sql.DBStats }, ok bool) {
	pool, ok = r.db.(interface{ Stats() sql.DBStats })
	return pool, ok
}

// Check is the answer of one dependency of the registry to Ready.
type Check struct {
	// Name is "database", or "storage:" and a blob store's configured name.
	Name string
	// Err is nil when the dependency answered.
	Err error
	// Unused marks a blob store that no lifecycle writes to: not the
	// default store of one, nor a namespace's recorded bucket.
	Unused bool
}

// Ready asks the database and every blob store whether they answer, all
// at once, within ctx: the database first, then the stores by name.
func (r *Registry) Ready(ctx context.Context) []Check {
	names := sortedKeys(r.blobs.ByName)
	checks := make([]Check, 1+len(names))
	var wg sync.WaitGroup
	wg.Go(func() { checks[0] = Check{Name: "database", Err: r.pingDatabase(ctx)} })
	for i, name := range names {
		wg.Go(func() {
			checks[1+i] = Check{Name: "storage:" + name, Err: probeStore(ctx, name, r.blobs.ByName[name])}
		})
	}
	wg.Wait()
	inUse := r.storesInUse(ctx)
	for i, name := range names {
		checks[1+i].Unused = inUse != nil && !inUse[name]
	}
	return checks
}

// storesInUse names the stores some lifecycle writes to: the default
// stores, and the namespaces' buckets that are configured; nil when the
// buckets cannot be read (every store then counts as in use).
func (r *Registry) storesInUse(ctx context.Context) map[string]bool {
	inUse := map[string]bool{}
	for _, name := range r.blobs.ForRole {
		inUse[name] = true
	}
	if r.db == nil {
		return inUse
	}
	rows, err := r.db.ListAllBuckets(ctx)
	if err != nil {
		return nil
	}
	for _, b := range rows {
		inUse[b.Name] = true
	}
	return inUse
}

func (r *Registry) pingDatabase(ctx context.Context) error {
	if r.db == nil {
		return errors.New("no database configured")
	}
	return r.db.Ping(ctx)
}

// probeStore stats a key that is never written: any answer but "not
// found" (or found) means the store cannot be reached.
func probeStore(ctx context.Context, name string, st blob.Store) error {
	if _, err := st.Stat(ctx, "probe/readyz", ""); err != nil && !errors.Is(err, blob.ErrNotFound) {
		return &StoreError{Store: name, Reason: "(" + st.String() + ") does not answer", Err: err}
	}
	return nil
}

// RecordDenied appends the audit record of a change refused for want of a
// role (outcome denied), in a transaction of its own.
func (r *Registry) RecordDenied(ctx context.Context, action, ns, target string, detail any) error {
	return r.write(ctx, func(q db.Queries) error {
		return audit.RecordDenied(ctx, q, r.now(), audit.Entry{Action: action, Namespace: ns, Target: target, Detail: detail})
	})
}
