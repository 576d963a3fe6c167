package db_test

import (
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/schema"
)

// enumerated are the columns whose values the database enumerates (enum
// types on PostgreSQL, CHECK lists on SQLite and for the text columns of
// both), each with the vocabulary of package api it must list.
var enumerated = map[string][]string{
	"buckets.role":                     api.Lifecycles,
	"model_versions.state":             api.Lifecycles,
	"version_state_changes.from_state": api.Lifecycles,
	"version_state_changes.to_state":   api.Lifecycles,
	"experiments.state":                api.ExperimentStates,
	"artifacts.format":                 api.Formats,
	"artifacts.encoding":               api.Encodings,
	"api_tokens.role":                  api.Roles,
	"audit_log.outcome":                api.Outcomes,
	"version_parents.relation":         api.Relations,
}

// TestSchemaEnumsAreVocabularies: the schema that the migrations of each
// engine leave (their Up parts, in order) enumerates each column of
// enumerated with exactly the values of its vocabulary, and enumerates no
// other column. A value added to a vocabulary fails here until a new
// migration adds it to both engines (and the other way round).
func TestSchemaEnumsAreVocabularies(t *testing.T) {
	for name, fsys := range map[string]fs.FS{"postgres": schema.Postgres, "sqlite": schema.SQLite} {
		t.Run(name, func(t *testing.T) {
			got := enumsAfterMigrations(t, fsys, name)
			for _, col := range slices.Sorted(maps.Keys(got)) {
				want, ok := enumerated[col]
				if !ok {
					t.Errorf("%s enumerates %v: add the column to enumerated with its api vocabulary", col, got[col])
					continue
				}
				if !slices.Equal(sorted(got[col]), sorted(want)) {
					t.Errorf("%s enumerates %v, the api vocabulary is %v", col, got[col], want)
				}
			}
			for col := range enumerated {
				if _, ok := got[col]; !ok {
					t.Errorf("%s is not enumerated by the schema", col)
				}
			}
		})
	}
}

var (
	lineComment = regexp.MustCompile(`--[^\n]*`)
	createType  = regexp.MustCompile(`(?is)^CREATE\s+TYPE\s+(\w+)\s+AS\s+ENUM\s*\((.*)\)$`)
	addValue    = regexp.MustCompile(`(?is)^ALTER\s+TYPE\s+(\w+)\s+ADD\s+VALUE\s+(?:IF\s+NOT\s+EXISTS\s+)?('[^']*')`)
	dropType    = regexp.MustCompile(`(?is)^DROP\s+TYPE\s+(?:IF\s+EXISTS\s+)?(\w+)`)
	createTable = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)$`)
	dropTable   = regexp.MustCompile(`(?is)^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)`)
	renameTable = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(\w+)\s+RENAME\s+TO\s+(\w+)`)
	inList      = regexp.MustCompile(`(?is)\b(\w+)\s+IN\s*\(([^()]*)\)`)
	columnType  = regexp.MustCompile(`^(\w+)\s+(\w+)`)
	quoted      = regexp.MustCompile(`'([^']*)'`)
)

// enumsAfterMigrations reads the Up part of every migration of fsys in
// order and returns the enumerated columns ("table.column") of the tables
// that remain, with their values.
func enumsAfterMigrations(t *testing.T, fsys fs.FS, engine string) map[string][]string {
	t.Helper()
	files, err := fs.Glob(fsys, engine+"/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	slices.Sort(files)
	types := map[string][]string{}             // enum type → values
	tables := map[string]map[string][]string{} // table → column → values
	typed := map[string]map[string]string{}    // table → column → its enum type
	for _, file := range files {
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(src), "-- +goose Down")
		for _, stmt := range strings.Split(lineComment.ReplaceAllString(up, ""), ";") {
			stmt = strings.TrimSpace(stmt)
			switch {
			case createType.MatchString(stmt):
				m := createType.FindStringSubmatch(stmt)
				types[m[1]] = values(m[2])
			case addValue.MatchString(stmt):
				m := addValue.FindStringSubmatch(stmt)
				types[m[1]] = append(types[m[1]], values(m[2])...)
				for table, cols := range typed {
					for col, typ := range cols {
						if typ == m[1] {
							tables[table][col] = types[typ]
						}
					}
				}
			case dropType.MatchString(stmt):
				delete(types, dropType.FindStringSubmatch(stmt)[1])
			case createTable.MatchString(stmt):
				m := createTable.FindStringSubmatch(stmt)
				tables[m[1]], typed[m[1]] = columns(m[2], types)
			case dropTable.MatchString(stmt):
				delete(tables, dropTable.FindStringSubmatch(stmt)[1])
				delete(typed, dropTable.FindStringSubmatch(stmt)[1])
			case renameTable.MatchString(stmt):
				m := renameTable.FindStringSubmatch(stmt)
				tables[m[2]], typed[m[2]] = tables[m[1]], typed[m[1]]
				delete(tables, m[1])
				delete(typed, m[1])
			case strings.HasPrefix(strings.ToUpper(stmt), "ALTER TYPE"):
				t.Fatalf("%s: %q: teach enumsAfterMigrations this change of an enum type", file, stmt)
			}
		}
	}
	out := map[string][]string{}
	for table, cols := range tables {
		for col, vals := range cols {
			out[table+"."+col] = vals
		}
	}
	return out
}

// columns returns the enumerated columns of a table's definition: those of
// an enum type, and those a CHECK restricts to a list; and the enum type of
// the former (whose values a later ALTER TYPE … ADD VALUE extends).
func columns(body string, types map[string][]string) (map[string][]string, map[string]string) {
	cols, typeOf := map[string][]string{}, map[string]string{}
	for _, def := range splitTopLevel(body) {
		if m := columnType.FindStringSubmatch(strings.TrimSpace(def)); m != nil {
			if vals, ok := types[m[2]]; ok {
				cols[m[1]], typeOf[m[1]] = vals, m[2]
			}
		}
	}
	for _, m := range inList.FindAllStringSubmatch(body, -1) {
		cols[m[1]] = values(m[2])
	}
	return cols, typeOf
}

// splitTopLevel splits a table's body at the commas outside parentheses.
func splitTopLevel(body string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range body {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, body[start:i])
				start = i + 1
			}
		}
	}
	return append(out, body[start:])
}

func values(list string) []string {
	var out []string
	for _, m := range quoted.FindAllStringSubmatch(list, -1) {
		out = append(out, m[1])
	}
	return out
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
