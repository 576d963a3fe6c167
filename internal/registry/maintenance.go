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
	// Orphans are objects in a store that no blob row records.
	Orphans []string
	// TempFiles counts interrupted uploads' temporary data removed.
	TempFiles int
	Bytes     int64
}

// GC removes what no record references: unreferenced blob rows with their
// objects, objects no row records (left by a crash between the blob write
// and the metadata), and stale temporary files. Nothing younger than the
// grace period is touched.
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
	groups, err := r.storeGroups()
	if err != nil {
		return rep, err
	}
	for _, g := range groups {
		st := g.store
		err := st.List(ctx, blobPrefix, func(info blob.Info) error {
			if !info.Modified.Before(cutoff) {
				return nil
			}
			for _, name := range g.names {
				_, err := r.db.GetBlobByKey(ctx, db.GetBlobByKeyParams{Store: name, Key: info.Key})
				if !errors.Is(err, db.ErrNotFound) {
					return err
				}
			}
			rep.Orphans, rep.Bytes = append(rep.Orphans, g.names[0]+":"+info.Key), rep.Bytes+info.Size
			if opts.Dry {
				return nil
			}
			return st.Delete(ctx, info.Key)
		})
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

// dropBlob removes a blob row and then its object, but only while no
// artifact references it (the delete re-checks): an upload or a version
// that took it meanwhile wins, and dropped is false.
func (r *Registry) dropBlob(ctx context.Context, b db.Blob) (dropped bool, err error) {
	n, err := r.db.DeleteBlob(ctx, b.ID)
	if err != nil || n == 0 {
		return false, err
	}
	if st, err := r.blobs.store(b.Store); err == nil {
		if err := st.Delete(ctx, b.Key); err != nil {
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
	Problem  string `json:"problem"` // "missing" or "altered"
	Detail   string `json:"detail"`
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Checked  int             `json:"checked"`
	Bytes    int64           `json:"bytes"`
	Problems []VerifyProblem `json:"problems"`
}

// Verify re-reads every artifact's stored bytes (of one namespace, or all),
// re-hashes them and reports those missing or altered. progress, when set,
// is called with the bytes read so far.
func (r *Registry) Verify(ctx context.Context, namespace string, progress func(bytes int64)) (VerifyReport, error) {
	rep := VerifyReport{Problems: []VerifyProblem{}}
	ns := optional(namespace)
	if namespace != "" {
		if _, err := r.namespace(ctx, r.db, namespace); err != nil {
			return rep, err
		}
	}
	check := func(path, store, key string, size int64, sum string) error {
		rep.Checked++
		p := VerifyProblem{Artifact: path, Store: store, Key: key}
		st, err := r.blobs.store(store)
		if err != nil {
			p.Problem, p.Detail = "missing", err.Error()
			rep.Problems = append(rep.Problems, p)
			return nil
		}
		obj, err := st.Open(ctx, key)
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
			if err := check(ArtifactPath(o, a.Name), a.Store, a.Key, a.Size, a.Sha256); err != nil {
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
