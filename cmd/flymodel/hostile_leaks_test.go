package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/db/dbtest"
)

// The hostile suite's cases of issue 13, items 10 and 14 (and 16 on the
// laptop default), over raw TCP to a live `flymodel serve`: what a
// caller learns of other namespaces and of the server's insides, and what
// a database locked by another process answers.

// TestHostileDatabaseBusy: another process holds SQLite's write lock past
// the server's busy timeout (database.busy_timeout, shortened here). A
// write is then 503 database-busy with Retry-After, leaves nothing behind
// (an upload's bytes included) and names no path; reads go on; /readyz
// says the database is not ready. Once the lock is released, writes work
// and /readyz is ready again.
func TestHostileDatabaseBusy(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, []string{"FLYMODEL_DATABASE_BUSY_TIMEOUT=250ms"}, "-p", "0")
	h := &hostileClient{addr: s.addr} // anonymous: a laptop server with no token
	dataDir := filepath.Join(dir, "flymodel-data")
	const (
		ns = "/api/v1/namespaces/busy"
		v1 = ns + "/models/m/versions/v1"
	)
	h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"busy"}`, http.StatusCreated)
	h.mustJSON(t, "POST", ns+"/models", `{"name":"m"}`, http.StatusCreated)
	h.mustJSON(t, "POST", ns+"/models/m/versions", `{"version":"v1"}`, http.StatusCreated)

	// The other process: a connection of its own, holding the write lock.
	other, err := sql.Open("sqlite", filepath.Join(dataDir, "flymodel.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	locked := true
	defer func() {
		if locked {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
		}
	}()

	for _, req := range []hostileReq{
		hostileJSON("POST", "/api/v1/namespaces", `{"name":"locked-out"}`),
		hostileJSON("PUT", v1+"/state", `{"state":"qa"}`),
		{method: "PUT", target: v1 + "/artifacts/locked.bin", body: []byte("bytes that must not stay")},
	} {
		res := h.do(req)
		if res.err != nil || res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
			t.Fatalf("%s %s while locked: %v status %d Retry-After %q, want 503 with Retry-After: %s",
				req.method, req.target, res.err, res.status, res.header.Get("Retry-After"), res.body)
		}
		var p struct{ Type string }
		if err := json.Unmarshal(res.body, &p); err != nil || p.Type != "https://flymodel.dev/problems/database-busy" ||
			res.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %s %s, want a database-busy problem", req.method, req.target, res.header.Get("Content-Type"), res.body)
		}
		noPaths(t, res.body, dir)
	}
	if got := h.names(t, "/api/v1/namespaces", "name"); strings.Join(got, ",") != "busy" {
		t.Errorf("reads while locked: namespaces %q, want busy alone", got)
	}
	ready := h.do(hostileReq{method: "GET", target: "/readyz"})
	var readiness struct{ Checks map[string]string }
	_ = json.Unmarshal(ready.body, &readiness)
	if ready.status != http.StatusServiceUnavailable || readiness.Checks["database"] != "failed" {
		t.Errorf("/readyz while locked: %d %s, want 503 with the database check failed", ready.status, ready.body)
	}
	if files := blobFiles(t, dataDir); len(files) != 0 {
		t.Errorf("the refused upload left its bytes: %v", files)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	locked = false
	s.get(t, "/readyz", http.StatusOK)
	h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"after"}`, http.StatusCreated)
	if res := h.do(hostileReq{method: "PUT", target: v1 + "/artifacts/after.bin", body: []byte("after the lock")}); res.status != http.StatusCreated {
		t.Fatalf("upload after the lock: %d %s", res.status, res.body)
	}
	if v := h.mustJSON(t, "GET", v1, "", http.StatusOK); v["state"] != "test" {
		t.Errorf("the refused state change happened: %v", v)
	}
	if files := blobFiles(t, dataDir); len(files) != 1 {
		t.Errorf("blobs %v, want the one upload after the lock", files)
	}
}

// TestHostileLeaksAcrossNamespaces: a caller learns nothing of a namespace
// it cannot read. Identical bytes in two namespaces are two blobs (the
// upload's `blob` id is not shared); the original's routes by id answer
// an artifact or version of another namespace exactly as an unknown id
// (404, no namespace named), and so do the GraphQL fields by id; a blob
// missing from the store is a 500 that names no path. On the laptop
// default every bucket name may be recorded, for any role.
func TestHostileLeaksAcrossNamespaces(t *testing.T) {
	dir := t.TempDir()
	admin := strings.TrimSpace(flymodel(t, dir, nil, "token", "create", "--name", "leaks-admin", "--role", "admin").stdout)
	s := startServe(t, dir, nil, "-p", "0")
	h := &hostileClient{addr: s.addr, token: admin}
	dataDir := filepath.Join(dir, "flymodel-data")

	versionIDs, ids := map[string]int64{}, map[string]any{}
	for _, ns := range []string{"alpha", "beta"} {
		ids[ns] = h.mustJSON(t, "POST", "/api/v1/namespaces", fmt.Sprintf(`{"name":%q}`, ns), http.StatusCreated)["id"]
		ids[ns+"/m"] = h.mustJSON(t, "POST", "/api/v1/namespaces/"+ns+"/models", `{"name":"m"}`, http.StatusCreated)["id"]
		for _, v := range []string{"v1", "v2"} {
			got := h.mustJSON(t, "POST", "/api/v1/namespaces/"+ns+"/models/m/versions", fmt.Sprintf(`{"version":%q}`, v), http.StatusCreated)
			versionIDs[ns+"/"+v] = int64(got["id"].(float64))
		}
	}
	// Tokens are scoped by namespace id: alpha's exist once alpha does.
	token := func(name, role string) string {
		r := flymodel(t, dir, nil, "token", "create", "--name", name, "--role", role, "--namespace", "alpha")
		r.expectCode(t, 0)
		return strings.TrimSpace(r.stdout)
	}
	reader, writer := token("alpha-reader", "read"), token("alpha-writer", "write")
	// (a) The original's upload answers with the blob id: the same bytes
	// share one within a namespace, never across.
	same := bytes.Repeat([]byte("identical model bytes "), 1000)
	upload := func(token, version string, id int64, name string, content []byte) hostileResult {
		c := &hostileClient{addr: s.addr, token: token}
		return c.do(hostileMultipart("/upload/model-version-artifact",
			mpArtifact(fmt.Sprintf(`{"model_version":%d,"artifact_name":%q}`, id, name)), mpFile("file", name, content), mpClose))
	}
	blobs := map[string]float64{}
	artifactIDs := map[string]int64{}
	for _, v := range []string{"alpha/v1", "alpha/v2", "beta/v1"} {
		res := upload(admin, v, versionIDs[v], "w.bin", same)
		var a struct {
			ID   int64
			Blob float64
		}
		if res.status != http.StatusOK || json.Unmarshal(res.body, &a) != nil || a.Blob == 0 {
			t.Fatalf("upload into %s: %d %s", v, res.status, res.body)
		}
		blobs[v], artifactIDs[v] = a.Blob, a.ID
	}
	if blobs["alpha/v1"] != blobs["alpha/v2"] {
		t.Errorf("alpha's two uploads of the same bytes: blobs %v, want one", blobs)
	}
	if blobs["beta/v1"] == blobs["alpha/v1"] {
		t.Errorf("beta's upload got alpha's blob %v: it learns that alpha holds those bytes", blobs["alpha/v1"])
	}

	// (b) By id, another namespace's artifact or version is an unknown id.
	const unknown = 999999
	asReader := &hostileClient{addr: s.addr, token: reader}
	for _, method := range []string{"GET", "HEAD"} {
		ours := asReader.do(hostileReq{method: method, target: fmt.Sprintf("/download/model-version-artifact?artifact_id=%d", artifactIDs["alpha/v1"])})
		if ours.status != http.StatusOK {
			t.Fatalf("%s alpha's own artifact: %d %s", method, ours.status, ours.body)
		}
	}
	sameAnswer(t, "download of beta's artifact",
		asReader.do(hostileReq{method: "GET", target: fmt.Sprintf("/download/model-version-artifact?artifact_id=%d", artifactIDs["beta/v1"])}),
		asReader.do(hostileReq{method: "GET", target: fmt.Sprintf("/download/model-version-artifact?artifact_id=%d", unknown)}),
		artifactIDs["beta/v1"], unknown)
	headTheirs := asReader.do(hostileReq{method: "HEAD", target: fmt.Sprintf("/download/model-version-artifact?artifact_id=%d", artifactIDs["beta/v1"])})
	if headTheirs.status != http.StatusNotFound {
		t.Errorf("HEAD of beta's artifact: %d, want 404", headTheirs.status)
	}
	sameAnswer(t, "upload into beta's version",
		upload(writer, "beta/v2", versionIDs["beta/v2"], "x.bin", []byte("planted")),
		upload(writer, "unknown", unknown, "x.bin", []byte("planted")),
		versionIDs["beta/v2"], unknown)
	if names := h.names(t, "/api/v1/namespaces/beta/models/m/versions/v2/artifacts", "name"); len(names) != 0 {
		t.Errorf("the refused upload into beta was stored: %q", names)
	}

	// And over GraphQL: a mutation or query naming beta's namespace, model
	// or version by id is answered as naming an unknown id (the field's
	// not-found error), and changes nothing; alpha's reader, which may
	// read alpha but not write, is refused 403 there.
	asWriter := &hostileClient{addr: s.addr, token: writer}
	gql := func(c *hostileClient, doc string) hostileResult {
		body, _ := json.Marshal(map[string]string{"query": doc})
		return c.do(hostileJSON("POST", "/graphql", string(body)))
	}
	for doc, id := range map[string]any{
		`mutation { createModel(namespace: %v, name: "planted") { id } }`:         ids["beta"],
		`mutation { createModelVersion(model: %v, name: "planted") { id } }`:      ids["beta/m"],
		`mutation { createExperiment(modelVersion: %v, name: "planted") { id } }`: versionIDs["beta/v1"],
		`mutation { updateModelVersionState(id: %v, state: QA) { state } }`:       versionIDs["beta/v1"],
		`{ namespace(id: %v) { totalItems data { name } } }`:                      ids["beta"],
		`{ model(id: %v) { totalItems data { name } } }`:                          ids["beta/m"],
		`{ model(namespace: %v) { totalItems data { name } } }`:                   ids["beta"],
		`{ model(id: %v) { totalItems data { name namespace { name } } } }`:       ids["beta/m"],
	} {
		theirs, unknownRes := gql(asWriter, fmt.Sprintf(doc, id)), gql(asWriter, fmt.Sprintf(doc, unknown))
		norm := func(r hostileResult, id any) string {
			return strings.ReplaceAll(string(r.body), fmt.Sprintf("with id %v ", id), "with id N ")
		}
		if theirs.status != http.StatusOK || unknownRes.status != http.StatusOK || norm(theirs, id) != norm(unknownRes, unknown) {
			t.Errorf("GraphQL %s: beta's id answered %d %s, an unknown id %d %s: want the same answer",
				doc, theirs.status, theirs.body, unknownRes.status, unknownRes.body)
		}
		if strings.Contains(string(theirs.body), "beta") {
			t.Errorf("GraphQL %s: the answer names the namespace: %s", doc, theirs.body)
		}
	}
	if got := h.names(t, "/api/v1/namespaces/beta/models", "name"); strings.Join(got, ",") != "m" {
		t.Errorf("beta's models after the GraphQL mutations by id: %q", got)
	}
	if got := h.names(t, "/api/v1/namespaces/beta/models/m/versions", "version"); strings.Join(got, ",") != "v1,v2" {
		t.Errorf("beta's versions after the GraphQL mutations by id: %q", got)
	}
	if got := h.names(t, "/api/v1/namespaces/beta/models/m/versions/v1/experiments", "name"); len(got) != 0 {
		t.Errorf("beta's experiments after the GraphQL mutations by id: %q", got)
	}
	if v := h.mustJSON(t, "GET", "/api/v1/namespaces/beta/models/m/versions/v1", "", http.StatusOK); v["state"] != "test" {
		t.Errorf("beta's v1 after updateModelVersionState by its id: %v", v["state"])
	}
	res := gql(asReader, fmt.Sprintf(`mutation { createModel(namespace: %v, name: "r") { id } }`, ids["alpha"]))
	if res.status != http.StatusForbidden || !strings.Contains(string(res.body), "problems/forbidden") {
		t.Errorf("GraphQL createModel in alpha by alpha's reader: %d %s, want 403", res.status, res.body)
	}

	// (c) A blob missing from the store: a 500 naming the artifact and the
	// store by name, never the store's path.
	gone := []byte("bytes about to vanish")
	if res := upload(admin, "alpha/v1", versionIDs["alpha/v1"], "gone.bin", gone); res.status != http.StatusOK {
		t.Fatalf("upload gone.bin: %d %s", res.status, res.body)
	}
	for _, f := range blobFiles(t, dataDir) {
		if b, err := os.ReadFile(f); err == nil && bytes.Equal(b, gone) {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	var goneID int64
	for _, item := range h.mustJSON(t, "GET", "/api/v1/namespaces/alpha/models/m/versions/v1/artifacts", "", http.StatusOK)["data"].([]any) {
		if a := item.(map[string]any); a["name"] == "gone.bin" {
			goneID = int64(a["id"].(float64))
		}
	}
	for _, target := range []string{
		"/api/v1/namespaces/alpha/models/m/versions/v1/artifacts/gone.bin",
		fmt.Sprintf("/download/model-version-artifact?artifact_id=%d", goneID),
		"/api/v1/namespaces/alpha/models/m/versions/v1/archive",
	} {
		res := h.do(hostileReq{method: "GET", target: target})
		if res.status != http.StatusInternalServerError || !strings.Contains(string(res.body), "blob-missing") {
			t.Errorf("GET %s with its blob gone: %d %s, want 500 blob-missing", target, res.status, res.body)
		}
		noPaths(t, res.body, dir)
		checkNoLeak(t, res.body)
	}

	// Item 16 on the laptop default: no storage configured, so every
	// bucket name is a folder of its own, for any role.
	h.mustJSON(t, "POST", "/api/v1/namespaces/alpha/buckets", `{"name":"any-name-at-all","region":"laptop","role":"prod"}`, http.StatusCreated)
	h.mustJSON(t, "POST", "/api/v1/namespaces/alpha/buckets", `{"name":"ml-prod","region":"laptop","role":"test"}`, http.StatusCreated)
}

// sameAnswer checks that two refusals by id are one 404 answer: the same
// status, type and detail but for the id each names, and nothing of the
// namespace the first id belongs to.
func sameAnswer(t *testing.T, what string, theirs, unknown hostileResult, theirID, unknownID int64) {
	t.Helper()
	if theirs.status != http.StatusNotFound || unknown.status != http.StatusNotFound {
		t.Fatalf("%s: %d %s; unknown id: %d %s; want 404 for both", what, theirs.status, theirs.body, unknown.status, unknown.body)
	}
	norm := func(r hostileResult, id int64) map[string]any {
		var p map[string]any
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("%s: %v: %s", what, err, r.body)
		}
		delete(p, "instance")
		delete(p, "request_id")
		d, _ := p["detail"].(string)
		p["detail"] = strings.ReplaceAll(d, fmt.Sprint(id), "N")
		return p
	}
	a, b := norm(theirs, theirID), norm(unknown, unknownID)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("%s: answered %v, an unknown id %v: the answer tells them apart", what, a, b)
	}
	if strings.Contains(string(theirs.body), "beta") {
		t.Errorf("%s: the answer names the namespace: %s", what, theirs.body)
	}
}

// noPaths fails when body names a path under dir (the server's folder).
func noPaths(t *testing.T, body []byte, dir string) {
	t.Helper()
	for _, p := range []string{dir, filepath.Base(dir), "flymodel-data", "fs:"} {
		if bytes.Contains(body, []byte(p)) {
			t.Errorf("the answer names %q: %s", p, hostileTrim(body))
		}
	}
}

// blobFiles lists the stored objects under the data folder's blob roots.
func blobFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(dataDir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.Contains(filepath.ToSlash(p), "/objects/") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestServeBucketsFollowTheConfiguration (item 16) through the real
// configuration, on PostgreSQL and Versity Gateway: with one configured S3
// bucket per lifecycle, a namespace admin cannot record the prod bucket as
// its test bucket (422 naming the configured lifecycle) nor a bucket the
// server does not have (409 no-store); the configured bucket of the role
// is recorded and takes the namespace's uploads.
func TestServeBucketsFollowTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	suffix := s3Config(t, dir)
	url := dbtest.PostgresURL(t)
	flymodel(t, dir, nil, "setup-storage", "-d", url).expectCode(t, 0)
	admin := strings.TrimSpace(flymodel(t, dir, nil, "token", "create", "-d", url, "--name", "ns-admin", "--role", "admin").stdout)
	s := startServe(t, dir, nil, "-p", "0", "-d", url)
	h := &hostileClient{addr: s.addr, token: admin}
	h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"canada"}`, http.StatusCreated)
	buckets := "/api/v1/namespaces/canada/buckets"
	prod, test := "cli-prod-"+suffix, "cli-test-"+suffix

	res := h.do(hostileJSON("POST", buckets, fmt.Sprintf(`{"name":%q,"region":"us-east-1","role":"test"}`, prod)))
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "configured for lifecycle prod") {
		t.Errorf("the prod bucket as the test bucket: %d %s, want 422 naming lifecycle prod", res.status, res.body)
	}
	res = h.do(hostileJSON("POST", buckets, `{"name":"ml-elsewhere","region":"us-east-1","role":"test"}`))
	if res.status != http.StatusConflict || !strings.Contains(string(res.body), "problems/no-store") {
		t.Errorf("a bucket the server does not have: %d %s, want 409 no-store", res.status, res.body)
	}
	if got := h.names(t, buckets, "name"); len(got) != 0 {
		t.Fatalf("refused buckets were recorded: %q", got)
	}
	h.mustJSON(t, "POST", buckets, fmt.Sprintf(`{"name":%q,"region":"us-east-1","role":"test"}`, test), http.StatusCreated)
	h.mustJSON(t, "POST", "/api/v1/namespaces/canada/models", `{"name":"m"}`, http.StatusCreated)
	h.mustJSON(t, "POST", "/api/v1/namespaces/canada/models/m/versions", `{"version":"v1"}`, http.StatusCreated)
	if res := h.do(hostileReq{method: "PUT", target: "/api/v1/namespaces/canada/models/m/versions/v1/artifacts/a.txt", body: []byte("into the test bucket")}); res.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
}
