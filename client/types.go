package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// Namespace groups models, buckets and tags.
type Namespace struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Bucket is a storage location of a namespace for one lifecycle (Role).
type Bucket struct {
	ID        int64     `json:"id"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Tag is a namespace's tag, attachable to models, versions and experiments.
type Tag struct {
	ID        int64     `json:"id"`
	Namespace string    `json:"namespace"`
	Tag       string    `json:"tag"`
	Color     string    `json:"color"`
	CreatedAt time.Time `json:"created_at"`
}

// Model is the "repository" of a model's versions.
type Model struct {
	ID        int64     `json:"id"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Version is a model version: immutable content in one lifecycle state.
type Version struct {
	ID             int64     `json:"id"`
	Namespace      string    `json:"namespace"`
	Model          string    `json:"model"`
	Version        string    `json:"version"`
	State          string    `json:"state"`
	StateChangedAt time.Time `json:"state_changed_at"`
	// Sealed is set once the version has left test: no new artifacts.
	Sealed   bool       `json:"sealed"`
	SealedAt *time.Time `json:"sealed_at"`
	// Digest names the version's content: "sha256:<hex>" over its sorted
	// (sha256, name) list; empty while it has no artifacts.
	Digest    string    `json:"digest"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Ref returns the reference of v.
func (v Version) Ref() VersionRef {
	return VersionRef{Namespace: v.Namespace, Model: v.Model, Version: v.Version}
}

// StateChange is one entry of a version's lifecycle history; From is nil
// for the version's creation.
type StateChange struct {
	From      *string   `json:"from"`
	To        string    `json:"to"`
	Actor     string    `json:"actor"`
	ChangedAt time.Time `json:"changed_at"`
}

// Experiment is a test run against a model version, recorded once.
type Experiment struct {
	ID        int64  `json:"id"`
	Namespace string `json:"namespace"`
	Model     string `json:"model"`
	Version   string `json:"version"`
	Name      string `json:"name"`
	// State is created, running, passed or failed.
	State string `json:"state"`
	// Retries counts the starts after the first.
	Retries int64 `json:"retries"`
	// Params and Metrics are JSON objects, or null.
	Params     json.RawMessage `json:"params"`
	Metrics    json.RawMessage `json:"metrics"`
	DurationMs *int64          `json:"duration_ms"`
	StartedAt  *time.Time      `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// Ref returns the reference of the experiment's version.
func (e Experiment) Ref() VersionRef {
	return VersionRef{Namespace: e.Namespace, Model: e.Model, Version: e.Version}
}

// Owner returns the owner of the experiment's artifacts.
func (e Experiment) Owner() Owner { return e.Ref().ExperimentOwner(e.Name) }

// Artifact is the record of a stored file of a version or an experiment.
type Artifact struct {
	ID           int64  `json:"id"`
	VersionID    int64  `json:"version_id,omitempty"`
	ExperimentID int64  `json:"experiment_id,omitempty"`
	Name         string `json:"name"`
	FileName     string `json:"file_name"`
	ContentType  string `json:"content_type"`
	// Format is one of the known formats, or empty (null on the wire).
	Format   string `json:"format"`
	Encoding string `json:"encoding"`
	// Extra is a JSON object (version artifacts only), or empty.
	Extra     json.RawMessage `json:"extra,omitempty"`
	SHA256    string          `json:"sha256"`
	Size      int64           `json:"size"`
	Blob      int64           `json:"blob"`
	CreatedAt time.Time       `json:"created_at"`
}

// Page is one page of a list, with the totals.
type Page[T any] struct {
	Data       []T      `json:"data"`
	Page       PageInfo `json:"page"`
	TotalItems int64    `json:"total_items"`
	TotalPages int64    `json:"total_pages"`
}

// PageInfo is the page a list answered with.
type PageInfo struct {
	Page int64 `json:"page"`
	Size int64 `json:"size"`
}

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
type Token struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Role is read, write or admin.
	Role string `json:"role"`
	// Namespaces are those the token is limited to, sorted; empty means
	// every namespace (an unscoped token).
	Namespaces []string `json:"namespaces"`
	// Status is TokenActive, TokenExpired or TokenRevoked.
	Status string `json:"status"`
	// CreatedBy is the actor that created it: a token's name,
	// "oidc:<subject>", "anonymous" or "local:<user>".
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is nil for a token that never expires.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// RevokedAt is nil unless the token was revoked.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// CreatedToken is a token just created, with its secret: the bearer token
// to send (WithToken). The server keeps only its hash, so this is the one
// time it can be read; keep it out of logs.
type CreatedToken struct {
	Token
	Secret string `json:"secret"`
}

// Audit record outcomes.
const (
	// OutcomeOK is a change committed with its record.
	OutcomeOK = api.OutcomeOK
	// OutcomeDenied is a change refused for want of a role (403); nothing
	// changed.
	OutcomeDenied = api.OutcomeDenied
)

// AuditRecord is one record of the audit log: a change, or a change
// refused for want of a role.
type AuditRecord struct {
	// ID increases with each record: the log's order, and what
	// AuditFilter.After takes.
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Actor is a token's name, "oidc:<subject>", "anonymous",
	// "local:<user>" for commands run on the server's host, or "system"
	// for the server's own work (such as retention).
	Actor string `json:"actor"`
	// Action is "<resource>.<verb>", e.g. "version.create" or
	// "token.revoke"; a refused request is "request.<method>".
	Action string `json:"action"`
	// Target is the resource's path under /api/v1 (for a refused request,
	// the request's path).
	Target string `json:"target"`
	// Namespace is the namespace the target lies in; empty for none.
	Namespace string `json:"namespace,omitempty"`
	// Outcome is OutcomeOK or OutcomeDenied.
	Outcome string `json:"outcome"`
	// RequestID is the request's X-Request-Id; empty for changes made
	// outside a request.
	RequestID string `json:"request_id,omitempty"`
	// Detail is any JSON value the action records about itself (for a
	// refused request, the role it "needs"); empty when none.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// AuditPage is one page of the audit log, oldest first.
type AuditPage struct {
	Items []AuditRecord `json:"items"`
	// Next is 0 on the last page; otherwise it goes in AuditFilter.After
	// for the following page.
	Next int64 `json:"next,omitempty"`
}
