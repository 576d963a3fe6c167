package api_test

import (
	"testing"

	"github.com/flymodel/flymodel/api"
)

func TestTypeByName(t *testing.T) {
	// Every format is named by the extension of its own name.
	for _, f := range api.Formats {
		ct, _ := api.FormatContentType(f)
		if got, ok := api.TypeByName("x." + f); !ok || got.Format != f || got.ContentType != ct {
			t.Errorf("TypeByName(x.%s) = %+v, %v; want format %s, %s", f, got, ok, f, ct)
		}
	}
	for _, c := range []struct {
		name, format, contentType string
	}{
		{"config.json", "json", "application/json"},
		{"weights/model.safetensors", "safetensors", "application/octet-stream"},
		{"MODEL.GGUF", "gguf", "application/octet-stream"},
		{"ckpt/model.pth", "pt", "application/octet-stream"},
		{"params.yml", "yaml", "application/yaml"},
		{"photo.JPG", "jpeg", "image/jpeg"},
		{"data.h5", "h5", "application/x-hdf5"},
		{"rows.ndjson", "jsonl", "application/jsonl"},
		{"train.log", "", "text/plain"},
		{"data.csv.gz", "", "application/gzip"},
		{`C:\out\table.parquet`, "parquet", "application/vnd.apache.parquet"},
	} {
		got, ok := api.TypeByName(c.name)
		if !ok || got.Format != c.format || got.ContentType != c.contentType {
			t.Errorf("TypeByName(%q) = %+v, %v; want %q, %q", c.name, got, ok, c.format, c.contentType)
		}
		if f := api.FormatByName(c.name); f != c.format {
			t.Errorf("FormatByName(%q) = %q, want %q", c.name, f, c.format)
		}
	}
	for _, name := range []string{"weights", ".env", "dir.d/file", "x.", "model.unknownext", "json"} {
		if got, ok := api.TypeByName(name); ok {
			t.Errorf("TypeByName(%q) = %+v, want nothing", name, got)
		}
	}
}
