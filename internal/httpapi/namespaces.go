package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/registry"
)

func (s *server) handleListNamespaces(w http.ResponseWriter, r *http.Request) error {
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	var list registry.Page[registry.Namespace]
	if scope := principalFrom(r.Context()).Namespaces(); scope != nil {
		// A scoped principal sees the namespaces it reaches, no others.
		list, err = s.registry.ListNamespacesNamed(r.Context(), scope, page)
	} else {
		list, err = s.registry.ListNamespaces(r.Context(), page)
	}
	if err != nil {
		return err
	}
	return writeList(w, list)
}

func (s *server) handleCreateNamespace(w http.ResponseWriter, r *http.Request) error {
	var in api.NamespaceCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	ns, err := s.registry.CreateNamespace(r.Context(), registry.NewNamespace{Name: in.Name, Description: in.Description})
	if err != nil {
		return err
	}
	return writeCreated(w, registry.NamespacePath(ns.Name), ns)
}

func (s *server) handleGetNamespace(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	ns, err := s.registry.GetNamespace(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ns)
}

func (s *server) handleUpdateNamespace(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	var in api.NamespaceUpdate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	ns, err := s.registry.UpdateNamespace(r.Context(), name, registry.NamespaceUpdate{Name: in.Name, Description: in.Description})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ns)
}

func (s *server) handleDeleteNamespace(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	cascade, err := boolQuery(r, "cascade")
	if err != nil {
		return err
	}
	if err := s.registry.DeleteNamespace(r.Context(), name, cascade); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) handleListBuckets(w http.ResponseWriter, r *http.Request) error {
	ns, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	list, err := s.registry.ListBuckets(r.Context(), ns, page)
	if err != nil {
		return err
	}
	return writeList(w, list)
}

func (s *server) handleCreateBucket(w http.ResponseWriter, r *http.Request) error {
	ns, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	var in api.BucketCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	b, err := s.registry.CreateBucket(r.Context(), ns, registry.NewBucket{Name: in.Name, Region: in.Region, Role: in.Role})
	if err != nil {
		return err
	}
	return writeCreated(w, registry.NamespacePath(ns)+"/buckets/"+strconv.FormatInt(b.ID, 10), b)
}

func (s *server) handleDeleteBucket(w http.ResponseWriter, r *http.Request) error {
	ns, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil || id < 1 {
		return newProblem(kindMalformed, "bucket id must be a positive integer").with("field", "id")
	}
	if err := s.registry.DeleteBucket(r.Context(), ns, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) handleListTags(w http.ResponseWriter, r *http.Request) error {
	ns, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	list, err := s.registry.ListTags(r.Context(), ns, page)
	if err != nil {
		return err
	}
	return writeList(w, list)
}

func (s *server) handleCreateTag(w http.ResponseWriter, r *http.Request) error {
	ns, err := pathName(r, "namespace")
	if err != nil {
		return err
	}
	var in api.TagCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := s.registry.CreateTag(r.Context(), ns, registry.NewTag{Tag: in.Tag, Color: in.Color})
	if err != nil {
		return err
	}
	return writeCreated(w, registry.NamespacePath(ns)+"/tags/"+url.PathEscape(t.Tag), t)
}

func (s *server) handleDeleteTag(w http.ResponseWriter, r *http.Request) error {
	n, err := pathNames(r, "namespace", "tag")
	if err != nil {
		return err
	}
	if err := s.registry.DeleteTag(r.Context(), n[0], n[1]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
