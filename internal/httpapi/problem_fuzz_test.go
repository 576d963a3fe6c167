package httpapi_test

import (
	"bytes"
	"encoding/json"
	"testing"

	flyapi "github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/httpapi"
)

// jsonString is s as encoding/json stores it (invalid UTF-8 replaced).
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzProblemMarshal checks that a Problem with arbitrary strings encodes to
// valid JSON whose standard members round-trip, with extensions beside them
// that never override a standard member.
func FuzzProblemMarshal(f *testing.F) {
	f.Add("https://flymodel.dev/problems/validation", "Unprocessable Content", 422, "name: must not contain '/'", "/api/v1/namespaces/a%2Fb", "request_id", "01J0000000")
	f.Add("", "", 0, "", "", "type", "overridden?")
	f.Add("t", "T", -1, "\"quoted\" \\ <script>\u2028\x00\xff", "\xc3", "detail", "x")
	f.Add("x", "y", 500, "z", "", "\xff", "\xfe")
	f.Fuzz(func(t *testing.T, typ, title string, status int, detail, instance, extKey, extVal string) {
		p := &httpapi.Problem{Problem: flyapi.Problem{Type: typ, Title: title, Status: status, Detail: detail, Instance: instance},
			Extensions: map[string]any{extKey: extVal, "n": 1}}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %q", b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("Unmarshal %q: %v", b, err)
		}
		if m["type"] != jsonString(t, typ) || m["title"] != jsonString(t, title) || m["status"] != float64(status) {
			t.Fatalf("standard members of %q = %v", b, m)
		}
		for key, val := range map[string]string{"detail": detail, "instance": instance} {
			got, present := m[key]
			if val == "" {
				if present { // an extension of the same name never shows
					t.Fatalf("%s present though empty: %q", key, b)
				}
				continue
			}
			if got != jsonString(t, val) {
				t.Fatalf("%s = %v, want %q: %q", key, got, val, b)
			}
		}
		switch extKey {
		case "type", "title", "status", "detail", "instance":
		default:
			if k := jsonString(t, extKey); k != "n" && m[k] != jsonString(t, extVal) {
				t.Fatalf("extension %q = %v, want %q: %q", extKey, m[k], extVal, b)
			}
		}
		if m["n"] != float64(1) && jsonString(t, extKey) != "n" {
			t.Fatalf("extension n = %v: %q", m["n"], b)
		}
		// Decoding a second time with a strict decoder finds no duplicates
		// of the standard members.
		dec := json.NewDecoder(bytes.NewReader(b))
		seen := map[string]bool{}
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			k := tok.(string)
			if seen[k] {
				t.Fatalf("member %q twice in %q", k, b)
			}
			seen[k] = true
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
		}
	})
}
