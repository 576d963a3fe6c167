package registry

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flymodel/flymodel/api"
)

// ecmaRegexp matches an ECMA-262 pattern of the api package, of the form
// ^(?!A)(?!B)…R: negative lookaheads at the start, then an expression Go's
// regexp reads once \uXXXX is written \x{XXXX}. Each lookahead looks from
// the start of the string, so the pattern matches when R does and no
// lookahead would.
type ecmaRegexp struct {
	not  []*regexp.Regexp
	rest *regexp.Regexp
}

var uEscape = regexp.MustCompile(`\\u([0-9a-fA-F]{4})`)

func compileECMA(t testing.TB, pattern string) ecmaRegexp {
	t.Helper()
	goRE := func(expr string) *regexp.Regexp {
		return regexp.MustCompile(`^(?:` + uEscape.ReplaceAllString(expr, `\x{$1}`) + `)`)
	}
	rest, ok := strings.CutPrefix(pattern, "^")
	if !ok {
		t.Fatalf("pattern %s is not anchored", pattern)
	}
	var re ecmaRegexp
	for strings.HasPrefix(rest, "(?!") {
		depth, end := 0, -1
		for i := 0; i < len(rest) && end < 0; i++ {
			switch rest[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					end = i
				}
			}
		}
		if end < 0 {
			t.Fatalf("pattern %s: unbalanced lookahead", pattern)
		}
		re.not = append(re.not, goRE(rest[len("(?!"):end]))
		rest = rest[end+1:]
	}
	re.rest = goRE(rest)
	return re
}

func (re ecmaRegexp) match(s string) bool {
	for _, n := range re.not {
		if n.MatchString(s) {
			return false
		}
	}
	return re.rest.MatchString(s)
}

// stringRules are the validators of strings whose rule package api also
// states as a pattern and a length (in characters, or in bytes), which
// the OpenAPI schemas show.
var stringRules = []struct {
	name     string
	validate func(string) error
	pattern  string
	max      int
	bytes    bool
}{
	{"Name", ValidateName, api.NamePattern, api.MaxNameLen, false},
	{"ArtifactName", ValidateArtifactName, api.ArtifactNamePattern, api.MaxArtifactNameLen, false},
	{"ArtifactFileName", validateFileName, api.FileNamePattern, api.MaxFileNameLen, true},
	{"Sha256", func(s string) error {
		if !sha256Hex.MatchString(s) {
			return errInvalidSHA256
		}
		return nil
	}, api.SHA256Pattern, 64, true},
}

var errInvalidSHA256 = api.NewError(api.ErrInvalid, "not a sha256")

// patternExamples are names each rule accepts or refuses, chosen at the
// edges of its rules.
var patternExamples = []string{
	"a", "llm.sm", "v1.0.0", "my model", "ü", "名前", "a.b", "...", ".a", "a.", "a..b",
	".", "..", "", " ", " a", "a ", "\ta", "a\u00a0", "\u3000a", "a\u2028b", "\u200ba",
	"a/b", "/a", "a/", "a//b", "a/./b", "a/../b", "./a", "a/.", "../a", "a/..", "a/.../b",
	"eval/confusion.png", `a\b`, "a\x00b", "a\x1fb", "a\x7fb", "a\u0085b", "a\u009fb", "a\u00a0b",
	`say "hi"`, "a\nb", "\n", strings.Repeat("x", 255), strings.Repeat("x", 256),
	strings.Repeat("é", 200), strings.Repeat("x", 1024), strings.Repeat("x", 1025),
	strings.Repeat("ab/", 300) + "c", strings.Repeat("0", 64), strings.Repeat("a", 64),
	strings.Repeat("A", 64), strings.Repeat("0", 63), strings.Repeat("g", 64),
	"a?x=..", "a#../b", "%2e%2e%2fetc%2fpasswd", "100%", "?", "#", "%",
	"*", "**", "a*", "*/a", " *",
	"C:x", "c:", "Z:/a", "a/C:x", "1:x", "CC:x", ":x",
	"evil\u202etxt.exe", "a\u202ab", "a\u2066b", "\u2069", "a\u2029b", "a\u200fb",
}

// TestValidatorsMatchPatterns: each validator accepts exactly the strings
// that match its api pattern within its api length limit (what the
// OpenAPI schema says), on examples at the edges of the rules.
func TestValidatorsMatchPatterns(t *testing.T) {
	for _, rule := range stringRules {
		re := compileECMA(t, rule.pattern)
		for _, s := range patternExamples {
			checkRule(t, rule.name, rule.validate, re, rule.max, rule.bytes, s)
		}
	}
}

// FuzzValidatorsMatchPatterns is TestValidatorsMatchPatterns on any
// string.
func FuzzValidatorsMatchPatterns(f *testing.F) {
	for _, s := range patternExamples {
		f.Add(s)
	}
	res := make([]ecmaRegexp, len(stringRules))
	for i, rule := range stringRules {
		res[i] = compileECMA(f, rule.pattern)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // not a JSON string; the validators refuse it anyway
		}
		for i, rule := range stringRules {
			checkRule(t, rule.name, rule.validate, res[i], rule.max, rule.bytes, s)
		}
	})
}

func checkRule(t *testing.T, name string, validate func(string) error, re ecmaRegexp, max int, bytes bool, s string) {
	t.Helper()
	n := utf8.RuneCountInString(s)
	if bytes {
		n = len(s)
	}
	want := re.match(s) && n >= 1 && n <= max
	if err := validate(s); (err == nil) != want {
		t.Errorf("%s %q: validator says %v, the pattern and length limit say ok=%v", name, s, err, want)
	}
}
