// Package blob stores bytes and knows nothing of models: the Store
// interface that the filesystem (fsblob) and S3 (s3blob) stores implement,
// its errors, and the conformance suite both run (blobtest).
//
// Writes are atomic (a temporary file renamed into place on disk, one
// completed PUT or multipart upload on S3) and hashed while they stream, so
// a Put returns the size and sha256 of exactly what was stored. Callers give
// every Put a fresh key (flymodel uses random object names), so an object is
// only ever written by one upload and deleting it on failure is safe.
//
// A store may keep versions of its objects (S3 with bucket versioning: a
// Put at an existing key adds a version, a Delete without a version id
// only hides the bytes). Put returns the version it wrote, and Open, Stat
// and Delete take a version: reads of the recorded version are not changed
// by anyone overwriting the key, and a delete of it frees its bytes. A
// store without versions (the filesystem) returns "" and knows only "".
package blob

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"time"
)

// Errors every store maps its failures to. Test with errors.Is.
var (
	ErrNotFound   = errors.New("blob not found")
	ErrInvalidKey = errors.New("invalid blob key")
	ErrEmpty      = errors.New("empty blob")
	// ErrTimeout: the store did not answer, or stopped sending or taking
	// bytes, for longer than its timeout; nothing was stored. Retry later.
	ErrTimeout = errors.New("blob store timed out")
)

// Info describes a stored blob.
type Info struct {
	Key       string
	Size      int64
	SHA256    string // lowercase hex; set by Put only (stores do not keep it)
	VersionID string // the storage's object version, "" when unversioned
	Modified  time.Time
}

// Object is an open blob: readable, seekable (for Range requests).
type Object interface {
	io.ReadSeekCloser
	Info() Info
}

// Store is a flat namespace of keys holding bytes.
type Store interface {
	// Put streams r (of unknown length) to key and returns what was stored:
	// size, sha256, version id. Nothing is visible at key until the whole
	// stream was written; when r fails, ctx ends or the store fails, the
	// key is as it was and no temporary data stays behind, and the error
	// wraps r's or ctx's own error (errors.Is/As work on it). An existing
	// key is replaced (callers never reuse keys). An empty stream is
	// ErrEmpty and stores nothing.
	Put(ctx context.Context, key string, r io.Reader) (Info, error)
	// Open returns version of the blob at key ("" is the current one), or
	// ErrNotFound. Every read and seek of the Object reads that version
	// (with "", the one current at Open), whatever is written at key
	// meanwhile.
	Open(ctx context.Context, key, version string) (Object, error)
	// Stat returns the Info (without SHA256) of version of the blob at key
	// ("" is the current one), or ErrNotFound.
	Stat(ctx context.Context, key, version string) (Info, error)
	// Delete removes version of key for good, so that its bytes are freed;
	// version "" removes the key and every version of it (keys are never
	// reused, so every version is the caller's). Deleting a missing key or
	// version is not an error.
	Delete(ctx context.Context, key, version string) error
	// List calls fn for every key that starts with prefix (a plain string
	// prefix; "" for all), in byte order of the keys, with the Info of its
	// current version.
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// Ensure makes the store usable: creates the folder or bucket when
	// missing and turns on versioning where the store has it.
	Ensure(ctx context.Context) error
	// Probe proves the store works: writes, reads back and deletes a probe
	// object.
	Probe(ctx context.Context) error
	// RemoveStale removes temporary data (interrupted uploads) untouched
	// for longer than age; stores without such data do nothing. An age
	// shorter than an upload can stall removes uploads still running.
	RemoveStale(ctx context.Context, age time.Duration) (removed int, err error)
	// String names the store for messages, e.g. "fs:/var/lib/flymodel/blobs"
	// or "s3:ml-prod".
	String() string
}

// Versions is an optional capability of a Store that keeps versions of
// its objects (S3 with bucket versioning on): what garbage collection
// needs to find bytes that no current object shows (a version hidden
// behind a delete marker). Reach it with VersionsOf.
type Versions interface {
	// ListVersions calls fn for every version of every key that starts
	// with prefix, delete markers included (Size 0, DeleteMarker set), in
	// byte order of the keys.
	ListVersions(ctx context.Context, prefix string, fn func(Version) error) error
}

// Version is one version of a key, as Versions lists it.
type Version struct {
	Info
	// DeleteMarker: not bytes, the marker that hides the versions before
	// it.
	DeleteMarker bool
}

// VersionsOf returns s's Versions capability, looking through wrappers
// (tracing), or false when s has none.
func VersionsOf(s Store) (Versions, bool) {
	v, ok := Unwrap(s).(Versions)
	return v, ok
}

// Setup is an optional capability of a Store: setup-storage's report of
// what Ensure did, and a check that writes nothing. Reach it with SetupOf.
type Setup interface {
	// EnsureReport is Ensure, saying what it found and did.
	EnsureReport(ctx context.Context) (SetupReport, error)
	// Inspect checks that the store answers with the credentials given,
	// and reports what EnsureReport would find, writing nothing.
	Inspect(ctx context.Context) (SetupReport, error)
}

// SetupReport is what Setup found and did.
type SetupReport struct {
	// Created: the bucket or folder did not exist (Inspect: would be
	// created).
	Created bool
	// Versioning is the bucket's versioning afterwards, as the server
	// reports it when asked again: "Enabled", "Suspended", "" (never
	// turned on); Inspect reports it as found. A store without versions
	// (a folder) leaves it "" and sets NoVersions.
	Versioning string
	NoVersions bool
	// VersioningTurnedOn: EnsureReport turned versioning on.
	VersioningTurnedOn bool
}

// SetupOf returns s's Setup capability, looking through wrappers, or false
// when s has none.
func SetupOf(s Store) (Setup, bool) {
	v, ok := Unwrap(s).(Setup)
	return v, ok
}

// MaxKeyLen is the longest key, in bytes.
const MaxKeyLen = 1024

// MaxKeySegmentLen is the longest key segment, in bytes (a file name on
// common filesystems).
const MaxKeySegmentLen = 255

var keySegment = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidateKey checks a key: "/"-separated segments of letters, digits, '.',
// '_' and '-', each starting with a letter or digit (so no "." or ".."
// segment and no hidden files) and at most MaxKeySegmentLen bytes, no
// leading or trailing "/", at most MaxKeyLen bytes. Every store refuses
// other keys with ErrInvalidKey. Callers should not use a key that is a
// whole-segment prefix of another ("a" and "a/b"): a filesystem cannot
// hold both. flymodel's keys have a fixed depth.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return ErrInvalidKey
	}
	for _, seg := range strings.Split(key, "/") {
		if len(seg) > MaxKeySegmentLen || !keySegment.MatchString(seg) {
			return ErrInvalidKey
		}
	}
	return nil
}
