package httpapi_test

import (
	"fmt"
	"testing"
)

// TestArtifactTypeFromName: an upload that declares no format and no
// content type gets both from its name's extension (api.TypeByName), on
// every upload route; a form content type on a raw PUT (curl's default) is
// no declaration; what the client declares wins.
func TestArtifactTypeFromName(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.seed()
		for i, c := range []struct {
			name, contentType, query    string
			wantFormat, wantContentType any
		}{
			{"config.json", "", "", "json", "application/json"},
			{"config2.json", "application/x-www-form-urlencoded", "", "json", "application/json"},
			{"config3.json", "multipart/form-data", "", "json", "application/json"},
			{"config4.json", "application/octet-stream", "", "json", "application/json"},
			{"weights/model.safetensors", "application/x-www-form-urlencoded", "", "safetensors", "application/octet-stream"},
			{"m/model.GGUF", "", "", "gguf", "application/octet-stream"},
			{"params.yml", "", "", "yaml", "application/yaml"},
			{"train.log", "application/x-www-form-urlencoded", "", nil, "text/plain"},
			{"weights.bin", "", "", nil, "application/octet-stream"},
			{"weights", "", "", nil, "application/octet-stream"},
			// Declared: the client wins, for each of the two.
			{"notes.json", "text/plain; charset=utf-8", "", "json", "text/plain; charset=utf-8"},
			{"table.csv", "", "format=txt", "txt", "text/plain"},
			{"blob.bin", "", "format=npy", "npy", "application/octet-stream"},
			{"data.parquet", "application/x-www-form-urlencoded", "format=csv", "csv", "text/csv"},
		} {
			path := vbase + "/artifacts/" + c.name
			if c.query != "" {
				path += "?" + c.query
			}
			res := a.request("PUT", path, c.contentType, fmt.Sprintf("bytes %d", i))
			if res.status != 201 {
				t.Fatalf("PUT %s: %d %s", path, res.status, res.body)
			}
			art := res.json(t)
			if art["format"] != c.wantFormat || art["content_type"] != c.wantContentType {
				t.Errorf("PUT %s (Content-Type %q): format %v, content type %v; want %v, %v",
					path, c.contentType, art["format"], art["content_type"], c.wantFormat, c.wantContentType)
			}
			dl := a.request("GET", vbase+"/artifacts/"+c.name, "", "")
			if got := dl.header.Get("Content-Type"); got != c.wantContentType {
				t.Errorf("GET %s: Content-Type %q, want %v", c.name, got, c.wantContentType)
			}
		}

		// Multipart: the metadata part declares neither; the file part's
		// generic type says nothing.
		art := a.upload(vbase+"/artifacts", map[string]any{"name": "eval/rows.jsonl"}, "rows.jsonl", []byte("{}\n"), 201).json(t)
		if art["format"] != "jsonl" || art["content_type"] != "application/jsonl" {
			t.Errorf("multipart rows.jsonl: %v", art)
		}
		// The name says nothing: the file name (the part's) does.
		art = a.upload(vbase+"/artifacts", map[string]any{"name": "onnx-export"}, "model.onnx", []byte("onnx"), 201).json(t)
		if art["format"] != "onnx" || art["file_name"] != "model.onnx" {
			t.Errorf("multipart onnx-export: %v", art)
		}
		// An experiment's artifacts too (the seed's experiment eval).
		res := a.request("PUT", vbase+"/experiments/eval/artifacts/confusion.png", "application/x-www-form-urlencoded", "png bytes")
		if art := res.json(t); res.status != 201 || art["format"] != "png" || art["content_type"] != "image/png" {
			t.Errorf("experiment PUT confusion.png: %d %v", res.status, art)
		}
		// The original's upload endpoint: no format given.
		v := a.do("GET", vbase, nil, 200).json(t)
		art = a.upload("/upload/model-version-artifact", map[string]any{"model_version": v["id"], "artifact_name": "tokenizer/vocab.json"},
			"local.bin", []byte(`{"a":1}`), 200).json(t)
		if art["format"] != "json" || art["content_type"] != "application/json" {
			t.Errorf("compat upload vocab.json: %v", art)
		}
	})
}
