package httpapi

import (
	"net/http"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/registry"
)

func (s *server) handleListVersions(w http.ResponseWriter, r *http.Request) error {
	n, err := pathNames(r, "namespace", "model")
	if err != nil {
		return err
	}
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, err := s.registry.ListVersions(r.Context(), n[0], n[1], registry.VersionFilter{State: q.Get("state"), Tag: q.Get("tag"), Filter: q.Get("filter")}, page)
	if err != nil {
		return err
	}
	return writeList(w, list)
}

func (s *server) handleCreateVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := pathNames(r, "namespace", "model")
	if err != nil {
		return err
	}
	var in api.VersionCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := s.registry.CreateVersion(r.Context(), n[0], n[1], registry.NewVersion{Version: in.Version, State: in.State, Description: in.Description,
		Metadata: in.Metadata, Parents: in.Parents, CanRead: canRead(r)})
	if err != nil {
		return err
	}
	return writeCreated(w, registry.VersionPath(v.Namespace, v.Model, v.Version), v)
}

func (s *server) handleGetVersion(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	v, err := s.registry.GetVersion(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// handleUpdateVersion changes a version's description and metadata:
// {"description": "…", "metadata": {…}}.
func (s *server) handleUpdateVersion(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	var in api.VersionUpdate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := s.registry.UpdateVersion(r.Context(), ref, registry.VersionChange{Description: in.Description, Metadata: in.Metadata})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *server) handleDeleteVersion(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	hard, err := boolQuery(r, "hard")
	if err != nil {
		return err
	}
	cascade, err := boolQuery(r, "cascade")
	if err != nil {
		return err
	}
	if err := s.registry.DeleteVersionCascade(r.Context(), ref, hard, cascade); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) handleSetVersionState(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	var in api.VersionStateUpdate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := s.registry.SetVersionState(r.Context(), ref, in.State)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *server) handleVersionHistory(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	h, err := s.registry.VersionHistory(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.List[api.StateChange]{Data: h})
}

func (s *server) handleVersionTags(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	tags, err := s.registry.VersionTags(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.List[api.Tag]{Data: tags})
}

func (s *server) handleTagVersion(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	tag, err := pathName(r, "tag")
	if err != nil {
		return err
	}
	if err := s.registry.TagVersion(r.Context(), ref, tag, r.Method == http.MethodDelete); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
