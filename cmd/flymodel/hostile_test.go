package main

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHostileInput throws hostile requests at a live `flymodel serve`:
// path traversal in every name, oversized headers and bodies, a
// slow-loris, malformed multipart, Content-Length lies and JSON bombs.
// Every one must be refused with a 4xx (never a 5xx), as an
// application/problem+json body that leaks nothing of the server, and
// must leave nothing behind: no file outside the data folder, no row in
// the database. The requests are written by hand on raw connections, so
// that no client library cleans or re-encodes the paths.
func TestHostileInput(t *testing.T) {
	dir := t.TempDir()
	sentinel := filepath.Join(dir, "sentinel")
	if err := os.Mkdir(sentinel, 0o755); err != nil {
		t.Fatal(err)
	}
	passwdBefore := hostileFileState("/etc/passwd")
	outsideBefore := map[string]bool{}
	for _, p := range hostileOutside(dir) {
		_, err := os.Lstat(p)
		outsideBefore[p] = err == nil
	}
	const maxUpload = 1 << 20
	token := strings.TrimSpace(flymodel(t, dir, nil, "token", "create", "--name", "hostile-admin", "--role", "admin").stdout)
	s := startServe(t, dir, []string{"FLYMODEL_SERVER_MAX_UPLOAD_BYTES=" + strconv.Itoa(maxUpload)}, "-p", "0")
	h := &hostileClient{addr: s.addr, token: token}
	dataDir := filepath.Join(dir, "flymodel-data")

	// What the test creates on purpose: everything else is refused.
	const (
		ns      = "/api/v1/namespaces/hostile"
		model   = ns + "/models/m"
		v1      = model + "/versions/v1"
		e1      = v1 + "/experiments/e1"
		literal = model + "/versions/v-literal"
		eLit    = literal + "/experiments/e-literal"
	)
	h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"hostile"}`, http.StatusCreated)
	h.mustJSON(t, "POST", ns+"/models", `{"name":"m"}`, http.StatusCreated)
	version := h.mustJSON(t, "POST", model+"/versions", `{"version":"v1"}`, http.StatusCreated)
	h.mustJSON(t, "POST", model+"/versions", `{"version":"v-literal"}`, http.StatusCreated)
	experiment := h.mustJSON(t, "POST", v1+"/experiments", `{"name":"e1"}`, http.StatusCreated)
	h.mustJSON(t, "POST", literal+"/experiments", `{"name":"e-literal"}`, http.StatusCreated)
	versionID, experimentID := int64(version["id"].(float64)), int64(experiment["id"].(float64))
	before := h.snapshot(t)

	// The slow-lorises run beside the other cases: the server's header
	// timeout (10 s, not configurable) is most of the test's time.
	lorisTrickle := h.slowLoris(true)
	lorisSilent := h.slowLoris(false)

	var cases []hostileCase
	add := func(c hostileCase) { cases = append(cases, c) }

	// Path traversal. wire is how the payload appears in the request
	// target; name is the decoded form, for names sent in bodies ("" when
	// it would only repeat another payload).
	type payload struct {
		label, wire, name string
		// segOK: the decoded wire form is a valid single-segment name
		// (so a request naming it is a 404, not a 400).
		segOK bool
		// For the artifact name (the rest of the path): the status of a
		// GET and a PUT (0: 400); or, when literal is set, a valid name
		// that a PUT (with query) stores under exactly literal.
		artGet, artPut int
		literal, query string
	}
	long300, long2000 := strings.Repeat("a", 300), strings.Repeat("b", 2000)
	payloads := []payload{
		{label: "dotdot", wire: "..", name: ".."},
		{label: "traversal", wire: "../../etc/passwd", name: "../../etc/passwd"},
		{label: "urlencoded", wire: "%2e%2e%2f%2e%2e%2fetc%2fpasswd"},
		// Decoded once, it is a name of '%' and letters: looked up as that
		// literal (404), never decoded a second time, and refused as a new
		// name ('%' is reserved: see hostileEdgeCases).
		{label: "double-encoded", wire: "%252e%252e%252f%252e%252e%252fetc%252fpasswd", segOK: true, artGet: 404},
		{label: "backslash", wire: `..\..\x`, name: `..\..\x`},
		{label: "backslash-encoded", wire: "..%5c..%5cx"},
		{label: "absolute", wire: "/etc/passwd", name: "/etc/passwd"},
		{label: "absolute-encoded", wire: "%2fetc%2fpasswd"},
		{label: "nul", wire: "x%00.bin", name: "x\x00.bin"},
		{label: "dot-segment-inside", wire: "a/../../b", name: "a/../../b"},
		// A valid artifact name (up to 1024), but its default file name
		// (the last segment) is over 255: 422 unless file_name is given.
		{label: "long300", wire: long300, name: long300, artGet: 404, artPut: 422},
		{label: "long300-with-file-name", wire: long300, artGet: 404, literal: long300, query: "?file_name=long.bin"},
		{label: "long2000", wire: long2000, name: long2000},
	}
	segTargets := []struct {
		label, method, path, body string
	}{
		{"namespace-get", "GET", "/api/v1/namespaces/%s", ""},
		{"namespace-create-model", "POST", "/api/v1/namespaces/%s/models", `{"name":"planted"}`},
		{"model-get", "GET", ns + "/models/%s", ""},
		{"model-create-version", "POST", ns + "/models/%s/versions", `{"version":"planted"}`},
		{"version-get", "GET", model + "/versions/%s", ""},
		{"version-put-artifact", "PUT", model + "/versions/%s/artifacts/planted.bin", "planted"},
		{"version-create-experiment", "POST", model + "/versions/%s/experiments", `{"name":"planted"}`},
		{"experiment-get", "GET", v1 + "/experiments/%s", ""},
		{"experiment-put-artifact", "PUT", v1 + "/experiments/%s/artifacts/planted.bin", "planted"},
		{"tag-model", "PUT", model + "/tags/%s", ""},
		{"tag-version", "PUT", v1 + "/tags/%s", ""},
		{"tag-experiment", "PUT", e1 + "/tags/%s", ""},
	}
	literalBodies := map[string][]byte{} // artifact path → bytes, of the literal names accepted
	for _, p := range payloads {
		for _, tg := range segTargets {
			if p.query != "" {
				break // the same name as another payload: only the artifact PUT differs
			}
			req := hostileReq{method: tg.method, target: fmt.Sprintf(tg.path, p.wire), body: []byte(tg.body)}
			if strings.HasPrefix(tg.body, "{") {
				req.header = []string{"Content-Type: application/json"}
			}
			want := []int{400}
			switch {
			case p.segOK:
				want = []int{404}
			case strings.Contains(p.wire, "/"):
				want = []int{404} // a raw "/" moves the rest of the path: no route
			}
			add(hostileCase{name: "traversal/" + p.label + "/" + tg.label, req: req, want: want})
		}
		// The artifact name: the rest of the path after /artifacts/.
		for _, owner := range []struct{ label, path, literal string }{{"version", v1, literal}, {"experiment", e1, eLit}} {
			add(hostileCase{name: "traversal/" + p.label + "/artifact-name-" + owner.label + "-get",
				req: hostileReq{method: "GET", target: owner.path + "/artifacts/" + p.wire}, want: []int{cmp.Or(p.artGet, 400)}})
			if p.literal != "" {
				body := []byte("literal " + owner.label + " " + p.label)
				literalBodies[owner.literal+"/artifacts/"+p.wire] = body
				add(hostileCase{name: "traversal/" + p.label + "/artifact-name-" + owner.label + "-put-literal",
					req:    hostileReq{method: "PUT", target: owner.literal + "/artifacts/" + p.wire + p.query, body: body},
					accept: &hostileAccept{name: p.literal}})
				continue
			}
			add(hostileCase{name: "traversal/" + p.label + "/artifact-name-" + owner.label + "-put",
				req: hostileReq{method: "PUT", target: owner.path + "/artifacts/" + p.wire, body: []byte("planted")}, want: []int{cmp.Or(p.artPut, 400)}})
		}
		if p.query != "" {
			continue
		}
		add(hostileCase{name: "traversal/" + p.label + "/compat-download-id",
			req: hostileReq{method: "GET", target: "/download/model-version-artifact?artifact_id=" + p.wire}, want: []int{400}})
		if p.name == "" {
			continue
		}
		// Names in bodies: creation, renames, and the multipart uploads.
		jname, _ := json.Marshal(p.name)
		for _, tg := range []struct {
			label, method, path, body string
		}{
			{"create-namespace", "POST", "/api/v1/namespaces", `{"name":%s}`},
			{"rename-namespace", "PATCH", ns, `{"name":%s}`},
			{"create-model", "POST", ns + "/models", `{"name":%s}`},
			{"rename-model", "PATCH", model, `{"name":%s}`},
			{"create-version", "POST", model + "/versions", `{"version":%s}`},
			{"create-experiment", "POST", v1 + "/experiments", `{"name":%s}`},
			{"create-tag", "POST", ns + "/tags", `{"tag":%s,"color":"#ff0000"}`},
		} {
			want := []int{422} // a body name breaking the rules is a validation error
			add(hostileCase{name: "traversal/" + p.label + "/body-" + tg.label,
				req: hostileJSON(tg.method, tg.path, fmt.Sprintf(tg.body, jname)), want: want})
		}
		if p.label == "long300" {
			continue // a valid artifact name: the PUT above covers it
		}
		for _, tg := range []struct{ label, path, meta string }{
			{"multipart-version", v1 + "/artifacts", fmt.Sprintf(`{"name":%s}`, jname)},
			{"multipart-experiment", e1 + "/artifacts", fmt.Sprintf(`{"name":%s}`, jname)},
			{"multipart-file-name", v1 + "/artifacts", fmt.Sprintf(`{"name":"ok.bin","file_name":%s}`, jname)},
			{"compat-upload-version", "/upload/model-version-artifact", fmt.Sprintf(`{"model_version":%d,"artifact_name":%s,"format":"txt"}`, versionID, jname)},
			{"compat-upload-experiment", "/upload/experiment-artifact", fmt.Sprintf(`{"experiment":%d,"artifact_name":%s}`, experimentID, jname)},
		} {
			add(hostileCase{name: "traversal/" + p.label + "/" + tg.label,
				req: hostileMultipart(tg.path, mpArtifact(tg.meta), mpFile("file", "f.bin", []byte("planted")), mpClose), want: []int{422}})
		}
	}
	// The file part's own file name: multipart keeps only its base name,
	// which becomes the Content-Disposition of downloads.
	literalBodies[literal+"/artifacts/fn-traversal.bin"] = []byte("file name traversal")
	add(hostileCase{name: "traversal/multipart-part-filename-literal",
		req:    hostileMultipart(literal+"/artifacts", mpArtifact(`{"name":"fn-traversal.bin"}`), mpFile("file", `../../etc/passwd`, []byte("file name traversal")), mpClose),
		accept: &hostileAccept{name: "fn-traversal.bin", fileName: "passwd"}})
	add(hostileCase{name: "traversal/compat-upload-unknown-version",
		req:  hostileMultipart("/upload/model-version-artifact", mpArtifact(`{"model_version":999999,"artifact_name":"ok.bin"}`), mpFile("file", "f.bin", []byte("planted")), mpClose),
		want: []int{404}})
	// A raw control byte in the request line: net/http refuses the request
	// itself, before any handler.
	add(hostileCase{name: "traversal/raw-nul-byte-in-request-line", transport: true, want: []int{400},
		req: hostileReq{method: "GET", target: "/api/v1/namespaces/x\x00y"}})
	add(hostileCase{name: "query/page-size-overflow", req: hostileReq{method: "GET", target: "/api/v1/namespaces?size=99999999999999999999999"}, want: []int{400}})

	// Oversized headers and bodies.
	add(hostileCase{name: "size/header-100KiB", transport: true, want: []int{431},
		req: hostileReq{method: "GET", target: "/healthz", header: []string{"X-Big: " + strings.Repeat("a", 100<<10)}}})
	add(hostileCase{name: "size/json-body-over-limit", want: []int{413},
		req: hostileJSON("POST", "/api/v1/namespaces", `{"name":"big","description":"`+strings.Repeat("a", 1<<20)+`"}`)})
	add(hostileCase{name: "size/json-body-10MB-string", want: []int{413},
		req: hostileJSON("POST", "/api/v1/namespaces", `{"name":"`+strings.Repeat("a", 10<<20)+`"}`)})
	big := bytes.Repeat([]byte("x"), maxUpload+1)
	add(hostileCase{name: "size/put-over-limit-content-length", want: []int{413},
		req: hostileReq{method: "PUT", target: v1 + "/artifacts/big-cl.bin", body: big}})
	add(hostileCase{name: "size/put-over-limit-chunked", want: []int{413},
		req: hostileReq{method: "PUT", target: v1 + "/artifacts/big-chunked.bin", body: big, chunked: true}})
	bigger := bytes.Repeat([]byte("y"), maxUpload+200<<10)
	add(hostileCase{name: "size/multipart-over-limit-content-length", want: []int{413},
		req: hostileMultipart(v1+"/artifacts", mpArtifact(`{"name":"big-mp.bin"}`), mpFile("file", "f.bin", bigger), mpClose)})
	chunkedMP := hostileMultipart(v1+"/artifacts", mpArtifact(`{"name":"big-mp-chunked.bin"}`), mpFile("file", "f.bin", big), mpClose)
	chunkedMP.chunked = true
	add(hostileCase{name: "size/multipart-over-limit-chunked", want: []int{413}, req: chunkedMP})
	add(hostileCase{name: "size/compat-upload-over-limit", want: []int{413},
		req: hostileMultipart("/upload/model-version-artifact", mpArtifact(fmt.Sprintf(`{"model_version":%d,"artifact_name":"big-compat.bin"}`, versionID)), mpFile("file", "f.bin", bigger), mpClose)})

	// Malformed multipart, on the version's upload route.
	up := v1 + "/artifacts"
	meta := func(n string) mpPart { return mpArtifact(`{"name":"` + n + `"}`) }
	file := mpFile("file", "f.bin", []byte("multipart bytes"))
	noBoundary := hostileMultipart(up, meta("mp-no-boundary.bin"), file, mpClose)
	noBoundary.header = []string{"Content-Type: multipart/form-data"}
	wrongType := hostileMultipart(up, meta("mp-wrong-type.bin"), file, mpClose)
	wrongType.header = []string{"Content-Type: application/json"}
	mixed := hostileMultipart(up, meta("mp-mixed.bin"), file, mpClose)
	mixed.header = []string{"Content-Type: multipart/mixed; boundary=" + mpBoundary}
	hugePartHeader := meta("mp-part-header.bin")
	hugePartHeader.header += "X-Pad: " + strings.Repeat("p", 1<<20) + "\r\n"
	for _, c := range []hostileCase{
		{name: "multipart/missing-boundary", req: noBoundary, want: []int{415}},
		{name: "multipart/missing-file-part", req: hostileMultipart(up, meta("mp-no-file.bin"), mpClose), want: []int{400}},
		{name: "multipart/missing-artifact-part", req: hostileMultipart(up, file, mpClose), want: []int{400}},
		{name: "multipart/empty-body", req: hostileMultipart(up, mpClose), want: []int{400}},
		{name: "multipart/duplicate-file-parts", req: hostileMultipart(up, meta("mp-dup-file.bin"), file, mpFile("file", "g.bin", []byte("second file")), mpClose), want: []int{400}},
		{name: "multipart/duplicate-artifact-parts", req: hostileMultipart(up, meta("mp-dup-artifact-1.bin"), meta("mp-dup-artifact-2.bin"), file, mpClose), want: []int{400}},
		{name: "multipart/part-header-1MiB", req: hostileMultipart(up, hugePartHeader, file, mpClose), want: []int{400, 413, 431}},
		{name: "multipart/no-closing-boundary", req: hostileMultipart(up, meta("mp-unclosed.bin"), file), want: []int{400}},
		{name: "multipart/wrong-content-type-json", req: wrongType, want: []int{415}},
		{name: "multipart/wrong-content-type-mixed", req: mixed, want: []int{415}},
		{name: "multipart/metadata-not-json", req: hostileMultipart(up, mpArtifact(`name=x`), file, mpClose), want: []int{400}},
		{name: "multipart/metadata-unknown-field", req: hostileMultipart(up, mpArtifact(`{"name":"mp-unknown.bin","path":"/etc/passwd"}`), file, mpClose), want: []int{400}},
		{name: "multipart/metadata-duplicate-key", req: hostileMultipart(up, mpArtifact(`{"name":"mp-dup-key-1.bin","name":"mp-dup-key-2.bin"}`), file, mpClose), want: []int{400}},
		{name: "multipart/metadata-invalid-utf8-name", req: hostileMultipart(up, mpArtifact("{\"name\":\"mp-bad-\xff.bin\"}"), file, mpClose), want: []int{400, 422}},
		{name: "multipart/metadata-over-64KiB", req: hostileMultipart(up, mpArtifact(`{"name":"mp-big-meta.bin","file_name":"`+strings.Repeat("m", 70<<10)+`"}`), file, mpClose), want: []int{413}},
		{name: "multipart/compat-missing-model-version", req: hostileMultipart("/upload/model-version-artifact", mpArtifact(`{"artifact_name":"ok.bin"}`), file, mpClose), want: []int{400}},
	} {
		add(c)
	}

	// Content-Length lies.
	lieLong := hostileJSON("POST", "/api/v1/namespaces", `{"name":"cl-long"}`)
	lieLong.length, lieLong.closeWrite = "1000", true
	lieShort := hostileJSON("POST", "/api/v1/namespaces", `{"name":"cl-short"}`)
	lieShort.length = "5"
	putLong := hostileReq{method: "PUT", target: v1 + "/artifacts/cl-long.bin", body: []byte("ten bytes!"), length: "1000", closeWrite: true}
	shortBody := []byte("eleven byte")
	sum := sha256.Sum256(shortBody)
	putShort := hostileReq{method: "PUT", target: v1 + "/artifacts/cl-short.bin", body: shortBody, length: "5",
		header: []string{"Repr-Digest: sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"}}
	// The connection drops in the middle of the file part.
	mpLong := hostileMultipart(up, meta("cl-mp-long.bin"), file, mpClose)
	mpLong.length, mpLong.closeWrite = strconv.Itoa(len(mpLong.body)), true
	mpLong.body = mpLong.body[:bytes.Index(mpLong.body, []byte("multipart bytes"))+5]
	// Only the epilogue (after the closing delimiter) is missing: the file
	// part arrived whole, and is stored.
	epilogueBytes := []byte("complete before the epilogue")
	literalBodies[literal+"/artifacts/cl-mp-epilogue.bin"] = epilogueBytes
	mpEpilogue := hostileMultipart(literal+"/artifacts", mpArtifact(`{"name":"cl-mp-epilogue.bin"}`), mpFile("file", "f.bin", epilogueBytes), mpClose)
	mpEpilogue.length, mpEpilogue.closeWrite = strconv.Itoa(len(mpEpilogue.body)+500), true
	mpShort := hostileMultipart(up, meta("cl-mp-short.bin"), file, mpClose)
	mpShort.length = strconv.Itoa(len(mpShort.body) - 20)
	for _, c := range []hostileCase{
		{name: "content-length/json-declared-longer", req: lieLong, want: []int{400}},
		{name: "content-length/json-declared-shorter", req: lieShort, want: []int{400}},
		{name: "content-length/put-declared-longer", req: putLong, want: []int{400}},
		{name: "content-length/put-declared-shorter-with-digest", req: putShort, want: []int{400}},
		{name: "content-length/multipart-declared-longer", req: mpLong, want: []int{400}},
		{name: "content-length/multipart-declared-longer-epilogue-only", req: mpEpilogue, accept: &hostileAccept{name: "cl-mp-epilogue.bin"}},
		{name: "content-length/multipart-declared-shorter", req: mpShort, want: []int{400}},
	} {
		add(c)
	}

	// Declared digests that lie, or that the server does not verify.
	for _, c := range hostileDigestCases(v1, e1, versionID) {
		add(c)
	}

	// JSON bombs.
	const depth = 100_000
	nums := strings.Repeat("9", 500_000)
	for _, c := range []hostileCase{
		{name: "json/nested-arrays-100k", req: hostileJSON("POST", "/api/v1/namespaces", strings.Repeat("[", depth)+strings.Repeat("]", depth))},
		{name: "json/nested-objects-100k", req: hostileJSON("POST", "/api/v1/namespaces", strings.Repeat(`{"a":`, depth)+"1"+strings.Repeat("}", depth))},
		{name: "json/nested-in-field-100k", req: hostileJSON("POST", "/api/v1/namespaces", `{"name":"bomb","description":`+strings.Repeat("[", depth)+strings.Repeat("]", depth)+`}`)},
		{name: "json/nested-in-raw-params-100k", req: hostileJSON("POST", v1+"/experiments", `{"name":"bomb","params":`+strings.Repeat(`{"a":`, depth)+"1"+strings.Repeat("}", depth)+`}`)},
		{name: "json/huge-number-as-string-field", req: hostileJSON("POST", "/api/v1/namespaces", `{"name":"num","description":`+nums+`}`)},
		{name: "json/huge-number-as-int-field", req: hostileJSON("PUT", e1+"/state", `{"state":"running","duration_ms":`+nums+`}`)},
		{name: "json/huge-number-as-body", req: hostileJSON("POST", "/api/v1/namespaces", nums)},
		{name: "json/huge-exponent", req: hostileJSON("PUT", e1+"/state", `{"state":"running","duration_ms":1e999999999}`)},
		{name: "json/duplicate-keys", req: hostileJSON("POST", "/api/v1/namespaces", `{"name":"dup-first","name":"dup-second"}`)},
		{name: "json/duplicate-keys-other-case", req: hostileJSON("POST", "/api/v1/namespaces", `{"name":"dup-lower","NAME":"dup-upper"}`)},
		{name: "json/duplicate-keys-nested", req: hostileJSON("POST", v1+"/experiments", `{"name":"dup-params","params":{"a":1,"a":2}}`)},
		{name: "json/unknown-field-huge-name", req: hostileJSON("POST", "/api/v1/namespaces", `{"name":"x","`+strings.Repeat("u", 900<<10)+`":1}`)},
		{name: "json/duplicate-keys-huge-name", req: hostileJSON("POST", v1+"/experiments", `{"name":"dup-huge","params":{"`+strings.Repeat("d", 400<<10)+`":1,"`+strings.Repeat("d", 400<<10)+`":2}}`)},
		{name: "json/invalid-utf8-name", req: hostileJSON("POST", "/api/v1/namespaces", "{\"name\":\"bad-\xff\xfe\"}")},
		{name: "json/unknown-field", req: hostileJSON("POST", "/api/v1/namespaces", `{"name":"unknown-field","admin":true}`)},
		{name: "json/two-objects", req: hostileJSON("POST", "/api/v1/namespaces", `{"name":"first-object"}{"name":"second-object"}`)},
		{name: "json/not-an-object", req: hostileJSON("POST", "/api/v1/namespaces", `"just-a-string"`)},
		{name: "json/wrong-content-type", req: hostileReq{method: "POST", target: "/api/v1/namespaces", header: []string{"Content-Type: text/plain"}, body: []byte(`{"name":"text-plain"}`)}, want: []int{415}},
	} {
		if c.want == nil {
			c.want = []int{400}
		}
		add(c)
	}

	t.Run("cases", func(t *testing.T) {
		seen := map[string]bool{}
		for _, c := range cases {
			if seen[c.name] {
				t.Fatalf("duplicate case name %s", c.name)
			}
			seen[c.name] = true
			t.Run(c.name, func(t *testing.T) {
				res := h.do(c.req)
				if c.accept != nil {
					h.checkLiteral(t, c, res, literalBodies)
					return
				}
				checkRefusal(t, c, res)
			})
		}
		t.Run("slow-loris/headers-trickled", func(t *testing.T) { checkLoris(t, <-lorisTrickle) })
		t.Run("slow-loris/headers-never-sent", func(t *testing.T) { checkLoris(t, <-lorisSilent) })
	})

	t.Run("after/no-files-outside-data-folder", func(t *testing.T) {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			base := d.Name()
			if strings.Contains(base, "passwd") || strings.Contains(base, `\`) || strings.Contains(base, "..") || base == "x" || base == "etc" {
				t.Errorf("suspicious file name: %s", p)
			}
			if p == dir || p == sentinel || p == dataDir || strings.HasPrefix(p, dataDir+string(filepath.Separator)) {
				return nil
			}
			t.Errorf("file outside the data folder: %s", p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if entries, err := os.ReadDir(sentinel); err != nil || len(entries) != 0 {
			t.Errorf("sentinel folder: %v, %d entries", err, len(entries))
		}
		if after := hostileFileState("/etc/passwd"); after != passwdBefore {
			t.Errorf("/etc/passwd changed: %s → %s", passwdBefore, after)
		}
		for _, p := range hostileOutside(dir) {
			if _, err := os.Lstat(p); err == nil && !outsideBefore[p] {
				t.Errorf("%s appeared", p)
			}
		}
		// Inside the data folder: the database, the staging folders (empty)
		// and blobs at random keys, never a file named after a request.
		// Refused uploads leave no bytes: only the accepted literal names
		// have blobs.
		blobKey := regexp.MustCompile(`^blobs/objects/[0-9a-f]{2}/[0-9a-f]{32}$`)
		blobs := 0
		err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dataDir, p)
			rel = filepath.ToSlash(rel)
			switch {
			case blobKey.MatchString(rel):
				blobs++
			case rel == "flymodel.db", rel == "flymodel.db-wal", rel == "flymodel.db-shm", rel == "flymodel.db-journal":
			case strings.HasPrefix(rel, "blobs/.tmp/"), strings.HasPrefix(rel, "tmp/"):
				t.Errorf("staged upload left behind: %s", rel)
			default:
				t.Errorf("unexpected file in the data folder: %s", rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if blobs != len(literalBodies) {
			t.Errorf("%d blobs stored, want %d (one per accepted literal name); the extra ones belong to uploads that should have been refused", blobs, len(literalBodies))
		}
	})

	t.Run("after/database-unchanged", func(t *testing.T) {
		after := h.snapshot(t)
		for key, want := range before {
			if got := after[key]; !slices.Equal(got, want) {
				t.Errorf("%s: %q, want %q", key, got, want)
			}
		}
		for _, path := range []string{v1 + "/artifacts", e1 + "/artifacts"} {
			if names := h.names(t, path, "name"); len(names) != 0 {
				t.Errorf("%s: refused uploads were recorded (each name is the one a failing case above sent): %q", path, names)
			}
		}
		for _, owner := range []string{literal, eLit} {
			var want []string
			for p := range literalBodies {
				if rest, ok := strings.CutPrefix(p, owner+"/artifacts/"); ok {
					n, _ := url.PathUnescape(rest)
					want = append(want, n)
				}
			}
			slices.Sort(want)
			if got := h.names(t, owner+"/artifacts", "name"); !slices.Equal(got, want) {
				t.Errorf("%s: %q, want %q", owner, got, want)
			}
		}
		if v := h.mustJSON(t, "GET", v1, "", http.StatusOK); v["state"] != "test" || v["sealed"] != false {
			t.Errorf("version v1 changed: %v", v)
		}
		if e := h.mustJSON(t, "GET", e1, "", http.StatusOK); e["state"] != "created" {
			t.Errorf("experiment e1 changed: %v", e)
		}
	})

	t.Run("after/still-serving", func(t *testing.T) {
		s.get(t, "/healthz", http.StatusOK)
		s.get(t, "/readyz", http.StatusOK)
		content := []byte("a normal upload after the storm")
		res := h.do(hostileReq{method: "PUT", target: v1 + "/artifacts/dir/normal.txt?format=txt", body: content})
		if res.err != nil || res.status != http.StatusCreated {
			t.Fatalf("normal upload: %v status %d %s", res.err, res.status, res.body)
		}
		got := h.do(hostileReq{method: "GET", target: v1 + "/artifacts/dir/normal.txt"})
		if got.status != http.StatusOK || !bytes.Equal(got.body, content) {
			t.Fatalf("download: status %d body %q", got.status, got.body)
		}
	})

	t.Run("after/no-server-errors-logged", func(t *testing.T) {
		for line := range strings.SplitSeq(s.drainLogs(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "panic") {
				t.Errorf("server logged: %.500s", line)
			}
		}
	})
}

// hostileCase is one hostile request and what must come of it.
type hostileCase struct {
	name string
	req  hostileReq
	want []int // acceptable statuses, all 4xx
	// transport: net/http itself answers (before any handler runs), with
	// its plain-text error and no problem+json.
	transport bool
	// accept: not hostile after all, a valid literal name that must be
	// stored under exactly that name.
	accept *hostileAccept
}

type hostileAccept struct {
	name, fileName string
}

// hostileReq is an HTTP/1.1 request written byte by byte.
type hostileReq struct {
	method, target string
	header         []string // "Key: value"
	body           []byte
	length         string // Content-Length to declare; "" is len(body)
	chunked        bool   // send the body chunked, without Content-Length
	closeWrite     bool   // half-close after the body
	host           string // the Host header; "" is the server's address
}

func (r hostileReq) bytes(host string) []byte {
	if r.host != "" {
		host = r.host
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", r.method, r.target, host)
	for _, h := range r.header {
		b.WriteString(h + "\r\n")
	}
	switch {
	case r.chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		for rest := r.body; len(rest) > 0; {
			n := min(len(rest), 32<<10)
			fmt.Fprintf(&b, "%x\r\n", n)
			b.Write(rest[:n])
			b.WriteString("\r\n")
			rest = rest[n:]
		}
		b.WriteString("0\r\n\r\n")
		return b.Bytes()
	case r.length != "":
		fmt.Fprintf(&b, "Content-Length: %s\r\n\r\n", r.length)
	case len(r.body) > 0 || r.method == "POST" || r.method == "PUT" || r.method == "PATCH":
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(r.body))
	default:
		b.WriteString("\r\n")
	}
	b.Write(r.body)
	return b.Bytes()
}

func hostileJSON(method, target, body string) hostileReq {
	return hostileReq{method: method, target: target, header: []string{"Content-Type: application/json"}, body: []byte(body)}
}

// Multipart bodies, written by hand so that they can be wrong.
const mpBoundary = "hostile-boundary-7f3a"

type mpPart struct {
	header  string // header lines, each ending in CRLF
	content []byte
	close   bool // the closing delimiter instead of a part
}

var mpClose = mpPart{close: true}

func mpArtifact(meta string) mpPart {
	return mpPart{header: "Content-Disposition: form-data; name=\"artifact\"\r\nContent-Type: application/json\r\n", content: []byte(meta)}
}

func mpFile(field, fileName string, content []byte) mpPart {
	return mpPart{header: fmt.Sprintf("Content-Disposition: form-data; name=%q; filename=%q\r\nContent-Type: application/octet-stream\r\n", field, fileName), content: content}
}

func hostileMultipart(target string, parts ...mpPart) hostileReq {
	var b bytes.Buffer
	for _, p := range parts {
		if p.close {
			b.WriteString("--" + mpBoundary + "--\r\n")
			continue
		}
		b.WriteString("--" + mpBoundary + "\r\n" + p.header + "\r\n")
		b.Write(p.content)
		b.WriteString("\r\n")
	}
	return hostileReq{method: "POST", target: target, header: []string{"Content-Type: multipart/form-data; boundary=" + mpBoundary}, body: b.Bytes()}
}

// hostileResult is what came back on the connection.
type hostileResult struct {
	status int
	header http.Header
	body   []byte
	err    error // no HTTP response at all
}

// hostileClient sends raw requests, each carrying an admin token so that
// every route reads its input (an anonymous request to an admin route
// would be refused before its names are looked at).
type hostileClient struct{ addr, token string }

// do writes req on a new connection (concurrently with reading, so that a
// server that answers before reading the whole body is seen) and reads
// one response.
func (h *hostileClient) do(req hostileReq) hostileResult {
	conn, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		return hostileResult{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if h.token != "" {
		req.header = append([]string{"Authorization: Bearer " + h.token}, req.header...)
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		if _, err := conn.Write(req.bytes(h.addr)); err == nil && req.closeWrite {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	defer func() {
		conn.Close()
		<-written
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: req.method})
	if err != nil {
		return hostileResult{err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return hostileResult{status: resp.StatusCode, header: resp.Header, body: body}
}

// mustJSON sends a request with a JSON body (none when "") and decodes the
// JSON answer.
func (h *hostileClient) mustJSON(t *testing.T, method, target, body string, status int) map[string]any {
	t.Helper()
	req := hostileReq{method: method, target: target}
	if body != "" {
		req = hostileJSON(method, target, body)
	}
	res := h.do(req)
	if res.err != nil || res.status != status {
		t.Fatalf("%s %s: %v status %d, want %d: %s", method, target, res.err, res.status, status, res.body)
	}
	var v map[string]any
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatalf("%s %s: %v: %s", method, target, err, res.body)
	}
	return v
}

// names lists the field of every item of a list route.
func (h *hostileClient) names(t *testing.T, path, field string) []string {
	t.Helper()
	v := h.mustJSON(t, "GET", path+"?size=1000", "", http.StatusOK)
	var out []string
	for _, item := range v["data"].([]any) {
		out = append(out, fmt.Sprint(item.(map[string]any)[field]))
	}
	slices.Sort(out)
	return out
}

// snapshot lists everything in the database that a request could create.
func (h *hostileClient) snapshot(t *testing.T) map[string][]string {
	t.Helper()
	const (
		ns    = "/api/v1/namespaces/hostile"
		model = ns + "/models/m"
	)
	snap := map[string][]string{
		"namespaces":             h.names(t, "/api/v1/namespaces", "name"),
		"models":                 h.names(t, ns+"/models", "name"),
		"tags":                   h.names(t, ns+"/tags", "tag"),
		"buckets":                h.names(t, ns+"/buckets", "name"),
		"versions":               h.names(t, model+"/versions", "version"),
		"experiments v1":         h.names(t, model+"/versions/v1/experiments", "name"),
		"experiments v-literal":  h.names(t, model+"/versions/v-literal/experiments", "name"),
		"experiments e1 tags":    h.names(t, model+"/versions/v1/experiments/e1/tags", "tag"),
		"version v1 tags":        h.names(t, model+"/versions/v1/tags", "tag"),
		"version v1 history":     h.names(t, model+"/versions/v1/history", "to"),
		"version v1 experiments": h.names(t, model+"/versions/v1/experiments", "state"),
	}
	return snap
}

// checkRefusal checks a refused request's answer.
func checkRefusal(t *testing.T, c hostileCase, res hostileResult) {
	t.Helper()
	if res.err != nil {
		t.Fatalf("no HTTP answer: %v", res.err)
	}
	t.Logf("%d %s", res.status, hostileTrim(res.body))
	if res.status >= 500 {
		t.Errorf("server error %d: %s", res.status, hostileTrim(res.body))
	} else if !slices.Contains(c.want, res.status) {
		t.Errorf("status %d, want one of %v: %s", res.status, c.want, hostileTrim(res.body))
	}
	checkNoLeak(t, res.body)
	// The request URI comes back as the instance; nothing else of the
	// request may be echoed (a number literal, a string, a body).
	if limit := len(c.req.target) + 4<<10; len(res.body) > limit {
		t.Errorf("%d-byte answer to a %d-byte request target: the request is echoed: %s", len(res.body), len(c.req.target), hostileTrim(res.body))
	}
	if c.transport {
		// net/http's own answer: no handler ran, so no request id either.
		if res.header.Get("X-Request-Id") != "" {
			t.Errorf("a handler answered (X-Request-Id set): the problem+json check applies")
		}
		return
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p struct {
		Type, Title string
		Status      int
	}
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, hostileTrim(res.body))
	}
	if p.Status != res.status || !strings.HasPrefix(p.Type, "https://flymodel.dev/problems/") || p.Title == "" {
		t.Errorf("not a problem of this status: %s", hostileTrim(res.body))
	}
}

// checkNoLeak refuses bodies that show the server's insides: stacks, Go
// type names and error prefixes, file paths, SQL.
func checkNoLeak(t *testing.T, body []byte) {
	t.Helper()
	lower := strings.ToLower(string(body))
	for _, bad := range []string{
		"goroutine ", "runtime.", "runtime/", ".go:", "panic", // stacks
		"go struct", "go value", "of type ", "*registry.", "registry.", "httpapi.", "*json.", "*http.", "*url.", "*errors.", "%!", // Go types, fmt errors
		"json: ", "multipart: ", "http: ", "strconv.", "mime: ", "textproto", // Go error texts
		"/tmp/", "/work/", "/root/", "/usr/", "/home/", "flymodel-data", "flymodel.db", ".tmp/", // file paths
		"sqlite", "sql:", "select ", "insert ", "update ", "constraint", "syntax error", "no such", "database", // SQL
	} {
		if strings.Contains(lower, bad) {
			t.Errorf("body leaks %q: %s", bad, hostileTrim(body))
		}
	}
}

// checkLiteral checks a name that looks hostile but is valid: it is stored
// under exactly the once-decoded name, and downloads back.
func (h *hostileClient) checkLiteral(t *testing.T, c hostileCase, res hostileResult, bodies map[string][]byte) {
	t.Helper()
	if res.err != nil {
		t.Fatalf("no HTTP answer: %v", res.err)
	}
	t.Logf("%d %s", res.status, hostileTrim(res.body))
	if res.status != http.StatusCreated {
		t.Fatalf("status %d, want 201 (a valid literal name): %s", res.status, hostileTrim(res.body))
	}
	var a struct{ Name, FileName string }
	if err := json.Unmarshal(res.body, &struct {
		Name     *string `json:"name"`
		FileName *string `json:"file_name"`
	}{&a.Name, &a.FileName}); err != nil {
		t.Fatal(err)
	}
	if a.Name != c.accept.name {
		t.Errorf("stored as %q, want the literal %q", a.Name, c.accept.name)
	}
	if c.accept.fileName != "" && a.FileName != c.accept.fileName {
		t.Errorf("file name %q, want %q", a.FileName, c.accept.fileName)
	}
	target, _, _ := strings.Cut(c.req.target, "?")
	target = strings.TrimSuffix(target, "/artifacts")
	if c.req.method == "POST" {
		target += "/artifacts/" + c.accept.name
	}
	got := h.do(hostileReq{method: "GET", target: target})
	if got.status != http.StatusOK || !bytes.Equal(got.body, bodies[target]) {
		t.Errorf("GET %s: status %d, body %q, want %q", target, got.status, hostileTrim(got.body), bodies[target])
	}
	if cd := got.header.Get("Content-Disposition"); strings.ContainsAny(strings.TrimPrefix(cd, "attachment;"), `/\`) {
		t.Errorf("Content-Disposition carries a path: %s", cd)
	}
}

// lorisResult is how a connection that never finishes its headers ended.
type lorisResult struct {
	elapsed time.Duration
	reply   []byte
	err     error // the read error that ended it; a timeout means still open
}

// slowLoris opens a connection and sends the start of a request, then
// (trickle) one more header line a second, never the blank line. It
// reports when the server closed the connection, giving up at 14 s.
func (h *hostileClient) slowLoris(trickle bool) <-chan lorisResult {
	out := make(chan lorisResult, 1)
	go func() {
		start := time.Now()
		conn, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
		if err != nil {
			out <- lorisResult{err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(start.Add(14 * time.Second))
		if trickle {
			_, _ = fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n", h.addr)
		}
		stop := make(chan struct{})
		if trickle {
			go func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(time.Second):
					}
					if _, err := fmt.Fprintf(conn, "X-Slow-%d: y\r\n", i); err != nil {
						return
					}
				}
			}()
		}
		reply, err := io.ReadAll(conn)
		close(stop)
		if err == nil {
			err = io.EOF
		}
		out <- lorisResult{elapsed: time.Since(start), reply: reply, err: err}
	}()
	return out
}

func checkLoris(t *testing.T, r lorisResult) {
	t.Helper()
	t.Logf("closed after %s with %v, reply %q", r.elapsed.Round(100*time.Millisecond), r.err, hostileTrim(r.reply))
	if ne, ok := r.err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %s without complete headers", r.elapsed.Round(time.Second))
	}
	if r.elapsed > 12*time.Second {
		t.Errorf("closed only after %s, want about the 10 s read-header timeout", r.elapsed)
	}
	if len(r.reply) > 0 {
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(r.reply)), nil)
		if err != nil || resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("reply is not a 4xx: %q", hostileTrim(r.reply))
		}
		checkNoLeak(t, r.reply)
	}
}

// hostileOutside lists where the traversal payloads would land if a name
// reached the filesystem: relative to the data folder, its blob root and
// the server's working folder, and absolute.
func hostileOutside(dir string) []string {
	var out []string
	for _, base := range []string{"/", "/etc", filepath.Dir(dir), dir, filepath.Join(dir, "flymodel-data"), filepath.Join(dir, "flymodel-data", "blobs")} {
		for _, name := range []string{"x", "b", "passwd", "etc/passwd", "planted.bin", `..\..\x`} {
			if p := filepath.Join(base, name); p != "/etc/passwd" {
				out = append(out, p)
			}
		}
	}
	return out
}

// hostileFileState identifies a file's content and metadata.
func hostileFileState(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	b, _ := os.ReadFile(path)
	return fmt.Sprintf("size %d mode %v mtime %s sha256 %x", st.Size(), st.Mode(), st.ModTime(), sha256.Sum256(b))
}

func hostileTrim(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + fmt.Sprintf("…(%d bytes)", len(b))
	}
	return string(b)
}

// ---- Issue 13, the HTTP edge (wt-edge): a laptop server a browser can
// be turned against, and the smaller edge cases. Kept apart from the
// cases above: this server has no token (anonymous write, the laptop
// default), allowed origins and hosts.

// TestHostileEdge sends, over raw TCP to a live `flymodel serve` on its
// laptop defaults (loopback bind, no token: anonymous requests write),
// what a web page can make a browser send (cross-site form posts, DNS
// rebinding) and the edge cases of issue 13: page overflow, names that
// decode to something else, over-long multipart boundaries, a half-close
// after a complete body, a Range outside the bytes, Content-Length with
// Transfer-Encoding, bidirectional overrides in file names, drive
// letters. Each refusal is a 4xx problem that leaves nothing behind.
func TestHostileEdge(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, []string{"FLYMODEL_SERVER_ALLOWED_ORIGINS=https://ui.test", "FLYMODEL_SERVER_ALLOWED_HOSTS=registry.test"}, "-p", "0")
	h := &hostileClient{addr: s.addr} // anonymous
	_, port, _ := net.SplitHostPort(s.addr)
	const (
		ns   = "/api/v1/namespaces/edge"
		v1   = ns + "/models/m/versions/v1"
		e1   = v1 + "/experiments/e1"
		evil = "https://evil.example"
	)
	h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"edge"}`, http.StatusCreated)
	h.mustJSON(t, "POST", ns+"/models", `{"name":"m"}`, http.StatusCreated)
	version := h.mustJSON(t, "POST", ns+"/models/m/versions", `{"version":"v1"}`, http.StatusCreated)
	h.mustJSON(t, "POST", v1+"/experiments", `{"name":"e1"}`, http.StatusCreated)
	small := []byte("0123456789")
	if res := h.do(hostileReq{method: "PUT", target: v1 + "/artifacts/small.bin", body: small}); res.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
	versionID := int64(version["id"].(float64))

	with := func(req hostileReq, header ...string) hostileReq {
		req.header = append(slices.Clone(req.header), header...)
		return req
	}
	crossSite := []string{"Origin: " + evil, "Sec-Fetch-Site: cross-site"}
	oldBrowser := []string{"Origin: " + evil}
	mpMeta := func(meta string) mpPart { return mpArtifact(meta) }
	file := mpFile("file", "f.bin", []byte("edge bytes"))
	longBoundary := func(target string, n int, parts ...mpPart) hostileReq {
		req := hostileMultipart(target, parts...)
		boundary := strings.Repeat("b", n)
		req.body = bytes.ReplaceAll(req.body, []byte(mpBoundary), []byte(boundary))
		req.header = []string{"Content-Type: multipart/form-data; boundary=" + boundary}
		return req
	}
	smuggle := hostileJSON("POST", "/api/v1/namespaces", `{"name":"smuggled"}`)
	smuggle.chunked = true
	smuggle.header = append(smuggle.header, "Content-Length: 5")
	smugglePut := hostileReq{method: "PUT", target: v1 + "/artifacts/smuggled.bin", body: []byte("smuggled bytes"), chunked: true, header: []string{"Content-Length: 3"}}

	type edgeCase struct {
		name string
		req  hostileReq
		want int    // the status
		slug string // for refusals: the problem type
		// detail: a text the refusal's detail holds (the rule it names).
		detail string
	}
	var cases []edgeCase
	refuse := func(name string, req hostileReq, want int, slug, detail string) {
		cases = append(cases, edgeCase{name, req, want, slug, detail})
	}
	accept := func(name string, req hostileReq, want int) {
		cases = append(cases, edgeCase{name: name, req: req, want: want})
	}

	// Item 1: cross-site requests, on every kind of state-changing route.
	for _, tg := range []struct {
		label string
		req   hostileReq
	}{
		{"create-namespace", hostileJSON("POST", "/api/v1/namespaces", `{"name":"cross-site"}`)},
		{"create-version", hostileJSON("POST", ns+"/models/m/versions", `{"version":"cross-site"}`)},
		{"move-state", hostileJSON("PUT", v1+"/state", `{"state":"qa"}`)},
		{"multipart-upload", hostileMultipart(v1+"/artifacts", mpMeta(`{"name":"cross-site.bin"}`), file, mpClose)},
		{"put-upload", hostileReq{method: "PUT", target: v1 + "/artifacts/cross-site.bin", body: []byte("x")}},
		{"compat-upload", hostileMultipart("/upload/model-version-artifact", mpMeta(fmt.Sprintf(`{"model_version":%d,"artifact_name":"cross-site.bin"}`, versionID)), file, mpClose)},
		{"graphql", hostileJSON("POST", "/graphql", `{"query":"mutation { createNamespace(name: \"cross-site\") { id } }"}`)},
		{"delete", hostileReq{method: "DELETE", target: v1}},
	} {
		refuse("cross-site/"+tg.label, with(tg.req, crossSite...), 403, "cross-origin-request", "another origin")
		refuse("cross-site/"+tg.label+"-old-browser", with(tg.req, oldBrowser...), 403, "cross-origin-request", "another origin")
	}
	refuse("cross-site/same-site-other-port", with(hostileJSON("POST", "/api/v1/namespaces", `{"name":"same-site"}`), "Origin: http://localhost:3000", "Sec-Fetch-Site: same-site"), 403, "cross-origin-request", "")
	refuse("cross-site/no-origin-cross-site", with(hostileJSON("POST", "/api/v1/namespaces", `{"name":"no-origin"}`), "Sec-Fetch-Site: cross-site"), 403, "cross-origin-request", "")
	refuse("cross-site/null-origin", with(hostileJSON("POST", "/api/v1/namespaces", `{"name":"null-origin"}`), "Origin: null"), 403, "cross-origin-request", "")
	refuse("cross-site/other-scheme", with(hostileJSON("POST", "/api/v1/namespaces", `{"name":"other-scheme"}`), "Origin: https://"+s.addr), 403, "cross-origin-request", "")
	// A bearer token is not a browser's cross-site request: the token is
	// judged (here: unknown, 401), not the origin.
	refuse("cross-site/with-bearer-token", with(hostileJSON("POST", "/api/v1/namespaces", `{"name":"bearer"}`), append(crossSite, "Authorization: Bearer fm_not-a-token")...), 401, "unauthorized", "")
	accept("cross-site/get-is-not-refused", with(hostileReq{method: "GET", target: ns}, crossSite...), 200)
	accept("cross-site/same-origin", with(hostileJSON("POST", "/api/v1/namespaces", `{"name":"same-origin"}`), "Origin: http://"+s.addr, "Sec-Fetch-Site: same-origin"), 201)
	accept("cross-site/same-origin-old-browser", with(hostileJSON("POST", "/api/v1/namespaces", `{"name":"same-origin-old"}`), "Origin: http://"+s.addr), 201)
	accept("cross-site/allowed-origin", with(hostileJSON("POST", "/api/v1/namespaces", `{"name":"allowed-origin"}`), "Origin: https://ui.test", "Sec-Fetch-Site: cross-site"), 201)
	accept("cross-site/cli-no-origin", hostileJSON("POST", "/api/v1/namespaces", `{"name":"cli"}`), 201)

	// Item 2: DNS rebinding.
	rebind := "rebind.evil.example:" + port
	for _, tg := range []hostileReq{
		{method: "GET", target: "/api/v1/namespaces"},
		{method: "GET", target: v1 + "/artifacts/small.bin"},
		{method: "GET", target: "/metrics"},
		hostileJSON("POST", "/api/v1/namespaces", `{"name":"rebound"}`),
		hostileMultipart(v1+"/artifacts", mpMeta(`{"name":"rebound.bin"}`), file, mpClose),
	} {
		tg.host = rebind
		refuse("rebinding/"+strings.ToLower(tg.method)+strings.ReplaceAll(tg.target, "/", "_"), tg, 421, "misdirected-request", "allowed_hosts")
	}
	refuse("rebinding/lan-address", hostileReq{method: "GET", target: "/api/v1/namespaces", host: "192.168.1.20:" + port}, 421, "misdirected-request", "")
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "localhost", "registry.test:" + port, "registry.test"} {
		accept("rebinding/loopback-or-allowed/"+host, hostileReq{method: "GET", target: "/api/v1/namespaces", host: host}, 200)
	}
	accept("rebinding/probe-any-host", hostileReq{method: "GET", target: "/healthz", host: rebind}, 200)

	// Item 8: page overflow.
	for _, target := range []string{"/api/v1/namespaces", ns + "/models/m/versions", v1 + "/artifacts", v1 + "/experiments"} {
		refuse("page/overflow"+strings.ReplaceAll(target, "/", "_"), hostileReq{method: "GET", target: target + "?page=9223372036854775807&size=2"}, 422, "validation", "1000000000")
	}
	refuse("page/just-past-max", hostileReq{method: "GET", target: "/api/v1/namespaces?page=1000000001"}, 422, "validation", "page")
	accept("page/max-is-empty", hostileReq{method: "GET", target: "/api/v1/namespaces?page=1000000000&size=1000"}, 200)

	// Item 12 (and 17): names that decode to something else, drive
	// letters, bidirectional overrides. (Tags need admin, which anonymous
	// requests lack: internal/registry's TestLegacyReservedNames has them.)
	for _, name := range []string{"a?x=..", "a#b", "%2e%2e%2fetc%2fpasswd", "100%"} {
		jn, _ := json.Marshal(name)
		for _, tg := range []struct{ label, method, path, body string }{
			{"namespace", "POST", "/api/v1/namespaces", `{"name":%s}`},
			{"model", "POST", ns + "/models", `{"name":%s}`},
			{"rename-model", "PATCH", ns + "/models/m", `{"name":%s}`},
			{"version", "POST", ns + "/models/m/versions", `{"version":%s}`},
			{"experiment", "POST", v1 + "/experiments", `{"name":%s}`},
			{"multipart-artifact", "", v1 + "/artifacts", `{"name":%s}`},
			{"multipart-experiment-artifact", "", e1 + "/artifacts", `{"name":%s}`},
			{"compat-artifact", "", "/upload/model-version-artifact", fmt.Sprintf(`{"model_version":%d,"artifact_name":%%s}`, versionID)},
		} {
			req := hostileJSON(tg.method, tg.path, fmt.Sprintf(tg.body, jn))
			if tg.method == "" {
				req = hostileMultipart(tg.path, mpMeta(fmt.Sprintf(tg.body, jn)), file, mpClose)
			}
			refuse("names/"+url.PathEscape(name)+"/"+tg.label, req, 422, "validation", "'?', '#' or '%'")
		}
		refuse("names/"+url.PathEscape(name)+"/put-artifact", hostileReq{method: "PUT", target: v1 + "/artifacts/" + url.PathEscape(name), body: []byte("x")}, 400, "invalid-name", "'?', '#' or '%'")
		// Looked up by such a name, a resource simply is not there.
		refuse("names/"+url.PathEscape(name)+"/get-namespace", hostileReq{method: "GET", target: "/api/v1/namespaces/" + url.PathEscape(name)}, 404, "not-found", "")
	}
	// A namespace "*" would read as a token's every namespace (["*"]).
	refuse("names/star/namespace", hostileJSON("POST", "/api/v1/namespaces", `{"name":"*"}`), 422, "validation", "every namespace")
	refuse("names/star/model", hostileJSON("POST", ns+"/models", `{"name":"*"}`), 422, "validation", "every namespace")
	refuse("names/artifact-hash-traversal", hostileMultipart(v1+"/artifacts", mpMeta(`{"name":"a#../b"}`), file, mpClose), 422, "validation", "'?', '#' or '%'")
	for _, name := range []string{"C:x", "c:/windows/x", "Z:"} {
		refuse("names/drive-letter/"+name+"/multipart", hostileMultipart(v1+"/artifacts", mpMeta(`{"name":"`+name+`"}`), file, mpClose), 422, "validation", "drive letter")
		refuse("names/drive-letter/"+name+"/put", hostileReq{method: "PUT", target: v1 + "/artifacts/" + name, body: []byte("x")}, 400, "invalid-name", "drive letter")
	}
	accept("names/drive-letter-not-first", hostileReq{method: "PUT", target: v1 + "/artifacts/dir/C:x", body: []byte("x")}, 201)
	for _, fn := range []string{"evil\u202etxt.exe", "a\u2066b", "\u202ax"} {
		jn, _ := json.Marshal(fn)
		refuse("names/bidi-file-name/"+url.PathEscape(fn)+"/multipart-metadata", hostileMultipart(v1+"/artifacts", mpMeta(`{"name":"bidi.bin","file_name":`+string(jn)+`}`), file, mpClose), 422, "validation", "bidirectional")
		part := mpPart{header: "Content-Disposition: form-data; name=\"file\"; filename=\"" + fn + "\"\r\n", content: []byte("x")}
		refuse("names/bidi-file-name/"+url.PathEscape(fn)+"/multipart-part", hostileMultipart(v1+"/artifacts", mpMeta(`{"name":"bidi.bin"}`), part, mpClose), 422, "validation", "bidirectional")
		refuse("names/bidi-file-name/"+url.PathEscape(fn)+"/put", hostileReq{method: "PUT", target: v1 + "/artifacts/bidi.bin?file_name=" + url.QueryEscape(fn), body: []byte("x")}, 422, "validation", "bidirectional")
	}

	// Item 13: multipart boundaries beyond RFC 2046's 70 characters.
	for _, n := range []int{71, 200, 5000} {
		for _, tg := range []struct{ label, target, meta string }{
			{"version", v1 + "/artifacts", `{"name":"boundary.bin"}`},
			{"experiment", e1 + "/artifacts", `{"name":"boundary.bin"}`},
			{"compat", "/upload/model-version-artifact", fmt.Sprintf(`{"model_version":%d,"artifact_name":"boundary.bin"}`, versionID)},
		} {
			refuse(fmt.Sprintf("multipart/boundary-%d/%s", n, tg.label), longBoundary(tg.target, n, mpMeta(tg.meta), file, mpClose), 400, "malformed-multipart", "RFC 2046")
		}
	}
	accept("multipart/boundary-70", longBoundary(v1+"/artifacts", 70, mpMeta(`{"name":"boundary-70.bin"}`), file, mpClose), 201)

	// Item 17: a half-close after the whole body; 416; Content-Length with
	// Transfer-Encoding.
	halfPut := hostileReq{method: "PUT", target: v1 + "/artifacts/half-closed.bin", body: []byte("the whole body"), closeWrite: true}
	accept("half-close/put", halfPut, 201)
	halfJSON := hostileJSON("POST", "/api/v1/namespaces", `{"name":"half-closed"}`)
	halfJSON.closeWrite = true
	accept("half-close/json", halfJSON, 201)
	halfMP := hostileMultipart(v1+"/artifacts", mpMeta(`{"name":"half-closed-mp.bin"}`), file, mpClose)
	halfMP.closeWrite = true
	accept("half-close/multipart", halfMP, 201)
	halfFileFirst := hostileMultipart(e1+"/artifacts", file, mpMeta(`{"name":"half-closed-staged.bin"}`), mpClose)
	halfFileFirst.closeWrite = true
	accept("half-close/multipart-file-first", halfFileFirst, 201)
	refuse("range/outside", hostileReq{method: "GET", target: v1 + "/artifacts/small.bin", header: []string{"Range: bytes=100-200"}}, 416, "range-not-satisfiable", "10 bytes")
	refuse("range/outside-compat", hostileReq{method: "GET", target: "/download/model-version-artifact?artifact_id=1", header: []string{"Range: bytes=50-"}}, 416, "range-not-satisfiable", "")
	accept("range/inside", hostileReq{method: "GET", target: v1 + "/artifacts/small.bin", header: []string{"Range: bytes=2-4"}}, 206)
	refuse("framing/content-length-and-chunked", smuggle, 400, "malformed-request", "Content-Length and Transfer-Encoding")
	refuse("framing/content-length-and-chunked-upload", smugglePut, 400, "malformed-request", "Content-Length and Transfer-Encoding")

	t.Run("cases", func(t *testing.T) {
		seen := map[string]bool{}
		for _, c := range cases {
			if seen[c.name] {
				t.Fatalf("duplicate case name %s", c.name)
			}
			seen[c.name] = true
			t.Run(c.name, func(t *testing.T) {
				res := h.do(c.req)
				if c.slug == "" {
					if res.err != nil || res.status != c.want {
						t.Fatalf("%v status %d, want %d: %s", res.err, res.status, c.want, hostileTrim(res.body))
					}
					return
				}
				checkRefusal(t, hostileCase{name: c.name, req: c.req, want: []int{c.want}}, res)
				var p struct{ Type, Detail string }
				_ = json.Unmarshal(res.body, &p)
				if p.Type != "https://flymodel.dev/problems/"+c.slug {
					t.Errorf("type %s, want %s", p.Type, c.slug)
				}
				if !strings.Contains(p.Detail, c.detail) {
					t.Errorf("detail %q does not name the rule (%q)", p.Detail, c.detail)
				}
			})
		}
	})

	t.Run("after/only-accepted-changes", func(t *testing.T) {
		want := []string{"allowed-origin", "cli", "edge", "half-closed", "same-origin", "same-origin-old"}
		if got := h.names(t, "/api/v1/namespaces", "name"); !slices.Equal(got, want) {
			t.Errorf("namespaces %q, want %q", got, want)
		}
		if got := h.names(t, ns+"/models", "name"); !slices.Equal(got, []string{"m"}) {
			t.Errorf("models %q", got)
		}
		if got := h.names(t, ns+"/models/m/versions", "version"); !slices.Equal(got, []string{"v1"}) {
			t.Errorf("versions %q", got)
		}
		if got := h.names(t, v1+"/artifacts", "name"); !slices.Equal(got, []string{"boundary-70.bin", "dir/C:x", "half-closed-mp.bin", "half-closed.bin", "small.bin"}) {
			t.Errorf("version artifacts %q", got)
		}
		if got := h.names(t, e1+"/artifacts", "name"); !slices.Equal(got, []string{"half-closed-staged.bin"}) {
			t.Errorf("experiment artifacts %q", got)
		}
		if v := h.mustJSON(t, "GET", v1, "", http.StatusOK); v["state"] != "test" {
			t.Errorf("version moved: %v", v["state"])
		}
		if got := h.do(hostileReq{method: "GET", target: v1 + "/artifacts/half-closed.bin"}); got.status != http.StatusOK || string(got.body) != "the whole body" {
			t.Errorf("half-closed upload: %d %q", got.status, got.body)
		}
	})

	t.Run("after/no-server-errors-logged", func(t *testing.T) {
		for line := range strings.SplitSeq(s.drainLogs(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "panic") {
				t.Errorf("server logged: %.500s", line)
			}
		}
	})
}
