package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// Lineage and diff (issue 17): a version's parents, its lineage graph,
// and the comparison of two versions.

// canRead says which namespaces the request's principal may read: a
// version elsewhere is treated as missing (a parent, the other side of a
// diff) or left out (a lineage graph).
func canRead(r *http.Request) registry.CanRead {
	p := principalFrom(r.Context())
	return func(ns string) bool { return p.Allows(ns, auth.Read) }
}

func (s *server) handleVersionParents(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	ps, err := s.registry.VersionParents(r.Context(), ref, canRead(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.List[api.Parent]{Data: ps})
}

// handleSetParents replaces a version's parents: {"parents": [{"version":
// "/ns/model/v1", "relation": "fine-tuned"}]}.
func (s *server) handleSetParents(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	var in api.ParentsUpdate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Parents == nil {
		return &registry.ValidationError{Fields: []api.FieldError{{Field: "parents", Message: "is required: a list ([] removes every parent)"}}}
	}
	ps, err := s.registry.SetParents(r.Context(), ref, in.Parents, canRead(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.List[api.Parent]{Data: ps})
}

// handleVersionLineage answers a version's lineage graph: ?depth=N links
// each way (default 3, at most 10).
func (s *server) handleVersionLineage(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	depth := 0
	if d := r.URL.Query().Get("depth"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			return newProblem(kindMalformed, fmt.Sprintf("query parameter depth must be an integer, not %q", clip(d))).with(api.BadRequestProblem{Field: "depth"})
		}
		if n == 0 {
			n = -1 // 0 is out of range, not the default
		}
		depth = n
	}
	l, err := s.registry.VersionLineage(r.Context(), ref, depth, canRead(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

// handleVersionDiff compares the path's version (a) with {other}, a
// version of the same model, or with ?other=/ns/model/version, a version
// of any model the caller may read.
func (s *server) handleVersionDiff(w http.ResponseWriter, r *http.Request) error {
	a, err := versionRef(r)
	if err != nil {
		return err
	}
	var b registry.Ref
	if _, ok := mux.Vars(r)["other"]; ok {
		name, err := pathName(r, "other")
		if err != nil {
			return err
		}
		b = registry.Ref{Namespace: a.Namespace, Model: a.Model, Version: name}
	} else {
		other := r.URL.Query().Get("other")
		if other == "" {
			return newProblem(kindMalformed, "query parameter other is required: the version to compare with, /<namespace>/<model>/<version>").with(api.BadRequestProblem{Field: "other"})
		}
		if b, err = registry.ParseVersionPath(other); err != nil {
			return newProblem(kindMalformed, "query parameter other "+err.Error()).with(api.BadRequestProblem{Field: "other"})
		}
		if !canRead(r)(b.Namespace) {
			return &registry.NotFoundError{Kind: "version", Path: registry.VersionPath(b.Namespace, b.Model, b.Version)}
		}
	}
	if api.IsSelector(b.Version) {
		// b may be a selector too (@prod, @champion), as the path's a is.
		if b, err = s.registry.ResolveRef(r.Context(), b); err != nil {
			return err
		}
	}
	c, err := s.registry.DiffVersions(r.Context(), a, b)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, diffOf(c))
}

// diffOf is a comparison as the API shows it.
func diffOf(c registry.Comparison) api.Diff {
	arts := func(in []registry.Artifact) []api.Artifact {
		out := make([]api.Artifact, len(in))
		for i, a := range in {
			out[i] = a.Artifact
		}
		return out
	}
	d := api.Diff{A: c.A, B: c.B, Metadata: c.Metadata, Experiments: []api.ExperimentDiff{},
		Artifacts: api.ArtifactsDiff{Added: arts(c.Added), Removed: arts(c.Removed), Unchanged: arts(c.Unchanged), Changed: []api.ArtifactChange{}}}
	for _, ch := range c.Changed {
		d.Artifacts.Changed = append(d.Artifacts.Changed, api.ArtifactChange{Name: ch.Name,
			ASHA256: ch.A.SHA256, BSHA256: ch.B.SHA256, ASize: ch.A.Size, BSize: ch.B.Size})
	}
	if c.DescriptionChanged {
		d.Description = &api.DescriptionDiff{A: c.A.Description, B: c.B.Description}
	}
	for _, p := range c.Experiments {
		e := api.ExperimentDiff{Name: p.Name, Metrics: p.Metrics}
		if p.A != nil {
			e.AState = &p.A.State
		}
		if p.B != nil {
			e.BState = &p.B.State
		}
		d.Experiments = append(d.Experiments, e)
	}
	if d.Metadata == nil {
		d.Metadata = []api.ValueDiff{}
	}
	return d
}
