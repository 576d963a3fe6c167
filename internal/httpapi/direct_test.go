package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
)

// fetch GETs an absolute URL without credentials, as a client following a
// redirect does.
func fetch(t *testing.T, u string) (int, http.Header, []byte) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return res.StatusCode, res.Header, body
}

func TestRedirectedDownloads(t *testing.T) {
	artifactEngines(t, artifactSetup{presignTTL: time.Minute}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		weights := bytes.Repeat([]byte("redirect"), 40000)
		art := a.upload(vbase+"/artifacts", map[string]any{"name": "weights/model.bin", "format": "json"}, "model.bin", weights, 201).json(t)
		if _, ok := art["url"]; ok {
			t.Fatalf("an artifact of a private store shows a url: %v", art)
		}
		path := vbase + "/artifacts/weights/model.bin"
		_, direct := blob.DirectOf(a.blobs)

		res := a.request("GET", path+"?redirect=true", "", "")
		raw, _ := hex.DecodeString(sha(weights))
		if !direct {
			// The filesystem store has no URLs: the bytes stream, verified.
			if res.status != 200 || !bytes.Equal(res.body, weights) || res.header.Get("Digest") != "sha256="+sha(weights) {
				t.Fatalf("?redirect=true on the filesystem: %d %v", res.status, res.header)
			}
		} else {
			if res.status != http.StatusTemporaryRedirect || len(res.body) != 0 {
				t.Fatalf("?redirect=true: %d %s", res.status, truncate(res.body))
			}
			h := res.header
			if h.Get("Digest") != "sha256="+sha(weights) || h.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(raw)+":" ||
				h.Get("ETag") != `"`+sha(weights)+`"` || h.Get("Cache-Control") != "no-store" {
				t.Fatalf("redirect headers: %v", h)
			}
			status, got, body := fetch(t, h.Get("Location"))
			if status != 200 || !bytes.Equal(body, weights) {
				t.Fatalf("presigned GET: %d (%d bytes)", status, len(body))
			}
			if got.Get("Content-Type") != "application/json" || got.Get("Content-Disposition") != "attachment; filename=model.bin" {
				t.Fatalf("presigned GET headers: %v", got)
			}
		}

		// Without the flag, or on a HEAD, or with it false: streamed.
		for _, c := range []struct{ method, query string }{{"GET", ""}, {"GET", "?redirect=false"}, {"HEAD", "?redirect=true"}} {
			res := a.request(c.method, path+c.query, "", "")
			if res.status != 200 || res.header.Get("Location") != "" || (c.method == "GET" && !bytes.Equal(res.body, weights)) {
				t.Fatalf("%s %s: %d %v", c.method, c.query, res.status, res.header)
			}
		}
		a.problem(a.request("GET", path+"?redirect=maybe", "", ""), 400, "malformed-request")

		// The original flymodel's download takes the flag too.
		row, err := a.store.GetVersionByPath(context.Background(), db.GetVersionByPathParams{Namespace: "canada", Model: "llm.sm", Version: "v1"})
		check(t, err)
		arts, err := a.store.ListArtifactsWithBlob(context.Background(), db.ListArtifactsWithBlobParams{VersionID: row.ID, PageLimit: 10})
		check(t, err)
		compat := a.request("GET", fmt.Sprintf("/download/model-version-artifact?artifact_id=%d&redirect=true", arts[0].Number), "", "")
		if direct && (compat.status != http.StatusTemporaryRedirect || compat.header.Get("Digest") != "sha256="+sha(weights)) ||
			!direct && (compat.status != 200 || !bytes.Equal(compat.body, weights)) {
			t.Fatalf("compat download with redirect: %d %v", compat.status, compat.header)
		}

		// Bytes altered in the store (same size) are the client's to catch:
		// the redirect still carries the recorded digest.
		key, _ := a.storeArtifact("weights/model.bin")
		altered := bytes.Clone(weights)
		altered[0] ^= 1
		a.overwrite(key, altered)
		if direct {
			res := a.request("GET", path+"?redirect=true", "", "")
			if res.status != http.StatusTemporaryRedirect || res.header.Get("Digest") != "sha256="+sha(weights) {
				t.Fatalf("redirect after tampering: %d %v", res.status, res.header)
			}
			if _, _, body := fetch(t, res.header.Get("Location")); sha(body) == sha(weights) {
				t.Fatal("the tampered object was not tampered")
			}
			// A resized object is refused by the server itself.
			a.overwrite(key, weights[:100])
			a.problem(a.request("GET", path+"?redirect=true", "", ""), 500, "blob-missing")
			// A missing one too, naming the artifact.
			check(t, a.blobs.Delete(context.Background(), key, ""))
			p := a.problem(a.request("GET", path+"?redirect=true", "", ""), 500, "blob-missing")
			if !strings.Contains(fmt.Sprint(p["detail"]), "weights/model.bin") {
				t.Fatalf("problem does not name the artifact: %v", p)
			}
		}
	})
}

func TestRedirectsOff(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		a.upload(vbase+"/artifacts", map[string]any{"name": "m.bin"}, "m.bin", []byte("streamed"), 201)
		res := a.request("GET", vbase+"/artifacts/m.bin?redirect=true", "", "")
		if res.status != 200 || string(res.body) != "streamed" {
			t.Fatalf("redirects off: %d %q", res.status, res.body)
		}
	})
}

func TestPublicStoreURL(t *testing.T) {
	artifactEngines(t, artifactSetup{public: true, presignTTL: time.Minute}, func(t *testing.T, a *artifactAPI) {
		d, direct := blob.DirectOf(a.blobs)
		if !direct {
			t.Skip("the filesystem store is never public")
		}
		if _, err := d.EnsurePublic(context.Background()); err != nil {
			t.Fatal(err)
		}
		a.seed()
		content := []byte(`{"public": true}`)
		created := a.upload(vbase+"/artifacts", map[string]any{"name": "config.json"}, "config.json", content, 201).json(t)
		u, _ := created["url"].(string)
		if !strings.HasPrefix(u, "http") {
			t.Fatalf("an artifact of a public store has no url: %v", created)
		}
		status, _, body := fetch(t, u)
		if status != 200 || !bytes.Equal(body, content) {
			t.Fatalf("anonymous GET of %s: %d %q", u, status, body)
		}
		list := a.do("GET", vbase+"/artifacts", nil, 200).json(t)
		if got := list["data"].([]any)[0].(map[string]any)["url"]; got != u {
			t.Fatalf("listed url %v, want %s", got, u)
		}
		// The same upload again answers the same record.
		again := a.upload(vbase+"/artifacts", map[string]any{"name": "config.json"}, "config.json", content, 200).json(t)
		if again["url"] != u {
			t.Fatalf("idempotent upload url %v, want %s", again["url"], u)
		}
	})
}
