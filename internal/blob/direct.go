package blob

import (
	"context"
	"time"
)

// Direct is an optional capability of a Store whose objects clients can
// fetch over HTTP without the flymodel server in the path (S3): a
// presigned URL for one object, or the permanent URL of an object in a
// bucket configured public. Reach it with DirectOf, which sees through
// wrappers. The filesystem store does not have it: its bytes stream
// through the server.
type Direct interface {
	// PresignGet returns a URL that fetches the object at key, without
	// credentials, until ttl has passed (then the store refuses it). It
	// does not check that the object exists.
	PresignGet(ctx context.Context, key string, ttl time.Duration, opts PresignOptions) (string, error)
	// PublicURL returns the permanent anonymous URL of the object at key,
	// or "" when the store is not configured public.
	PublicURL(key string) string
	// EnsurePublic gives anonymous read access to the store's objects
	// (GET of an object; not listing) when the store is configured public,
	// keeping any other access the bucket grants; a store that is not
	// public is left as it is. It reports whether it changed anything.
	EnsurePublic(ctx context.Context) (changed bool, err error)
}

// PresignOptions are the headers a presigned GET makes the store answer
// with, so that a download straight from the store looks like one through
// the server; "" leaves the store's own.
type PresignOptions struct {
	ContentType        string
	ContentDisposition string
	// Version is the object version the URL fetches; "" is whichever is
	// current when the URL is used.
	Version string
}

// DirectOf returns s's Direct capability, looking through wrappers
// (tracing), or false when s has none.
func DirectOf(s Store) (Direct, bool) {
	d, ok := Unwrap(s).(Direct)
	return d, ok
}
