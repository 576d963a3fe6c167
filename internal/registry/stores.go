package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
)

// BlobStores are the blob stores artifacts go to, by name, and the routing
// between them.
type BlobStores struct {
	// ByName holds every configured store under the name a blob row
	// records (blobs.store): an S3 store under its bucket's name, a
	// filesystem store under "local" (serving every role) or "local-<role>".
	ByName map[string]blob.Store
	// ForRole names the default store of each lifecycle: where a version's
	// artifacts go when its namespace has no bucket for its lifecycle.
	ForRole map[string]string
	// Folders, when set, give every bucket a namespace records that no
	// store of ByName is named after a filesystem store of its own, named
	// FolderStorePrefix + the bucket (the laptop default: no storage
	// configured). Unset, such a bucket has no store (*NoStoreError).
	Folders FolderStores
}

// FolderStores are filesystem stores, one per bucket name (fsblob.Folders).
type FolderStores interface {
	// Store returns the store of a bucket.
	Store(bucket string) (blob.Store, error)
	// Names lists the buckets whose stores exist.
	Names() ([]string, error)
}

// FolderStorePrefix begins the name a blob row records for an object in a
// folder store: "local/ml-test".
const FolderStorePrefix = "local/"

// store returns the store recorded under name.
func (s BlobStores) store(name string) (blob.Store, error) {
	if st, ok := s.ByName[name]; ok {
		return st, nil
	}
	if bucket, ok := strings.CutPrefix(name, FolderStorePrefix); ok && s.Folders != nil {
		st, err := s.Folders.Store(bucket)
		if err != nil {
			return nil, &StoreError{Store: name, Reason: "is not a valid folder store", Err: err}
		}
		return st, nil
	}
	return nil, &StoreError{Store: name, Reason: "is not configured on this server"}
}

// names lists every store by name: the configured ones, then the folder
// stores that exist.
func (s BlobStores) names() ([]string, error) {
	names := sortedKeys(s.ByName)
	if s.Folders != nil {
		buckets, err := s.Folders.Names()
		if err != nil {
			return names, err
		}
		for _, b := range buckets {
			names = append(names, FolderStorePrefix+b)
		}
	}
	return names, nil
}

// serving names the store that holds the artifacts of a namespace's
// lifecycle: the namespace's bucket for it (recorded under bucket, "" for
// none) when a store serves that bucket, else the default store of the
// lifecycle. It returns a *NoStoreError when there is none.
func (s BlobStores) serving(ns, lifecycle, bucket string) (string, error) {
	if bucket == "" {
		if name := s.ForRole[lifecycle]; name != "" {
			return name, nil
		}
		return "", &NoStoreError{Namespace: ns, Lifecycle: lifecycle}
	}
	if _, ok := s.ByName[bucket]; ok {
		return bucket, nil
	}
	if s.Folders != nil {
		return FolderStorePrefix + bucket, nil
	}
	return "", &NoStoreError{Namespace: ns, Lifecycle: lifecycle, Bucket: bucket}
}

// checkBucket holds a bucket a namespace records (POST …/buckets,
// setup-storage --namespace) to the configuration: a configured store's
// lifecycle is fixed by it (storage.s3 role; a store that is the default
// of several lifecycles serves those), so another role is a
// *ValidationError naming it; a name no store has is a *NoStoreError,
// unless every bucket gets a folder of its own (Folders: no storage
// configured). A registry without any store (metadata only) takes any.
func (s BlobStores) checkBucket(ns string, in NewBucket) error {
	if len(s.ByName) == 0 && s.Folders == nil {
		return nil
	}
	if _, ok := s.ByName[in.Name]; !ok {
		if s.Folders != nil {
			return nil
		}
		return &NoStoreError{Namespace: ns, Lifecycle: in.Role, Bucket: in.Name, Refused: true}
	}
	var roles []string
	for _, lifecycle := range Lifecycles {
		if s.ForRole[lifecycle] == in.Name {
			roles = append(roles, lifecycle)
		}
	}
	if len(roles) == 0 || slices.Contains(roles, in.Role) {
		return nil
	}
	var v validation
	v.addf("role", "bucket %s is configured for lifecycle %s (the role of its storage entry), so it cannot be the namespace's %s bucket",
		in.Name, strings.Join(roles, ", "), in.Role)
	return v.err()
}

// route picks the store for the artifacts of a namespace's lifecycle (see
// serving), read through q.
func (r *Registry) route(ctx context.Context, q db.Queries, ns db.Namespace, lifecycle string) (string, blob.Store, error) {
	var bucket string
	b, err := q.GetBucketForRole(ctx, db.GetBucketForRoleParams{NamespaceID: ns.ID, Role: lifecycle})
	switch {
	case err == nil:
		bucket = b.Name
	case !errors.Is(err, db.ErrNotFound):
		return "", nil, err
	}
	name, err := r.blobs.serving(ns.Name, lifecycle, bucket)
	if err != nil {
		return "", nil, err
	}
	st, err := r.blobs.store(name)
	if err != nil {
		return "", nil, err
	}
	if strings.HasPrefix(name, FolderStorePrefix) {
		// A folder store is made on first use.
		if err := st.Ensure(ctx); err != nil {
			return "", nil, &StoreError{Store: name, Reason: "could not be created", Err: err}
		}
	}
	return name, st, nil
}

// StoreError is a blob store that is missing or failing (HTTP 5xx).
type StoreError struct {
	Store  string
	Reason string
	Err    error
}

func (e *StoreError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("blob store %s %s: %v", e.Store, e.Reason, e.Err)
	}
	return fmt.Sprintf("blob store %s %s", e.Store, e.Reason)
}

func (e *StoreError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, api.ErrUnavailable) true.
func (e *StoreError) Is(target error) bool { return target == api.ErrUnavailable }

// NoStoreError is a lifecycle that no blob store of this server serves
// (HTTP 409): the namespace records a bucket for it that no configured
// store is, or no store is configured for it at all. Retrying does not
// help; the configuration must change.
type NoStoreError struct {
	// Namespace is "" for every namespace without a bucket of its own.
	Namespace string
	Lifecycle string
	// Bucket is the namespace's bucket for the lifecycle, "" for none.
	Bucket string
	// Refused is set when Bucket is one a request would record, and was
	// refused for it (checkBucket).
	Refused bool
}

// ConfigKey says what to add to the configuration.
func (e *NoStoreError) ConfigKey() string {
	if e.Bucket != "" {
		return fmt.Sprintf("storage.s3 (bucket = %q, role = %q)", e.Bucket, e.Lifecycle)
	}
	return fmt.Sprintf("storage.s3 or storage.fs (role = %q)", e.Lifecycle)
}

func (e *NoStoreError) Error() string {
	if e.Refused {
		return fmt.Sprintf("bucket %s cannot be the %s bucket of namespace %s: no blob store of this server is that bucket; add %s to the configuration first",
			e.Bucket, e.Lifecycle, e.Namespace, e.ConfigKey())
	}
	if e.Bucket != "" {
		return fmt.Sprintf("no blob store serves lifecycle %s of namespace %s: the namespace records bucket %s for it, which this server does not have; add %s to the configuration (or delete the namespace's bucket)",
			e.Lifecycle, e.Namespace, e.Bucket, e.ConfigKey())
	}
	return fmt.Sprintf("no blob store serves lifecycle %s: add %s to the configuration", e.Lifecycle, e.ConfigKey())
}

// Is makes errors.Is(err, api.ErrConflict) true.
func (e *NoStoreError) Is(target error) bool { return target == api.ErrConflict }

// PlacementError is a state change that could not place an artifact in the
// blob store of the target lifecycle because a store failed (HTTP 503,
// retry later). Nothing changed: the version keeps its state, and the
// copies already made were removed (or are left to garbage collection).
type PlacementError struct {
	// Artifact is the API path of the artifact being placed.
	Artifact string
	// Store names the store that failed.
	Store string
	Err   error
}

func (e *PlacementError) Error() string {
	return fmt.Sprintf("placing artifact %s in blob store %s failed, the version's state is unchanged: %v", e.Artifact, e.Store, e.Err)
}

func (e *PlacementError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, api.ErrUnavailable) true.
func (e *PlacementError) Is(target error) bool { return target == api.ErrUnavailable }

// AlteredBlobError is an artifact whose stored bytes are missing or do not
// hash to its recorded sha256, found while placing it (HTTP 500): they are
// not copied, and the version keeps its state.
type AlteredBlobError struct {
	// Artifact is the API path of the artifact.
	Artifact string
	// Store names the store that holds the bytes.
	Store string
	Err   error
}

func (e *AlteredBlobError) Error() string {
	return fmt.Sprintf("the stored bytes of artifact %s in blob store %s do not match its record, so they were not placed and the version's state is unchanged: %v", e.Artifact, e.Store, e.Err)
}

func (e *AlteredBlobError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, api.ErrIntegrity) true.
func (e *AlteredBlobError) Is(target error) bool { return target == api.ErrIntegrity }

// MissingStores lists the lifecycles no blob store of this server serves:
// those with no default store (Namespace ""), and each namespace's bucket
// that no store is. Uploads and state changes into them are refused with
// a *NoStoreError. A registry without any blob store (metadata only)
// reports none.
func (r *Registry) MissingStores(ctx context.Context) ([]*NoStoreError, error) {
	var missing []*NoStoreError
	if len(r.blobs.ByName) == 0 && r.blobs.Folders == nil {
		return nil, nil
	}
	for _, lifecycle := range Lifecycles {
		if _, err := r.blobs.serving("", lifecycle, ""); err != nil {
			missing = append(missing, err.(*NoStoreError))
		}
	}
	if r.db == nil {
		return missing, nil
	}
	rows, err := r.db.ListAllBuckets(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range rows {
		if _, err := r.blobs.serving(b.Namespace, b.Role, b.Name); err != nil {
			missing = append(missing, err.(*NoStoreError))
		}
	}
	return missing, nil
}
