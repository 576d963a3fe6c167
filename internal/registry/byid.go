package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/flymodel/flymodel/internal/db"
)

// The original flymodel addresses namespaces, models, versions and
// experiments by id (its GraphQL API, its upload endpoints). These name
// the resource with an id, so that every change still goes through the
// rules by name; soft-deleted versions and experiments are not found.

// NamespaceByID returns the namespace with id.
func (r *Registry) NamespaceByID(ctx context.Context, id int64) (Namespace, error) {
	n, err := r.db.GetNamespace(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		err = NamespaceNotFound(id)
	}
	if err != nil {
		return Namespace{}, err
	}
	return toNamespace(n), nil
}

// NamespaceNotFound is NamespaceByID's error for an id it does not know
// (see ArtifactNotFound).
func NamespaceNotFound(id int64) error {
	return &NotFoundError{Kind: "namespace", Path: idPath(id)}
}

// ModelByID returns the model with id.
func (r *Registry) ModelByID(ctx context.Context, id int64) (Model, error) {
	m, err := r.db.GetModel(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		err = ModelNotFound(id)
	}
	if err != nil {
		return Model{}, err
	}
	n, err := r.db.GetNamespace(ctx, m.NamespaceID)
	if err != nil {
		return Model{}, err
	}
	return r.toModel(ctx, r.db, n.Name, m)
}

// ModelNotFound is ModelByID's error for an id it does not know (see
// ArtifactNotFound).
func ModelNotFound(id int64) error {
	return &NotFoundError{Kind: "model", Path: idPath(id)}
}

// VersionRefByID names the version with id.
func (r *Registry) VersionRefByID(ctx context.Context, id int64) (Ref, error) {
	o, err := versionKind{}.byID(ctx, r, id)
	return o.Ref, err
}

// VersionNotFound is VersionRefByID's error for an id it does not know
// (see ArtifactNotFound).
func VersionNotFound(id int64) error {
	return OwnerNotFound(VersionArtifact, id)
}

// ExperimentByID returns the experiment with id.
func (r *Registry) ExperimentByID(ctx context.Context, id int64) (Experiment, error) {
	o, err := experimentKind{}.byID(ctx, r, id)
	if err != nil {
		return Experiment{}, err
	}
	return r.GetExperiment(ctx, o.Ref, o.Experiment)
}

// ArtifactNotFound is ArtifactByID's error for an id it does not know. The
// original's routes answer it also for an artifact the caller may not read,
// so that an id tells nothing of another namespace.
func ArtifactNotFound(k ArtifactKind, id int64) error {
	return &NotFoundError{Kind: k.String(), Path: idPath(id)}
}

// OwnerNotFound is OwnerByID's error for an id it does not know (see
// ArtifactNotFound).
func OwnerNotFound(k ArtifactKind, id int64) error {
	return notFoundOr(nil, k.kind.String(), idPath(id))
}

// idPath names a resource by its id in a *NotFoundError.
func idPath(id int64) string {
	return fmt.Sprintf("with id %d", id)
}
