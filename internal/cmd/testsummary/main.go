// Command testsummary reads `go test -json` on standard input and prints
// what `go test` prints (each package's ok/FAIL line, the output of every
// failed test), then the tests that were skipped with their reasons, and
// a last line that counts them: "N passed, N failed, N skipped". It exits
// 1 when a test or package failed, so `make test` fails as go test would.
//
// It exists so that a laptop run, where the PostgreSQL, S3 or browser
// tests skip for lack of their service, says so at the end instead of
// among thousands of lines.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type summary struct {
	out                     io.Writer
	passed, failed, skipped int
	failedPackages          int
	output                  map[string][]string // package/test → its output lines
	skips                   map[string]int      // reason → tests skipped for it
}

func main() {
	s := &summary{out: os.Stdout, output: map[string][]string{}, skips: map[string]int{}}
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if s.finish() {
		os.Exit(1)
	}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (a build error printed by go test itself).
			fmt.Fprintln(s.out, string(line))
			continue
		}
		s.event(e)
	}
	return sc.Err()
}

func (s *summary) event(e event) {
	key := e.Package + " " + e.Test
	switch e.Action {
	case "build-output":
		// Compiler errors (go test -json reports them as events since Go 1.24).
		fmt.Fprint(s.out, e.Output)
	case "output":
		if e.Test == "" {
			// Package lines: "ok …", "FAIL …", "?   … [no test files]" and
			// build failures, printed as go test prints them.
			if strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") ||
				strings.HasPrefix(e.Output, "?") || strings.HasPrefix(e.Output, "panic") ||
				!strings.HasPrefix(e.Output, "=== ") && !strings.HasPrefix(e.Output, "--- ") && e.Output != "PASS\n" {
				fmt.Fprint(s.out, e.Output)
			}
			return
		}
		s.output[key] = append(s.output[key], e.Output)
	case "pass":
		if e.Test != "" {
			s.passed++
			delete(s.output, key)
		}
	case "skip":
		if e.Test != "" {
			s.skipped++
			s.skips[skipReason(s.output[key])]++
			delete(s.output, key)
		}
	case "fail":
		if e.Test == "" {
			s.failedPackages++
			return
		}
		s.failed++
		for _, l := range s.output[key] {
			fmt.Fprint(s.out, l)
		}
		delete(s.output, key)
	}
}

// skipReason is the message of t.Skip among a skipped test's output
// lines, without its "file.go:12: " prefix, so that the tests skipped for
// one reason are counted together.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		if file, msg, ok := strings.Cut(l, ": "); ok && strings.Contains(file, ".go:") {
			l = msg
		}
		return l
	}
	return "(no reason given)"
}

// finish prints the skips and the counts; it reports whether anything failed.
func (s *summary) finish() bool {
	if len(s.skips) > 0 {
		fmt.Fprintf(s.out, "\nskipped, by reason:\n")
		for _, reason := range slices.Sorted(maps.Keys(s.skips)) {
			fmt.Fprintf(s.out, "  %5d  %s\n", s.skips[reason], reason)
		}
	}
	fmt.Fprintf(s.out, "\n%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	return s.failed > 0 || s.failedPackages > 0
}
