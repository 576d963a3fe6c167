// Package registry holds the rules of flymodel's registry (DESIGN.md):
// names, uniqueness, the version lifecycle with its audit trail, seals and
// promotion gates, the experiment state machine, deletes and tags. The HTTP
// API and upsert both go through it; no rule lives in a handler.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
)

// Lifecycles are the version states in promotion order.
var Lifecycles = api.Lifecycles

// ExperimentStates are the experiment states.
var ExperimentStates = api.ExperimentStates

// Gate is the promotion rule for entering one lifecycle.
type Gate struct {
	// Require names experiments that must exist on the version and have passed.
	Require []string
	// RequireAllPassed demands at least one experiment and every one passed.
	RequireAllPassed bool
}

// Options configure a Registry.
type Options struct {
	// DB is the metadata database.
	DB db.DB
	// Gates maps a lifecycle to the rule for entering it.
	Gates map[string]Gate
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Blobs are the blob stores that hold the artifacts.
	Blobs BlobStores
	// MaxUploadBytes is the largest artifact accepted; 0 means 5 GiB.
	MaxUploadBytes int64
	// ProtectedAliases are the rules of protected aliases (aliases.go).
	ProtectedAliases []AliasRule
}

// DefaultMaxUploadBytes is the default artifact size limit (5 GiB).
const DefaultMaxUploadBytes = 5 << 30

// Registry applies the rules over the metadata database and the blob
// stores.
type Registry struct {
	db        db.DB
	gates     map[string]Gate
	clock     func() time.Time
	blobs     BlobStores
	maxUpload int64
	// aliasRules protect aliases by name (aliases.go).
	aliasRules []AliasRule
}

// New returns a Registry.
func New(opts Options) *Registry {
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	maxUpload := opts.MaxUploadBytes
	if maxUpload <= 0 {
		maxUpload = DefaultMaxUploadBytes
	}
	return &Registry{db: opts.DB, gates: opts.Gates, clock: clock, blobs: opts.Blobs, maxUpload: maxUpload,
		aliasRules: slices.Clone(opts.ProtectedAliases)}
}

// now is the current time as both engines store it (UTC, microseconds).
func (r *Registry) now() time.Time { return api.Timestamp(r.clock()) }

// PageRequest selects one page of a list: Page from 1, Size up to MaxPageSize.
type PageRequest struct {
	Page int64
	Size int64
}

// Page sizes.
const (
	DefaultPageSize = api.DefaultPageSize
	MaxPageSize     = api.MaxPageSize
)

// Page is one page of a list with the totals.
type Page[T any] struct {
	Items      []T
	Page       int64
	Size       int64
	TotalItems int64
	TotalPages int64
}

func (p PageRequest) validate(v *validation) (offset, limit int64) {
	if p.Page < 1 || p.Page > api.MaxPage {
		v.addf("page", "must be between 1 and %d", api.MaxPage)
	}
	if p.Size < 1 || p.Size > MaxPageSize {
		v.addf("size", "must be between 1 and %d", MaxPageSize)
	}
	return (p.Page - 1) * p.Size, p.Size
}

func newPage[T any](items []T, req PageRequest, total int64) Page[T] {
	if items == nil {
		items = []T{}
	}
	return Page[T]{Items: items, Page: req.Page, Size: req.Size, TotalItems: total, TotalPages: (total + req.Size - 1) / req.Size}
}

func convert[S, T any](in []S, f func(S) T) []T {
	out := make([]T, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// Paths of resources, as they appear under /api/v1 (names path-escaped).
func namespacePath(ns string) string { return "/namespaces/" + url.PathEscape(ns) }

func modelPath(ns, model string) string {
	return namespacePath(ns) + "/models/" + url.PathEscape(model)
}
func versionPath(ns, model, version string) string {
	return modelPath(ns, model) + "/versions/" + url.PathEscape(version)
}
func experimentPath(ns, model, version, exp string) string {
	return versionPath(ns, model, version) + "/experiments/" + url.PathEscape(exp)
}

// notFound turns db.ErrNotFound into a NotFoundError for kind at path.
func notFound(err error, kind, path string) error {
	if errors.Is(err, db.ErrNotFound) {
		return &NotFoundError{Kind: kind, Path: path}
	}
	return err
}

// conflict turns a uniqueness violation into a ConflictError naming the
// existing resource.
func conflict(err error, kind, path string) error {
	if errors.Is(err, db.ErrConflict) {
		return &ConflictError{Kind: kind, Path: path}
	}
	return err
}

func validName(v *validation, field, name string) {
	v.add(field, ValidateName(name))
}

func oneOf(v *validation, field, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		v.addf(field, "must be one of %v, not %q", allowed, value)
	}
}

// Ref names a model version by its path.
type Ref struct {
	Namespace, Model, Version string
}

func (r Ref) path() string { return versionPath(r.Namespace, r.Model, r.Version) }

func (r Ref) validate(v *validation) {
	validName(v, "namespace", r.Namespace)
	validName(v, "model", r.Model)
	validName(v, "version", r.Version)
}

// resolved are the rows a path names.
type resolved struct {
	ns      db.Namespace
	model   db.Model
	version db.ModelVersion
}

func (r *Registry) namespace(ctx context.Context, q db.Queries, name string) (db.Namespace, error) {
	if err := ValidateNameRef(name); err != nil {
		return db.Namespace{}, &NotFoundError{Kind: "namespace", Path: namespacePath(name)}
	}
	ns, err := q.GetNamespaceByName(ctx, name)
	return ns, notFound(err, "namespace", namespacePath(name))
}

func (r *Registry) model(ctx context.Context, q db.Queries, ns, name string) (resolved, error) {
	if ValidateNameRef(ns) == nil && ValidateNameRef(name) == nil {
		m, err := q.GetModelByPath(ctx, db.GetModelByPathParams{Namespace: ns, Model: name})
		if err == nil {
			return resolved{ns: db.Namespace{ID: m.NamespaceID, Name: ns}, model: m}, nil
		}
		if !errors.Is(err, db.ErrNotFound) {
			return resolved{}, err
		}
	}
	// Not found (or an invalid name): resolve step by step to say which part is missing.
	n, err := r.namespace(ctx, q, ns)
	if err != nil {
		return resolved{}, err
	}
	if ValidateNameRef(name) != nil {
		return resolved{}, &NotFoundError{Kind: "model", Path: modelPath(ns, name)}
	}
	m, err := q.GetModelByName(ctx, db.GetModelByNameParams{NamespaceID: n.ID, Name: name})
	if err != nil {
		return resolved{}, notFound(err, "model", modelPath(ns, name))
	}
	return resolved{ns: n, model: m}, nil
}

// version resolves a live (not soft-deleted) version. The model row it
// returns carries only its id and namespace: callers use no more.
func (r *Registry) version(ctx context.Context, q db.Queries, ref Ref) (resolved, error) {
	return r.lookupVersion(ctx, q, ref, false)
}

// lookupVersion is version, optionally finding soft-deleted versions too
// (for a hard delete that purges one).
func (r *Registry) lookupVersion(ctx context.Context, q db.Queries, ref Ref, withDeleted bool) (resolved, error) {
	if ValidateNameRef(ref.Namespace) == nil && ValidateNameRef(ref.Model) == nil && ValidateNameRef(ref.Version) == nil {
		row, err := q.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: ref.Namespace, Model: ref.Model, Version: ref.Version})
		switch {
		case err == nil && (row.DeletedAt == nil || withDeleted):
			return resolved{
				ns:    db.Namespace{ID: row.NamespaceID, Name: ref.Namespace},
				model: db.Model{ID: row.ModelID, NamespaceID: row.NamespaceID, Name: ref.Model},
				version: db.ModelVersion{
					ID: row.ID, ModelID: row.ModelID, Version: row.Version, State: row.State,
					StateChangedAt: row.StateChangedAt, Digest: row.Digest, SealedAt: row.SealedAt,
					DeletedAt: row.DeletedAt, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, Description: row.Description,
					Metadata: row.Metadata,
				},
			}, nil
		case err != nil && !errors.Is(err, db.ErrNotFound):
			return resolved{}, err
		}
	}
	// Missing: resolve step by step to say which part is missing.
	_, err := r.model(ctx, q, ref.Namespace, ref.Model)
	if err != nil {
		return resolved{}, err
	}
	return resolved{}, &NotFoundError{Kind: "version", Path: ref.path()}
}

// write runs fn in one transaction. A database locked by another process
// past its wait is a *BusyError: nothing changed, retry later.
func (r *Registry) write(ctx context.Context, fn func(q db.Queries) error) error {
	err := r.db.InTx(ctx, fn)
	if errors.Is(err, db.ErrBusy) {
		return &BusyError{Err: err}
	}
	return err
}

// record appends the audit record of a mutation through q, the mutation's
// transaction: the change and its record commit or roll back together.
// Callers record only what changed something; a no-op records nothing.
func (r *Registry) record(ctx context.Context, q db.Queries, action, ns, target string, detail any) error {
	return audit.Record(ctx, q, r.now(), audit.Entry{Action: action, Namespace: ns, Target: target, Detail: detail})
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// callerActor is who makes the changes of ctx.
func callerActor(ctx context.Context) string { return audit.CallerFrom(ctx).Actor }

// changes describes an update in an audit record: field → [before, after].
type changes map[string][2]string

// diff builds the changes of (field, before, after) triples, keeping the
// fields that changed.
func diff(triples ...string) changes {
	c := changes{}
	for i := 0; i+2 < len(triples); i += 3 {
		if triples[i+1] != triples[i+2] {
			c[triples[i]] = [2]string{triples[i+1], triples[i+2]}
		}
	}
	return c
}
