package httpapi_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/blobtest"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// The storage side of issue 13: bytes really freed on versioned buckets
// (every delete removes the version written), reads of the version
// recorded, de-duplication without races, timeouts towards S3, and every
// declared digest checked.

// storedVersions lists everything the store holds under objects/: on S3
// every version and delete marker (what the bucket bills), on the
// filesystem every file.
func (a *artifactAPI) storedVersions() (n int, bytes int64) {
	a.t.Helper()
	ctx := context.Background()
	if vs, ok := blob.VersionsOf(a.blobs); ok {
		err := vs.ListVersions(ctx, "objects/", func(v blob.Version) error {
			n, bytes = n+1, bytes+v.Size
			return nil
		})
		if err != nil {
			a.t.Fatal(err)
		}
		return n, bytes
	}
	err := a.blobs.List(ctx, "objects/", func(i blob.Info) error {
		n, bytes = n+1, bytes+i.Size
		return nil
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return n, bytes
}

// TestRefusedUploadsLeaveNoBytes: uploads refused after their bytes were
// stored (a digest that does not match) leave the store as it was — on a
// versioned bucket too, where a plain delete would have kept every refused
// upload as a noncurrent version.
func TestRefusedUploadsLeaveNoBytes(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		a.put(vbase+"/artifacts/kept.bin", []byte("kept"), nil, 201)
		n, size := a.storedVersions()
		big := blobtest.PatternBytes(13, 10<<20)
		wrong := strings.Repeat("0", 64)
		for i := range 3 {
			a.problem(a.put(fmt.Sprintf("%s/artifacts/refused-%d.bin", vbase, i), big, map[string]string{"Digest": "sha256=" + wrong}, 400), 400, "digest-mismatch")
		}
		md5sum := md5.Sum([]byte("other bytes"))
		a.problem(a.put(vbase+"/artifacts/refused-md5.bin", big, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(md5sum[:])}, 400), 400, "digest-mismatch")
		if n2, size2 := a.storedVersions(); n2 != n || size2 != size {
			t.Fatalf("after 4 refused 10 MiB uploads the store holds %d objects (versions) of %d bytes, want %d of %d", n2, size2, n, size)
		}
		a.leftovers(1)
	})
}

// TestDeletedBytesAreFreed: garbage collection of a blob no artifact
// references (after a hard delete) removes its bytes, and the copy a
// de-duplicated upload made is removed at once: on S3 no noncurrent
// version or delete marker is left.
func TestDeletedBytesAreFreed(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": "v2"}, 201)
		v2 := base + "/namespaces/canada/models/llm.sm/versions/v2"
		content := blobtest.PatternBytes(14, 3<<20)
		a.put(vbase+"/artifacts/a.bin", content, nil, 201)
		a.put(v2+"/artifacts/same.bin", content, nil, 201) // de-duplicated
		if n, size := a.storedVersions(); n != 1 || size != int64(len(content)) {
			t.Fatalf("after two uploads of the same bytes: %d objects (versions) of %d bytes, want 1 of %d", n, size, len(content))
		}
		a.do("DELETE", vbase+"?hard=true", nil, 204)
		a.do("DELETE", v2+"?hard=true", nil, 204)
		rep, err := a.reg.GC(context.Background(), registry.GCOptions{})
		if err != nil || len(rep.Blobs) != 1 {
			t.Fatalf("gc = %+v, %v; want the one blob", rep, err)
		}
		if n, size := a.storedVersions(); n != 0 || size != 0 {
			t.Fatalf("after gc: %d objects (versions) of %d bytes left, want none", n, size)
		}
	})
}

// TestOverwrittenObjectsServeTheOriginal: an object overwritten in its
// bucket behind the server's back (another client with write access) does
// not change what the server serves — a download, a range, a HEAD, a
// redirect to the bucket all read the version recorded —, and verify finds
// nothing wrong. The filesystem keeps no versions: there an overwrite is an
// alteration (TestArtifactIntegrity).
func TestOverwrittenObjectsServeTheOriginal(t *testing.T) {
	artifactEngines(t, artifactSetup{presignTTL: time.Minute}, func(t *testing.T, a *artifactAPI) {
		if a.fsRoot != "" {
			t.Skip("the filesystem store keeps no versions")
		}
		a.seed()
		content := blobtest.PatternBytes(15, 2<<20)
		a.put(vbase+"/artifacts/model.bin", content, nil, 201)
		key, _ := a.storeArtifact("model.bin")
		intruder := blobtest.PatternBytes(16, 1<<20)
		if _, err := a.blobs.Put(context.Background(), key, bytes.NewReader(intruder)); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.h)
		defer srv.Close()
		res, err := a.send("GET", srv.URL+vbase+"/artifacts/model.bin", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("download after an overwrite: %d bytes, %v; want the original %d", len(got), err, len(content))
		}
		req, _ := http.NewRequest("GET", srv.URL+vbase+"/artifacts/model.bin", nil)
		a.sign(req)
		req.Header.Set("Range", "bytes=1048576-1049599")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 206 || !bytes.Equal(got, content[1<<20:1<<20+1024]) {
			t.Fatalf("range after an overwrite: %d, %d bytes that are not the original's", res.StatusCode, len(got))
		}
		head := a.request("HEAD", vbase+"/artifacts/model.bin", "", "")
		if head.status != 200 || head.header.Get("Content-Length") != fmt.Sprint(len(content)) {
			t.Fatalf("HEAD after an overwrite: %d %v", head.status, head.header)
		}
		redirect := a.request("GET", vbase+"/artifacts/model.bin?redirect=true", "", "")
		if redirect.status != http.StatusTemporaryRedirect {
			t.Fatalf("redirect: %d %s", redirect.status, redirect.body)
		}
		if status, _, body := fetch(t, redirect.header.Get("Location")); status != 200 || !bytes.Equal(body, content) {
			t.Fatalf("presigned download after an overwrite: %d, %d bytes; want the original %d", status, len(body), len(content))
		}
		rep, err := a.reg.Verify(context.Background(), "canada", nil)
		if err != nil || rep.Checked != 1 || len(rep.Problems) != 0 {
			t.Fatalf("verify after an overwrite = %+v, %v", rep, err)
		}
	})
}

// TestConcurrentIdenticalUploads: rounds of four uploads of the same bytes
// into four versions at once record one blob and keep one object per
// round (de-duplication is atomic: PutBlob), and the losers' objects are
// removed with their versions.
func TestConcurrentIdenticalUploads(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		versions := []string{vbase}
		for _, v := range []string{"v2", "v3", "v4"} {
			a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": v}, 201)
			versions = append(versions, base+"/namespaces/canada/models/llm.sm/versions/"+v)
		}
		a.skipAudit()
		const rounds = 10
		for round := range rounds {
			content := blobtest.PatternBytes(uint64(100+round), 64<<10+int64(round))
			name := fmt.Sprintf("round-%d.bin", round)
			start := make(chan struct{})
			statuses := make([]int, len(versions))
			var wg sync.WaitGroup
			for i, v := range versions {
				wg.Go(func() {
					req := httptest.NewRequest("PUT", v+"/artifacts/"+name, bytes.NewReader(content))
					a.sign(req)
					rec := httptest.NewRecorder()
					<-start
					a.h.ServeHTTP(rec, req)
					statuses[i] = rec.Code
				})
			}
			close(start)
			wg.Wait()
			for i, st := range statuses {
				if st != 201 {
					t.Fatalf("round %d: upload into %s: %d", round, versions[i], st)
				}
			}
			blobs := map[int64]bool{}
			for _, v := range []string{"v1", "v2", "v3", "v4"} {
				row, err := a.store.GetVersionByPath(context.Background(), db.GetVersionByPathParams{Namespace: "canada", Model: "llm.sm", Version: v})
				if err != nil {
					t.Fatal(err)
				}
				art, err := a.store.GetArtifactWithBlob(context.Background(), db.GetArtifactWithBlobParams{VersionID: row.ID, Name: name})
				if err != nil {
					t.Fatal(err)
				}
				blobs[art.BlobID] = true
			}
			if len(blobs) != 1 {
				t.Fatalf("round %d: the same bytes in 4 versions have %d blob rows, want 1", round, len(blobs))
			}
			if n, _ := a.storedVersions(); n != round+1 {
				t.Fatalf("round %d: the store holds %d objects (versions, delete markers), want %d", round, n, round+1)
			}
		}
		a.skipAudit()
		a.leftovers(rounds)
		rep, err := a.reg.GC(context.Background(), registry.GCOptions{Dry: true})
		if err != nil || len(rep.Blobs)+len(rep.Orphans) != 0 {
			t.Fatalf("gc would remove %+v (%v): nothing should be unreferenced", rep, err)
		}
	})
}

// TestStorageTimeouts: with a minute of latency injected between the server
// and its S3 store (timeout 1s), requests that need the store answer 503
// storage-unavailable with Retry-After instead of hanging, /readyz says the
// store is not ready, and nothing is left behind; without the latency the
// same requests go through.
func TestStorageTimeouts(t *testing.T) {
	artifactEngines(t, artifactSetup{proxied: true, s3Timeout: time.Second}, func(t *testing.T, a *artifactAPI) {
		if a.proxy == nil {
			t.Skip("the filesystem store has no timeouts")
		}
		a.seed()
		content := blobtest.PatternBytes(17, 1<<20)
		a.put(vbase+"/artifacts/before.bin", content, nil, 201)

		a.proxy.SetLatency(time.Minute)
		unavailable := func(what string, res response) {
			t.Helper()
			a.problem(res, 503, "storage-unavailable")
			if res.header.Get("Retry-After") == "" {
				t.Errorf("%s: 503 without Retry-After", what)
			}
		}
		unavailable("raw upload", a.put(vbase+"/artifacts/slow.bin", content, nil, 503))
		ct, body := multipartBody(t, map[string]any{"name": "slow-mp.bin"}, "slow-mp.bin", content)
		unavailable("multipart upload", a.request("POST", vbase+"/artifacts", ct, body.String()))
		unavailable("download", a.request("GET", vbase+"/artifacts/before.bin", "", ""))
		unavailable("HEAD", a.request("HEAD", vbase+"/artifacts/before.bin", "", ""))
		ready := a.request("GET", "/readyz", "", "")
		p := a.problem(ready, 503, "not-ready")
		if checks, _ := p["checks"].(map[string]any); checks["storage:main"] != "failed" || checks["database"] != "ok" {
			t.Fatalf("readyz with a store that does not answer: %s", ready.body)
		}

		a.proxy.SetLatency(0)
		a.leftovers(1)
		a.put(vbase+"/artifacts/slow.bin", content, nil, 201)
		if got := a.request("GET", vbase+"/artifacts/before.bin", "", ""); got.status != 200 || !bytes.Equal(got.body, content) {
			t.Fatalf("download after the latency: %d", got.status)
		}
		if ready := a.request("GET", "/readyz", "", ""); ready.status != 200 {
			t.Fatalf("readyz after the latency: %d %s", ready.status, ready.body)
		}
	})
}

// TestDeclaredDigests: every digest a client declares is checked — sha-256,
// sha-512 and md5 in Digest, Repr-Digest, Content-Digest and Content-MD5 —
// in the pass that stores the bytes; a mismatch is 400 digest-mismatch
// naming the algorithm, an algorithm the server does not verify (or a
// malformed value) 400 malformed-request; either way nothing is stored.
func TestDeclaredDigests(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		content := []byte("the bytes whose digests are declared\n")
		other := []byte("other bytes")
		b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
		md5Of := func(b []byte) []byte { s := md5.Sum(b); return s[:] }
		sha512Of := func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }
		sha256Of := func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

		mismatches := []struct {
			name      string
			header    map[string]string
			algorithm string
			expected  []byte
		}{
			{"content-md5", map[string]string{"Content-MD5": b64(md5Of(other))}, "md5", md5Of(other)},
			{"digest-md5", map[string]string{"Digest": "md5=" + b64(md5Of(other))}, "md5", md5Of(other)},
			{"digest-MD5-upper", map[string]string{"Digest": "MD5=" + b64(md5Of(other))}, "md5", md5Of(other)},
			{"repr-digest-md5", map[string]string{"Repr-Digest": "md5=:" + b64(md5Of(other)) + ":"}, "md5", md5Of(other)},
			{"repr-digest-sha-512", map[string]string{"Repr-Digest": "sha-512=:" + b64(sha512Of(other)) + ":"}, "sha-512", sha512Of(other)},
			{"digest-SHA-512", map[string]string{"Digest": "SHA-512=" + b64(sha512Of(other))}, "sha-512", sha512Of(other)},
			{"content-digest-sha-512", map[string]string{"Content-Digest": "sha-512=:" + b64(sha512Of(other)) + ":"}, "sha-512", sha512Of(other)},
			{"right-sha-256-wrong-md5", map[string]string{"Repr-Digest": "sha-256=:" + b64(sha256Of(content)) + ":", "Content-MD5": b64(md5Of(other))}, "md5", md5Of(other)},
			{"digest-sha-256", map[string]string{"Digest": "sha-256=" + b64(sha256Of(other))}, "sha-256", sha256Of(other)},
		}
		for _, c := range mismatches {
			res := a.put(vbase+"/artifacts/mismatch-"+c.name+".bin", content, c.header, 400)
			p := a.problem(res, 400, "digest-mismatch")
			if p["algorithm"] != c.algorithm || p["expected"] != hex.EncodeToString(c.expected) {
				t.Errorf("%s: problem %v, want algorithm %s expected %x", c.name, p, c.algorithm, c.expected)
			}
			if (p["expected_sha256"] != nil) != (c.algorithm == "sha-256") {
				t.Errorf("%s: expected_sha256 %v", c.name, p["expected_sha256"])
			}
			if !strings.Contains(fmt.Sprint(p["detail"]), c.algorithm) {
				t.Errorf("%s: detail does not name %s: %v", c.name, c.algorithm, p["detail"])
			}
		}
		malformed := []struct {
			name   string
			header map[string]string
		}{
			{"digest-sha-1", map[string]string{"Digest": "SHA=" + b64(md5Of(content)[:16])}},
			{"digest-unixsum", map[string]string{"Digest": "UNIXsum=1234"}},
			{"repr-digest-crc32c", map[string]string{"Repr-Digest": "crc32c=:AAAAAA==:"}},
			{"repr-digest-adler", map[string]string{"Repr-Digest": "adler=:AAAAAA==:"}},
			{"digest-no-value", map[string]string{"Digest": "md5"}},
			{"content-md5-hex", map[string]string{"Content-MD5": hex.EncodeToString(md5Of(content))}},
			{"md5-wrong-length", map[string]string{"Repr-Digest": "md5=:" + b64(sha256Of(content)) + ":"}},
			{"two-md5", map[string]string{"Content-MD5": b64(md5Of(content)), "Digest": "md5=" + b64(md5Of(other))}},
		}
		for _, c := range malformed {
			a.problem(a.put(vbase+"/artifacts/malformed-"+c.name+".bin", content, c.header, 400), 400, "malformed-request")
		}
		// Multipart uploads: the headers, both part orders.
		for _, fileFirst := range []bool{false, true} {
			res := a.multipart(fmt.Sprintf("mp-mismatch-%t.bin", fileFirst), content, fileFirst, map[string]string{"Content-MD5": b64(md5Of(other))})
			if p := a.problem(res, 400, "digest-mismatch"); p["algorithm"] != "md5" {
				t.Errorf("multipart (file first %t): %v", fileFirst, p)
			}
			res = a.multipart(fmt.Sprintf("mp-content-digest-%t.bin", fileFirst), content, fileFirst, map[string]string{"Content-Digest": "sha-512=:" + b64(sha512Of(content)) + ":"})
			a.problem(res, 400, "malformed-request")
		}
		a.leftovers(0)

		// The right digests are accepted.
		right := map[string]string{
			"Content-MD5": b64(md5Of(content)),
			"Repr-Digest": "sha-512=:" + b64(sha512Of(content)) + ":, sha-256=:" + b64(sha256Of(content)) + ":",
			"Digest":      "MD5=" + b64(md5Of(content)),
		}
		a.put(vbase+"/artifacts/right.bin", content, right, 201)
		for _, fileFirst := range []bool{false, true} {
			if res := a.multipart(fmt.Sprintf("mp-right-%t.bin", fileFirst), content, fileFirst, right); res.status != 201 {
				t.Fatalf("multipart with the right digests (file first %t): %d %s", fileFirst, res.status, res.body)
			}
		}
		// The same bytes under an existing name: the declared digests are
		// checked too, though nothing is stored.
		a.put(vbase+"/artifacts/right.bin", content, right, 200)
		wrongAgain := map[string]string{"Content-MD5": b64(md5Of(other)), "Digest": "sha256=" + hex.EncodeToString(sha256Of(content))}
		if p := a.problem(a.put(vbase+"/artifacts/right.bin", content, wrongAgain, 400), 400, "digest-mismatch"); p["algorithm"] != "md5" {
			t.Fatalf("an existing name with a wrong md5: %v", p)
		}
		a.leftovers(1) // the same bytes: one object
	})
}

// multipart uploads content as name with headers, the metadata part first
// or the file part first.
func (a *artifactAPI) multipart(name string, content []byte, fileFirst bool, headers map[string]string) response {
	a.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	meta := func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="artifact"`)
		h.Set("Content-Type", "application/json")
		pw, _ := mw.CreatePart(h)
		fmt.Fprintf(pw, `{"name":%q}`, name)
	}
	file := func() {
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(content)
	}
	if fileFirst {
		file()
		meta()
	} else {
		meta()
		file()
	}
	mw.Close()
	req := httptest.NewRequest("POST", vbase+"/artifacts", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	a.sign(req)
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	a.checkAudit("POST", vbase+"/artifacts", res)
	return res
}
