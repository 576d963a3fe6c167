package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"
)

// apiBase prefixes every registry route.
const apiBase = "/api/v1"

// routes registers every route of the API. It is the only place that does:
// reading it tells what the server answers. openapi.json documents the same
// routes, and a test keeps the two in step.
//
// The routes nest in sub-routers by resource level, and each level's
// deeper sub-router is registered before the level's own routes:
// gorilla/mux tries routes in order, so a request is matched against a
// handful of patterns instead of all of them.
//
// The upload routes go through countRefusals, which counts their refusals
// by reason in the metrics.
func (s *server) routes() {
	const (
		get, head, post, put, patch, del = http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	)
	handle := func(r *mux.Router, path string, h handlerFunc, methods ...string) {
		r.Handle(path, s.handle(h)).Methods(methods...)
	}
	root := s.router
	api := root.PathPrefix(apiBase).Subrouter()
	ns := api.PathPrefix("/namespaces/{namespace}").Subrouter()
	model := ns.PathPrefix("/models/{model}").Subrouter()
	version := model.PathPrefix("/versions/{version}").Subrouter()
	experiment := version.PathPrefix("/experiments/{experiment}").Subrouter()

	// /api/v1/namespaces/{namespace}/models/{model}/versions/{version}/experiments/{experiment}
	handle(experiment, "", s.handleGetExperiment, get)
	handle(experiment, "", s.handleDeleteExperiment, del)
	handle(experiment, "/state", s.handleSetExperimentState, put)
	handle(experiment, "/tags", s.handleExperimentTags, get)
	handle(experiment, "/tags/{tag}", s.handleTagExperiment, put, del)

	// /api/v1/namespaces/{namespace}/models/{model}/versions/{version}
	handle(version, "", s.handleGetVersion, get)
	handle(version, "", s.handleDeleteVersion, del)
	handle(version, "/state", s.handleSetVersionState, put)
	handle(version, "/history", s.handleVersionHistory, get)
	handle(version, "/tags", s.handleVersionTags, get)
	handle(version, "/tags/{tag}", s.handleTagVersion, put, del)
	handle(version, "/experiments", s.handleListExperiments, get)
	handle(version, "/experiments", s.handleCreateExperiment, post)

	// Artifacts of a version or an experiment: {name} is the rest of the
	// path (names may hold "/").
	for _, owner := range []*mux.Router{version, experiment} {
		handle(owner, "/artifacts", s.handleListArtifacts, get)
		handle(owner, "/artifacts", s.countRefusals(s.handleUploadArtifact), post)
		handle(owner, "/artifacts/{name:.+}", s.handleGetArtifact, get, head)
		handle(owner, "/artifacts/{name:.+}", s.countRefusals(s.handlePutArtifact), put)
	}

	// /api/v1/namespaces/{namespace}/models/{model}
	handle(model, "", s.handleGetModel, get)
	handle(model, "", s.handleUpdateModel, patch)
	handle(model, "", s.handleDeleteModel, del)
	handle(model, "/tags/{tag}", s.handleTagModel, put, del)
	handle(model, "/versions", s.handleListVersions, get)
	handle(model, "/versions", s.handleCreateVersion, post)

	// /api/v1/namespaces/{namespace}
	handle(ns, "", s.handleGetNamespace, get)
	handle(ns, "", s.handleUpdateNamespace, patch)
	handle(ns, "", s.handleDeleteNamespace, del)
	handle(ns, "/buckets", s.handleListBuckets, get)
	handle(ns, "/buckets", s.handleCreateBucket, post)
	handle(ns, "/buckets/{id}", s.handleDeleteBucket, del)
	handle(ns, "/tags", s.handleListTags, get)
	handle(ns, "/tags", s.handleCreateTag, post)
	handle(ns, "/tags/{tag}", s.handleDeleteTag, del)
	handle(ns, "/models", s.handleListModels, get)
	handle(ns, "/models", s.handleCreateModel, post)

	// /api/v1
	handle(api, "/namespaces", s.handleListNamespaces, get)
	handle(api, "/namespaces", s.handleCreateNamespace, post)
	handle(api, "/openapi.json", s.handleOpenAPI, get)

	// Probes, and the Prometheus metrics.
	handle(root, "/healthz", s.handleHealthz, get, head)
	handle(root, "/readyz", s.handleReadyz, get, head)
	handle(root, "/metrics", s.handleMetrics, get)

	// The original flymodel's endpoints, so that its clients keep working.
	handle(root, "/upload/model-version-artifact", s.countRefusals(s.handleCompatUpload(false)), post)
	handle(root, "/upload/experiment-artifact", s.countRefusals(s.handleCompatUpload(true)), post)
	handle(root, "/download/model-version-artifact", s.handleCompatDownload(false), get, head)
	handle(root, "/download/experiment-artifact", s.handleCompatDownload(true), get, head)
}
