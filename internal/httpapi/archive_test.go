package httpapi_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestVersionArchive(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		// An empty version is an empty archive, without a digest.
		empty := a.do("GET", vbase+"/archive", nil, 200)
		if len(empty.body) != 1024 || !bytes.Equal(empty.body, make([]byte, 1024)) || empty.header.Get("Version-Digest") != "" {
			t.Fatalf("empty archive: %d bytes, %v", len(empty.body), empty.header)
		}

		long := strings.Repeat("deep/", 30) + "file.bin" // past the 100 bytes of a ustar name
		files := map[string][]byte{
			"weights/model.safetensors": bytes.Repeat([]byte("w"), 300000),
			"config.json":               []byte(`{"layers": 12}`),
			"tokenizer/vocab.txt":       []byte("a\nb\n"),
			"odd name é.txt":            []byte("unicode"),
			long:                        {0, 1, 2, 3},
			"exactly512":                bytes.Repeat([]byte{7}, 512),
		}
		for name, content := range files {
			a.upload(vbase+"/artifacts", map[string]any{"name": name}, "f", content, 201)
		}
		// Experiment artifacts are not part of the version's content.
		a.upload(vbase+"/experiments/eval/artifacts", map[string]any{"name": "report.txt"}, "report.txt", []byte("exp"), 201)
		version := a.do("GET", vbase, nil, 200).json(t)

		res := a.do("GET", vbase+"/archive", nil, 200)
		h := res.header
		if h.Get("Content-Type") != "application/x-tar" || h.Get("Content-Disposition") != `attachment; filename=llm.sm-v1.tar` ||
			h.Get("Version-Digest") != version["digest"] || h.Get("Content-Length") != fmt.Sprint(len(res.body)) {
			t.Fatalf("archive headers: %v (body %d bytes, version %v)", h, len(res.body), version["digest"])
		}
		tr := tar.NewReader(bytes.NewReader(res.body))
		var names []string
		for {
			hd, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := files[hd.Name]
			if !ok || !bytes.Equal(body, want) || hd.Typeflag != tar.TypeReg || hd.Mode != 0o644 || hd.ModTime.IsZero() {
				t.Fatalf("entry %q: %d bytes, %+v", hd.Name, len(body), hd)
			}
			names = append(names, hd.Name)
		}
		if len(names) != len(files) || !sortedStrings(names) {
			t.Fatalf("entries %q, want the %d artifacts by name", names, len(files))
		}

		head := a.request("HEAD", vbase+"/archive", "", "")
		if head.status != 200 || len(head.body) != 0 || head.header.Get("Content-Length") != h.Get("Content-Length") ||
			head.header.Get("Version-Digest") != h.Get("Version-Digest") {
			t.Fatalf("HEAD archive: %d %v", head.status, head.header)
		}
		a.problem(a.request("GET", base+"/namespaces/canada/models/llm.sm/versions/nope/archive", "", ""), 404, "not-found")

		// Bytes altered behind the server's back: the transfer is cut
		// before the archive is complete.
		key, _ := a.storeArtifact("tokenizer/vocab.txt")
		a.overwrite(key, []byte("a\nc\n"))
		srv := httptest.NewServer(a.h)
		defer srv.Close()
		resp, err := a.send("GET", srv.URL+vbase+"/archive", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, readErr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if readErr == nil || int64(len(got)) >= resp.ContentLength {
			t.Fatalf("archive with an altered artifact ended cleanly (%d of %d bytes, %v)", len(got), resp.ContentLength, readErr)
		}
		// No end-of-archive marker, and the altered entry never whole.
		if len(got) >= 1024 && bytes.Equal(got[len(got)-1024:], make([]byte, 1024)) {
			t.Fatal("the cut archive ends with the end-of-archive marker")
		}
		tr = tar.NewReader(bytes.NewReader(got))
		for {
			hd, err := tr.Next()
			if err != nil {
				break
			}
			body, err := io.ReadAll(tr)
			if err == nil && hd.Name == "tokenizer/vocab.txt" {
				t.Fatalf("the altered entry came out whole: %q", body)
			}
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatal(err)
			}
		}
		if n := a.metrics.IntegrityFailures(); n != 1 {
			t.Fatalf("integrity failures = %d, want 1", n)
		}

		// The first artifact missing: a clean 500 naming it, before any byte.
		first, _ := a.storeArtifact("config.json")
		check(t, a.blobs.Delete(t.Context(), first, ""))
		p := a.problem(a.request("GET", vbase+"/archive", "", ""), 500, "blob-missing")
		if !strings.Contains(fmt.Sprint(p["detail"]), "config.json") {
			t.Fatalf("problem does not name the artifact: %v", p)
		}
	})
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}
