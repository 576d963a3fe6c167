package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
)

// blobPrefix is where uploads put their objects (see newBlobKey).
const blobPrefix = "objects/"

// GCOptions tune garbage collection.
type GCOptions struct {
	// Grace protects recent data: blobs and objects younger than this, and
	// temporary files touched within it, are never collected, so an upload
	// in flight (object written, metadata not yet committed) is safe.
	Grace time.Duration
	Dry   bool
}

// GCReport says what garbage collection removed (or, dry, would remove).
type GCReport struct {
	// Blobs are blob rows no artifact references, removed with their object.
	Blobs []string
	// Orphans are objects in a store that no blob row records (on a store
	// that keeps versions, keys with versions no row records, even behind
	// a delete marker).
	Orphans []string
	// TempFiles counts interrupted uploads' temporary data removed.
	TempFiles int
	Bytes     int64
	// SparedBlobs and SparedObjects count the unreferenced blobs and
	// unrecorded objects left alone because they are younger than the
	// grace period (an upload may still be committing them); a later gc
	// collects them.
	SparedBlobs, SparedObjects int
}

// maxSpareCount bounds the unreferenced blobs GC counts as spared.
const maxSpareCount = 100_000

// GC removes what no record references: unreferenced blob rows with their
// objects, objects no row records (left by a crash between the blob write
// and the metadata), and stale temporary files. On a store that keeps
// versions, an object is removed with the version its row records (its
// bytes are freed), and every version of a key no row records — delete
// markers, and the noncurrent versions that deletes made before flymodel
// removed versions for good — counts as an orphan. Nothing younger than
// the grace period is touched.
func (r *Registry) GC(ctx context.Context, opts GCOptions) (GCReport, error) {
	var rep GCReport
	cutoff := r.now().Add(-opts.Grace)
	for {
		rows, err := r.db.ListUnreferencedBlobs(ctx, db.ListUnreferencedBlobsParams{CreatedBefore: cutoff, PageLimit: 500})
		if err != nil {
			return rep, err
		}
		removed := 0
		for _, b := range rows {
			where := b.Store + ":" + b.Key
			if opts.Dry {
				rep.Blobs, rep.Bytes = append(rep.Blobs, where), rep.Bytes+b.Size
				continue
			}
			dropped, err := r.dropBlob(ctx, b)
			if err != nil {
				return rep, fmt.Errorf("delete %s: %w", where, err)
			}
			if !dropped {
				continue
			}
			removed++
			rep.Blobs, rep.Bytes = append(rep.Blobs, where), rep.Bytes+b.Size
		}
		if opts.Dry || len(rows) < 500 || removed == 0 {
			break
		}
	}
	young, err := r.db.ListUnreferencedBlobs(ctx, db.ListUnreferencedBlobsParams{CreatedBefore: r.now().Add(24 * time.Hour), PageLimit: maxSpareCount})
	if err != nil {
		return rep, err
	}
	for _, b := range young {
		if !b.CreatedAt.Before(cutoff) {
			rep.SparedBlobs++
		}
	}
	groups, err := r.storeGroups()
	if err != nil {
		return rep, err
	}
	for _, g := range groups {
		st := g.store
		// recorded tells whether a row of any of the store's names records
		// key (asked once per key: a key's versions are listed together).
		lastKey, lastRecorded := "", false
		recorded := func(key string) (bool, error) {
			if key == lastKey {
				return lastRecorded, nil
			}
			for _, name := range g.names {
				_, err := r.db.GetBlobByKey(ctx, db.GetBlobByKeyParams{Store: name, Key: key})
				if err == nil {
					lastKey, lastRecorded = key, true
					return true, nil
				}
				if !errors.Is(err, db.ErrNotFound) {
					return false, err
				}
			}
			lastKey, lastRecorded = key, false
			return false, nil
		}
		orphan := func(v blob.Version) error {
			if ok, err := recorded(v.Key); ok || err != nil {
				return err
			}
			if !v.Modified.Before(cutoff) {
				rep.SparedObjects++
				return nil
			}
			if n := len(rep.Orphans); n == 0 || rep.Orphans[n-1] != g.names[0]+":"+v.Key {
				rep.Orphans = append(rep.Orphans, g.names[0]+":"+v.Key)
			}
			rep.Bytes += v.Size
			if opts.Dry {
				return nil
			}
			return st.Delete(ctx, v.Key, v.VersionID)
		}
		var err error
		if vs, ok := blob.VersionsOf(st); ok {
			err = vs.ListVersions(ctx, blobPrefix, orphan)
		} else {
			err = st.List(ctx, blobPrefix, func(info blob.Info) error { return orphan(blob.Version{Info: info}) })
		}
		if err != nil {
			return rep, fmt.Errorf("collect orphans in %s: %w", st, err)
		}
		if !opts.Dry {
			n, err := st.RemoveStale(ctx, opts.Grace)
			if err != nil {
				return rep, fmt.Errorf("remove temporary files in %s: %w", st, err)
			}
			rep.TempFiles += n
		}
	}
	return rep, nil
}

// dropBlob removes a blob row and then its object — the version the row
// records, for good (a row without one: every version of its key) —, but
// only while no artifact references it (the delete re-checks): an upload
// or a version that took it meanwhile wins, and dropped is false. (On
// PostgreSQL an upload that reuses the row while the delete waits for it
// makes the delete fail on the reference: that is such a win too.)
func (r *Registry) dropBlob(ctx context.Context, b db.Blob) (dropped bool, err error) {
	n, err := r.db.DeleteBlob(ctx, b.ID)
	if errors.Is(err, db.ErrForeignKey) {
		return false, nil
	}
	if err != nil || n == 0 {
		return false, err
	}
	if st, err := r.blobs.store(b.Store); err == nil {
		if err := st.Delete(ctx, b.Key, b.StorageVersion); err != nil {
			return true, err
		}
	}
	return true, nil
}

// storeGroup is one store and every name it is configured under (a test
// may give one store several names): an object is an orphan only when no
// row of any of them records it.
type storeGroup struct {
	store blob.Store
	names []string
}

// storeGroups lists the stores, each once, with their names.
func (r *Registry) storeGroups() ([]storeGroup, error) {
	names, err := r.blobs.names()
	if err != nil {
		return nil, err
	}
	var groups []storeGroup
	index := map[blob.Store]int{}
	for _, name := range names {
		st, err := r.blobs.store(name)
		if err != nil {
			return nil, err
		}
		if i, ok := index[st]; ok {
			groups[i].names = append(groups[i].names, name)
			continue
		}
		index[st] = len(groups)
		groups = append(groups, storeGroup{store: st, names: []string{name}})
	}
	return groups, nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// VerifyProblem is an artifact whose stored bytes are missing or altered.
type VerifyProblem struct {
	Artifact string `json:"artifact"` // its API path
	Store    string `json:"store"`
	Key      string `json:"key"`
	Problem  string `json:"problem"` // "missing", "altered", or "unconfigured" (its store is not configured here)
	Detail   string `json:"detail"`
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Checked  int             `json:"checked"`
	Bytes    int64           `json:"bytes"`
	Problems []VerifyProblem `json:"problems"`
	// Unconfigured names the stores that artifacts are recorded in and
	// that the configuration here does not have: their artifacts are
	// reported "unconfigured", unchecked, rather than missing.
	Unconfigured []string `json:"unconfigured"`
}

// Count is how many problems are of kind problem.
func (r VerifyReport) Count(problem string) int {
	n := 0
	for _, p := range r.Problems {
		if p.Problem == problem {
			n++
		}
	}
	return n
}

// Verify re-reads every artifact's stored bytes (of one namespace, or all),
// re-hashes them and reports those missing or altered. progress, when set,
// is called with the bytes read so far. A blob whose object version was not
// recorded when it was written (before flymodel recorded them) gets the
// version whose bytes it verified recorded: from then on it is read and
// removed by that version, as every other.
func (r *Registry) Verify(ctx context.Context, namespace string, progress func(bytes int64)) (VerifyReport, error) {
	rep := VerifyReport{Problems: []VerifyProblem{}, Unconfigured: []string{}}
	ns := optional(namespace)
	if namespace != "" {
		if _, err := r.namespace(ctx, r.db, namespace); err != nil {
			return rep, err
		}
	}
	check := func(path string, a db.ListArtifactBlobsRow) error {
		store, key, size, sum := a.Store, a.Key, a.Size, a.Sha256
		rep.Checked++
		p := VerifyProblem{Artifact: path, Store: store, Key: key}
		st, err := r.blobs.store(store)
		if err != nil {
			p.Problem, p.Detail = "unconfigured", "store "+store+" is not configured here"
			if se := (*StoreError)(nil); errors.As(err, &se) && se.Err != nil {
				p.Detail = err.Error()
			}
			if !slices.Contains(rep.Unconfigured, store) {
				rep.Unconfigured = append(rep.Unconfigured, store)
			}
			rep.Problems = append(rep.Problems, p)
			return nil
		}
		obj, err := st.Open(ctx, key, a.StorageVersion)
		if errors.Is(err, blob.ErrNotFound) {
			p.Problem, p.Detail = "missing", "no object at "+st.String()+" "+key
			rep.Problems = append(rep.Problems, p)
			return nil
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		defer obj.Close()
		h := sha256.New()
		n, err := io.Copy(h, &progressReader{r: obj, base: rep.Bytes, report: progress})
		rep.Bytes += n
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sum || n != size {
			p.Problem = "altered"
			p.Detail = fmt.Sprintf("recorded %d bytes sha256 %s, stored %d bytes sha256 %s", size, sum, n, got)
			rep.Problems = append(rep.Problems, p)
		} else if v := obj.Info().VersionID; a.StorageVersion == "" && v != "" {
			if _, err := r.db.SetBlobStorageVersion(ctx, db.SetBlobStorageVersionParams{ID: a.BlobID, StorageVersion: v}); err != nil {
				return fmt.Errorf("record the version of %s: %w", path, err)
			}
		}
		return nil
	}
	for after := int64(0); ; {
		rows, err := r.db.ListArtifactBlobs(ctx, db.ListArtifactBlobsParams{AfterID: after, Namespace: ns, PageLimit: 500})
		if err != nil {
			return rep, err
		}
		for _, a := range rows {
			o := Owner{Ref: Ref{Namespace: a.Namespace, Model: a.Model, Version: a.Version}}
			if a.Experiment != nil {
				o.Experiment = *a.Experiment
			}
			if err := check(ArtifactPath(o, a.Name), a); err != nil {
				return rep, err
			}
			after = a.ID
		}
		if len(rows) < 500 {
			break
		}
	}
	return rep, nil
}

type progressReader struct {
	r      io.Reader
	n      int64
	base   int64
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.report != nil {
		p.report(p.base + p.n)
	}
	return n, err
}
