package httpapi

import (
	"net/http"
	"strings"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/registry"
)

func (s *server) handleListExperiments(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	var list registry.Page[registry.Experiment]
	if q := r.URL.Query(); strings.TrimSpace(q.Get("filter")) != "" {
		list, err = s.registry.ListExperimentsWhere(r.Context(), ref, q.Get("state"), q.Get("filter"), page)
	} else {
		list, err = s.registry.ListExperiments(r.Context(), ref, q.Get("state"), page)
	}
	if err != nil {
		return err
	}
	return writeList(w, list)
}

func (s *server) handleCreateExperiment(w http.ResponseWriter, r *http.Request) error {
	ref, err := versionRef(r)
	if err != nil {
		return err
	}
	var in api.ExperimentCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	e, err := s.registry.CreateExperiment(r.Context(), ref, registry.NewExperiment{Name: in.Name, Params: in.Params})
	if err != nil {
		return err
	}
	return writeCreated(w, registry.ExperimentPath(ref, e.Name), e)
}

// experimentRef reads the version and {experiment} from the path.
func experimentRef(r *http.Request) (registry.Ref, string, error) {
	ref, err := versionRef(r)
	if err != nil {
		return ref, "", err
	}
	name, err := pathName(r, "experiment")
	return ref, name, err
}

func (s *server) handleGetExperiment(w http.ResponseWriter, r *http.Request) error {
	ref, name, err := experimentRef(r)
	if err != nil {
		return err
	}
	e, err := s.registry.GetExperiment(r.Context(), ref, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *server) handleDeleteExperiment(w http.ResponseWriter, r *http.Request) error {
	ref, name, err := experimentRef(r)
	if err != nil {
		return err
	}
	hard, err := boolQuery(r, "hard")
	if err != nil {
		return err
	}
	if err := s.registry.DeleteExperiment(r.Context(), ref, name, hard); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleSetExperimentState: {"state": "running"}, or {"state": "passed" |
// "failed", "duration_ms": 1234, "metrics": {...}} to record the result.
func (s *server) handleSetExperimentState(w http.ResponseWriter, r *http.Request) error {
	ref, name, err := experimentRef(r)
	if err != nil {
		return err
	}
	var in api.ExperimentStateUpdate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	e, err := s.registry.SetExperimentState(r.Context(), ref, name, registry.ExperimentUpdate{State: in.State, DurationMs: in.DurationMs, Metrics: in.Metrics})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *server) handleExperimentTags(w http.ResponseWriter, r *http.Request) error {
	ref, name, err := experimentRef(r)
	if err != nil {
		return err
	}
	tags, err := s.registry.ExperimentTags(r.Context(), ref, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.List[api.Tag]{Data: tags})
}

func (s *server) handleTagExperiment(w http.ResponseWriter, r *http.Request) error {
	ref, name, err := experimentRef(r)
	if err != nil {
		return err
	}
	tag, err := pathName(r, "tag")
	if err != nil {
		return err
	}
	if err := s.registry.TagExperiment(r.Context(), ref, name, tag, r.Method == http.MethodDelete); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
