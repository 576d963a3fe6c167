package registry

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/api"
)

// FuzzMetadata: validMetadata never panics; what it accepts is a JSON
// object of at most api.MaxMetadataBytes whose keys follow the pattern and
// whose documented keys have their types, and it accepts its own output
// again unchanged.
func FuzzMetadata(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"license":"mit","parameters":7}`, `{"datasets":[{"name":"w","digest":"sha256:` + strings.Repeat("a", 64) + `"}]}`,
		`{"code":{"repository":"r","commit":"c"}}`, `[1]`, `null`, `{"a b":1}`, `{"parameters":-1}`, `{"x":{"y":[1,{"z":null}]}}`,
		`{"parameters":1e400}`, `{"datasets":[{"name":"w","rows":1}]}`, `{"k":"\u0000"}`, `{"":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var v validation
		out := validMetadata(&v, json.RawMessage(in))
		if v.err() != nil {
			if out != "" {
				t.Fatalf("refused %q but returned %q", in, out)
			}
			return
		}
		if len(out) > api.MaxMetadataBytes {
			t.Fatalf("accepted %d bytes", len(out))
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &m); err != nil || m == nil {
			t.Fatalf("accepted %q as %q, not a JSON object: %v", in, out, err)
		}
		for k, raw := range m {
			if !metadataKeyRE.MatchString(k) {
				t.Fatalf("accepted key %q", k)
			}
			switch k {
			case "license", "framework", "task", "base_model":
				var s string
				if json.Unmarshal(raw, &s) != nil {
					t.Fatalf("accepted %s = %s", k, raw)
				}
			case "parameters":
				var n uint64
				if json.Unmarshal(raw, &n) != nil || n > 1<<63-1 {
					t.Fatalf("accepted parameters = %s", raw)
				}
			case "datasets":
				var ds []api.DatasetRef
				if json.Unmarshal(raw, &ds) != nil {
					t.Fatalf("accepted datasets = %s", raw)
				}
			}
		}
		var again validation
		if out2 := validMetadata(&again, json.RawMessage(out)); again.err() != nil || out2 != out {
			t.Fatalf("its own output %q: %v, %q", out, again.err(), out2)
		}
	})
}
