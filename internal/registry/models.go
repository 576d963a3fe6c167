package registry

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/filter"
)

// Model is a model as the API shows it.
type Model = api.Model

func (r *Registry) toModel(ctx context.Context, q db.Queries, ns string, m db.Model) (Model, error) {
	out, err := r.toModelTags(ctx, q, ns, m)
	if err != nil {
		return Model{}, err
	}
	err = withPageModelAliases(ctx, q, []*Model{&out})
	return out, err
}

// toModelTags is toModel without the aliases, which a list fills in for
// its whole page (withPageModelAliases).
func (r *Registry) toModelTags(ctx context.Context, q db.Queries, ns string, m db.Model) (Model, error) {
	tags, err := q.ListLinkedTags(ctx, tagTarget{ModelID: &m.ID})
	if err != nil {
		return Model{}, err
	}
	return Model{ID: m.ID, Namespace: ns, Name: m.Name, Description: m.Description, Tags: tagNames(tags), Aliases: []string{},
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(), Metadata: metadataOut(m.Metadata)}, nil
}

// validDescription checks the description of a model or a version:
// Markdown, UTF-8, at most api.MaxDescriptionBytes.
func validDescription(v *validation, d *string) {
	switch {
	case d == nil:
	case len(*d) > api.MaxDescriptionBytes:
		v.addf("description", "must be at most %d bytes", api.MaxDescriptionBytes)
	case !utf8.ValidString(*d):
		v.addf("description", "must be valid UTF-8")
	}
}

func tagNames(tags []db.Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Tag
	}
	return out
}

// ModelPath is the API path of a model.
func ModelPath(ns, model string) string { return modelPath(ns, model) }

// CreateModel creates a model in a namespace.
func (r *Registry) CreateModel(ctx context.Context, ns, name string) (Model, error) {
	return r.CreateModelWith(ctx, ns, NewModel{Name: name})
}

// NewModel is a model to create.
type NewModel struct {
	Name        string
	Description string
	// Metadata is a JSON object (nil or null: none); see validMetadata.
	Metadata json.RawMessage
}

// CreateModelWith creates a model in a namespace, with its description.
func (r *Registry) CreateModelWith(ctx context.Context, ns string, in NewModel) (Model, error) {
	name := in.Name
	var v validation
	validName(&v, "name", name)
	validDescription(&v, &in.Description)
	var metadata string
	if given(in.Metadata) {
		metadata = validMetadata(&v, in.Metadata)
	}
	if err := v.err(); err != nil {
		return Model{}, err
	}
	var out Model
	err := r.write(ctx, func(q db.Queries) error {
		n, err := r.namespace(ctx, q, ns)
		if err != nil {
			return err
		}
		now := r.now()
		m, err := q.CreateModel(ctx, db.CreateModelParams{NamespaceID: n.ID, Name: name, Now: now})
		if err != nil {
			return conflict(err, "model", modelPath(ns, name))
		}
		var detail map[string]any
		if in.Description != "" {
			if m, err = q.SetModelDescription(ctx, db.SetModelDescriptionParams{ID: m.ID, Description: in.Description, Now: now}); err != nil {
				return err
			}
			detail = map[string]any{"description": in.Description}
		}
		if metadata != "" && metadata != emptyMetadata {
			if m, err = q.SetModelMetadata(ctx, db.SetModelMetadataParams{ID: m.ID, Metadata: metadata, Now: now}); err != nil {
				return err
			}
			if detail == nil {
				detail = map[string]any{}
			}
			detail["metadata"] = json.RawMessage(metadata)
		}
		if out, err = r.toModel(ctx, q, ns, m); err != nil {
			return err
		}
		if detail == nil {
			return r.record(ctx, q, "model.create", ns, modelPath(ns, name), nil)
		}
		return r.record(ctx, q, "model.create", ns, modelPath(ns, name), detail)
	})
	return out, err
}

// GetModel returns a model.
func (r *Registry) GetModel(ctx context.Context, ns, name string) (Model, error) {
	res, err := r.model(ctx, r.db, ns, name)
	if err != nil {
		return Model{}, err
	}
	return r.toModel(ctx, r.db, ns, res.model)
}

// ModelFilter narrows a model list; empty fields do not filter.
type ModelFilter struct {
	NameContains string
	Tag          string
	// Filter is a filter of the query language (package filter), ANDed
	// with Tag and NameContains.
	Filter string
}

// ListModels returns one page of a namespace's models, by name.
func (r *Registry) ListModels(ctx context.Context, ns string, f ModelFilter, page PageRequest) (Page[Model], error) {
	var v validation
	off, lim := page.validate(&v)
	if f.Tag != "" {
		v.add("tag", ValidateNameRef(f.Tag))
	}
	if utf8.RuneCountInString(f.NameContains) > MaxNameLen {
		v.addf("name", "must be at most %d characters", MaxNameLen)
	}
	if err := v.err(); err != nil {
		return Page[Model]{}, err
	}
	n, err := r.namespace(ctx, r.db, ns)
	if err != nil {
		return Page[Model]{}, err
	}
	if strings.TrimSpace(f.Filter) != "" {
		and := []*filter.Predicate{equals("tags", f.Tag)}
		if f.NameContains != "" {
			// name=… is a substring, case-insensitive: a LIKE pattern
			// whose % and _ are literal.
			pattern := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.NameContains) + "%"
			and = append(and, &filter.Predicate{Field: "name", Op: "ILIKE", Values: []filter.Value{{Kind: filter.KindString, Str: pattern}}})
		}
		hits, total, err := r.listWhere(ctx, filter.Models, f.Filter, and,
			"name asc", filter.Query{NamespaceID: n.ID}, page)
		if err != nil {
			return Page[Model]{}, err
		}
		items, err := r.loadModels(ctx, hits)
		return newPage(items, page, total), err
	}
	contains, tag := optional(f.NameContains), optional(f.Tag)
	rows, err := r.db.ListModels(ctx, db.ListModelsParams{NamespaceID: n.ID, NameContains: contains, Tag: tag, PageOffset: off, PageLimit: lim})
	if err != nil {
		return Page[Model]{}, err
	}
	total, err := r.db.CountModels(ctx, db.CountModelsParams{NamespaceID: n.ID, NameContains: contains, Tag: tag})
	if err != nil {
		return Page[Model]{}, err
	}
	items := make([]Model, len(rows))
	ptrs := make([]*Model, len(rows))
	for i, m := range rows {
		if items[i], err = r.toModelTags(ctx, r.db, ns, m); err != nil {
			return Page[Model]{}, err
		}
		ptrs[i] = &items[i]
	}
	if err := withPageModelAliases(ctx, r.db, ptrs); err != nil {
		return Page[Model]{}, err
	}
	return newPage(items, page, total), nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// RenameModel renames a model; its versions follow.
func (r *Registry) RenameModel(ctx context.Context, ns, name, newName string) (Model, error) {
	return r.UpdateModel(ctx, ns, name, ModelChange{Name: &newName})
}

// ModelChange changes a model; nil fields are kept.
type ModelChange struct {
	Name        *string
	Description *string
	// Metadata replaces the whole object; nil or null keeps it.
	Metadata json.RawMessage
}

// UpdateModel renames a model (its versions follow) and/or changes its
// description, in one transaction; the audit record holds each changed
// field before and after.
func (r *Registry) UpdateModel(ctx context.Context, ns, name string, in ModelChange) (Model, error) {
	var v validation
	if in.Name != nil {
		validName(&v, "name", *in.Name)
	}
	validDescription(&v, in.Description)
	var metadata *string
	if given(in.Metadata) {
		m := validMetadata(&v, in.Metadata)
		metadata = &m
	}
	if err := v.err(); err != nil {
		return Model{}, err
	}
	var out Model
	err := r.write(ctx, func(q db.Queries) error {
		res, err := r.model(ctx, q, ns, name)
		if err != nil {
			return err
		}
		m, newName, now := res.model, name, r.now()
		if in.Name != nil && *in.Name != name {
			newName = *in.Name
			if m, err = q.RenameModel(ctx, db.RenameModelParams{ID: m.ID, Name: newName, Now: now}); err != nil {
				return conflict(err, "model", modelPath(ns, newName))
			}
		}
		before := res.model.Description
		if in.Description != nil && *in.Description != before {
			if m, err = q.SetModelDescription(ctx, db.SetModelDescriptionParams{ID: m.ID, Description: *in.Description, Now: now}); err != nil {
				return err
			}
		}
		beforeMeta := res.model.Metadata
		if metadata != nil && !sameJSON(*metadata, beforeMeta) {
			if m, err = q.SetModelMetadata(ctx, db.SetModelMetadataParams{ID: m.ID, Metadata: *metadata, Now: now}); err != nil {
				return err
			}
		}
		if out, err = r.toModel(ctx, q, ns, m); err != nil {
			return err
		}
		d := map[string]any{}
		for k, c := range diff("name", name, newName, "description", before, m.Description) {
			d[k] = c
		}
		if !sameJSON(beforeMeta, m.Metadata) {
			d["metadata"] = metadataChange(beforeMeta, m.Metadata)
		}
		if len(d) == 0 {
			return nil
		}
		return r.record(ctx, q, "model.update", ns, modelPath(ns, newName), d)
	})
	return out, err
}

// DeleteModel deletes a model. One that still has versions (soft-deleted
// ones included) is only deleted with cascade, and then with all of them.
func (r *Registry) DeleteModel(ctx context.Context, ns, name string, cascade bool) error {
	return r.write(ctx, func(q db.Queries) error {
		res, err := r.model(ctx, q, ns, name)
		if err != nil {
			return err
		}
		if !cascade {
			n, err := q.CountModelVersions(ctx, res.model.ID)
			if err != nil {
				return err
			}
			if n > 0 {
				return &ConflictError{Kind: "model", Path: modelPath(ns, name),
					Reason: errorf("still has %d versions; delete them first or use cascade=true", n).Error()}
			}
		}
		// Links naming its versions as parents go with them (its versions'
		// own links to their parents go by the foreign key's cascade).
		unlinked, err := q.DeleteModelParentLinks(ctx, res.model.ID)
		if err != nil {
			return err
		}
		if _, err = q.DeleteModel(ctx, res.model.ID); err != nil {
			return err
		}
		detail := map[string]any{"cascade": cascade}
		if unlinked > 0 {
			detail["unlinked_children"] = unlinked
		}
		return r.record(ctx, q, "model.delete", ns, modelPath(ns, name), detail)
	})
}

// TagModel attaches (or with detach, removes) a namespace tag on a model.
// Attaching twice or detaching an absent tag changes nothing.
func (r *Registry) TagModel(ctx context.Context, ns, name, tag string, detach bool) error {
	return r.write(ctx, func(q db.Queries) error {
		res, err := r.model(ctx, q, ns, name)
		if err != nil {
			return err
		}
		return r.setTag(ctx, q, res.ns, tag, modelPath(ns, name), detach, tagTarget{ModelID: &res.model.ID})
	})
}

// tagTarget is what a tag link points at: a model, a version or an
// experiment (exactly one id set).
type tagTarget = db.ListLinkedTagsParams

// setTag resolves a namespace tag and attaches it to (or with detach,
// removes it from) to. The change is recorded against the tagged
// resource's path.
func (r *Registry) setTag(ctx context.Context, q db.Queries, ns db.Namespace, tag, target string, detach bool, to tagTarget) error {
	t, err := r.tag(ctx, q, ns, tag)
	if err != nil {
		return err
	}
	link := db.AttachTagParams{TagID: t.ID, ModelID: to.ModelID, VersionID: to.VersionID, ExperimentID: to.ExperimentID}
	action := "tag.attach"
	var n int64
	if detach {
		action = "tag.detach"
		n, err = q.DetachTag(ctx, db.DetachTagParams(link))
	} else {
		n, err = q.AttachTag(ctx, link)
	}
	if err != nil || n == 0 {
		return err
	}
	return r.record(ctx, q, action, ns.Name, target+"/tags/"+url.PathEscape(tag), nil)
}
