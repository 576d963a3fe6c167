package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/api"
)

// An artifact without a format says null, as the OpenAPI schema has it,
// and reads back as "".
func TestArtifactFormatNull(t *testing.T) {
	for format, want := range map[string]string{"": `"format":null`, "json": `"format":"json"`} {
		b, err := json.Marshal(api.Artifact{ID: 1, Format: format})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) || strings.Count(string(b), `"format"`) != 1 {
			t.Errorf("format %q: %s, want %s once", format, b, want)
		}
		var back api.Artifact
		if err := json.Unmarshal(b, &back); err != nil || back.Format != format || back.ID != 1 {
			t.Errorf("format %q: read back %+v, %v", format, back, err)
		}
	}
}
