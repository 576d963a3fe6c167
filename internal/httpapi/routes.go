package httpapi

import (
	"net/http"
	"strings"

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
// Each route names the access it needs (auth.go): read, write or admin in
// its {namespace}, or one of the few routes outside a namespace. Reads
// need read; creating, uploading, moving states, describing and attaching
// or detaching an existing tag need write; deletes, buckets, creating and
// deleting tags and namespace changes need admin.
//
// The upload routes (handleUpload) go through countRefusals, which counts
// their refusals by reason in the metrics, and take one of the upload
// slots.
//
// It returns the table it registered (Routes), from which the OpenAPI
// document's security and 401/403/429 answers are generated.
func (s *server) routes() []Route {
	const (
		get, head, post, put, patch, del = http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	)
	var table []Route
	register := func(r *mux.Router, path string, need access, upload bool, h handlerFunc, methods ...string) {
		if upload {
			h = s.upload(h)
		}
		rt := r.Handle(path, s.handle(s.guard(need, h))).Methods(methods...)
		tpl, _ := rt.GetPathTemplate()
		table = append(table, Route{Path: tpl, Methods: methods, Public: need == public, Upload: upload, Role: need.role(), Access: need.String()})
	}
	handle := func(r *mux.Router, path string, need access, h handlerFunc, methods ...string) {
		register(r, path, need, false, h, methods...)
	}
	handleUpload := func(r *mux.Router, path string, need access, h handlerFunc, methods ...string) {
		register(r, path, need, true, h, methods...)
	}
	root := s.router
	api := root.PathPrefix(apiBase).Subrouter()
	ns := api.PathPrefix("/namespaces/{namespace}").Subrouter()
	model := ns.PathPrefix("/models/{model}").Subrouter()
	version := model.PathPrefix("/versions/{version}").Subrouter()
	experiment := version.PathPrefix("/experiments/{experiment}").Subrouter()

	// /api/v1/namespaces/{namespace}/models/{model}/versions/{version}/experiments/{experiment}
	handle(experiment, "", read, s.handleGetExperiment, get)
	handle(experiment, "", admin, s.handleDeleteExperiment, del)
	handle(experiment, "/state", write, s.handleSetExperimentState, put)
	handle(experiment, "/tags", read, s.handleExperimentTags, get)
	handle(experiment, "/tags/{tag}", write, s.handleTagExperiment, put, del)

	// /api/v1/namespaces/{namespace}/models/{model}/versions/{version}
	handle(version, "", read, s.handleGetVersion, get)
	handle(version, "", write, s.handleUpdateVersion, patch)
	handle(version, "", admin, s.handleDeleteVersion, del)
	handle(version, "/state", write, s.handleSetVersionState, put)
	handle(version, "/history", read, s.handleVersionHistory, get)
	handle(version, "/archive", read, s.handleVersionArchive, get, head)
	handle(version, "/tags", read, s.handleVersionTags, get)
	handle(version, "/tags/{tag}", write, s.handleTagVersion, put, del)
	handle(version, "/experiments", read, s.handleListExperiments, get)
	handle(version, "/experiments", write, s.handleCreateExperiment, post)

	// Lineage and diff (issue 17): a version's parents (fixed by the seal),
	// its lineage graph both ways, and its comparison with another version
	// ({other} of the same model, or ?other=/ns/model/version).
	handle(version, "/parents", read, s.handleVersionParents, get)
	handle(version, "/parents", write, s.handleSetParents, put)
	handle(version, "/lineage", read, s.handleVersionLineage, get)
	handle(version, "/diff", read, s.handleVersionDiff, get)
	handle(version, "/diff/{other}", read, s.handleVersionDiff, get)

	// Artifacts of a version or an experiment: {name} is the rest of the
	// path (names may hold "/").
	for _, owner := range []*mux.Router{version, experiment} {
		handle(owner, "/artifacts", read, s.handleListArtifacts, get)
		handleUpload(owner, "/artifacts", write, s.handleUploadArtifact, post)
		handle(owner, "/artifacts/{name:.+}", read, s.handleGetArtifact, get, head)
		handleUpload(owner, "/artifacts/{name:.+}", write, s.handlePutArtifact, put)
	}

	// /api/v1/namespaces/{namespace}/models/{model}
	handle(model, "", read, s.handleGetModel, get)
	handle(model, "", write, s.handleUpdateModel, patch)
	handle(model, "", admin, s.handleDeleteModel, del)
	handle(model, "/tags/{tag}", write, s.handleTagModel, put, del)
	handle(model, "/versions", read, s.handleListVersions, get)
	handle(model, "/versions", write, s.handleCreateVersion, post)

	// /api/v1/namespaces/{namespace}/models/{model}/aliases: setting and
	// deleting an alias need write (a protected alias: its rule's role too).
	handle(model, "/aliases", read, s.handleListAliases, get)
	handle(model, "/aliases/{alias}", read, s.handleGetAlias, get)
	handle(model, "/aliases/{alias}", write, s.handleSetAlias, put)
	handle(model, "/aliases/{alias}", write, s.handleDeleteAlias, del)
	handle(model, "/aliases/{alias}/history", read, s.handleAliasHistory, get)

	// /api/v1/namespaces/{namespace}
	handle(ns, "", read, s.handleGetNamespace, get)
	handle(ns, "", admin, s.handleUpdateNamespace, patch)
	handle(ns, "", admin, s.handleDeleteNamespace, del)
	handle(ns, "/buckets", read, s.handleListBuckets, get)
	handle(ns, "/buckets", admin, s.handleCreateBucket, post)
	handle(ns, "/buckets/{id}", admin, s.handleDeleteBucket, del)
	handle(ns, "/tags", read, s.handleListTags, get)
	handle(ns, "/tags", admin, s.handleCreateTag, post)
	handle(ns, "/tags/{tag}", admin, s.handleDeleteTag, del)
	handle(ns, "/models", read, s.handleListModels, get)
	handle(ns, "/models", write, s.handleCreateModel, post)

	// /api/v1
	handle(api, "/namespaces", listNamespaces, s.handleListNamespaces, get)
	handle(api, "/namespaces", createNamespace, s.handleCreateNamespace, post)
	handle(api, "/openapi.json", public, s.handleOpenAPI, get)
	handle(api, "/tokens", globalAdmin, s.handleListTokens, get)
	handle(api, "/tokens", globalAdmin, s.handleCreateToken, post)
	handle(api, "/tokens/{token}", globalAdmin, s.handleRevokeToken, del)
	handle(api, "/audit", globalAdmin, s.handleAudit, get)
	// Search across the namespaces the caller reads (search.go).
	handle(api, "/models", listNamespaces, s.handleSearchModels, get)
	handle(api, "/versions", listNamespaces, s.handleSearchVersions, get)
	handle(api, "/experiments", listNamespaces, s.handleSearchExperiments, get)

	// Probes, and the Prometheus metrics.
	handle(root, "/healthz", public, s.handleHealthz, get, head)
	handle(root, "/readyz", public, s.handleReadyz, get, head)
	handle(root, "/metrics", public, s.handleMetrics, get)

	// The original flymodel's endpoints, so that its clients keep working.
	handleUpload(root, "/upload/model-version-artifact", byResource, s.handleCompatUpload(compatVersion), post)
	handleUpload(root, "/upload/experiment-artifact", byResource, s.handleCompatUpload(compatExperiment), post)
	handle(root, "/download/model-version-artifact", byResource, s.handleCompatDownload(compatVersion), get, head)
	handle(root, "/download/experiment-artifact", byResource, s.handleCompatDownload(compatExperiment), get, head)
	handle(root, "/graphql", byResource, s.handleGraphQL, post)
	return table
}

// Route is one entry of the route table: a path template as gorilla/mux
// writes it (variables may carry a pattern, {name:.+}), its methods,
// whether it is public (needs no credentials), and whether it takes an
// upload slot (and may be refused with 429). Role and Access say who may
// call it (auth.go's access levels): Role in a word (public, read, write,
// admin, any grant, global admin, by resource), Access in a sentence.
type Route struct {
	Path    string
	Methods []string
	Public  bool
	Upload  bool
	Role    string
	Access  string
}

// Routes returns the route table of routes.go, for the OpenAPI generator
// (internal/openapigen), which derives each operation's security and its
// 401, 403 and 429 answers from it.
func Routes() []Route {
	return (&server{router: mux.NewRouter()}).routes()
}

// apiPrefixes are the paths of routes.go: a path equal to one, or under it
// ("/api/…"), is the API's; every other path is the UI's (Options.UI).
var apiPrefixes = []string{"/api", "/healthz", "/readyz", "/metrics", "/graphql", "/upload", "/download"}

// IsAPIPath reports whether path belongs to the API (routes.go), so that
// an unknown one is a JSON problem 404 and never a UI page.
func IsAPIPath(path string) bool {
	for _, p := range apiPrefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// uiOrNotFound sends the requests no route matched to ui, but those of an
// API path, which stay notFound's (the JSON problem 404 or 405).
func uiOrNotFound(ui, notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsAPIPath(r.URL.Path) {
			notFound.ServeHTTP(w, r)
			return
		}
		ui.ServeHTTP(w, r)
	})
}
