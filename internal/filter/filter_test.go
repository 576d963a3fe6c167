package filter

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		filter string
		res    Resource
		want   string // the error's text
	}{
		{`state >=`, Versions, "at 9: expected a value after '>=', found end of filter"},
		{`state = prod`, Versions, `at 9: expected a value after '=' (text is quoted: "prod"), found 'prod'`},
		{`created_at >= "2026-01-01" AND state >=`, Versions, "at 40: expected a value after '>=', found end of filter"},
		{`state = "prod" AND`, Versions, "at 19: expected a field, NOT or '(' after 'AND', found end of filter"},
		{`state = "prod" OR OR`, Versions, "at 19: expected a field, NOT or '(' after 'OR', found 'OR'"},
		{`(state = "prod"`, Versions, "at 16: expected ')' closing the '(' at 1, found end of filter"},
		{`state = "prod")`, Versions, "at 15: expected AND, OR or the end of the filter, found ')'"},
		{`state "prod"`, Versions, "at 7: expected an operator (= != < <= > >= LIKE ILIKE IN IS) after 'state', found a string"},
		{`state = "prod`, Versions, "at 9: expected a closing \", found end of filter"},
		{`state = 'pr\qod'`, Versions, `at 12: expected one of \" \' \\ \/ \n \t \r \uXXXX, found '\q'`},
		{`state ! "prod"`, Versions, "at 7: expected '!=', found '!'"},
		{`state = "prod" ; DROP TABLE x`, Versions, `at 16: expected a field, a value, an operator or a parenthesis, found ';'`},
		{`state IN ("prod" "qa")`, Versions, "at 18: expected ',' or ')' in the IN list, found a string"},
		{`state IN "prod"`, Versions, "at 10: expected '(' after IN, found a string"},
		{`state IS "prod"`, Versions, "at 10: expected NULL or NOT NULL after IS, found a string"},
		{`state NOT = "prod"`, Versions, "at 11: expected LIKE, ILIKE or IN after NOT, found '='"},
		{`name LIKE 3`, Versions, "at 11: expected a string pattern after LIKE, found a number"},
		{`x = 1`, Versions, "at 1: expected a field of versions ("},
		{`experiments.eval.accuracy > 1`, Versions, "at 1: expected experiments.<name>.state, experiments.<name>.metrics.<key> or experiments.<name>.params.<key>"},
		{`metrics.accuracy >= 0.9`, Versions, "at 1: expected a field of versions"},
		{`meta.framework = "torch"`, Experiments, "at 1: expected a field of experiments"},
		{`state = "bogus"`, Versions, `at 9: expected one of test, qa, stage, prod, found "bogus"`},
		{`state = 1`, Versions, `at 9: expected a string to compare with 'state', found a number`},
		{`sealed = "yes"`, Versions, `at 10: expected true or false to compare with 'sealed', found a string`},
		{`sealed > true`, Versions, `at 8: expected = or != after 'sealed', found '>'`},
		{`created_at > "yesterday"`, Versions, `at 14: expected an RFC 3339 time`},
		{`created_at LIKE "2026%"`, Versions, `at 12: expected =, !=, <, <=, >, >=, IN or IS NULL after 'created_at', found 'LIKE'`},
		{`tags > "a"`, Versions, `at 6: expected =, !=, IN, NOT IN, LIKE, NOT LIKE or IS NULL after 'tags', found '>'`},
		{`metrics.accuracy = null`, Experiments, `at 20: expected a string, a number or true/false to compare with 'metrics.accuracy', found null (use IS NULL)`},
		{`metrics.accuracy IN (1, "a")`, Experiments, `at 25: expected a number to compare with 'metrics.accuracy', found a string`},
		{`metrics.a" = 1`, Experiments, `at 10: expected a closing "`},
		{`metrics. = 1`, Experiments, `at 9: expected a key of letters, digits, '_', '-' or '.' after 'metrics.', found ''`},
		{`metrics.ok = true AND params.x < true`, Experiments, `at 32: expected = or != with true or false after 'params.x', found '<'`},
		{`duration_ms > 1e999`, Experiments, `at 15: expected a number, found '1e999'`},
		{"name = \"\xff\"", Versions, `at 9: expected valid UTF-8`},
		{`ünïcode = 1`, Versions, `at 1: expected a field of versions`},
		{"name = \"a\x00\"", Versions, `at 10: expected a character other than NUL`},
		{`name = "a\u0000"`, Versions, `at 10: expected a character other than NUL`},
	} {
		e, err := Parse(c.filter)
		if err == nil {
			_, _, err = Build(SQLite, Query{Resource: c.res, Filter: e})
		}
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("%q: error %v, want *Error %q", c.filter, err, c.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: error\n  %s\nwant\n  %s", c.filter, err, c.want)
		}
	}
}

func TestLimits(t *testing.T) {
	long := `name = "` + strings.Repeat("a", MaxLength) + `"`
	if _, err := Parse(long); err == nil || !strings.Contains(err.Error(), "at most 4096 bytes") {
		t.Errorf("long filter: %v", err)
	}
	deep := strings.Repeat("(", MaxDepth) + `name = "a"` + strings.Repeat(")", MaxDepth)
	if _, err := Parse(deep); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	deeper := strings.Repeat("(", MaxDepth+1) + `name = "a"` + strings.Repeat(")", MaxDepth+1)
	if _, err := Parse(deeper); err == nil || !strings.Contains(err.Error(), "at 33: expected at most 32 nested") {
		t.Errorf("depth %d: %v", MaxDepth+1, err)
	}
	nots := strings.Repeat("NOT ", MaxDepth+1) + `name = "a"`
	if _, err := Parse(nots); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("%d NOTs: %v", MaxDepth+1, err)
	}
	in := func(n int) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = strconv.Itoa(i)
		}
		return "duration_ms IN (" + strings.Join(vals, ",") + ")"
	}
	if _, err := Parse(in(MaxInList)); err != nil {
		t.Errorf("IN of %d: %v", MaxInList, err)
	}
	if _, err := Parse(in(MaxInList + 1)); err == nil || !strings.Contains(err.Error(), "at most 1000 values") {
		t.Errorf("IN of %d: %v", MaxInList+1, err)
	}
	if e, err := Parse("  \t"); e != nil || err != nil {
		t.Errorf("blank filter = %v, %v", e, err)
	}
}

func TestBuildBindsEverything(t *testing.T) {
	e, err := Parse(`name = 'a''b' OR meta.x = "1; DROP TABLE models" OR tags LIKE "%--%" OR experiments.ev.metrics.acc >= 0.5`)
	if err == nil {
		t.Fatalf("'a''b' parsed")
	}
	e, err = Parse(`name = "it's" OR meta.x-y = "1; DROP TABLE models" OR tags LIKE "%--%" OR experiments.ev.metrics.acc >= 0.5`)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []Dialect{SQLite, Postgres} {
		sql, args, err := Build(d, Query{Resource: Versions, Filter: e, Namespaces: []string{"a'b"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"it's", "DROP", "--", "a'b", "x-y", "acc", "ev"} {
			if strings.Contains(sql, bad) {
				t.Errorf("dialect %d: %q in the SQL: %s", d, bad, sql)
			}
		}
		if n := placeholders(d, sql); n != len(args) {
			t.Errorf("dialect %d: %d placeholders, %d args: %s", d, n, len(args), sql)
		}
	}
}

func TestOrderAndCursor(t *testing.T) {
	if _, err := ParseOrder(Versions, "metrics.accuracy desc"); err == nil {
		t.Error("versions by metrics: no error")
	}
	if _, err := ParseOrder(Experiments, "name sideways"); err == nil || !strings.Contains(err.Error(), "asc or desc") {
		t.Errorf("bad direction: %v", err)
	}
	o, err := ParseOrder(Experiments, "metrics.accuracy DESC")
	if err != nil || o.String() != "metrics.accuracy desc" {
		t.Fatalf("order = %v, %v", o, err)
	}
	for _, key := range []any{0.5, nil} {
		c := Cursor{Order: o, Key: key, ID: 7}
		got, err := DecodeCursor(Experiments, o, c.Encode())
		if err != nil || got.ID != 7 || got.Key != key {
			t.Errorf("cursor %v round trip = %+v, %v", key, got, err)
		}
	}
	other, _ := ParseOrder(Experiments, "name")
	for _, bad := range []string{"", "!!!", "e30", Cursor{Order: other, Key: "a", ID: 1}.Encode()} {
		if _, err := DecodeCursor(Experiments, o, bad); !errors.Is(err, ErrCursor) {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
	// A text key under a time order does not decode.
	byTime, _ := ParseOrder(Versions, "created_at desc")
	if _, err := DecodeCursor(Versions, byTime, Cursor{Order: byTime, Key: "soon", ID: 1}.Encode()); !errors.Is(err, ErrCursor) {
		t.Errorf("text key for a time order: %v", err)
	}
}

func TestLikeToGlob(t *testing.T) {
	for in, want := range map[string]string{
		`a%b_c`:     `a*b?c`,
		`100\%`:     `100%`,
		`a*b?[c]`:   `a[*]b[?][[]c]`,
		`\_x\\`:     `_x\`,
		`trailing\`: `trailing\`,
	} {
		if got := likeToGlob(in); got != want {
			t.Errorf("likeToGlob(%q) = %q, want %q", in, got, want)
		}
	}
}

var placeholderRE = map[Dialect]*regexp.Regexp{SQLite: regexp.MustCompile(`\?`), Postgres: regexp.MustCompile(`\$[0-9]+`)}

// placeholders counts the placeholders of sql (PostgreSQL: the highest
// $n, after checking they run 1..n).
func placeholders(d Dialect, sql string) int {
	found := placeholderRE[d].FindAllString(sql, -1)
	if d == SQLite {
		return len(found)
	}
	for i, p := range found {
		if p != "$"+strconv.Itoa(i+1) {
			return -1
		}
	}
	return len(found)
}

// vocabulary is every word the compiler may write: the words of the SQL
// of filters using every field with every operator. A word outside it in
// a compiled filter came from the input.
func vocabulary(t testing.TB) map[string]bool {
	words := map[string]bool{}
	add := func(sql string) {
		for _, w := range sqlWords(sql) {
			words[w] = true
		}
	}
	values := map[fieldKind][]string{
		fText: {`"a"`}, fEnum: {`"test"`, `"created"`, `"t%"`}, fTime: {`"2026-01-01"`}, fSealed: {`true`},
		fInt: {`1`}, fSet: {`"a"`}, fJSON: {`"a"`, `1`, `true`},
	}
	for r := Models; r <= Experiments; r++ {
		for name, f := range fields[r] {
			names := []string{name}
			kind := f.kind
			switch {
			case f.kind == fExp:
				names, kind = []string{"experiments.e.state"}, fEnum
				for _, sub := range []string{"experiments.e.metrics.k", "experiments.e.params.k"} {
					for _, v := range values[fJSON] {
						for _, op := range []string{"=", "!=", "<", "IN", "LIKE", "IS NULL", "IS NOT NULL"} {
							addFilter(r, sub, op, v, add)
						}
					}
				}
			case strings.HasSuffix(name, "."):
				names = []string{name + "k"}
			}
			for _, n := range names {
				for _, v := range values[kind] {
					for _, op := range []string{"=", "!=", "<", "IN", "NOT IN", "LIKE", "NOT LIKE", "ILIKE", "IS NULL", "IS NOT NULL"} {
						addFilter(r, n, op, v, add)
					}
				}
			}
		}
		for _, o := range Orders(r) {
			o = strings.Replace(o, "<key>", "k", 1)
			for _, dir := range []string{"asc", "desc"} {
				order, err := ParseOrder(r, o+" "+dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, key := range []any{nil, "a"} {
					for _, d := range []Dialect{SQLite, Postgres} {
						sql, _, err := Build(d, Query{Resource: r, Order: order, After: &Cursor{Order: order, Key: key, ID: 1}, Namespaces: []string{"a"}, NamespaceID: 1, ModelID: 1, VersionID: 1, Limit: 1})
						if err != nil {
							t.Fatal(err)
						}
						add(sql)
					}
				}
			}
		}
	}
	add("AND OR NOT")
	return words
}

// wordRE finds the words of SQL: identifiers, quoted words, numbers.
var wordRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*|'[^']*'|"[^"]*"|[0-9]+`)

// sqlWords are the words of sql, its placeholders left out.
func sqlWords(sql string) []string {
	return wordRE.FindAllString(placeholderRE[Postgres].ReplaceAllString(sql, "$"), -1)
}

func addFilter(r Resource, field, op, value string, add func(string)) {
	src := field + " " + op + " " + value
	switch op {
	case "IN", "NOT IN":
		src = field + " " + op + " (" + value + ", " + value + ")"
	case "IS NULL", "IS NOT NULL":
		src = field + " " + op
	}
	e, err := Parse(src)
	if err != nil {
		return
	}
	for _, d := range []Dialect{SQLite, Postgres} {
		if sql, _, err := Build(d, Query{Resource: r, Filter: e}); err == nil {
			add(sql)
		}
	}
}

func TestVocabulary(t *testing.T) {
	words := vocabulary(t)
	for _, w := range []string{"json_extract", "jsonb_typeof", "tag_links", "model_aliases", "EXISTS", "GLOB", "ILIKE", "numeric", `"C"`} {
		if !words[w] {
			t.Errorf("vocabulary lacks %s", w)
		}
	}
}

// FuzzCompile: parsing and compiling never panic; the SQL has one
// placeholder per argument; and every word of it is of the compiler's
// fixed vocabulary, whatever the input (which reaches the database only
// as arguments).
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`state = "prod" AND experiments.eval.metrics.accuracy >= 0.9`,
		`name LIKE "a%" OR NOT (tags IN ("x", 'y') AND sealed = true)`,
		`meta.framework = "torch'; DROP TABLE models; --"`,
		`metrics.acc IS NOT NULL AND params.lr < 1e-3`,
		`created_at >= "2026-01-02T03:04:05Z"`,
	} {
		f.Add(s, 0)
	}
	words := vocabulary(f)
	f.Fuzz(func(t *testing.T, src string, which int) {
		e, err := Parse(src)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Pos < 1 || fe.Pos > utf8.RuneCountInString(src)+1 {
				t.Fatalf("error %v (%T) out of the filter's range", err, err)
			}
			return
		}
		r := Resource(uint(which) % 3)
		for _, d := range []Dialect{SQLite, Postgres} {
			sql, args, err := Build(d, Query{Resource: r, Filter: e, Namespaces: []string{src}, Limit: 5})
			if err != nil {
				var fe *Error
				if !errors.As(err, &fe) {
					t.Fatalf("build: %v (%T)", err, err)
				}
				return
			}
			if n := placeholders(d, sql); n != len(args) {
				t.Fatalf("%d placeholders, %d args: %s", n, len(args), sql)
			}
			for _, w := range sqlWords(sql) {
				if !words[w] {
					t.Fatalf("word %q of the SQL is not of the vocabulary: %s", w, sql)
				}
			}
		}
	})
}
