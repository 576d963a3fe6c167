package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// The principals of the authorization table.
const (
	anonymous = "anonymous"
	reader    = "read"
	writer    = "write"
	admin     = "admin"
	otherNS   = "other-namespace" // an admin of namespace mexico only
	expired   = "expired"         // an admin token past its lifetime
	revoked   = "revoked"         // an admin token revoked
)

var principals = []string{anonymous, expired, revoked, otherNS, reader, writer, admin}

// What a route needs (see routes.go).
const (
	needPublic = iota
	needRead
	needWrite
	needAdmin
	needList        // GET /namespaces: any grant
	needGlobalAdmin // an unscoped admin
	needCompatRead  // by id: read in the artifact's namespace
	needCompatWrite // by id: write in the version's namespace
)

// expectAllowed says whether principal p passes a route needing need in
// namespace canada.
func expectAllowed(p string, need int) bool {
	switch need {
	case needPublic:
		return true
	case needRead, needCompatRead:
		return p == reader || p == writer || p == admin
	case needWrite, needCompatWrite:
		return p == writer || p == admin
	case needList:
		return p == reader || p == writer || p == admin || p == otherNS
	default: // needAdmin, needGlobalAdmin
		return p == admin
	}
}

type authzRoute struct {
	method, template string
	path             string // concrete; "{bucket}" and "{artifact}" are filled in
	need             int
	// body returns the content type and the body; nil sends none.
	body func() (string, string)
}

// TestAuthorizationTable sends every route as every kind of principal and
// checks who gets through: 401 with a challenge without valid credentials,
// 403 without the role (recorded in the audit log as denied when it was a
// change, and changing nothing), and otherwise the handler's own answer.
func TestAuthorizationTable(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		ctx := context.Background()
		reg := registry.New(registry.Options{DB: a.store})
		tokens := map[string]string{anonymous: ""}
		// A token is limited to namespaces that exist.
		_, err := reg.CreateNamespace(ctx, registry.NewNamespace{Name: "mexico"})
		check(t, err)
		for _, tk := range []struct {
			name, role string
			ns         []string
		}{{reader, "read", nil}, {writer, "write", nil}, {admin, "admin", nil}, {otherNS, "admin", []string{"mexico"}}, {revoked, "admin", nil}} {
			if tk.ns == nil {
				tk.ns = []string{"*"}
			}
			_, secret, err := reg.CreateToken(ctx, registry.NewToken{Name: tk.name, Role: tk.role, Namespaces: tk.ns})
			check(t, err)
			tokens[tk.name] = secret
		}
		_, err = reg.RevokeToken(ctx, revoked)
		check(t, err)
		past := registry.New(registry.Options{DB: a.store, Now: func() time.Time { return time.Now().Add(-48 * time.Hour) }})
		_, tokens[expired], err = past.CreateToken(ctx, registry.NewToken{Name: expired, Role: "admin", Namespaces: []string{"*"}, ExpiresIn: "1d"})
		check(t, err)

		// The world every route is tried against, made by the admin.
		a.token = tokens[admin]
		a.skipAudit()
		a.seed()
		a.do("POST", base+"/namespaces/canada/tags", map[string]any{"tag": "gold", "color": "#ffd700"}, 201)
		a.do("POST", base+"/namespaces/canada/tags", map[string]any{"tag": "old", "color": "#000000"}, 201)
		bucket := a.do("POST", base+"/namespaces/canada/buckets", map[string]any{"name": "ml-qa", "region": "ca-local", "role": "qa"}, 201).json(t)["id"]
		a.put(vbase+"/artifacts/a.txt", []byte("hello"), nil, 201)
		a.put(vbase+"/experiments/eval/artifacts/e.txt", []byte("eval"), nil, 201)
		artifact := a.do("GET", vbase+"/artifacts/a.txt?meta=1", nil, 200)
		_ = artifact
		canadaRow, err := a.store.GetNamespaceByName(ctx, "canada")
		check(t, err)
		versionRow, err := a.store.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: "canada", Model: "llm.sm", Version: "v1"})
		check(t, err)
		arts, err := a.store.ListArtifactsWithBlob(ctx, db.ListArtifactsWithBlobParams{VersionID: versionRow.ID, PageLimit: 10})
		check(t, err)

		json := func(s string) func() (string, string) {
			return func() (string, string) { return "application/json", s }
		}
		octets := func(s string) func() (string, string) {
			return func() (string, string) { return "application/octet-stream", s }
		}
		upload := func(meta string) func() (string, string) {
			return func() (string, string) {
				ct, body := multipartBody(t, rawJSON(meta), "f.txt", []byte("uploaded"))
				return ct, body.String()
			}
		}
		al := "/api/v1/namespaces/{namespace}/models/{model}/aliases"
		mp := base + "/namespaces/canada/models/llm.sm"
		a.do("PUT", mp+"/aliases/best", map[string]any{"version": "v1"}, 200)
		v := "/api/v1/namespaces/{namespace}/models/{model}/versions/{version}"
		e := v + "/experiments/{experiment}"
		vp := vbase
		ep := vbase + "/experiments/eval"
		routes := []authzRoute{
			{"GET", "/healthz", "/healthz", needPublic, nil},
			{"HEAD", "/healthz", "/healthz", needPublic, nil},
			{"GET", "/readyz", "/readyz", needPublic, nil},
			{"HEAD", "/readyz", "/readyz", needPublic, nil},
			{"GET", "/metrics", "/metrics", needPublic, nil},
			{"GET", "/api/v1/openapi.json", base + "/openapi.json", needPublic, nil},

			{"GET", "/api/v1/namespaces", base + "/namespaces", needList, nil},
			{"GET", "/api/v1/models", base + "/models?filter=" + url.QueryEscape(`name = "x"`), needList, nil},
			{"GET", "/api/v1/versions", base + "/versions", needList, nil},
			{"GET", "/api/v1/experiments", base + "/experiments?order_by=name", needList, nil},
			{"POST", "/api/v1/namespaces", base + "/namespaces", needGlobalAdmin, json(`{"name":"brazil"}`)},
			{"GET", "/api/v1/namespaces/{namespace}", base + "/namespaces/canada", needRead, nil},
			{"PATCH", "/api/v1/namespaces/{namespace}", base + "/namespaces/canada", needAdmin, json(`{"description":"changed"}`)},
			{"GET", "/api/v1/namespaces/{namespace}/buckets", base + "/namespaces/canada/buckets", needRead, nil},
			{"POST", "/api/v1/namespaces/{namespace}/buckets", base + "/namespaces/canada/buckets", needAdmin, json(`{"name":"ml-prod","region":"ca-local","role":"prod"}`)},
			{"GET", "/api/v1/namespaces/{namespace}/tags", base + "/namespaces/canada/tags", needRead, nil},
			{"POST", "/api/v1/namespaces/{namespace}/tags", base + "/namespaces/canada/tags", needAdmin, json(`{"tag":"silver","color":"#c0c0c0"}`)},
			{"GET", "/api/v1/namespaces/{namespace}/models", base + "/namespaces/canada/models", needRead, nil},
			{"POST", "/api/v1/namespaces/{namespace}/models", base + "/namespaces/canada/models", needWrite, json(`{"name":"llm.lg"}`)},
			{"GET", "/api/v1/namespaces/{namespace}/models/{model}", base + "/namespaces/canada/models/llm.sm", needRead, nil},
			{"PATCH", "/api/v1/namespaces/{namespace}/models/{model}", base + "/namespaces/canada/models/llm.sm", needWrite, json(`{"name":"llm.sm"}`)},
			{"PUT", "/api/v1/namespaces/{namespace}/models/{model}/tags/{tag}", base + "/namespaces/canada/models/llm.sm/tags/gold", needWrite, nil},
			{"DELETE", "/api/v1/namespaces/{namespace}/models/{model}/tags/{tag}", base + "/namespaces/canada/models/llm.sm/tags/gold", needWrite, nil},
			{"GET", "/api/v1/namespaces/{namespace}/models/{model}/versions", base + "/namespaces/canada/models/llm.sm/versions", needRead, nil},
			{"POST", "/api/v1/namespaces/{namespace}/models/{model}/versions", base + "/namespaces/canada/models/llm.sm/versions", needWrite, json(`{"version":"v2"}`)},
			{"GET", al, mp + "/aliases", needRead, nil},
			{"GET", al + "/{alias}", mp + "/aliases/best", needRead, nil},
			{"PUT", al + "/{alias}", mp + "/aliases/best", needWrite, json(`{"version":"v1"}`)},
			{"GET", al + "/{alias}/history", mp + "/aliases/best/history", needRead, nil},
			{"GET", v, mp + "/versions/@best", needRead, nil},

			{"GET", v, vp, needRead, nil},
			{"PATCH", v, vp, needWrite, json(`{"description":"# v1\n\nchanged"}`)},
			{"PUT", v + "/state", vp + "/state", needWrite, json(`{"state":"test"}`)},
			{"GET", v + "/history", vp + "/history", needRead, nil},
			{"GET", v + "/parents", vp + "/parents", needRead, nil},
			{"PUT", v + "/parents", vp + "/parents", needWrite, json(`{"parents":[]}`)},
			{"GET", v + "/lineage", vp + "/lineage", needRead, nil},
			{"GET", v + "/diff", vp + "/diff?other=/canada/llm.sm/v1", needRead, nil},
			{"GET", v + "/diff/{other}", vp + "/diff/v1", needRead, nil},
			{"GET", v + "/archive", vp + "/archive", needRead, nil},
			{"HEAD", v + "/archive", vp + "/archive", needRead, nil},
			{"GET", v + "/tags", vp + "/tags", needRead, nil},
			{"PUT", v + "/tags/{tag}", vp + "/tags/gold", needWrite, nil},
			{"DELETE", v + "/tags/{tag}", vp + "/tags/gold", needWrite, nil},
			{"GET", v + "/experiments", vp + "/experiments", needRead, nil},
			{"POST", v + "/experiments", vp + "/experiments", needWrite, json(`{"name":"e2"}`)},
			{"GET", v + "/artifacts", vp + "/artifacts", needRead, nil},
			{"POST", v + "/artifacts", vp + "/artifacts", needWrite, upload(`{"name":"up.txt"}`)},
			{"GET", v + "/artifacts/{name}", vp + "/artifacts/a.txt", needRead, nil},
			{"HEAD", v + "/artifacts/{name}", vp + "/artifacts/a.txt", needRead, nil},
			{"PUT", v + "/artifacts/{name}", vp + "/artifacts/put.txt", needWrite, octets("put")},

			{"GET", e, ep, needRead, nil},
			{"PUT", e + "/state", ep + "/state", needWrite, json(`{"state":"running"}`)},
			{"GET", e + "/tags", ep + "/tags", needRead, nil},
			{"PUT", e + "/tags/{tag}", ep + "/tags/gold", needWrite, nil},
			{"DELETE", e + "/tags/{tag}", ep + "/tags/gold", needWrite, nil},
			{"GET", e + "/artifacts", ep + "/artifacts", needRead, nil},
			{"POST", e + "/artifacts", ep + "/artifacts", needWrite, upload(`{"name":"up.txt"}`)},
			{"GET", e + "/artifacts/{name}", ep + "/artifacts/e.txt", needRead, nil},
			{"HEAD", e + "/artifacts/{name}", ep + "/artifacts/e.txt", needRead, nil},
			{"PUT", e + "/artifacts/{name}", ep + "/artifacts/put.txt", needWrite, octets("put")},

			{"POST", "/upload/model-version-artifact", "/upload/model-version-artifact", needCompatWrite,
				upload(fmt.Sprintf(`{"model_version":%d,"artifact_name":"compat.txt"}`, versionRow.ID))},
			{"POST", "/upload/experiment-artifact", "/upload/experiment-artifact", needCompatWrite, nil}, // body set below
			{"GET", "/download/model-version-artifact", fmt.Sprintf("/download/model-version-artifact?artifact_id=%d", arts[0].ID), needCompatRead, nil},
			{"HEAD", "/download/model-version-artifact", fmt.Sprintf("/download/model-version-artifact?artifact_id=%d", arts[0].ID), needCompatRead, nil},
			{"GET", "/download/experiment-artifact", "/download/experiment-artifact?artifact_id={eartifact}", needCompatRead, nil},
			{"HEAD", "/download/experiment-artifact", "/download/experiment-artifact?artifact_id={eartifact}", needCompatRead, nil},
			// A mutation needs write in the namespace the id names; an id
			// of a namespace the caller cannot read is an unknown id.
			{"POST", "/graphql", "/graphql", needCompatWrite,
				json(fmt.Sprintf(`{"query":"mutation { createModel(namespace: %d, name: \"gql\") { id } }"}`, canadaRow.ID))},

			{"GET", "/api/v1/tokens", base + "/tokens", needGlobalAdmin, nil},
			{"POST", "/api/v1/tokens", base + "/tokens", needGlobalAdmin, json(`{"name":"made","role":"read","namespaces":["*"]}`)},
			{"DELETE", "/api/v1/tokens/{token}", base + "/tokens/made", needGlobalAdmin, nil},
			{"GET", "/api/v1/audit", base + "/audit", needGlobalAdmin, nil},

			// Destructive last: what they remove, the routes above use.
			{"DELETE", "/api/v1/namespaces/{namespace}/buckets/{id}", fmt.Sprintf("%s/namespaces/canada/buckets/%v", base, bucket), needAdmin, nil},
			{"DELETE", "/api/v1/namespaces/{namespace}/tags/{tag}", base + "/namespaces/canada/tags/old", needAdmin, nil},
			{"DELETE", al + "/{alias}", mp + "/aliases/best", needWrite, nil},
			{"DELETE", e, ep, needAdmin, nil},
			{"DELETE", v, vp, needAdmin, nil},
			{"DELETE", "/api/v1/namespaces/{namespace}/models/{model}", base + "/namespaces/canada/models/llm.sm", needAdmin, nil},
			{"DELETE", "/api/v1/namespaces/{namespace}", base + "/namespaces/canada", needAdmin, nil},
		}

		// The experiment's ids, for the original flymodel's routes.
		expRow, err := a.store.GetExperimentByName(ctx, db.GetExperimentByNameParams{VersionID: versionRow.ID, Name: "eval"})
		check(t, err)
		earts, err := a.store.ListArtifactsWithBlob(ctx, db.ListArtifactsWithBlobParams{VersionID: versionRow.ID, ExperimentKey: expRow.ID, PageLimit: 10})
		check(t, err)
		for i := range routes {
			routes[i].path = strings.ReplaceAll(routes[i].path, "{eartifact}", fmt.Sprint(earts[0].ID))
			if routes[i].template == "/upload/experiment-artifact" {
				routes[i].body = upload(fmt.Sprintf(`{"experiment":%d,"artifact_name":"compat.txt"}`, expRow.ID))
			}
		}

		// Every route of the router is in the table.
		covered := map[string]bool{}
		for _, r := range routes {
			covered[r.method+" "+r.template] = true
		}
		for route := range httpapi.RouteSet(t) {
			if !covered[route] {
				t.Errorf("route %s is missing from the authorization table", route)
			}
		}

		for _, r := range routes {
			for _, p := range principals {
				name := r.method + " " + r.template + " as " + p
				a.token = tokens[p]
				ct, body := "", ""
				if r.body != nil {
					ct, body = r.body()
				}
				before := a.snapshot()
				res := a.request(r.method, r.path, ct, body)
				allowed := expectAllowed(p, r.need)
				switch {
				case allowed && (res.status == 401 || res.status == 403 || res.status >= 500):
					t.Errorf("%s: status %d, want it let through\n%s", name, res.status, res.body)
				case !allowed && (p == anonymous || p == expired || p == revoked):
					if res.status != 401 || !strings.HasPrefix(res.header.Get("WWW-Authenticate"), `Bearer realm="flymodel"`) {
						t.Errorf("%s: status %d, WWW-Authenticate %q, want 401 with a Bearer challenge", name, res.status, res.header.Get("WWW-Authenticate"))
					}
				case !allowed && p == otherNS && r.template == "/graphql":
					// By id, a resource of a namespace the caller cannot
					// read is answered as an unknown id: over GraphQL, the
					// field's not-found error.
					gqlNotFound(t, name, res)
				case !allowed && p == otherNS && (r.need == needCompatRead || r.need == needCompatWrite):
					// By id, a resource of a namespace the caller cannot
					// read is answered as an unknown id.
					a.problem(res, 404, "not-found")
				case !allowed && res.status != 403:
					t.Errorf("%s: status %d, want 403\n%s", name, res.status, res.body)
				}
				if allowed {
					continue
				}
				if after := a.snapshot(); after != before {
					t.Errorf("%s: refused, yet the database changed", name)
				}
				byID := p == otherNS && r.need == needCompatWrite // answered as an unknown id
				if mutation := r.method != "GET" && r.method != "HEAD"; mutation && (res.status == 403 || byID) {
					denied, _, err := audit.List(ctx, a.store, audit.Filter{Outcome: audit.Denied, Actor: p, Limit: audit.MaxLimit})
					check(t, err)
					if len(denied) == 0 || denied[len(denied)-1].RequestID != res.header.Get("X-Request-Id") {
						t.Errorf("%s: no denied audit record for the refusal", name)
					}
				}
			}
		}

		// A scoped admin works in its namespace, and sees only it.
		a.token = tokens[otherNS]
		list := a.do("GET", base+"/namespaces", nil, 200).json(t)
		if fmt.Sprint(list["total_items"]) != "1" || !strings.Contains(dump(list["data"]), `"mexico"`) {
			t.Errorf("namespaces as a mexico admin = %v", list)
		}
		a.do("POST", base+"/namespaces/mexico/models", map[string]any{"name": "m"}, 201)
		a.do("DELETE", base+"/namespaces/mexico/models/m", nil, 204)
		recs, _, err := audit.List(ctx, a.store, audit.Filter{Namespace: "mexico", Actor: otherNS, Outcome: audit.OK})
		check(t, err)
		var actions []string
		for _, r := range recs {
			actions = append(actions, r.Action)
		}
		if strings.Join(actions, ",") != "model.create,model.delete" {
			t.Errorf("mexico audit = %v", actions)
		}
	})
}

// gqlNotFound checks a GraphQL answer of one field that failed as for an
// unknown id: 200, no data, one error whose extensions carry the
// not-found problem.
func gqlNotFound(t *testing.T, what string, res response) {
	t.Helper()
	var got struct {
		Data   map[string]any
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if res.status != 200 || json.Unmarshal(res.body, &got) != nil || got.Data != nil || len(got.Errors) != 1 ||
		got.Errors[0].Extensions["type"] != "https://flymodel.dev/problems/not-found" || !strings.HasSuffix(got.Errors[0].Message, " not found") {
		t.Errorf("%s: %d %s, want 200 with the not-found error of an unknown id", what, res.status, res.body)
	}
}

// rawJSON is a JSON document that json.Marshal writes as it is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
