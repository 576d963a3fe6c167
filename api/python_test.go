package api_test

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/api"
)

// The Python client (python/flymodel) keeps copies of two of api's tables,
// as it cannot import Go: the format each file extension names, and the
// class of each problem type. These tests keep the copies in step.

func readPython(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile("../python/flymodel/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pyDict returns the "key": value pairs of the Python dict literal that
// follows name = { in src.
func pyDict(t *testing.T, src, name string) map[string]string {
	t.Helper()
	loc := regexp.MustCompile(`(?m)^` + name + `(: [^=]+)? = \{`).FindStringIndex(src)
	if loc == nil {
		t.Fatalf("%s not found", name)
	}
	body := src[loc[1]:]
	body = body[:strings.Index(body, "\n}")]
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`"([a-z0-9-]+)":\s*("?[A-Za-z0-9_-]+"?)`).FindAllStringSubmatch(body, -1) {
		out[m[1]] = strings.Trim(m[2], `"`)
	}
	return out
}

func TestPythonFormatTable(t *testing.T) {
	py := pyDict(t, readPython(t, "upsert.py"), "FORMAT_BY_EXTENSION")
	var exts []string
	for ext := range py {
		exts = append(exts, ext)
	}
	sort.Strings(exts)
	for _, ext := range exts {
		if got := api.FormatByName("x." + ext); got != py[ext] {
			t.Errorf("python says .%s is format %q, api says %q", ext, py[ext], got)
		}
	}
	// Every extension api gives a format, the Python table has.
	for _, f := range api.Formats {
		if api.FormatByName("x."+f) == f && py[f] != f {
			t.Errorf("python's FORMAT_BY_EXTENSION lacks .%s (format %s)", f, f)
		}
	}
	for _, ext := range []string{"jpg", "htm", "yml", "pth", "pickle", "hdf5", "ndjson", "feather", "mpk", "markdown"} {
		if want := api.FormatByName("x." + ext); want != "" && py[ext] != want {
			t.Errorf("python's FORMAT_BY_EXTENSION: .%s is %q, want %q", ext, py[ext], want)
		}
	}
}

func TestPythonProblemClasses(t *testing.T) {
	py := pyDict(t, readPython(t, "errors.py"), "_BY_TYPE")
	for _, k := range api.ProblemKinds() {
		if _, ok := py[k.Slug]; !ok {
			t.Errorf("python/flymodel/errors.py: _BY_TYPE has no class for problem type %q", k.Slug)
		}
	}
	for slug := range py {
		if _, ok := api.ProblemKindOf(slug); !ok {
			t.Errorf("python/flymodel/errors.py: _BY_TYPE names %q, which is no problem type", slug)
		}
	}
}
