package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
)

// Model cards (metadata) and lineage (parents), issue 17.
//
// Which fields of a version are mutable after the seal: its description,
// metadata, tags (and aliases) describe the content and may change; its
// artifacts (what the digest covers) and its parents (its lineage: what it
// was made from) may not.

// Relations are the relations of a version to its parents.
var Relations = api.Relations

var (
	metadataKeyRE = regexp.MustCompile(api.MetadataKeyPattern)
	datasetDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// emptyMetadata is the metadata of a model or version that has none.
const emptyMetadata = "{}"

// metadataOut is the stored metadata as the API shows it: a compact JSON
// object, {} when empty.
func metadataOut(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage(emptyMetadata)
	}
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return json.RawMessage(s)
	}
	return json.RawMessage(b.Bytes())
}

// given reports whether a metadata member was given: absent and null keep.
func given(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// validMetadata checks metadata (a member that was given) and returns it
// as stored: a JSON object with its keys sorted, compact. The field errors
// name the member at fault (metadata.datasets[0].digest).
func validMetadata(v *validation, raw json.RawMessage) string {
	const field = "metadata"
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		v.addf(field, "must be a JSON object")
		return ""
	}
	before := len(v.fields)
	for _, k := range slices.Sorted(mapKeys(m)) {
		if !metadataKeyRE.MatchString(k) {
			v.addf(field, "key %q must be 1 to 128 letters, digits, '_', '.' and '-'", clipKey(k))
			continue
		}
		f := field + "." + k
		x := m[k]
		switch k {
		case "license", "framework", "task", "base_model":
			if _, ok := x.(string); !ok {
				v.addf(f, "must be a string")
			}
		case "parameters":
			n, ok := x.(json.Number)
			if !ok {
				v.addf(f, "must be a whole number from 0")
				break
			}
			if i, err := strconv.ParseInt(n.String(), 10, 64); err != nil || i < 0 {
				v.addf(f, "must be a whole number from 0")
			}
		case "datasets":
			list, ok := x.([]any)
			if !ok {
				v.addf(f, "must be an array of {name, digest, url}")
				break
			}
			for i, d := range list {
				validMembers(v, fmt.Sprintf("%s[%d]", f, i), d, []string{"name"}, map[string]*regexp.Regexp{"name": nil, "digest": datasetDigest, "url": nil})
			}
		case "code":
			validMembers(v, f, x, nil, map[string]*regexp.Regexp{"repository": nil, "commit": nil})
		}
	}
	if len(v.fields) > before {
		return ""
	}
	// Sorted keys, compact, and <, > and & kept as they are (encoding/json
	// would escape them for HTML).
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		v.addf(field, "must be a JSON object")
		return ""
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > api.MaxMetadataBytes {
		v.addf(field, "must be at most %d bytes of JSON", api.MaxMetadataBytes)
		return ""
	}
	return string(out)
}

// validMembers checks that x is an object whose members are among those
// of allowed, all strings (matching their pattern when it has one), with
// the required ones present.
func validMembers(v *validation, field string, x any, required []string, allowed map[string]*regexp.Regexp) {
	names := slices.Sorted(mapKeys(allowed))
	o, ok := x.(map[string]any)
	if !ok {
		v.addf(field, "must be an object of %s", strings.Join(names, ", "))
		return
	}
	for _, k := range required {
		if s, ok := o[k].(string); !ok || s == "" {
			v.addf(field+"."+k, "is required: a non-empty string")
		}
	}
	for _, k := range slices.Sorted(mapKeys(o)) {
		re, ok := allowed[k]
		if !ok {
			v.addf(field, "unknown member %q (members: %s)", clipKey(k), strings.Join(names, ", "))
			continue
		}
		s, ok := o[k].(string)
		switch {
		case !ok:
			v.addf(field+"."+k, "must be a string")
		case re != nil && !re.MatchString(s):
			v.addf(field+"."+k, "must be sha256: and 64 lowercase hex digits")
		}
	}
}

func clipKey(k string) string {
	if len(k) > 64 {
		return k[:64] + "…"
	}
	return k
}

// metadataChange is the audit detail of a metadata change: before and
// after, as JSON.
func metadataChange(before, after string) [2]json.RawMessage {
	return [2]json.RawMessage{metadataOut(before), metadataOut(after)}
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// ShortPath is a version's lineage path: /<namespace>/<model>/<version>,
// each name path-escaped.
func ShortPath(ns, model, version string) string {
	return "/" + url.PathEscape(ns) + "/" + url.PathEscape(model) + "/" + url.PathEscape(version)
}

// ParseVersionPath reads a version named by path: /<ns>/<model>/<version>
// or the API's /namespaces/<ns>/models/<model>/versions/<version> (either
// optionally under /api/v1), each name path-escaped.
func ParseVersionPath(p string) (Ref, error) {
	p = strings.TrimPrefix(p, "/api/v1")
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(parts) == 6 && parts[0] == "namespaces" && parts[2] == "models" && parts[4] == "versions" {
		parts = []string{parts[1], parts[3], parts[5]}
	}
	if !strings.HasPrefix(p, "/") || len(parts) != 3 {
		return Ref{}, fmt.Errorf("must be a version path /<namespace>/<model>/<version>")
	}
	var names [3]string
	for i, s := range parts {
		n, err := url.PathUnescape(s)
		if err != nil || ValidateNameRef(n) != nil {
			return Ref{}, fmt.Errorf("must be a version path /<namespace>/<model>/<version>: %q is not a name", s)
		}
		names[i] = n
	}
	return Ref{Namespace: names[0], Model: names[1], Version: names[2]}, nil
}

// CanRead says whether the caller may read a namespace. A version in a
// namespace it may not read is treated as missing (a parent), or left out
// (a lineage graph). Nil reads everything.
type CanRead func(namespace string) bool

func (c CanRead) allows(ns string) bool { return c == nil || c(ns) }

// parentRef resolves a parent reference of child (the names default to
// the child's namespace and model).
func parentRef(child Ref, p api.ParentRef) (Ref, error) {
	if p.Namespace == "" && p.Model == "" && strings.HasPrefix(p.Version, "/") {
		return ParseVersionPath(p.Version)
	}
	ref := Ref{Namespace: p.Namespace, Model: p.Model, Version: p.Version}
	if ref.Namespace == "" {
		ref.Namespace = child.Namespace
	}
	if ref.Model == "" {
		ref.Model = child.Model
	}
	for _, n := range []string{ref.Namespace, ref.Model, ref.Version} {
		if err := ValidateNameRef(n); err != nil {
			return Ref{}, fmt.Errorf("names no version: %q %v", n, err)
		}
	}
	return ref, nil
}

// validParents checks the shape of a parents list: at most api.MaxParents,
// each naming a version and a relation.
func validParents(v *validation, child Ref, in []api.ParentRef) []Ref {
	if len(in) > api.MaxParents {
		v.addf("parents", "must be at most %d", api.MaxParents)
		return nil
	}
	refs := make([]Ref, len(in))
	seen := map[Ref]bool{}
	for i, p := range in {
		f := fmt.Sprintf("parents[%d]", i)
		oneOf(v, f+".relation", p.Relation, Relations)
		ref, err := parentRef(child, p)
		if err != nil {
			v.add(f+".version", err)
			continue
		}
		if seen[ref] {
			v.addf(f+".version", "names %s twice", ShortPath(ref.Namespace, ref.Model, ref.Version))
		}
		seen[ref] = true
		refs[i] = ref
	}
	return refs
}

// Parent is a parent of a version, as listed.
type Parent = api.Parent

// setParents replaces the links of child (id) to its parents within q's
// transaction: every parent must be live and readable (else not found),
// and none may be child itself or a descendant of it (a cycle). It
// returns the new parents, listed.
func (r *Registry) setParents(ctx context.Context, q db.Queries, childID int64, child Ref, refs []Ref, in []api.ParentRef, canRead CanRead) error {
	if _, err := q.DeleteVersionParents(ctx, childID); err != nil {
		return err
	}
	for i, ref := range refs {
		f := fmt.Sprintf("parents[%d].version", i)
		path := ShortPath(ref.Namespace, ref.Model, ref.Version)
		// A parent the caller may not read is not found, as a missing one.
		missing := &NotFoundError{Kind: "parent version", Path: ref.path()}
		if !canRead.allows(ref.Namespace) {
			return missing
		}
		res, err := r.version(ctx, q, ref)
		if errors.Is(err, api.ErrNotFound) {
			return missing
		}
		if err != nil {
			return err
		}
		n, err := q.CountAncestorPaths(ctx, db.CountAncestorPathsParams{ID: res.version.ID, Ancestor: childID})
		if err != nil {
			return err
		}
		if n > 0 {
			return &ValidationError{Fields: []FieldError{{Field: f,
				Message: fmt.Sprintf("%s descends from %s (or is it): the link would make a cycle", path, ShortPath(child.Namespace, child.Model, child.Version))}}}
		}
		if err := q.AddVersionParent(ctx, db.AddVersionParentParams{ChildID: childID, ParentID: res.version.ID, Relation: in[i].Relation}); err != nil {
			return err
		}
	}
	return nil
}

func (r *Registry) listParents(ctx context.Context, q db.Queries, id int64) ([]Parent, error) {
	rows, err := q.ListVersionParents(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]Parent, 0, len(rows))
	for _, p := range rows {
		out = append(out, Parent{Namespace: p.Namespace, Model: p.Model, Version: p.Version,
			Path: ShortPath(p.Namespace, p.Model, p.Version), Relation: p.Relation})
	}
	return out, nil
}

// VersionParents lists the parents of a version that are in namespaces
// the caller may read (canRead; nil: all): the others are left out, as
// in a lineage graph.
func (r *Registry) VersionParents(ctx context.Context, ref Ref, canRead CanRead) ([]Parent, error) {
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return nil, err
	}
	all, err := r.listParents(ctx, r.db, res.version.ID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		if canRead.allows(p.Namespace) {
			out = append(out, p)
		}
	}
	return out, nil
}

// SetParents replaces the parents of a version that is not sealed (a
// sealed version's lineage is fixed, as its artifacts are: SealedError).
// Each parent must be a live version the caller may read (canRead; else
// not found) and must not descend from the version (ValidationError).
// The change is audited (version.parents, before and after).
func (r *Registry) SetParents(ctx context.Context, ref Ref, in []api.ParentRef, canRead CanRead) ([]Parent, error) {
	var v validation
	refs := validParents(&v, ref, in)
	if err := v.err(); err != nil {
		return nil, err
	}
	var out []Parent
	err := r.write(ctx, func(q db.Queries) error {
		res, err := r.version(ctx, q, ref)
		if err != nil {
			return err
		}
		locked, err := q.LockVersion(ctx, res.version.ID)
		if err != nil {
			return notFound(err, "version", ref.path())
		}
		if locked.SealedAt != nil {
			return &SealedError{Path: ref.path(), What: "its parents (its lineage) cannot change"}
		}
		before, err := r.listParents(ctx, q, locked.ID)
		if err != nil {
			return err
		}
		if err := r.setParents(ctx, q, locked.ID, ref, refs, in, canRead); err != nil {
			return err
		}
		if out, err = r.listParents(ctx, q, locked.ID); err != nil {
			return err
		}
		if slices.Equal(before, out) {
			return nil
		}
		return r.record(ctx, q, "version.parents", ref.Namespace, ref.path(), map[string][2][]Parent{"parents": {before, out}})
	})
	return out, err
}

// liveChildren refuses to delete a version that live versions name as a
// parent (unless cascade), and says how many links there are to remove.
func (r *Registry) liveChildren(ctx context.Context, q db.Queries, id int64, ref Ref) error {
	const shown = 10
	rows, err := q.ListLiveChildren(ctx, db.ListLiveChildrenParams{ParentID: id, PageLimit: shown + 1})
	if err != nil || len(rows) == 0 {
		return err
	}
	names := make([]string, 0, len(rows))
	for i, c := range rows {
		if i == shown {
			names = append(names, "…")
			break
		}
		names = append(names, ShortPath(c.Namespace, c.Model, c.Version))
	}
	return &ConflictError{Kind: "version", Path: ref.path(),
		Reason: "is a parent of " + strings.Join(names, ", ") + "; delete them or unlink them first, or use cascade=true (which removes the links)"}
}

// Lineage is the graph around a version.
type Lineage = api.Lineage

// VersionLineage returns the lineage graph of a version: its ancestors
// and its descendants up to depth links (0: api.DefaultLineageDepth, at
// most api.MaxLineageDepth). The links are read with one recursive query
// (a CTE each way); the graph is then walked from the version, only
// through live versions the caller may read: the others are left out,
// the unreadable ones counted in Hidden.
func (r *Registry) VersionLineage(ctx context.Context, ref Ref, depth int, canRead CanRead) (Lineage, error) {
	var v validation
	if depth == 0 {
		depth = api.DefaultLineageDepth
	}
	if depth < 1 || depth > api.MaxLineageDepth {
		v.addf("depth", "must be between 1 and %d", api.MaxLineageDepth)
	}
	if err := v.err(); err != nil {
		return Lineage{}, err
	}
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return Lineage{}, err
	}
	rows, err := r.db.ListLineageEdges(ctx, db.ListLineageEdgesParams{ID: res.version.ID, MaxDepth: int64(depth)})
	if err != nil {
		return Lineage{}, err
	}
	root := ShortPath(ref.Namespace, ref.Model, ref.Version)
	out := Lineage{Root: root, Depth: int64(depth), Nodes: []api.LineageNode{}, Edges: []api.LineageEdge{}}
	type node struct {
		api.LineageNode
		id       int64
		deleted  bool
		readable bool
	}
	nodes := map[int64]*node{}
	add := func(id int64, ns, model, version, state, digest string, deleted bool) {
		if _, ok := nodes[id]; !ok {
			nodes[id] = &node{LineageNode: api.LineageNode{Namespace: ns, Model: model, Version: version,
				Path: ShortPath(ns, model, version), State: state, Digest: digest}, id: id, deleted: deleted, readable: canRead.allows(ns)}
		}
	}
	add(res.version.ID, ref.Namespace, ref.Model, ref.Version, res.version.State, res.version.Digest, false)
	up, down := map[int64][]int{}, map[int64][]int{}
	for i, e := range rows {
		add(e.ChildID, e.ChildNamespace, e.ChildModel, e.ChildVersion, e.ChildState, e.ChildDigest, e.ChildDeletedAt != nil)
		add(e.ParentID, e.ParentNamespace, e.ParentModel, e.ParentVersion, e.ParentState, e.ParentDigest, e.ParentDeletedAt != nil)
		up[e.ChildID] = append(up[e.ChildID], i)
		down[e.ParentID] = append(down[e.ParentID], i)
	}
	shown := map[int64]bool{res.version.ID: true}
	hidden := map[int64]bool{}
	edges := map[int]bool{}
	// walk is a breadth-first walk one way (sign -1: to the parents, +1: to
	// the children).
	walk := func(links map[int64][]int, sign int64) {
		level := []int64{res.version.ID}
		for d := int64(1); d <= int64(depth) && len(level) > 0; d++ {
			var next []int64
			for _, id := range level {
				for _, i := range links[id] {
					e := rows[i]
					other := e.ParentID
					if sign > 0 {
						other = e.ChildID
					}
					n := nodes[other]
					switch {
					case n.deleted:
						continue
					case !n.readable:
						hidden[other] = true
						continue
					}
					edges[i] = true
					if !shown[other] {
						shown[other] = true
						n.Depth = sign * d
						next = append(next, other)
					}
				}
			}
			level = next
		}
	}
	walk(up, -1)
	walk(down, +1)
	for id := range shown {
		out.Nodes = append(out.Nodes, nodes[id].LineageNode)
	}
	slices.SortFunc(out.Nodes, func(a, b api.LineageNode) int {
		if a.Depth != b.Depth {
			return int(a.Depth - b.Depth)
		}
		return strings.Compare(a.Path, b.Path)
	})
	for _, i := range slices.Sorted(mapKeysInt(edges)) {
		e := rows[i]
		out.Edges = append(out.Edges, api.LineageEdge{Child: nodes[e.ChildID].Path, Parent: nodes[e.ParentID].Path, Relation: e.Relation})
	}
	out.Hidden = int64(len(hidden))
	return out, nil
}

func mapKeysInt[V any](m map[int]V) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
