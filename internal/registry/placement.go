package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
)

// A version's artifacts — its own and its experiments' — live in the blob
// store of its current lifecycle. A state change places them in the store
// of the target lifecycle first (blob.Copy: a hard link or a server-side
// copy where it can, checked against the recorded size and sha256), and
// only then, in one transaction under the version's row lock, points the
// artifacts at the new objects and records the state change, its history
// entry and its audit record. The objects left in the old lifecycle's
// store are released to garbage collection once nothing references them.

// placed is one blob placed in the target store: a new object, or a blob
// row of that store with the same bytes (reused).
type placed struct {
	// reuse is the id of a blob row of the target store with the same
	// bytes, 0 for a new object at key.
	reuse int64
	key   string
	info  blob.Info
	how   string
}

// placement is the outcome of placing a version's artifacts in one store.
type placement struct {
	// namespace is the id of the version's namespace, within which blobs
	// are shared.
	namespace int64
	store     string
	st        blob.Store
	// byContent maps the bytes (contentKey) of blobs outside the target
	// store to where they are placed in it: by content, not by blob, so
	// that a concurrent change that moved an artifact elsewhere meanwhile
	// leaves its placement valid.
	byContent map[string]placed
	// copied counts the objects made and how (link, server-copy, …).
	copied map[string]int
}

// discardNew removes the objects the placement made that are not in used
// (nil: all of them).
func (r *Registry) discardNew(p *placement, used map[string]bool) {
	for _, pl := range p.byContent {
		if pl.reuse == 0 && !used[pl.key] {
			r.discard(p.st, pl.key, pl.info.VersionID)
		}
	}
}

// place places every artifact of rows that is not in the store name yet.
// On failure it removes what it made and returns a *PlacementError (a
// store failed) or an *AlteredBlobError (the source's bytes are missing or
// altered).
func (r *Registry) place(ctx context.Context, ref Ref, namespaceID int64, name string, st blob.Store, rows []db.ListVersionBlobsRow, prior *placement) (*placement, error) {
	p := &placement{namespace: namespaceID, store: name, st: st, byContent: map[string]placed{}, copied: map[string]int{}}
	if prior != nil {
		if prior.store == name {
			p = prior
		} else {
			r.discardNew(prior, nil)
		}
	}
	for _, row := range rows {
		if row.Store == name {
			continue
		}
		if _, ok := p.byContent[contentKey(row)]; ok {
			continue
		}
		pl, err := r.placeOne(ctx, ref, namespaceID, name, st, row)
		if err != nil {
			r.discardNew(p, nil)
			return nil, err
		}
		p.byContent[contentKey(row)] = pl
		if pl.reuse == 0 {
			p.copied[pl.how]++
		}
	}
	return p, nil
}

func (r *Registry) placeOne(ctx context.Context, ref Ref, namespaceID int64, name string, st blob.Store, row db.ListVersionBlobsRow) (placed, error) {
	o := Owner{Ref: ref}
	if row.Experiment != nil {
		o.Experiment = *row.Experiment
	}
	apath := ArtifactPath(o, row.Name)
	// The same bytes in the target store already (another version's of the
	// namespace, or this change tried before): reuse them, copy nothing.
	if b, err := r.db.GetBlobBySha(ctx, db.GetBlobByShaParams{Store: name, Sha256: row.Sha256, NamespaceID: namespaceID}); err == nil && b.Size == row.Size {
		return placed{reuse: b.ID}, nil
	} else if err != nil && !errors.Is(err, db.ErrNotFound) {
		return placed{}, err
	}
	src, err := r.blobs.store(row.Store)
	if err != nil {
		return placed{}, &PlacementError{Artifact: apath, Store: row.Store, Err: err}
	}
	key, err := newBlobKey()
	if err != nil {
		return placed{}, err
	}
	want := blob.Info{Size: row.Size, SHA256: row.Sha256, VersionID: row.StorageVersion}
	c, err := blob.Copy(ctx, st, key, src, row.Key, want)
	switch {
	case errors.Is(err, blob.ErrMismatch), errors.Is(err, blob.ErrNotFound):
		return placed{}, &AlteredBlobError{Artifact: apath, Store: row.Store, Err: err}
	case err != nil && ctx.Err() != nil:
		return placed{}, fmt.Errorf("placing %s interrupted: %w", apath, errors.Join(ctx.Err(), err))
	case err != nil:
		return placed{}, &PlacementError{Artifact: apath, Store: name, Err: err}
	}
	slog.Debug("artifact placed", "artifact", apath, "from", row.Store, "to", name, "how", c.How, "transferred", c.Transferred, "hashed", c.Hashed)
	return placed{key: key, info: blob.Info{Size: row.Size, SHA256: row.Sha256, VersionID: c.VersionID}, how: c.How}, nil
}

// errReplace aborts a state change's transaction when artifacts were added
// after they were placed: they are placed, and the change tried again.
var errReplace = errors.New("artifacts changed while they were placed")

// maxPlacementRounds bounds the retries of a state change whose version
// gained artifacts while they were being placed.
const maxPlacementRounds = 5

// relocate points every artifact of rows outside p's store at its placed
// copy, through q (the state change's transaction), creating the blob rows
// of new objects. It returns the keys of the new objects now referenced,
// or errReplace when an artifact was not placed (added meanwhile).
func (r *Registry) relocate(ctx context.Context, q db.Queries, p *placement, rows []db.ListVersionBlobsRow) (map[string]bool, error) {
	used := map[string]bool{}
	ids := map[string]int64{}
	for _, row := range rows {
		if row.Store == p.store {
			continue
		}
		pl, ok := p.byContent[contentKey(row)]
		if !ok {
			return nil, errReplace
		}
		id, ok := ids[contentKey(row)]
		if !ok {
			id = pl.reuse
			if id == 0 {
				var reused bool
				var err error
				id, reused, err = r.blobRow(ctx, q, p.namespace, p.store, pl.key, pl.info, r.now())
				if err != nil {
					return nil, err
				}
				if !reused {
					used[pl.key] = true
				}
			}
			ids[contentKey(row)] = id
		}
		n, err := q.SetArtifactBlob(ctx, db.SetArtifactBlobParams{ID: row.ID, BlobID: id})
		if err != nil {
			return nil, err
		}
		if n != 1 {
			return nil, errReplace
		}
	}
	return used, nil
}

// replace places an upload's object, stored at key of the store name, in
// the store of lifecycle, and removes the first; it returns where the
// object is now (on failure, where it was).
func (r *Registry) replace(ctx context.Context, own owner, apath, lifecycle, name string, st blob.Store, key string, info blob.Info) (string, blob.Store, string, blob.Info, error) {
	newName, newSt, err := r.route(ctx, r.db, own.res.ns, lifecycle)
	if err != nil || newName == name {
		return name, st, key, info, err
	}
	newKey, err := newBlobKey()
	if err != nil {
		return name, st, key, info, err
	}
	c, err := blob.Copy(ctx, newSt, newKey, st, key, info)
	if err != nil {
		return name, st, key, info, &PlacementError{Artifact: apath, Store: newName, Err: err}
	}
	r.discard(st, key, info.VersionID)
	info.VersionID = c.VersionID
	return newName, newSt, newKey, info, nil
}

// contentKey names a blob's bytes: its sha256 and size.
func contentKey(row db.ListVersionBlobsRow) string {
	return fmt.Sprintf("%s:%d", row.Sha256, row.Size)
}
