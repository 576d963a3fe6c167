package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/blobtest"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/blob/s3blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// artifactAPI is an api with a blob store behind it.
type artifactAPI struct {
	*api
	blobs   blob.Store
	fsRoot  string // "" for S3
	metrics *httpapi.Metrics
	// stageDir is the server's temporary folder (file-first uploads).
	stageDir string
	// reg is the server's registry (garbage collection); proxy is in front
	// of the S3 server when the setup asks for it (nil otherwise).
	reg   *registry.Registry
	proxy *blobtest.Proxy
}

type artifactSetup struct {
	maxUpload int64
	// wrapStore and wrapDB inject faults.
	wrapStore func(blob.Store) blob.Store
	wrapDB    func(db.DB) db.DB
	// presignTTL turns redirected downloads on; public makes the S3 store
	// public (direct_test.go).
	presignTTL time.Duration
	public     bool
	// proxied puts a fault-injecting proxy between the S3 store and its
	// server; s3Timeout is the S3 store's timeout (0: the default).
	proxied   bool
	s3Timeout time.Duration
	// stores, when set, names the stores over the one store of the test
	// (the default: "main" for every lifecycle, and the fixtures' buckets).
	stores func(routed blob.Store) registry.BlobStores
}

// artifactEngines runs fn on SQLite with the filesystem store and on
// PostgreSQL with a real S3 server.
func artifactEngines(t *testing.T, setup artifactSetup, fn func(t *testing.T, a *artifactAPI)) {
	run := func(t *testing.T, s db.DB, blobs blob.Store, fsRoot string, proxy *blobtest.Proxy) {
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(context.Background(), db.MigrateOptions{}); err != nil {
			t.Fatal(err)
		}
		var store db.DB = s
		if setup.wrapDB != nil {
			store = setup.wrapDB(s)
		}
		var routed blob.Store = blobs
		if setup.wrapStore != nil {
			routed = setup.wrapStore(blobs)
		}
		// The basic fixtures' namespace buckets name the same store.
		stores := registry.BlobStores{
			ByName:  map[string]blob.Store{"main": routed, "ml-test": routed, "ml-qa": routed, "ml-stage": routed, "ml-prod": routed},
			ForRole: map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "main"},
		}
		if setup.stores != nil {
			stores = setup.stores(routed)
		}
		metrics := httpapi.NewMetrics()
		reg := registry.New(registry.Options{DB: store, Blobs: stores, MaxUploadBytes: setup.maxUpload})
		stageDir := t.TempDir()
		h := newServer(reg, s, httpapi.Options{Metrics: metrics, Logger: testLogger(t), TempDir: stageDir, PresignTTL: setup.presignTTL})
		token := adminToken(t, registry.New(registry.Options{DB: s}))
		a := &api{t: t, h: h, store: s, token: token, secrets: []string{fsRoot, stageDir}}
		a.skipAudit()
		fn(t, &artifactAPI{api: a, blobs: blobs, fsRoot: fsRoot, metrics: metrics, stageDir: stageDir, reg: reg, proxy: proxy})
	}
	t.Run("sqlite+fs", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), dbtest.SQLitePath(t))
		if err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(t.TempDir(), "blobs")
		fs, err := fsblob.New(root)
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Ensure(context.Background()); err != nil {
			t.Fatal(err)
		}
		run(t, s, fs, root, nil)
	})
	t.Run("postgres+s3", func(t *testing.T) {
		endpoint := os.Getenv("FLYMODEL_TEST_S3_ENDPOINT")
		if endpoint == "" {
			dbtest.SkipOrFail(t, "FLYMODEL_TEST_S3_ENDPOINT not set: skipping PostgreSQL+S3")
		}
		if os.Getenv(dbtest.PostgresEnv) == "" {
			dbtest.SkipOrFail(t, dbtest.PostgresEnv+" not set: skipping PostgreSQL+S3")
		}
		s, err := postgres.Open(context.Background(), dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		region := os.Getenv("FLYMODEL_TEST_S3_REGION")
		if region == "" {
			region = "us-east-1"
		}
		var proxy *blobtest.Proxy
		if setup.proxied {
			proxy = blobtest.NewProxy(t, endpoint)
			endpoint = proxy.URL
		}
		st, err := s3blob.New(s3blob.Config{
			Bucket: "flymodel-api-" + hex.EncodeToString(b[:]), Endpoint: endpoint, Region: region, PathStyle: true,
			AccessKeyID: os.Getenv("FLYMODEL_TEST_S3_ACCESS_KEY"), SecretAccessKey: os.Getenv("FLYMODEL_TEST_S3_SECRET_KEY"),
			Public: setup.public, Timeout: setup.s3Timeout,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Ensure(context.Background()); err != nil {
			t.Fatal(err)
		}
		run(t, s, st, "", proxy)
	})
}

// testLogger sends the server's log to the test log, shown on failure.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// leftovers describes what storage holds beyond the artifacts' blobs:
// objects, unreferenced blob rows and temporary files.
func (a *artifactAPI) leftovers(wantObjects int) {
	a.t.Helper()
	ctx := context.Background()
	var keys []string
	if err := a.blobs.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		a.t.Fatal(err)
	}
	if len(keys) != wantObjects {
		a.t.Fatalf("store holds %d objects, want %d: %v", len(keys), wantObjects, keys)
	}
	unref, err := a.store.ListUnreferencedBlobs(ctx, db.ListUnreferencedBlobsParams{CreatedBefore: time.Now().Add(time.Hour), PageLimit: 100})
	if err != nil {
		a.t.Fatal(err)
	}
	if len(unref) != 0 {
		a.t.Fatalf("unreferenced blob rows: %+v", unref)
	}
	if a.fsRoot != "" {
		tmp, _ := os.ReadDir(filepath.Join(a.fsRoot, ".tmp"))
		if len(tmp) != 0 {
			a.t.Fatalf("temporary files left: %v", tmp)
		}
	}
	a.noStaged()
}

// noStaged fails when the server's temporary folder holds a staged upload.
func (a *artifactAPI) noStaged() {
	a.t.Helper()
	if staged, err := os.ReadDir(a.stageDir); err != nil || len(staged) != 0 {
		a.t.Fatalf("staged uploads left in %s: %v %v", a.stageDir, staged, err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// multipartBody builds an upload with the artifact part, then the file.
func multipartBody(t *testing.T, meta any, fileName string, content []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	metaJSON, _ := json.Marshal(meta)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="artifact"`)
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	pw.Write(metaJSON)
	fw, _ := mw.CreateFormFile("file", fileName)
	fw.Write(content)
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func (a *artifactAPI) upload(path string, meta any, fileName string, content []byte, want int) response {
	a.t.Helper()
	ct, body := multipartBody(a.t, meta, fileName, content)
	res := a.request("POST", path, ct, body.String())
	if res.status != want {
		a.t.Fatalf("upload %s: status %d, want %d\n%s", path, res.status, want, truncate(res.body))
	}
	return res
}

func (a *artifactAPI) put(path string, content []byte, headers map[string]string, want int) response {
	a.t.Helper()
	req := httptest.NewRequest("PUT", path, bytes.NewReader(content))
	a.sign(req)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	if rec.Code != want {
		a.t.Fatalf("PUT %s: status %d, want %d\n%s", path, rec.Code, want, truncate(rec.Body.Bytes()))
	}
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	a.checkAudit("PUT", path, res)
	a.checkSecrets("PUT", path, res)
	return res
}

const vbase = base + "/namespaces/canada/models/llm.sm/versions/v1"

func TestArtifactRoundTrip(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		weights := bytes.Repeat([]byte("weights!"), 100000)
		res := a.upload(vbase+"/artifacts", map[string]any{"name": "weights/model.safetensors", "extra": map[string]any{"framework": "torch"}}, "model.safetensors", weights, 201)
		art := res.json(t)
		if art["sha256"] != sha(weights) || art["size"] != float64(len(weights)) || art["file_name"] != "model.safetensors" ||
			art["content_type"] != "application/octet-stream" || art["encoding"] != "uncompressed" || art["format"] != "safetensors" ||
			fmt.Sprint(art["extra"]) != "map[framework:torch]" || art["blob"] == nil || art["version_id"] == nil {
			t.Fatalf("artifact = %v", art)
		}
		if loc := res.header.Get("Location"); loc != vbase+"/artifacts/weights/model.safetensors" {
			t.Fatalf("Location = %q", loc)
		}

		get := a.do("GET", vbase+"/artifacts/weights/model.safetensors", nil, 200)
		if !bytes.Equal(get.body, weights) {
			t.Fatal("downloaded bytes differ")
		}
		hd := get.header
		raw, _ := hex.DecodeString(sha(weights))
		if hd.Get("Content-Type") != "application/octet-stream" || hd.Get("Digest") != "sha256="+sha(weights) ||
			hd.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(raw)+":" ||
			hd.Get("ETag") != `"`+sha(weights)+`"` || hd.Get("Content-Length") != fmt.Sprint(len(weights)) ||
			hd.Get("Content-Disposition") != `attachment; filename=model.safetensors` || hd.Get("Content-Encoding") != "" {
			t.Fatalf("download headers = %v", hd)
		}
		head := a.request("HEAD", vbase+"/artifacts/weights/model.safetensors", "", "")
		if head.status != 200 || len(head.body) != 0 || head.header.Get("Content-Length") != fmt.Sprint(len(weights)) {
			t.Fatalf("HEAD = %d %v", head.status, head.header)
		}
		req := httptest.NewRequest("GET", vbase+"/artifacts/weights/model.safetensors", nil)
		a.sign(req)
		req.Header.Set("Range", "bytes=8-15")
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, req)
		if rec.Code != 206 || rec.Body.String() != "weights!" || rec.Header().Get("Content-Range") != fmt.Sprintf("bytes 8-15/%d", len(weights)) {
			t.Fatalf("range = %d %q %v", rec.Code, rec.Body.String(), rec.Header())
		}

		// Raw body upload with a declared digest, a format and a quoted file name.
		cfg := []byte(`{"layers": 12}`)
		rawSum := sha256.Sum256(cfg)
		a.problem(a.put(vbase+"/artifacts/config%20files/config.json?format=json&file_name=c%C3%B6nfig%20%22x%22.json", cfg,
			map[string]string{"Repr-Digest": "sha-256=:" + base64.StdEncoding.EncodeToString(rawSum[:]) + ":"}, 422), 422, "validation")
		a.put(vbase+"/artifacts/config%20files/config.json?format=json&file_name=c%C3%B6nfig.json", cfg,
			map[string]string{"Repr-Digest": "sha-256=:" + base64.StdEncoding.EncodeToString(rawSum[:]) + ":"}, 201)
		cg := a.do("GET", vbase+"/artifacts/config%20files/config.json", nil, 200)
		if cg.header.Get("Content-Type") != "application/json" || cg.header.Get("Content-Disposition") != `attachment; filename*=utf-8''c%C3%B6nfig.json` {
			t.Fatalf("headers = %v", cg.header)
		}

		// The version digest: sha256 over "<sha256>  <name>\n" sorted by name.
		v := a.do("GET", vbase, nil, 200).json(t)
		lines := fmt.Sprintf("%s  config files/config.json\n%s  weights/model.safetensors\n", sha(cfg), sha(weights))
		if v["digest"] != "sha256:"+sha([]byte(lines)) {
			t.Fatalf("digest = %v, want sha256 of %q", v["digest"], lines)
		}
		list := a.do("GET", vbase+"/artifacts", nil, 200).json(t)
		if list["total_items"] != 2.0 || names(list) != "config files/config.json,weights/model.safetensors" {
			t.Fatalf("list = %v", list)
		}

		// Experiment artifacts: no extra.
		epath := vbase + "/experiments/eval"
		a.upload(epath+"/artifacts", map[string]any{"name": "report.html", "format": "html"}, "report.html", []byte("<p>ok</p>"), 201)
		a.upload(epath+"/artifacts", map[string]any{"name": "r2", "extra": map[string]any{"a": 1}}, "r2", []byte("x"), 422)
		er := a.do("GET", epath+"/artifacts/report.html", nil, 200)
		if er.header.Get("Content-Type") != "text/html" || string(er.body) != "<p>ok</p>" {
			t.Fatalf("experiment artifact = %v %q", er.header, er.body)
		}
		a.leftovers(3)
	})
}

func TestArtifactRulesLeaveNothingBehind(t *testing.T) {
	artifactEngines(t, artifactSetup{maxUpload: 1 << 20}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		content := []byte("model bytes v1")
		a.upload(vbase+"/artifacts", map[string]any{"name": "model.bin"}, "model.bin", content, 201)
		a.leftovers(1)
		before := a.snapshot()

		// The same bytes again: 200 with the same record, nothing new.
		again := a.upload(vbase+"/artifacts", map[string]any{"name": "model.bin"}, "model.bin", content, 200).json(t)
		if again["sha256"] != sha(content) {
			t.Fatalf("idempotent upload = %v", again)
		}
		a.put(vbase+"/artifacts/model.bin", content, nil, 200)
		// Other bytes: 409 with both digests.
		p := a.problem(a.request("PUT", vbase+"/artifacts/model.bin", "application/octet-stream", "other bytes"), 409, "immutable")
		if p["existing_sha256"] != sha(content) || p["actual_sha256"] != sha([]byte("other bytes")) {
			t.Fatalf("immutable problem = %v", p)
		}
		// A wrong declared digest: 400 with both digests, nothing stored.
		wrong := strings.Repeat("0", 64)
		res := a.put(vbase+"/artifacts/new.bin", []byte("new bytes"), map[string]string{"Digest": "sha256=" + wrong}, 400)
		p = a.problem(res, 400, "digest-mismatch")
		if p["expected_sha256"] != wrong || p["actual_sha256"] != sha([]byte("new bytes")) {
			t.Fatalf("digest problem = %v", p)
		}
		a.upload(vbase+"/artifacts", map[string]any{"name": "new2.bin", "sha256": wrong}, "x", []byte("abc"), 400)
		// Too large: declared, and discovered while streaming.
		big := bytes.Repeat([]byte("x"), 1<<20+1)
		a.problem(a.request("PUT", vbase+"/artifacts/big.bin", "application/octet-stream", string(big)), 413, "too-large")
		req := httptest.NewRequest("PUT", vbase+"/artifacts/big.bin", io.MultiReader(bytes.NewReader(big)))
		a.sign(req)
		req.ContentLength = -1
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, req)
		if rec.Code != 413 {
			t.Fatalf("streamed oversize = %d %s", rec.Code, rec.Body)
		}
		// Empty.
		a.problem(a.request("PUT", vbase+"/artifacts/empty.bin", "application/octet-stream", ""), 400, "empty-upload")
		// Bad metadata.
		a.upload(vbase+"/artifacts", map[string]any{"name": "../escape"}, "x", []byte("abc"), 422)
		a.upload(vbase+"/artifacts", map[string]any{"name": "a.parquet", "format": "parket"}, "x", []byte("abc"), 422)
		a.upload(vbase+"/artifacts", map[string]any{"name": "a.gz", "encoding": "rar"}, "x", []byte("abc"), 422)
		a.upload(vbase+"/artifacts", map[string]any{"name": "a", "bogus": 1}, "x", []byte("abc"), 400)
		a.problem(a.request("PUT", vbase+"/artifacts/a/../b", "application/octet-stream", "abc"), 400, "invalid-name")
		a.problem(a.request("PUT", vbase+"/artifacts/a%2F..%2Fb", "application/octet-stream", "abc"), 400, "invalid-name")
		a.problem(a.request("PUT", vbase+"/artifacts/a%5Cb", "application/octet-stream", "abc"), 400, "invalid-name")
		// Malformed multipart: a file without metadata, missing file, not multipart.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "x")
		fw.Write([]byte("abc"))
		mw.Close()
		a.problem(a.request("POST", vbase+"/artifacts", mw.FormDataContentType(), buf.String()), 400, "malformed-multipart")
		a.noStaged()
		buf.Reset()
		mw = multipart.NewWriter(&buf)
		mw.WriteField("artifact", `{"name":"m"}`)
		mw.Close()
		a.problem(a.request("POST", vbase+"/artifacts", mw.FormDataContentType(), buf.String()), 400, "malformed-multipart")
		a.problem(a.request("POST", vbase+"/artifacts", "application/json", `{}`), 415, "unsupported-media-type")

		if after := a.snapshot(); after != before {
			t.Fatalf("refused uploads changed the database:\n%s\nvs\n%s", before, after)
		}
		a.leftovers(1)

		// Sealed: no new artifacts, but the same bytes again still succeed.
		a.do("PUT", vbase+"/state", map[string]any{"state": "qa"}, 200)
		a.problem(a.request("PUT", vbase+"/artifacts/late.bin", "application/octet-stream", "late"), 409, "sealed")
		a.put(vbase+"/artifacts/model.bin", content, nil, 200)
		a.leftovers(1)
	})
}

// failingStore fails every Put after some bytes, as a store whose
// connection drops mid-stream.
type failingStore struct{ blob.Store }

func (f failingStore) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	return f.Store.Put(ctx, key, io.MultiReader(io.LimitReader(r, 1000), errReader{}))
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by the store") }

// failingDB fails every transaction, as a database that went away after
// the blob was written.
type failingDB struct{ db.DB }

func (failingDB) InTx(context.Context, func(db.Queries) error) error {
	return errors.New("database connection lost")
}

func TestArtifactFailuresLeaveNothingBehind(t *testing.T) {
	payload := bytes.Repeat([]byte("p"), 64<<10)
	t.Run("store fails mid-stream", func(t *testing.T) {
		artifactEngines(t, artifactSetup{wrapStore: func(s blob.Store) blob.Store { return failingStore{s} }}, func(t *testing.T, a *artifactAPI) {
			a.seed()
			before := a.snapshot()
			a.problem(a.request("PUT", vbase+"/artifacts/model.bin", "application/octet-stream", string(payload)), 503, "storage-unavailable")
			if after := a.snapshot(); after != before {
				t.Fatal("a failed upload changed the database")
			}
			a.leftovers(0)
		})
	})
	t.Run("database fails after the blob write", func(t *testing.T) {
		artifactEngines(t, artifactSetup{wrapDB: func(s db.DB) db.DB { return failingDB{s} }}, func(t *testing.T, a *artifactAPI) {
			// Seed through the real store: the failing one refuses writes.
			ctx := context.Background()
			ns, _ := a.store.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "canada", Now: time.Now().UTC()})
			m, _ := a.store.CreateModel(ctx, db.CreateModelParams{NamespaceID: ns.ID, Name: "llm.sm", Now: time.Now().UTC()})
			a.store.CreateVersion(ctx, db.CreateVersionParams{ModelID: m.ID, Version: "v1", State: "test", Now: time.Now().UTC()})
			before := a.snapshot()
			a.problem(a.request("PUT", vbase+"/artifacts/model.bin", "application/octet-stream", string(payload)), 500, "internal")
			if after := a.snapshot(); after != before {
				t.Fatal("a failed upload changed the database")
			}
			a.leftovers(0)
		})
	})
}

func TestArtifactIntegrity(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		content := bytes.Repeat([]byte("0123456789"), 50000)
		art := a.upload(vbase+"/artifacts", map[string]any{"name": "model.bin"}, "model.bin", content, 201).json(t)
		a.upload(vbase+"/artifacts", map[string]any{"name": "gone.bin"}, "gone.bin", []byte("soon gone"), 201)

		// Alter the stored bytes behind the server's back (same size).
		a2, _ := a.storeArtifact("model.bin")
		altered := bytes.Clone(content)
		altered[len(altered)-1] ^= 1
		a.overwrite(a2, altered)

		srv := httptest.NewServer(a.h)
		defer srv.Close()
		res, err := a.send("GET", srv.URL+vbase+"/artifacts/model.bin", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, readErr := io.ReadAll(res.Body)
		res.Body.Close()
		if readErr == nil && bytes.Equal(got, altered) {
			t.Fatal("altered bytes were delivered as a clean, complete response")
		}
		if readErr == nil {
			t.Fatalf("download of altered bytes ended cleanly (%d of %d bytes)", len(got), len(content))
		}
		if n := a.metrics.IntegrityFailures(); n != 1 {
			t.Fatalf("integrity failures = %d, want 1", n)
		}
		_ = art

		// A missing blob is a 5xx naming the artifact, not a hang.
		gone, _ := a.storeArtifact("gone.bin")
		if err := a.blobs.Delete(context.Background(), gone, ""); err != nil {
			t.Fatal(err)
		}
		p := a.problem(a.request("GET", vbase+"/artifacts/gone.bin", "", ""), 500, "blob-missing")
		if !strings.Contains(p["detail"].(string), "gone.bin") {
			t.Fatalf("problem does not name the artifact: %v", p)
		}
	})
}

// storeArtifact returns the blob key of a version artifact.
func (a *artifactAPI) storeArtifact(name string) (string, error) {
	ctx := context.Background()
	row, err := a.store.GetVersionByPath(ctx, db.GetVersionByPathParams{Namespace: "canada", Model: "llm.sm", Version: "v1"})
	if err != nil {
		a.t.Fatal(err)
	}
	art, err := a.store.GetArtifactWithBlob(ctx, db.GetArtifactWithBlobParams{VersionID: row.ID, Name: name})
	if err != nil {
		a.t.Fatal(err)
	}
	return art.Key, nil
}

// overwrite replaces the recorded bytes of a blob behind the server's
// back: in place on the filesystem; on S3, whose versions never change (an
// overwrite is a new version, and the server reads the one it recorded),
// as a new version the blob's record is pointed at.
func (a *artifactAPI) overwrite(key string, content []byte) {
	ctx := context.Background()
	info, err := a.blobs.Put(ctx, key, bytes.NewReader(content))
	if err != nil {
		a.t.Fatal(err)
	}
	for _, name := range []string{"main", "ml-test", "ml-qa", "ml-stage", "ml-prod"} {
		b, err := a.store.GetBlobByKey(ctx, db.GetBlobByKeyParams{Store: name, Key: key})
		if errors.Is(err, db.ErrNotFound) {
			continue
		}
		if err == nil {
			_, err = a.store.SetBlobStorageVersion(ctx, db.SetBlobStorageVersionParams{ID: b.ID, StorageVersion: info.VersionID})
		}
		if err != nil {
			a.t.Fatal(err)
		}
		return
	}
	a.t.Fatalf("no blob records %s", key)
}

// TestCompatArtifactRoundTrip is the original flymodel's upload and download
// by id on the basic fixtures.
func TestCompatArtifactRoundTrip(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		if err := db.LoadFixtures(context.Background(), a.store, "basic"); err != nil {
			t.Fatal(err)
		}
		a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "test_model"}, 201)
		v := a.do("POST", base+"/namespaces/canada/models/test_model/versions", map[string]any{"version": "v0.0.1"}, 201).json(t)
		content := []byte(`{"hello": "world"}`)
		meta := map[string]any{"model_version": v["id"], "artifact_name": "Test model artifact.json", "format": "json", "encode": "uncompressed", "extra": map[string]any{"k": "v"}}
		res := a.upload("/upload/model-version-artifact", meta, "test.json", content, 200).json(t)
		if res["name"] != "Test model artifact.json" || res["version_id"] != v["id"] || res["blob"] == nil || res["id"] == nil ||
			fmt.Sprint(res["extra"]) != "map[k:v]" {
			t.Fatalf("compat upload = %v", res)
		}
		dl := a.do("GET", fmt.Sprintf("/download/model-version-artifact?artifact_id=%v", res["id"]), nil, 200)
		if !bytes.Equal(dl.body, content) || dl.header.Get("Content-Type") != "application/json" ||
			dl.header.Get("Digest") != "sha256="+sha(content) || dl.header.Get("Content-Disposition") != `attachment; filename="Test model artifact.json"` {
			t.Fatalf("compat download = %v %q", dl.header, dl.body)
		}
		// The same artifact through the named API.
		named := a.do("GET", base+"/namespaces/canada/models/test_model/versions/v0.0.1/artifacts/Test%20model%20artifact.json", nil, 200)
		if !bytes.Equal(named.body, content) {
			t.Fatal("named download differs")
		}
		// Experiment artifacts by id.
		e := a.do("POST", base+"/namespaces/canada/models/test_model/versions/v0.0.1/experiments", map[string]any{"name": "eval"}, 201).json(t)
		er := a.upload("/upload/experiment-artifact", map[string]any{"experiment": e["id"], "artifact_name": "log.txt", "format": "txt"}, "log.txt", []byte("log"), 200).json(t)
		if er["experiment_id"] != e["id"] {
			t.Fatalf("experiment upload = %v", er)
		}
		edl := a.do("GET", fmt.Sprintf("/download/experiment-artifact?artifact_id=%v", er["id"]), nil, 200)
		if string(edl.body) != "log" || edl.header.Get("Content-Type") != "text/plain" {
			t.Fatalf("experiment download = %v %q", edl.header, edl.body)
		}
		a.problem(a.request("GET", "/download/model-version-artifact?artifact_id=999", "", ""), 404, "not-found")
		a.problem(a.request("GET", "/download/model-version-artifact?artifact_id=x", "", ""), 400, "malformed-request")
		a.upload("/upload/model-version-artifact", map[string]any{"model_version": 999, "artifact_name": "x"}, "x", []byte("x"), 404)
		a.upload("/upload/model-version-artifact", map[string]any{"experiment": 1, "artifact_name": "x"}, "x", []byte("x"), 400)
	})
}

// TestCompatArtifactIDsPerKind is the original flymodel's own scenario:
// version artifacts and experiment artifacts are numbered apart, each from
// 1, on the compat endpoints and in the API's JSON alike.
func TestCompatArtifactIDsPerKind(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		if err := db.LoadFixtures(context.Background(), a.store, "basic"); err != nil {
			t.Fatal(err)
		}
		a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "test_model"}, 201)
		vpath := base + "/namespaces/canada/models/test_model/versions/v0.0.1"
		v := a.do("POST", base+"/namespaces/canada/models/test_model/versions", map[string]any{"version": "v0.0.1"}, 201).json(t)
		e := a.do("POST", vpath+"/experiments", map[string]any{"name": "eval"}, 201).json(t)

		er := a.upload("/upload/experiment-artifact", map[string]any{"experiment": e["id"], "artifact_name": "log.txt"}, "log.txt", []byte("log"), 200).json(t)
		vr := a.upload("/upload/model-version-artifact", map[string]any{"model_version": v["id"], "artifact_name": "weights.bin"}, "weights.bin", []byte("weights"), 200).json(t)
		if er["id"] != 1.0 || vr["id"] != 1.0 {
			t.Fatalf("experiment artifact id %v, version artifact id %v: want 1 and 1", er["id"], vr["id"])
		}
		er2 := a.upload("/upload/experiment-artifact", map[string]any{"experiment": e["id"], "artifact_name": "log2.txt"}, "log2.txt", []byte("log2"), 200).json(t)
		if er2["id"] != 2.0 {
			t.Fatalf("second experiment artifact id %v, want 2", er2["id"])
		}
		// The API's JSON: the answer to the same bytes again (200), and the
		// owner's list.
		for _, c := range []struct {
			path, content string
			want          float64
		}{
			{vpath + "/artifacts/weights.bin", "weights", 1},
			{vpath + "/experiments/eval/artifacts/log.txt", "log", 1},
			{vpath + "/experiments/eval/artifacts/log2.txt", "log2", 2},
		} {
			if got := a.put(c.path, []byte(c.content), nil, 200).json(t)["id"]; got != c.want {
				t.Fatalf("PUT %s: id %v, want %v", c.path, got, c.want)
			}
		}
		for path, want := range map[string]string{
			vpath + "/artifacts":                  "[1]",
			vpath + "/experiments/eval/artifacts": "[1 2]",
		} {
			var ids []any
			for _, it := range a.do("GET", path, nil, 200).json(t)["data"].([]any) {
				ids = append(ids, it.(map[string]any)["id"])
			}
			if got := fmt.Sprint(ids); got != want {
				t.Fatalf("%s: ids %s, want %s", path, got, want)
			}
		}
		for path, want := range map[string]string{
			"/download/model-version-artifact?artifact_id=1": "weights",
			"/download/experiment-artifact?artifact_id=1":    "log",
			"/download/experiment-artifact?artifact_id=2":    "log2",
		} {
			if got := string(a.do("GET", path, nil, 200).body); got != want {
				t.Fatalf("%s = %q, want %q", path, got, want)
			}
		}
		a.problem(a.request("GET", "/download/model-version-artifact?artifact_id=2", "", ""), 404, "not-found")
	})
}

// TestConcurrentUploadsAreNumberedApart: uploads of different names racing
// in their own transactions each get a number of their kind, never one
// another took.
func TestConcurrentUploadsAreNumberedApart(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		srv := httptest.NewServer(a.h)
		defer srv.Close()
		const n = 6
		owners := []string{vbase, vbase + "/experiments/eval"}
		ids := make([][]any, len(owners))
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for o, owner := range owners {
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					req, _ := http.NewRequest("PUT", fmt.Sprintf("%s%s/artifacts/f%d.bin", srv.URL, owner, i), strings.NewReader(fmt.Sprintf("%d-%d", o, i)))
					a.sign(req)
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer res.Body.Close()
					var body map[string]any
					if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 201 {
						t.Errorf("%s f%d.bin: status %d, %v", owner, i, res.StatusCode, err)
						return
					}
					mu.Lock()
					ids[o] = append(ids[o], body["id"])
					mu.Unlock()
				}()
			}
		}
		close(start)
		wg.Wait()
		a.skipAudit()
		for o, owner := range owners {
			seen := map[any]bool{}
			for _, id := range ids[o] {
				seen[id] = true
			}
			for i := 1; i <= n; i++ {
				if !seen[float64(i)] {
					t.Fatalf("%s: ids %v, want 1 to %d", owner, ids[o], n)
				}
			}
		}
	})
}

// TestConcurrentUploadsOfOneName: one record, never two; losers get 409
// (other bytes) or 200 (same bytes); no orphaned object.
func TestConcurrentUploadsOfOneName(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		srv := httptest.NewServer(a.h)
		defer srv.Close()
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				body := bytes.Repeat([]byte{byte('a' + i%2)}, 256<<10) // two distinct contents
				req, _ := http.NewRequest("PUT", srv.URL+vbase+"/artifacts/shared.bin", bytes.NewReader(body))
				a.sign(req)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				statuses[i] = res.StatusCode
			}()
		}
		close(start)
		wg.Wait()
		a.skipAudit()
		created := 0
		for i, s := range statuses {
			switch s {
			case 201:
				created++
			case 200, 409:
			default:
				t.Errorf("upload %d: status %d", i, s)
			}
		}
		if created != 1 {
			t.Fatalf("statuses = %v, want exactly one 201", statuses)
		}
		list := a.do("GET", vbase+"/artifacts", nil, 200).json(t)
		if list["total_items"] != 1.0 {
			t.Fatalf("artifacts = %v", list)
		}
		a.leftovers(1)
	})
}
