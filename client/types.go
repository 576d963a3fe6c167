package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"strings"

	"github.com/flymodel/flymodel/api"
)

// Lifecycles are the states of a model version, in promotion order.
var Lifecycles = api.Lifecycles

// Experiment states.
const (
	StateCreated = api.ExperimentCreated
	StateRunning = api.ExperimentRunning
	StatePassed  = api.ExperimentPassed
	StateFailed  = api.ExperimentFailed
)

// The resources of the API, as the server sends them: the types of
// package api (their documentation is the API's).
type (
	// Namespace groups models, buckets and tags.
	Namespace = api.Namespace
	// Bucket is a storage location of a namespace for one lifecycle (Role).
	Bucket = api.Bucket
	// Tag is a namespace's tag, attachable to models, versions and
	// experiments.
	Tag = api.Tag
	// Model is the "repository" of a model's versions.
	Model = api.Model
	// StateChange is one entry of a version's lifecycle history; From is
	// nil for the version's creation.
	StateChange = api.StateChange
	// Artifact is the record of a stored file of a version or an
	// experiment. Its Format is one of the known formats, or empty (null
	// on the wire).
	Artifact = api.Artifact
	// PageInfo is the page a list answered with.
	PageInfo = api.PageInfo
)

// Version is a model version: immutable content in one lifecycle state
// (api.Version, with the client's methods).
type Version api.Version

// Ref returns the reference of v.
func (v Version) Ref() VersionRef {
	return VersionRef{Namespace: v.Namespace, Model: v.Model, Version: v.Version}
}

// Experiment is a test run against a model version, recorded once
// (api.Experiment, with the client's methods).
type Experiment api.Experiment

// Ref returns the reference of the experiment's version.
func (e Experiment) Ref() VersionRef {
	return VersionRef{Namespace: e.Namespace, Model: e.Model, Version: e.Version}
}

// Owner returns the owner of the experiment's artifacts.
func (e Experiment) Owner() Owner { return e.Ref().ExperimentOwner(e.Name) }

// Page is one page of a list, with the totals (api.Page, with the
// client's methods).
type Page[T any] api.Page[T]

// Next returns the options of the following page, and false on the last
// page.
func (p Page[T]) Next() (ListOptions, bool) {
	if p.Page.Page >= p.TotalPages {
		return ListOptions{}, false
	}
	return ListOptions{Page: p.Page.Page + 1, Size: p.Page.Size}, true
}

// ListOptions select a page: Page from 1, Size up to 1000. Zero values
// are the server's defaults (page 1, 25 items).
type ListOptions struct {
	Page int64
	Size int64
}

// MaxPageSize is the largest page the server returns.
const MaxPageSize = api.MaxPageSize

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.Page != 0 {
		q.Set("page", strconv.FormatInt(o.Page, 10))
	}
	if o.Size != 0 {
		q.Set("size", strconv.FormatInt(o.Size, 10))
	}
	return q
}

// All iterates over every item of a list, page by page (MaxPageSize items
// per request), stopping at the first error. list is one of the client's
// List methods with its other arguments bound, e.g.
//
//	client.All(ctx, func(ctx context.Context, p client.ListOptions) (client.Page[client.Model], error) {
//		return c.ListModels(ctx, "canada", client.ModelFilter{}, p)
//	})
//
// Items created or deleted while the pages are read may be missed or seen
// twice.
func All[T any](ctx context.Context, list func(context.Context, ListOptions) (Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		opts := ListOptions{Page: 1, Size: MaxPageSize}
		for {
			p, err := list(ctx, opts)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Data {
				if !yield(item, nil) {
					return
				}
			}
			next, ok := p.Next()
			if !ok || len(p.Data) == 0 {
				return
			}
			opts = next
		}
	}
}

// VersionRef names a model version.
type VersionRef struct {
	Namespace, Model, Version string
}

// Owner returns the owner of the version's own artifacts.
func (v VersionRef) Owner() Owner {
	return Owner{Namespace: v.Namespace, Model: v.Model, Version: v.Version}
}

// ExperimentOwner returns the owner of the artifacts of the version's
// experiment name.
func (v VersionRef) ExperimentOwner(name string) Owner {
	return Owner{Namespace: v.Namespace, Model: v.Model, Version: v.Version, Experiment: name}
}

func (v VersionRef) path() string {
	return modelPath(v.Namespace, v.Model) + "/versions/" + url.PathEscape(v.Version)
}

func (v VersionRef) experimentPath(name string) string {
	return v.path() + "/experiments/" + url.PathEscape(name)
}

// Owner names what artifacts belong to: a model version, or one of its
// experiments when Experiment is set.
type Owner struct {
	Namespace, Model, Version, Experiment string
}

// Ref returns the reference of the owner's version.
func (o Owner) Ref() VersionRef {
	return VersionRef{Namespace: o.Namespace, Model: o.Model, Version: o.Version}
}

func (o Owner) path() string {
	if o.Experiment != "" {
		return o.Ref().experimentPath(o.Experiment)
	}
	return o.Ref().path()
}

// artifactPath escapes each segment of an artifact name, keeping the "/"
// between them.
func (o Owner) artifactPath(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return o.path() + "/artifacts/" + strings.Join(segs, "/")
}

func namespacePath(ns string) string { return apiPrefix + "/namespaces/" + url.PathEscape(ns) }

func modelPath(ns, model string) string {
	return namespacePath(ns) + "/models/" + url.PathEscape(model)
}

// Token statuses: whether the server accepts a token now.
const (
	TokenActive  = api.TokenActive
	TokenExpired = api.TokenExpired
	TokenRevoked = api.TokenRevoked
)

// Token is an API token as listed: never its secret.
type Token = api.Token

// CreatedToken is a token just created, with its secret: the bearer token
// to send (WithToken). The server keeps only its hash, so this is the one
// time it can be read; keep it out of logs.
type CreatedToken = api.CreatedToken

// Audit record outcomes.
const (
	// OutcomeOK is a change committed with its record.
	OutcomeOK = api.OutcomeOK
	// OutcomeDenied is a change refused for want of a role (403); nothing
	// changed.
	OutcomeDenied = api.OutcomeDenied
)

// AuditRecord is one record of the audit log: a change, or a change
// refused for want of a role. Its ID increases with each record: the
// log's order, and what AuditFilter.After takes.
type AuditRecord = api.AuditRecord

// AuditPage is one page of the audit log, oldest first; its Next is 0 on
// the last page, otherwise it goes in AuditFilter.After for the following
// page.
type AuditPage = api.AuditPage
