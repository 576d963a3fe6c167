package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestOriginalHurlScenarios runs the original flymodel's own acceptance
// scenarios (its hurl/single-region suite: namespace.hurl, experiment.hurl
// and model_artifact.hurl, in the order its Taskfile runs them, against
// one server) on `flymodel serve` with the embedded default after
// `migrate up --test-data basic`. Each request is the one the suite sends
// — same method, path and query, same GraphQL document, same multipart
// parts in the same order with the same file names, content types and
// bytes (testdata/hurl-single-region) — and each check is one of its
// assertions: status, JSONPath values, headers, the body's sha256.
func TestOriginalHurlScenarios(t *testing.T) {
	dir := t.TempDir()
	flymodel(t, dir, nil, "migrate", "up", "--test-data", "basic").expectCode(t, 0)
	s := startServe(t, dir, nil, "-p", "0")
	h := hurl{t: t, base: "http://" + s.addr, files: filepath.Join("testdata", "hurl-single-region")}

	// namespace.hurl
	res := h.graphql(`query {
    namespace {
        data {
            id,
            name,
            description
        }
    }
}
`)
	res.status(200)
	res.count("$.data.namespace.data", 1)
	res.equal("$.data.namespace.data[0].id", 1)
	res.equal("$.data.namespace.data[0].name", "canada")
	res.equal("$.data.namespace.data[0].description", "Flymodel Canada")

	res = h.graphql(`mutation {
  createNamespace(name:"My Namespace", description:"My Description") {
    id,
    name,
    description
  }
}
`)
	res.status(200)
	res.equal("$.data.createNamespace.id", 2)
	res.equal("$.data.createNamespace.name", "My Namespace")
	res.equal("$.data.createNamespace.description", "My Description")

	// experiment.hurl
	res = h.graphql(`mutation {
  createModel(namespace: 1, name: "llm.sm") {
    id
    name
    namespaceId
  }
  createModelVersion(model: 1, name: "v1.0.1") {
    id
    modelId
    model {
      id
      name
      namespaceId
    }
  }
  createExperiment(modelVersion: 1, name: "ex_abc_1") {
    id
    name
    versionId
  }
}
`)
	res.status(200)
	res.equal("$.data.createModel.id", 1)
	res.equal("$.data.createModel.name", "llm.sm")
	res.equal("$.data.createModel.namespaceId", 1)
	res.equal("$.data.createModelVersion.id", 1)
	res.equal("$.data.createModelVersion.modelId", 1)
	res.equal("$.data.createModelVersion.model.id", 1)
	res.equal("$.data.createModelVersion.model.name", "llm.sm")
	res.equal("$.data.createModelVersion.model.namespaceId", 1)
	res.equal("$.data.createExperiment.id", 1)
	res.equal("$.data.createExperiment.name", "ex_abc_1")
	res.equal("$.data.createExperiment.versionId", 1)

	res = h.multipart("/upload/experiment-artifact",
		hurlFilePart{"file", "experiment_artifact.json", "application/octet-stream"},
		hurlFilePart{"artifact", "experiment_artifact_payload.json", "application/json"})
	res.status(200)
	res.equal("$.blob", 1)
	res.equal("$.id", 1)
	res.equal("$.name", "Test experiment artifact.json")
	res.equal("$.experiment_id", 1)

	res = h.get("/download/experiment-artifact?artifact_id=1")
	res.status(200)
	res.headerContains("Content-Type", "application/json")
	res.headerContains("Content-Disposition", `attachment; filename="Test experiment artifact.json"`)
	res.headerContains("Digest", "sha256=89de6a4d19e7ff70bfa94b5e10ca6994d8e587e95d374928e736e3142c90bc92")
	res.sha256("89de6a4d19e7ff70bfa94b5e10ca6994d8e587e95d374928e736e3142c90bc92")
	res.equal("$.some.artifact", "value")

	// model_artifact.hurl
	res = h.multipart("/upload/model-version-artifact",
		hurlFilePart{"file", "model_artifact.json", "application/octet-stream"},
		hurlFilePart{"artifact", "model_artifact_payload.json", "application/json"})
	res.status(200)
	res.equal("$.blob", 2)
	res.equal("$.id", 1)
	res.equal("$.name", "Test model artifact.json")
	res.equal("$.version_id", 1)

	res = h.get("/download/model-version-artifact?artifact_id=1")
	res.status(200)
	res.headerContains("Content-Type", "application/json")
	res.headerContains("Content-Disposition", `attachment; filename="Test model artifact.json"`)
	res.headerContains("Digest", "sha256=8507c46253d708fef9fab62512c6912858cbf734ad2797ac93d7209501c0060e")
	res.sha256("8507c46253d708fef9fab62512c6912858cbf734ad2797ac93d7209501c0060e")
	res.equal("$.training_rounds", 2000)
	res.equal("$.acc", 0.9887)
	res.equal("$.loss", 0.0034)

	s.stop(t, syscall.SIGTERM)
}

// hurl sends requests as the hurl tool does, and checks its assertions.
type hurl struct {
	t     *testing.T
	base  string
	files string
}

// hurlResponse is one answer and what the assertions check.
type hurlResponse struct {
	t      *testing.T
	what   string
	code   int
	header http.Header
	body   []byte
}

func (h hurl) do(req *http.Request) hurlResponse {
	h.t.Helper()
	req.Header.Set("User-Agent", "hurl/flymodel-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return hurlResponse{t: h.t, what: req.Method + " " + req.URL.RequestURI(), code: resp.StatusCode, header: resp.Header, body: body}
}

// graphql sends a hurl GraphQL body: the document as {"query": …} in JSON.
func (h hurl) graphql(document string) hurlResponse {
	h.t.Helper()
	body, _ := json.Marshal(map[string]string{"query": document})
	req, _ := http.NewRequest("POST", h.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return h.do(req)
}

func (h hurl) get(path string) hurlResponse {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.base+path, nil)
	return h.do(req)
}

// hurlFilePart is a [MultipartFormData] line "name: file,FILE; TYPE;".
type hurlFilePart struct{ name, file, contentType string }

// multipart sends the parts in their order, each a file of h.files.
func (h hurl) multipart(path string, parts ...hurlFilePart) hurlResponse {
	h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		content, err := os.ReadFile(filepath.Join(h.files, p.file))
		if err != nil {
			h.t.Fatal(err)
		}
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.file))
		hdr.Set("Content-Type", p.contentType)
		w, _ := mw.CreatePart(hdr)
		w.Write(content)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", h.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return h.do(req)
}

func (r hurlResponse) status(want int) {
	r.t.Helper()
	if r.code != want {
		r.t.Fatalf("%s: HTTP %d, want %d\n%s", r.what, r.code, want, r.body)
	}
}

func (r hurlResponse) headerContains(name, want string) {
	r.t.Helper()
	if got := r.header.Get(name); !strings.Contains(got, want) {
		r.t.Errorf("%s: header %s = %q, want it to contain %q", r.what, name, got, want)
	}
}

func (r hurlResponse) sha256(want string) {
	r.t.Helper()
	sum := sha256.Sum256(r.body)
	if got := hex.EncodeToString(sum[:]); got != want {
		r.t.Errorf("%s: body sha256 %s, want %s", r.what, got, want)
	}
}

// equal is `jsonpath "PATH" == want` (numbers compare as numbers).
func (r hurlResponse) equal(path string, want any) {
	r.t.Helper()
	got := r.jsonpath(path)
	if w, ok := want.(int); ok {
		want = float64(w)
	}
	if got != want {
		r.t.Errorf("%s: jsonpath %s = %#v, want %#v\n%s", r.what, path, got, want, r.body)
	}
}

// count is `jsonpath "PATH" count == want`.
func (r hurlResponse) count(path string, want int) {
	r.t.Helper()
	list, ok := r.jsonpath(path).([]any)
	if !ok || len(list) != want {
		r.t.Errorf("%s: jsonpath %s count = %d, want %d\n%s", r.what, path, len(list), want, r.body)
	}
}

// jsonpath evaluates the paths the scenarios use: $.a.b[0].c.
func (r hurlResponse) jsonpath(path string) any {
	r.t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		r.t.Fatalf("%s: body is not JSON: %v\n%s", r.what, err, r.body)
	}
	for _, seg := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		name, index, indexed := strings.Cut(seg, "[")
		obj, _ := v.(map[string]any)
		v = obj[name]
		if indexed {
			i, _ := strconv.Atoi(strings.TrimSuffix(index, "]"))
			list, _ := v.([]any)
			if i >= len(list) {
				return nil
			}
			v = list[i]
		}
	}
	return v
}
