package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// The original flymodel's GraphQL API, POST /graphql, as far as its
// clients use it: its hurl suites and the documents of its Python and
// Rust clients (crates/graphql/gql). Every field goes through the
// registry, with its rules, its audit records and the caller's roles; ids
// are the registry's own. What is served is the schema below, nothing
// more; the README lists it. Its Lifecycle enum is api.Lifecycles in
// upper case.
const graphqlSchema = `
schema {
  query: Query
  mutation: Mutation
}

"An RFC 3339 time, UTC."
scalar DateTime

enum Lifecycle {
  %s
}

"Pages count from 1; size is at most 1000."
input Page {
  size: Int! = 25
  page: Int!
}

type CurrentPage {
  size: Int!
  page: Int!
}

type Namespace {
  id: Int!
  name: String!
  description: String!
  createdAt: DateTime!
  lastModified: DateTime!
  models(page: Page): PaginatedModel!
}

type Model {
  id: Int!
  namespaceId: Int!
  name: String!
  createdAt: DateTime!
  lastModified: DateTime!
  namespace: Namespace
  versions(page: Page): PaginatedModelVersion!
}

type ModelVersion {
  id: Int!
  modelId: Int!
  version: String!
  model: Model!
  state: ModelState
}

"A version's lifecycle state; id is the version's id."
type ModelState {
  id: Int!
  versionId: Int!
  state: Lifecycle!
  lastModified: DateTime!
}

type Experiment {
  id: Int!
  versionId: Int!
  name: String!
  createdAt: DateTime!
}

type PaginatedNamespace {
  page: CurrentPage!
  totalPages: Int!
  totalItems: Int!
  data: [Namespace!]!
}

type PaginatedModel {
  page: CurrentPage!
  totalPages: Int!
  totalItems: Int!
  data: [Model!]!
}

type PaginatedModelVersion {
  page: CurrentPage!
  totalPages: Int!
  totalItems: Int!
  data: [ModelVersion!]!
}

type Query {
  "Namespaces the caller may read: one by id or name, else all, by name."
  namespace(id: Int, name: String, page: Page): PaginatedNamespace!
  "Models: one by id, else those of a namespace (name: a substring), by name."
  model(id: Int, page: Page, name: String, namespace: Int): PaginatedModel!
}

type Mutation {
  createNamespace(name: String!, description: String): Namespace!
  createModel(namespace: Int!, name: String!): Model!
  createModelVersion(model: Int!, name: String!): ModelVersion!
  updateModelVersionState(id: Int!, state: Lifecycle!): ModelState!
  createExperiment(modelVersion: Int!, name: String!): Experiment!
}
`

// graphqlRequest is the body of POST /graphql (GraphQL over HTTP).
type graphqlRequest struct {
	Query         string          `json:"query"`
	OperationName string          `json:"operationName"`
	Variables     map[string]any  `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// newGraphQL parses the schema over the server's resolvers.
func (s *server) newGraphQL() *graphql.Schema {
	lifecycles := make([]string, len(api.Lifecycles))
	for i, l := range api.Lifecycles {
		lifecycles[i] = strings.ToUpper(l)
	}
	return graphql.MustParseSchema(fmt.Sprintf(graphqlSchema, strings.Join(lifecycles, "\n  ")), &gqlRoot{s: s},
		graphql.MaxDepth(12), graphql.MaxParallelism(4), graphql.Logger(gqlPanicLogger{s}))
}

// handleGraphQL answers POST /graphql: 200 with {"data", "errors"} as
// GraphQL over HTTP does, bad input included (an error per field, in
// "errors", with the problem type in its extensions). A field the caller
// lacks the role for fails the whole request with 401 or 403
// problem+json instead, as every other route; mutation fields after it
// are not run (those before it, run in order, stand).
func (s *server) handleGraphQL(w http.ResponseWriter, r *http.Request) error {
	var in graphqlRequest
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Query) == "" {
		return newProblem(kindMalformed, `the body must hold a GraphQL document in "query"`)
	}
	call := &gqlCall{w: w, r: r}
	ctx := context.WithValue(r.Context(), gqlCallKey{}, call)
	res := s.gql.Exec(ctx, in.Query, in.OperationName, in.Variables)
	if err := call.refusal(); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// gqlCall is one request's state, shared by its resolvers (a query's run
// in parallel).
type gqlCall struct {
	w       http.ResponseWriter
	r       *http.Request
	mu      sync.Mutex
	refused error
}

type gqlCallKey struct{}

func callFrom(ctx context.Context) *gqlCall {
	return ctx.Value(gqlCallKey{}).(*gqlCall)
}

func (c *gqlCall) refusal() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused
}

// errRefusedEarlier fails the fields after a refused one.
var errRefusedEarlier = errors.New("not run: an earlier field was refused")

// gqlAuthorize checks the caller's role in namespace ns for a field that
// names its target by id, as authorizeByID does: a caller that may not
// read ns gets the field's notFound, the error of an unknown id (the
// refusal audited as denied), and the fields after it run as after an
// unknown id. Otherwise it records the first refusal (audited as denied,
// as on every route), which fails the whole request.
func (s *server) gqlAuthorize(ctx context.Context, ns string, need auth.Role, notFound error) error {
	c := callFrom(ctx)
	if err := c.refusal(); err != nil {
		return errRefusedEarlier
	}
	if err := s.authorizeByID(c.w, c.r, ns, need, notFound); err != nil {
		if err == notFound {
			return s.fieldError(ctx, err)
		}
		c.mu.Lock()
		c.refused = err
		c.mu.Unlock()
		return err
	}
	return nil
}

// mayRead reports whether the caller may read namespace ns: what it may
// not read, the queries do not show.
func mayRead(ctx context.Context, ns string) bool {
	return principalFrom(callFrom(ctx).r.Context()).Allows(ns, auth.Read)
}

// gqlError is a field's error: the problem's detail as its message, the
// problem's type, status and members in its extensions.
type gqlError struct {
	p *Problem
}

func (e gqlError) Error() string { return e.p.Detail }

func (e gqlError) Extensions() map[string]any {
	ext := map[string]any{}
	if e.p.Extensions != nil {
		if raw, err := json.Marshal(e.p.Extensions); err == nil {
			_ = json.Unmarshal(raw, &ext)
		}
	}
	ext["type"], ext["status"] = e.p.Type, e.p.Status
	return ext
}

// fieldError turns a resolver's error into the field's GraphQL error; an
// error that is not the client's is logged and told only by request id.
func (s *server) fieldError(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, errRefusedEarlier) {
		return err
	}
	var p *Problem
	if !errors.As(err, &p) {
		p = registryProblem(err)
	}
	if p == nil || p.Status >= 500 {
		id := requestIDFrom(ctx)
		s.logger.ErrorContext(ctx, "graphql field failed", "request_id", id, "err", err)
		if p == nil {
			p = newProblem(kindInternal, "the server failed to resolve the field; quote the request id "+id+" when reporting it")
		}
	}
	return gqlError{p}
}

// gqlPanicLogger sends a resolver's panic to the server's log (graphql-go
// recovers it into the field's error).
type gqlPanicLogger struct{ s *server }

func (l gqlPanicLogger) LogPanic(ctx context.Context, value any) {
	l.s.logger.ErrorContext(ctx, "graphql resolver panicked", "request_id", requestIDFrom(ctx), "panic", fmt.Sprint(value))
}

// gqlTime is the DateTime scalar.
type gqlTime struct{ time.Time }

func (gqlTime) ImplementsGraphQLType(name string) bool { return name == "DateTime" }

func (t *gqlTime) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("DateTime must be an RFC 3339 string")
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	t.Time = v
	return err
}

func (t gqlTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// gqlInt is an id or count as GraphQL's Int (32 bits, as the original's).
func gqlInt(n int64) int32 {
	return int32(min(n, math.MaxInt32))
}

// gqlPageInput is the Page input; nil means the first page of 25.
type gqlPageInput struct {
	Size int32
	Page int32
}

func (p *gqlPageInput) request() registry.PageRequest {
	if p == nil {
		return registry.PageRequest{Page: 1, Size: 25}
	}
	return registry.PageRequest{Page: int64(p.Page), Size: int64(p.Size)}
}

type gqlCurrentPage struct{ page, size int64 }

func (p gqlCurrentPage) Page() int32 { return gqlInt(p.page) }
func (p gqlCurrentPage) Size() int32 { return gqlInt(p.size) }

// gqlPage is a paginated list of resolvers of type T.
type gqlPage[T any] struct {
	data                    []T
	page, size, items, last int64
}

func (p *gqlPage[T]) Page() gqlCurrentPage { return gqlCurrentPage{p.page, p.size} }
func (p *gqlPage[T]) TotalPages() int32    { return gqlInt(p.last) }
func (p *gqlPage[T]) TotalItems() int32    { return gqlInt(p.items) }
func (p *gqlPage[T]) Data() []T            { return p.data }

// pageOf maps a registry page through resolve.
func pageOf[R, T any](p registry.Page[R], resolve func(R) T) *gqlPage[T] {
	out := &gqlPage[T]{data: make([]T, 0, len(p.Items)), page: p.Page, size: p.Size, items: p.TotalItems, last: p.TotalPages}
	for _, it := range p.Items {
		out.data = append(out.data, resolve(it))
	}
	return out
}

// onePage is a page holding at most one item.
func onePage[T any](items ...T) *gqlPage[T] {
	n := int64(len(items))
	return &gqlPage[T]{data: items, page: 1, size: 25, items: n, last: n}
}

// gqlRoot resolves Query and Mutation.
type gqlRoot struct{ s *server }

func (q *gqlRoot) Namespace(ctx context.Context, args struct {
	ID   *int32
	Name *string
	Page *gqlPageInput
}) (*gqlPage[*gqlNamespace], error) {
	s := q.s
	var (
		ns  registry.Namespace
		err error
	)
	switch {
	case args.ID != nil:
		ns, err = s.registry.NamespaceByID(ctx, int64(*args.ID))
	case args.Name != nil:
		ns, err = s.registry.GetNamespace(ctx, *args.Name)
	default:
		var list registry.Page[registry.Namespace]
		if scope := principalFrom(callFrom(ctx).r.Context()).Namespaces(); scope != nil {
			list, err = s.registry.ListNamespacesNamed(ctx, scope, args.Page.request())
		} else {
			list, err = s.registry.ListNamespaces(ctx, args.Page.request())
		}
		if err != nil {
			return nil, s.fieldError(ctx, err)
		}
		return pageOf(list, func(n registry.Namespace) *gqlNamespace { return &gqlNamespace{s, n} }), nil
	}
	var notFound *registry.NotFoundError
	switch {
	case errors.As(err, &notFound) || (err == nil && !mayRead(ctx, ns.Name)):
		return onePage[*gqlNamespace](), nil
	case err != nil:
		return nil, s.fieldError(ctx, err)
	case args.ID != nil && args.Name != nil && ns.Name != *args.Name:
		return onePage[*gqlNamespace](), nil
	}
	return onePage(&gqlNamespace{s, ns}), nil
}

func (q *gqlRoot) Model(ctx context.Context, args struct {
	ID        *int32
	Page      *gqlPageInput
	Name      *string
	Namespace *int32
}) (*gqlPage[*gqlModel], error) {
	s := q.s
	var notFound *registry.NotFoundError
	if args.ID != nil {
		m, err := s.registry.ModelByID(ctx, int64(*args.ID))
		switch {
		case errors.As(err, &notFound) || (err == nil && !mayRead(ctx, m.Namespace)):
			return onePage[*gqlModel](), nil
		case err != nil:
			return nil, s.fieldError(ctx, err)
		case args.Name != nil && m.Name != *args.Name,
			args.Namespace != nil && m.Namespace != s.namespaceName(ctx, int64(*args.Namespace)):
			return onePage[*gqlModel](), nil
		}
		return onePage(&gqlModel{s: s, m: m}), nil
	}
	if args.Namespace == nil {
		return nil, gqlError{newProblem(kindMalformed, "model needs an id or a namespace")}
	}
	ns, err := s.registry.NamespaceByID(ctx, int64(*args.Namespace))
	switch {
	case errors.As(err, &notFound) || (err == nil && !mayRead(ctx, ns.Name)):
		return onePage[*gqlModel](), nil
	case err != nil:
		return nil, s.fieldError(ctx, err)
	}
	var f registry.ModelFilter
	if args.Name != nil {
		f.NameContains = *args.Name
	}
	list, err := s.registry.ListModels(ctx, ns.Name, f, args.Page.request())
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	return pageOf(list, func(m registry.Model) *gqlModel { return &gqlModel{s: s, m: m, namespaceID: ns.ID} }), nil
}

// namespaceName is the name of the namespace with id, "" when there is
// none.
func (s *server) namespaceName(ctx context.Context, id int64) string {
	ns, err := s.registry.NamespaceByID(ctx, id)
	if err != nil {
		return ""
	}
	return ns.Name
}

func (q *gqlRoot) CreateNamespace(ctx context.Context, args struct {
	Name        string
	Description *string
}) (*gqlNamespace, error) {
	s := q.s
	c := callFrom(ctx)
	if err := c.refusal(); err != nil {
		return nil, errRefusedEarlier
	}
	if p := principalFrom(c.r.Context()); !allowed(p, createNamespace, "") {
		err := s.refuse(c.w, c.r, p, "", auth.Admin)
		c.mu.Lock()
		c.refused = err
		c.mu.Unlock()
		return nil, err
	}
	in := registry.NewNamespace{Name: args.Name}
	if args.Description != nil {
		in.Description = *args.Description
	}
	ns, err := s.registry.CreateNamespace(ctx, in)
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	return &gqlNamespace{s, ns}, nil
}

func (q *gqlRoot) CreateModel(ctx context.Context, args struct {
	Namespace int32
	Name      string
}) (*gqlModel, error) {
	s := q.s
	ns, err := s.registry.NamespaceByID(ctx, int64(args.Namespace))
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	if err := s.gqlAuthorize(ctx, ns.Name, auth.Write, registry.NamespaceNotFound(int64(args.Namespace))); err != nil {
		return nil, err
	}
	m, err := s.registry.CreateModel(ctx, ns.Name, args.Name)
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	return &gqlModel{s: s, m: m, namespaceID: ns.ID}, nil
}

func (q *gqlRoot) CreateModelVersion(ctx context.Context, args struct {
	Model int32
	Name  string
}) (*gqlVersion, error) {
	s := q.s
	m, err := s.registry.ModelByID(ctx, int64(args.Model))
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	if err := s.gqlAuthorize(ctx, m.Namespace, auth.Write, registry.ModelNotFound(int64(args.Model))); err != nil {
		return nil, err
	}
	v, err := s.registry.CreateVersion(ctx, m.Namespace, m.Name, registry.NewVersion{Version: args.Name})
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	return &gqlVersion{s: s, v: v, modelID: m.ID}, nil
}

func (q *gqlRoot) UpdateModelVersionState(ctx context.Context, args struct {
	ID    int32
	State string
}) (*gqlState, error) {
	s := q.s
	ref, err := s.registry.VersionRefByID(ctx, int64(args.ID))
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	if err := s.gqlAuthorize(ctx, ref.Namespace, auth.Write, registry.VersionNotFound(int64(args.ID))); err != nil {
		return nil, err
	}
	v, err := s.registry.SetVersionState(ctx, ref, strings.ToLower(args.State))
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	return &gqlState{v}, nil
}

func (q *gqlRoot) CreateExperiment(ctx context.Context, args struct {
	ModelVersion int32
	Name         string
}) (*gqlExperiment, error) {
	s := q.s
	ref, err := s.registry.VersionRefByID(ctx, int64(args.ModelVersion))
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	if err := s.gqlAuthorize(ctx, ref.Namespace, auth.Write, registry.VersionNotFound(int64(args.ModelVersion))); err != nil {
		return nil, err
	}
	e, err := s.registry.CreateExperiment(ctx, ref, registry.NewExperiment{Name: args.Name})
	if err != nil {
		return nil, s.fieldError(ctx, err)
	}
	return &gqlExperiment{e: e, versionID: int64(args.ModelVersion)}, nil
}

type gqlNamespace struct {
	s  *server
	ns registry.Namespace
}

func (n *gqlNamespace) ID() int32             { return gqlInt(n.ns.ID) }
func (n *gqlNamespace) Name() string          { return n.ns.Name }
func (n *gqlNamespace) Description() string   { return n.ns.Description }
func (n *gqlNamespace) CreatedAt() gqlTime    { return gqlTime{n.ns.CreatedAt} }
func (n *gqlNamespace) LastModified() gqlTime { return gqlTime{n.ns.UpdatedAt} }
func (n *gqlNamespace) Models(ctx context.Context, args struct{ Page *gqlPageInput }) (*gqlPage[*gqlModel], error) {
	list, err := n.s.registry.ListModels(ctx, n.ns.Name, registry.ModelFilter{}, args.Page.request())
	if err != nil {
		return nil, n.s.fieldError(ctx, err)
	}
	return pageOf(list, func(m registry.Model) *gqlModel { return &gqlModel{s: n.s, m: m, namespaceID: n.ns.ID} }), nil
}

type gqlModel struct {
	s *server
	m registry.Model
	// namespaceID is the namespace's id when known, else 0.
	namespaceID int64
}

func (m *gqlModel) ID() int32             { return gqlInt(m.m.ID) }
func (m *gqlModel) Name() string          { return m.m.Name }
func (m *gqlModel) CreatedAt() gqlTime    { return gqlTime{m.m.CreatedAt} }
func (m *gqlModel) LastModified() gqlTime { return gqlTime{m.m.UpdatedAt} }

func (m *gqlModel) NamespaceID(ctx context.Context) (int32, error) {
	if m.namespaceID == 0 {
		ns, err := m.s.registry.GetNamespace(ctx, m.m.Namespace)
		if err != nil {
			return 0, m.s.fieldError(ctx, err)
		}
		m.namespaceID = ns.ID
	}
	return gqlInt(m.namespaceID), nil
}

func (m *gqlModel) Namespace(ctx context.Context) (*gqlNamespace, error) {
	ns, err := m.s.registry.GetNamespace(ctx, m.m.Namespace)
	if err != nil {
		return nil, m.s.fieldError(ctx, err)
	}
	return &gqlNamespace{m.s, ns}, nil
}

func (m *gqlModel) Versions(ctx context.Context, args struct{ Page *gqlPageInput }) (*gqlPage[*gqlVersion], error) {
	list, err := m.s.registry.ListVersions(ctx, m.m.Namespace, m.m.Name, registry.VersionFilter{}, args.Page.request())
	if err != nil {
		return nil, m.s.fieldError(ctx, err)
	}
	return pageOf(list, func(v registry.Version) *gqlVersion { return &gqlVersion{s: m.s, v: v, modelID: m.m.ID} }), nil
}

type gqlVersion struct {
	s       *server
	v       registry.Version
	modelID int64
}

func (v *gqlVersion) ID() int32       { return gqlInt(v.v.ID) }
func (v *gqlVersion) ModelID() int32  { return gqlInt(v.modelID) }
func (v *gqlVersion) Version() string { return v.v.Version }
func (v *gqlVersion) State() *gqlState {
	return &gqlState{v.v}
}

func (v *gqlVersion) Model(ctx context.Context) (*gqlModel, error) {
	m, err := v.s.registry.ModelByID(ctx, v.modelID)
	if err != nil {
		return nil, v.s.fieldError(ctx, err)
	}
	return &gqlModel{s: v.s, m: m}, nil
}

type gqlState struct{ v registry.Version }

func (s *gqlState) ID() int32             { return gqlInt(s.v.ID) }
func (s *gqlState) VersionID() int32      { return gqlInt(s.v.ID) }
func (s *gqlState) State() string         { return strings.ToUpper(s.v.State) }
func (s *gqlState) LastModified() gqlTime { return gqlTime{s.v.StateChangedAt} }

type gqlExperiment struct {
	e         registry.Experiment
	versionID int64
}

func (e *gqlExperiment) ID() int32          { return gqlInt(e.e.ID) }
func (e *gqlExperiment) VersionID() int32   { return gqlInt(e.versionID) }
func (e *gqlExperiment) Name() string       { return e.e.Name }
func (e *gqlExperiment) CreatedAt() gqlTime { return gqlTime{e.e.CreatedAt} }
