package httpapi

import "net/http"

// apiBase prefixes every registry route.
const apiBase = "/api/v1"

// routes registers every route of the API. It is the only place that does:
// reading it tells what the server answers. openapi.json documents the same
// routes, and a test keeps the two in step.
func (s *server) routes() {
	r := s.router
	const (
		get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	)
	handle := func(path string, h handlerFunc, methods ...string) {
		r.Handle(path, s.handle(h)).Methods(methods...)
	}

	handle("/healthz", s.handleHealthz, get, http.MethodHead)
	handle("/readyz", s.handleReadyz, get, http.MethodHead)
	handle(apiBase+"/openapi.json", s.handleOpenAPI, get)

	const (
		ns         = apiBase + "/namespaces/{namespace}"
		model      = ns + "/models/{model}"
		version    = model + "/versions/{version}"
		experiment = version + "/experiments/{experiment}"
	)
	handle(apiBase+"/namespaces", s.handleListNamespaces, get)
	handle(apiBase+"/namespaces", s.handleCreateNamespace, post)
	handle(ns, s.handleGetNamespace, get)
	handle(ns, s.handleUpdateNamespace, patch)
	handle(ns, s.handleDeleteNamespace, del)

	handle(ns+"/buckets", s.handleListBuckets, get)
	handle(ns+"/buckets", s.handleCreateBucket, post)
	handle(ns+"/buckets/{id}", s.handleDeleteBucket, del)

	handle(ns+"/tags", s.handleListTags, get)
	handle(ns+"/tags", s.handleCreateTag, post)
	handle(ns+"/tags/{tag}", s.handleDeleteTag, del)

	handle(ns+"/models", s.handleListModels, get)
	handle(ns+"/models", s.handleCreateModel, post)
	handle(model, s.handleGetModel, get)
	handle(model, s.handleUpdateModel, patch)
	handle(model, s.handleDeleteModel, del)
	handle(model+"/tags/{tag}", s.handleTagModel, put, del)

	handle(model+"/versions", s.handleListVersions, get)
	handle(model+"/versions", s.handleCreateVersion, post)
	handle(version, s.handleGetVersion, get)
	handle(version, s.handleDeleteVersion, del)
	handle(version+"/state", s.handleSetVersionState, put)
	handle(version+"/history", s.handleVersionHistory, get)
	handle(version+"/tags", s.handleVersionTags, get)
	handle(version+"/tags/{tag}", s.handleTagVersion, put, del)

	handle(version+"/experiments", s.handleListExperiments, get)
	handle(version+"/experiments", s.handleCreateExperiment, post)
	handle(experiment, s.handleGetExperiment, get)
	handle(experiment, s.handleDeleteExperiment, del)
	handle(experiment+"/state", s.handleSetExperimentState, put)
	handle(experiment+"/tags", s.handleExperimentTags, get)
	handle(experiment+"/tags/{tag}", s.handleTagExperiment, put, del)

	// Artifacts: {name} is the rest of the path (names may hold "/").
	for _, owner := range []string{version, experiment} {
		handle(owner+"/artifacts", s.handleListArtifacts, get)
		handle(owner+"/artifacts", s.handleUploadArtifact, post)
		handle(owner+"/artifacts/{name:.+}", s.handleGetArtifact, get, http.MethodHead)
		handle(owner+"/artifacts/{name:.+}", s.handlePutArtifact, put)
	}

	// The original flymodel's endpoints, so that its clients keep working.
	handle("/upload/model-version-artifact", s.handleCompatUpload(false), post)
	handle("/upload/experiment-artifact", s.handleCompatUpload(true), post)
	handle("/download/model-version-artifact", s.handleCompatDownload(false), get, http.MethodHead)
	handle("/download/experiment-artifact", s.handleCompatDownload(true), get, http.MethodHead)
}
