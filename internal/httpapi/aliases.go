package httpapi

import (
	"net/http"

	"github.com/flymodel/flymodel/api"
)

// aliasPathNames reads {namespace}, {model} and {alias} from the path.
func aliasPathNames(r *http.Request) (ns, model, alias string, err error) {
	n, err := pathNames(r, "namespace", "model", "alias")
	if err != nil {
		return "", "", "", err
	}
	return n[0], n[1], n[2], nil
}

// handleListAliases answers a model's aliases, by name.
func (s *server) handleListAliases(w http.ResponseWriter, r *http.Request) error {
	n, err := pathNames(r, "namespace", "model")
	if err != nil {
		return err
	}
	list, err := s.registry.ListAliases(r.Context(), n[0], n[1])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.List[api.Alias]{Data: list})
}

func (s *server) handleGetAlias(w http.ResponseWriter, r *http.Request) error {
	ns, model, alias, err := aliasPathNames(r)
	if err != nil {
		return err
	}
	a, err := s.registry.GetAlias(r.Context(), ns, model, alias)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// handleSetAlias points an alias to a version: {"version": "v1.2.0"} (or
// a selector, "@prod"), creating or moving it.
func (s *server) handleSetAlias(w http.ResponseWriter, r *http.Request) error {
	ns, model, alias, err := aliasPathNames(r)
	if err != nil {
		return err
	}
	var in api.SetAliasRequest
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := s.registry.SetAlias(r.Context(), ns, model, alias, in.Version)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *server) handleDeleteAlias(w http.ResponseWriter, r *http.Request) error {
	ns, model, alias, err := aliasPathNames(r)
	if err != nil {
		return err
	}
	if err := s.registry.DeleteAlias(r.Context(), ns, model, alias); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleAliasHistory answers one page of an alias's changes, newest first.
func (s *server) handleAliasHistory(w http.ResponseWriter, r *http.Request) error {
	ns, model, alias, err := aliasPathNames(r)
	if err != nil {
		return err
	}
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	list, err := s.registry.AliasHistory(r.Context(), ns, model, alias, page)
	if err != nil {
		return err
	}
	return writeList(w, list)
}
