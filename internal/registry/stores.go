package registry

import (
	"fmt"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/blob"
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
}

// store returns the store recorded under name.
func (s BlobStores) store(name string) (blob.Store, error) {
	st, ok := s.ByName[name]
	if !ok {
		return nil, &StoreError{Store: name, Reason: "is not configured on this server"}
	}
	return st, nil
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
