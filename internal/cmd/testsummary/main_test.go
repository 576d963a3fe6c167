package main

import (
	"strings"
	"testing"
)

// A recorded `go test -json` stream: a passing test, a failing one with
// its output, two skipped for one reason (from different files), a build
// failure, and package lines.
const stream = `{"Action":"run","Package":"p","Test":"TestOK"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"p","Test":"TestOK","Elapsed":0}
{"Action":"run","Package":"p","Test":"TestBad"}
{"Action":"output","Package":"p","Test":"TestBad","Output":"    a_test.go:4: boom\n"}
{"Action":"fail","Package":"p","Test":"TestBad","Elapsed":0}
{"Action":"output","Package":"p","Test":"TestPG","Output":"    pg_test.go:9: FLYMODEL_TEST_POSTGRES_URL not set: skipping PostgreSQL\n"}
{"Action":"output","Package":"p","Test":"TestPG","Output":"--- SKIP: TestPG (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestPG","Elapsed":0}
{"Action":"output","Package":"q","Test":"TestPG2","Output":"    other_test.go:12: FLYMODEL_TEST_POSTGRES_URL not set: skipping PostgreSQL\n"}
{"Action":"skip","Package":"q","Test":"TestPG2","Elapsed":0}
{"Action":"output","Package":"p","Output":"FAIL\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.01s\n"}
{"Action":"fail","Package":"p","Elapsed":0.01}
{"Action":"output","Package":"q","Output":"PASS\n"}
{"Action":"output","Package":"q","Output":"ok  \tq\t0.02s\n"}
{"Action":"pass","Package":"q","Elapsed":0.02}
{"ImportPath":"r [r.test]","Action":"build-output","Output":"./b.go:2:12: undefined: y\n"}
`

func TestSummary(t *testing.T) {
	var out strings.Builder
	s := &summary{out: &out, output: map[string][]string{}, skips: map[string]int{}}
	if err := s.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if failed := s.finish(); !failed {
		t.Error("a failed test did not fail the summary")
	}
	got := out.String()
	for _, want := range []string{
		"    a_test.go:4: boom\n",   // a failed test's output
		"FAIL\tp\t0.01s\n",          // package lines as go test prints them
		"ok  \tq\t0.02s\n",          //
		"./b.go:2:12: undefined: y", // build errors
		"      2  FLYMODEL_TEST_POSTGRES_URL not set: skipping PostgreSQL\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "\n1 passed, 1 failed, 2 skipped\n") {
		t.Errorf("last line: %q", got[strings.LastIndex(strings.TrimSuffix(got, "\n"), "\n")+1:])
	}
	if strings.Contains(got, "=== RUN   TestOK") || strings.Contains(got, "PASS\n") {
		t.Errorf("passing tests' output is printed:\n%s", got)
	}
}

func TestSummaryPasses(t *testing.T) {
	var out strings.Builder
	s := &summary{out: &out, output: map[string][]string{}, skips: map[string]int{}}
	if err := s.read(strings.NewReader(`{"Action":"pass","Package":"q","Test":"TestOK"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if s.finish() {
		t.Errorf("all passed, yet failed:\n%s", out.String())
	}
}
