package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/filter"
)

// Version is a model version as the API shows it.
type Version = api.Version

func toVersion(ns, model string) func(db.ModelVersion) Version {
	return func(v db.ModelVersion) Version {
		return Version{
			ID: v.ID, Namespace: ns, Model: model, Version: v.Version, State: v.State,
			StateChangedAt: v.StateChangedAt.UTC(), Sealed: v.SealedAt != nil, SealedAt: utc(v.SealedAt),
			Digest: v.Digest, Description: v.Description, Tags: []string{}, Aliases: []string{}, CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC(),
			Metadata: metadataOut(v.Metadata),
		}
	}
}

// withTags is v with the names of the tags attached to it.
func withTags(ctx context.Context, q db.Queries, v Version, err error) (Version, error) {
	if err != nil {
		return v, err
	}
	tags, err := q.ListLinkedTags(ctx, tagTarget{VersionID: &v.ID})
	if err != nil {
		return Version{}, err
	}
	v.Tags = tagNames(tags)
	return withAliases(ctx, q, v)
}

// idSpan returns the smallest and the largest of n ids (id(0) … id(n-1),
// n > 0) and the index of each: a page's rows are then read with one
// query over the range and placed by id.
func idSpan(n int, id func(i int) int64) (lo, hi int64, at map[int64]int) {
	lo, hi = id(0), id(0)
	at = make(map[int64]int, n)
	for i := range n {
		x := id(i)
		lo, hi = min(lo, x), max(hi, x)
		at[x] = i
	}
	return lo, hi, at
}

// withPageTags fills in the tags of a page of versions with one query over
// the range of their ids.
func withPageTags(ctx context.Context, q db.Queries, vs []Version) error {
	if len(vs) == 0 {
		return nil
	}
	lo, hi, at := idSpan(len(vs), func(i int) int64 { return vs[i].ID })
	rows, err := q.ListVersionTagsInRange(ctx, db.ListVersionTagsInRangeParams{Lo: &lo, Hi: &hi})
	if err != nil {
		return err
	}
	for _, row := range rows {
		if i, ok := at[row.VersionID]; ok {
			vs[i].Tags = append(vs[i].Tags, row.Tag)
		}
	}
	return withPageAliases(ctx, q, vs)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// VersionPath is the API path of a model version.
func VersionPath(ns, model, version string) string { return versionPath(ns, model, version) }

// StateChange is one entry of a version's lifecycle history.
type StateChange = api.StateChange

// NewVersion is a version to create; State defaults to test.
type NewVersion struct {
	Version     string
	State       string
	Description string
	// Metadata is a JSON object (nil or null: none); see validMetadata.
	Metadata json.RawMessage
	// Parents are the versions it was made from; CanRead says which
	// namespaces the caller may read (a parent elsewhere is not found).
	Parents []api.ParentRef
	CanRead CanRead
}

// CreateVersion creates a version of a model, recording its first state in
// the history. A version created outside test is sealed at once and must
// pass the gate of its lifecycle (which, without experiments, only an
// ungated lifecycle does).
func (r *Registry) CreateVersion(ctx context.Context, ns, model string, in NewVersion) (Version, error) {
	if in.State == "" {
		in.State = api.Test
	}
	in.State = api.CanonicalLifecycle(in.State) // the original's "staging" is "stage"
	var v validation
	v.add("version", ValidateVersionName(in.Version))
	oneOf(&v, "state", in.State, Lifecycles)
	validDescription(&v, &in.Description)
	var metadata string
	if given(in.Metadata) {
		metadata = validMetadata(&v, in.Metadata)
	}
	ref := Ref{Namespace: ns, Model: model, Version: in.Version}
	parents := validParents(&v, ref, in.Parents)
	if err := v.err(); err != nil {
		return Version{}, err
	}
	path := versionPath(ns, model, in.Version)
	// The model is resolved before the transaction, keeping the write
	// lock short; a model deleted in between fails the foreign key.
	res, err := r.model(ctx, r.db, ns, model)
	if err != nil {
		return Version{}, err
	}
	var out db.ModelVersion
	err = r.write(ctx, func(q db.Queries) error {
		if err := r.checkGate(ctx, q, 0, path, in.State); err != nil {
			return err
		}
		now := r.now()
		var err error
		out, err = q.CreateVersion(ctx, db.CreateVersionParams{ModelID: res.model.ID, Version: in.Version, State: in.State, Now: now})
		if errors.Is(err, db.ErrForeignKey) {
			return &NotFoundError{Kind: "model", Path: modelPath(ns, model)}
		}
		if err != nil {
			return conflict(err, "version", path)
		}
		if api.Seals(in.State) {
			if out, err = q.SetVersionState(ctx, db.SetVersionStateParams{ID: out.ID, State: in.State, SealedAt: &now, Now: now}); err != nil {
				return err
			}
		}
		detail := map[string]any{"state": in.State}
		if in.Description != "" {
			if out, err = q.SetVersionDescription(ctx, db.SetVersionDescriptionParams{ID: out.ID, Description: in.Description, Now: now}); err != nil {
				return err
			}
			detail["description"] = in.Description
		}
		if metadata != "" && metadata != emptyMetadata {
			if out, err = q.SetVersionMetadata(ctx, db.SetVersionMetadataParams{ID: out.ID, Metadata: metadata, Now: now}); err != nil {
				return err
			}
			detail["metadata"] = json.RawMessage(metadata)
		}
		if len(parents) > 0 {
			if err := r.setParents(ctx, q, out.ID, ref, parents, in.Parents, in.CanRead); err != nil {
				return err
			}
			if detail["parents"], err = r.listParents(ctx, q, out.ID); err != nil {
				return err
			}
		}
		_, err = q.CreateStateChange(ctx, db.CreateStateChangeParams{VersionID: out.ID, ToState: in.State, Actor: callerActor(ctx), Now: now})
		if err != nil {
			return err
		}
		return r.record(ctx, q, "version.create", ns, path, detail)
	})
	return toVersion(ns, model)(out), err
}

// GetVersion returns a live version.
func (r *Registry) GetVersion(ctx context.Context, ref Ref) (Version, error) {
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return Version{}, err
	}
	return withTags(ctx, r.db, toVersion(ref.Namespace, ref.Model)(res.version), nil)
}

// VersionChange changes a version's description and metadata; nil fields
// are kept. (Its content, lifecycle and parents have their own calls.)
type VersionChange struct {
	Description *string
	// Metadata replaces the whole object; nil or null keeps it.
	Metadata json.RawMessage
}

// UpdateVersion changes a version's description and metadata; the audit
// record holds each changed field before and after. A sealed version's
// description and metadata may change: they describe the content, they
// are not part of it.
func (r *Registry) UpdateVersion(ctx context.Context, ref Ref, in VersionChange) (Version, error) {
	var v validation
	validDescription(&v, in.Description)
	var metadata *string
	if given(in.Metadata) {
		m := validMetadata(&v, in.Metadata)
		metadata = &m
	}
	if err := v.err(); err != nil {
		return Version{}, err
	}
	var out Version
	err := r.write(ctx, func(q db.Queries) error {
		res, err := r.version(ctx, q, ref)
		if err != nil {
			return err
		}
		row, before := res.version, res.version.Description
		if in.Description != nil && *in.Description != before {
			if row, err = q.SetVersionDescription(ctx, db.SetVersionDescriptionParams{ID: row.ID, Description: *in.Description, Now: r.now()}); err != nil {
				return err
			}
		}
		beforeMeta := row.Metadata
		if metadata != nil && !sameJSON(*metadata, beforeMeta) {
			if row, err = q.SetVersionMetadata(ctx, db.SetVersionMetadataParams{ID: row.ID, Metadata: *metadata, Now: r.now()}); err != nil {
				return err
			}
		}
		if out, err = withTags(ctx, q, toVersion(ref.Namespace, ref.Model)(row), nil); err != nil {
			return err
		}
		d := map[string]any{}
		for k, c := range diff("description", before, row.Description) {
			d[k] = c
		}
		if !sameJSON(beforeMeta, row.Metadata) {
			d["metadata"] = metadataChange(beforeMeta, row.Metadata)
		}
		if len(d) == 0 {
			return nil
		}
		return r.record(ctx, q, "version.update", ref.Namespace, ref.path(), d)
	})
	return out, err
}

// VersionFilter narrows a version list; empty fields do not filter.
type VersionFilter struct {
	State string
	Tag   string
	// Filter is a filter of the query language (package filter), ANDed
	// with State and Tag.
	Filter string
}

// validate checks f's lifecycle and tag, and makes the lifecycle
// canonical.
func (f *VersionFilter) validate(v *validation) {
	if f.State != "" {
		f.State = api.CanonicalLifecycle(f.State)
		oneOf(v, "state", f.State, Lifecycles)
	}
	if f.Tag != "" {
		v.add("tag", ValidateNameRef(f.Tag))
	}
}

// ListVersions returns one page of a model's live versions, newest first.
func (r *Registry) ListVersions(ctx context.Context, ns, model string, f VersionFilter, page PageRequest) (Page[Version], error) {
	var v validation
	off, lim := page.validate(&v)
	f.validate(&v)
	if err := v.err(); err != nil {
		return Page[Version]{}, err
	}
	res, err := r.model(ctx, r.db, ns, model)
	if err != nil {
		return Page[Version]{}, err
	}
	if strings.TrimSpace(f.Filter) != "" {
		hits, total, err := r.listWhere(ctx, filter.Versions, f.Filter, []*filter.Predicate{equals("state", f.State), equals("tags", f.Tag)},
			"created_at desc", filter.Query{ModelID: res.model.ID}, page)
		if err != nil {
			return Page[Version]{}, err
		}
		items, err := r.loadVersions(ctx, hits)
		return newPage(items, page, total), err
	}
	var (
		rows  []db.ModelVersion
		total int64
	)
	if f.State != "" && f.Tag == "" {
		// The common filter has its own queries, answered from an index.
		rows, err = r.db.ListVersionsInState(ctx, db.ListVersionsInStateParams{ModelID: res.model.ID, State: f.State, PageOffset: off, PageLimit: lim})
		if err == nil {
			total, err = r.db.CountVersionsInState(ctx, db.CountVersionsInStateParams{ModelID: res.model.ID, State: f.State})
		}
	} else {
		state, tag := optional(f.State), optional(f.Tag)
		rows, err = r.db.ListVersions(ctx, db.ListVersionsParams{ModelID: res.model.ID, State: state, Tag: tag, PageOffset: off, PageLimit: lim})
		if err == nil {
			total, err = r.db.CountVersions(ctx, db.CountVersionsParams{ModelID: res.model.ID, State: state, Tag: tag})
		}
	}
	if err != nil {
		return Page[Version]{}, err
	}
	items := convert(rows, toVersion(ns, model))
	if err := withPageTags(ctx, r.db, items); err != nil {
		return Page[Version]{}, err
	}
	return newPage(items, page, total), nil
}

// SetVersionState moves a version to another lifecycle. Entering a gated
// lifecycle requires the gate's experiments to have passed; leaving test
// seals the version for good. Moving to the current state changes nothing.
//
// The version's artifacts (its experiments' too) are placed in the blob
// store of the target lifecycle first (see placement.go); then one
// transaction takes the version's row lock, reads the state it changes
// from, points the artifacts at their new copies and records the change,
// its history entry and its audit record. A failed placement changes
// nothing and removes the copies it made.
func (r *Registry) SetVersionState(ctx context.Context, ref Ref, state string) (Version, error) {
	state = api.CanonicalLifecycle(state)
	var v validation
	oneOf(&v, "state", state, Lifecycles)
	if err := v.err(); err != nil {
		return Version{}, err
	}
	var p *placement
	for round := 1; ; round++ {
		out, used, err := r.setVersionState(ctx, ref, state, &p)
		if (errors.Is(err, errReplace) || errors.Is(err, db.ErrForeignKey)) && round < maxPlacementRounds {
			if errors.Is(err, db.ErrForeignKey) && p != nil {
				// A blob reused from the target store was collected
				// meanwhile: place afresh.
				r.discardNew(p, nil)
				p = nil
			}
			continue
		}
		if p != nil {
			r.discardNew(p, used)
		}
		if errors.Is(err, errReplace) {
			err = fmt.Errorf("version %s: its artifacts kept changing while they were placed: %w", ref.path(), err)
		}
		return withTags(ctx, r.db, toVersion(ref.Namespace, ref.Model)(out), err)
	}
}

// setVersionState is one attempt of SetVersionState; *p carries the
// placement over to the next attempt. used are the keys of the placed
// objects the change references.
func (r *Registry) setVersionState(ctx context.Context, ref Ref, state string, p **placement) (db.ModelVersion, map[string]bool, error) {
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return db.ModelVersion{}, nil, err
	}
	// What the transaction would refuse is refused before anything is
	// copied. (The state read here may be stale: only the transaction
	// decides whether the change is a no-op.)
	if res.version.State != state {
		if err := r.checkGate(ctx, r.db, res.version.ID, ref.path(), state); err != nil {
			return db.ModelVersion{}, nil, err
		}
	}
	rows, err := r.db.ListVersionBlobs(ctx, res.version.ID)
	if err != nil {
		return db.ModelVersion{}, nil, err
	}
	// A version without artifacts needs no store (a registry of metadata
	// only has none).
	var name string
	if len(rows) > 0 || *p != nil {
		var st blob.Store
		if name, st, err = r.route(ctx, r.db, res.ns, state); err != nil {
			return db.ModelVersion{}, nil, err
		}
		if *p, err = r.place(ctx, ref, res.ns.ID, name, st, rows, *p); err != nil {
			return db.ModelVersion{}, nil, err
		}
	} else {
		*p = &placement{byContent: map[string]placed{}}
	}
	var (
		out  db.ModelVersion
		used map[string]bool
	)
	err = r.write(ctx, func(q db.Queries) error {
		used = nil
		v, err := q.LockVersion(ctx, res.version.ID)
		if err != nil {
			return notFound(err, "version", ref.path())
		}
		out = v
		from := v.State
		if from == state {
			return nil
		}
		if err := r.checkGate(ctx, q, v.ID, ref.path(), state); err != nil {
			return err
		}
		rows, err := q.ListVersionBlobs(ctx, v.ID)
		if err != nil {
			return err
		}
		if used, err = r.relocate(ctx, q, *p, rows); err != nil {
			return err
		}
		now := r.now()
		var seal *time.Time
		if api.Seals(state) {
			seal = &now
		}
		out, err = q.SetVersionState(ctx, db.SetVersionStateParams{ID: v.ID, State: state, SealedAt: seal, Now: now})
		if err != nil {
			return err
		}
		_, err = q.CreateStateChange(ctx, db.CreateStateChangeParams{VersionID: out.ID, FromState: &from, ToState: state, Actor: callerActor(ctx), Now: now})
		if err != nil {
			return err
		}
		detail := map[string]any{"state": [2]string{from, state}}
		if n := len((*p).byContent); n > 0 {
			detail["store"], detail["placed"] = name, n
		}
		return r.record(ctx, q, "version.state", ref.Namespace, ref.path(), detail)
	})
	if err != nil {
		used = nil
	}
	return out, used, err
}

// checkGate applies the promotion gate of lifecycle to a version (id 0: a
// version being created, which has no experiments yet).
func (r *Registry) checkGate(ctx context.Context, q db.Queries, id int64, path, lifecycle string) error {
	g, err := r.gateVerdict(ctx, q, id, lifecycle)
	if err != nil || g.passed() {
		return err
	}
	ge := &GateError{Path: path, To: lifecycle, Missing: g.Missing, NoExperiments: g.NoExperiments}
	for _, e := range g.NotPassed {
		ge.NotPassed = append(ge.NotPassed, e.Name)
	}
	return ge
}

// gateVerdict is the one reading of the promotion gate of lifecycle for a
// version (id 0: a version being created, which has no experiments yet):
// checkGate refuses on it, GatePreview shows it.
func (r *Registry) gateVerdict(ctx context.Context, q db.Queries, id int64, lifecycle string) (gateVerdict, error) {
	gate, ok := r.gates[lifecycle]
	g := gateVerdict{Require: slices.Clone(gate.Require), RequireAllPassed: gate.RequireAllPassed}
	if !ok || (len(gate.Require) == 0 && !gate.RequireAllPassed) {
		return g, nil
	}
	var states []db.ListVersionExperimentStatesRow
	if id != 0 {
		var err error
		if states, err = q.ListVersionExperimentStates(ctx, id); err != nil {
			return g, err
		}
	}
	byName := map[string]string{}
	for _, s := range states {
		byName[s.Name] = s.State
	}
	notPassed := func(name, state string) {
		if !slices.ContainsFunc(g.NotPassed, func(e GateExperiment) bool { return e.Name == name }) {
			g.NotPassed = append(g.NotPassed, GateExperiment{Name: name, State: state})
		}
	}
	for _, name := range gate.Require {
		state, ok := byName[name]
		switch {
		case !ok:
			g.Missing = append(g.Missing, name)
		case state != api.ExperimentPassed:
			notPassed(name, state)
		}
	}
	if gate.RequireAllPassed {
		if len(states) == 0 {
			g.NoExperiments = true
		}
		for _, s := range states {
			if s.State != api.ExperimentPassed {
				notPassed(s.Name, s.State)
			}
		}
	}
	slices.SortFunc(g.NotPassed, func(a, b GateExperiment) int { return strings.Compare(a.Name, b.Name) })
	return g, nil
}

// VersionHistory returns a version's lifecycle changes, oldest first.
func (r *Registry) VersionHistory(ctx context.Context, ref Ref) ([]StateChange, error) {
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return nil, err
	}
	rows, err := r.db.ListStateChanges(ctx, res.version.ID)
	if err != nil {
		return nil, err
	}
	return convert(rows, func(c db.VersionStateChange) StateChange {
		return StateChange{From: c.FromState, To: c.ToState, Actor: c.Actor, ChangedAt: c.ChangedAt.UTC()}
	}), nil
}

// DeleteVersion soft-deletes a version (hidden, name still taken) or, with
// hard, removes it with its experiments and artifact records; a hard delete
// also purges a version that was soft-deleted before. A version that live
// versions name as a parent is not deleted (ConflictError); see
// DeleteVersionCascade.
func (r *Registry) DeleteVersion(ctx context.Context, ref Ref, hard bool) error {
	return r.DeleteVersionCascade(ctx, ref, hard, false)
}

// DeleteVersionCascade is DeleteVersion; with cascade, a version that live
// versions name as a parent is deleted too, and the links to it removed
// (the audit record counts them). A hard delete always removes the links
// of soft-deleted children.
func (r *Registry) DeleteVersionCascade(ctx context.Context, ref Ref, hard, cascade bool) error {
	return r.write(ctx, func(q db.Queries) error {
		res, err := r.lookupVersion(ctx, q, ref, hard)
		if err != nil {
			return err
		}
		detail := map[string]any{"hard": hard}
		if !cascade {
			if err := r.liveChildren(ctx, q, res.version.ID, ref); err != nil {
				return err
			}
		} else {
			detail["cascade"] = true
		}
		if hard || cascade {
			n, err := q.DeleteParentLinks(ctx, res.version.ID)
			if err != nil {
				return err
			}
			if n > 0 {
				detail["unlinked_children"] = n
			}
		}
		if err := r.dropVersionAliases(ctx, q, ref.Namespace, ref.Model, res.version.ID); err != nil {
			return err
		}
		if hard {
			_, err = q.DeleteVersion(ctx, res.version.ID)
		} else {
			_, err = q.SoftDeleteVersion(ctx, db.SoftDeleteVersionParams{ID: res.version.ID, Now: r.now()})
		}
		if err != nil {
			return err
		}
		return r.record(ctx, q, "version.delete", ref.Namespace, ref.path(), detail)
	})
}

// TagVersion attaches (or with detach, removes) a namespace tag on a version.
func (r *Registry) TagVersion(ctx context.Context, ref Ref, tag string, detach bool) error {
	return r.write(ctx, func(q db.Queries) error {
		res, err := r.version(ctx, q, ref)
		if err != nil {
			return err
		}
		return r.setTag(ctx, q, res.ns, tag, ref.path(), detach, tagTarget{VersionID: &res.version.ID})
	})
}

// VersionTags lists the tags attached to a version.
func (r *Registry) VersionTags(ctx context.Context, ref Ref) ([]Tag, error) {
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return nil, err
	}
	rows, err := r.db.ListLinkedTags(ctx, tagTarget{VersionID: &res.version.ID})
	return convert(rows, toTag(ref.Namespace)), err
}
