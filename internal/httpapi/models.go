package httpapi

import (
	"net/http"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/registry"
)

func (s *server) handleListModels(w http.ResponseWriter, r *http.Request) error {
	ns, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, err := s.registry.ListModels(r.Context(), ns, registry.ModelFilter{NameContains: q.Get("name"), Tag: q.Get("tag"), Filter: q.Get("filter")}, page)
	if err != nil {
		return err
	}
	return writeList(w, list)
}

func (s *server) handleCreateModel(w http.ResponseWriter, r *http.Request) error {
	ns, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	var in api.ModelCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := s.registry.CreateModelWith(r.Context(), ns, registry.NewModel{Name: in.Name, Description: in.Description, Metadata: in.Metadata})
	if err != nil {
		return err
	}
	return writeCreated(w, registry.ModelPath(ns, m.Name), m)
}

func (s *server) handleGetModel(w http.ResponseWriter, r *http.Request) error {
	n, err := pathNames(r, "namespace", "model")
	if err != nil {
		return err
	}
	m, err := s.registry.GetModel(r.Context(), n[0], n[1])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

// handleUpdateModel renames a model and/or changes its description and
// metadata: {"name": "new", "description": "…", "metadata": {…}}.
func (s *server) handleUpdateModel(w http.ResponseWriter, r *http.Request) error {
	n, err := pathNames(r, "namespace", "model")
	if err != nil {
		return err
	}
	var in api.ModelUpdate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Name == nil && in.Description == nil && in.Metadata == nil {
		return s.handleGetModel(w, r)
	}
	m, err := s.registry.UpdateModel(r.Context(), n[0], n[1], registry.ModelChange{Name: in.Name, Description: in.Description, Metadata: in.Metadata})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

func (s *server) handleDeleteModel(w http.ResponseWriter, r *http.Request) error {
	n, err := pathNames(r, "namespace", "model")
	if err != nil {
		return err
	}
	cascade, err := boolQuery(r, "cascade")
	if err != nil {
		return err
	}
	if err := s.registry.DeleteModel(r.Context(), n[0], n[1], cascade); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleTagModel attaches (PUT) or detaches (DELETE) a tag; both are idempotent.
func (s *server) handleTagModel(w http.ResponseWriter, r *http.Request) error {
	n, err := pathNames(r, "namespace", "model", "tag")
	if err != nil {
		return err
	}
	if err := s.registry.TagModel(r.Context(), n[0], n[1], n[2], r.Method == http.MethodDelete); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
