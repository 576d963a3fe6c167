package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// uniqueKey is what a unique index or primary key covers.
type uniqueKey struct {
	table   string
	columns []string
}

var (
	uniqueIndexStmt = regexp.MustCompile(`(?is)^CREATE\s+UNIQUE\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+ON\s+(?:ONLY\s+)?(\w+)\s*(?:USING\s+\w+\s*)?(\(.*)$`)
	createTableStmt = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*(\(.*)$`)
	addKeyStmt      = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(\w+)\s+ADD\s+(CONSTRAINT\s+\w+\s+(?:PRIMARY\s+KEY|UNIQUE)\s*\(.*)$`)
	namedKey        = regexp.MustCompile(`(?is)^CONSTRAINT\s+(\w+)\s+(PRIMARY\s+KEY|UNIQUE)\s*(\(.*)$`)
	tableKey        = regexp.MustCompile(`(?is)^(PRIMARY\s+KEY|UNIQUE)\s*(\(.*)$`)
	columnKey       = regexp.MustCompile(`(?is)^(\w+)\s.*\b(PRIMARY\s+KEY|UNIQUE)\b`)
	plainColumn     = regexp.MustCompile(`^(\w+)(\s|$)`)
	renameTable     = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(\w+)\s+RENAME\s+TO\s+(\w+)$`)
	renameColumn    = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(\w+)\s+RENAME\s+(?:COLUMN\s+)?(\w+)\s+TO\s+(\w+)$`)
	renameKey       = regexp.MustCompile(`(?is)^ALTER\s+(?:INDEX\s+(?:IF\s+EXISTS\s+)?|TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?\w+\s+RENAME\s+CONSTRAINT\s+)(\w+)\s+(?:RENAME\s+TO\s+|TO\s+)(\w+)$`)
	dropIndex       = regexp.MustCompile(`(?is)^DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(\w+)`)
	dropTable       = regexp.MustCompile(`(?is)^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)`)
)

// uniqueKeys reads the goose Up sections of the migrations in dir, in
// order, and returns every unique index and primary key by the name
// PostgreSQL gives it (the ConstraintName of a unique violation), following
// renames and drops. It knows the statements migrations use, not all of
// SQL: internal/db/postgres tests the result against the catalogue.
func uniqueKeys(dir string) (map[string]uniqueKey, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	keys := map[string]uniqueKey{}
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		up, _, _ := strings.Cut(string(src), "-- +goose Down")
		for _, stmt := range strings.Split(stripComments(up), ";") {
			if err := addKeys(keys, strings.TrimSpace(stmt)); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return keys, nil
}

// addKeys applies one statement to keys.
func addKeys(keys map[string]uniqueKey, stmt string) error {
	if m := renameKey.FindStringSubmatch(stmt); m != nil {
		if k, ok := keys[m[1]]; ok {
			delete(keys, m[1])
			keys[m[2]] = k
		}
		return nil
	}
	if m := renameTable.FindStringSubmatch(stmt); m != nil {
		for name, k := range keys {
			if k.table == m[1] {
				keys[name] = uniqueKey{m[2], k.columns}
			}
		}
		return nil
	}
	if m := renameColumn.FindStringSubmatch(stmt); m != nil {
		for name, k := range keys {
			if k.table == m[1] {
				cols := slices.Clone(k.columns)
				if i := slices.Index(cols, m[2]); i >= 0 {
					cols[i] = m[3]
				}
				keys[name] = uniqueKey{k.table, cols}
			}
		}
		return nil
	}
	if m := dropIndex.FindStringSubmatch(stmt); m != nil {
		delete(keys, m[1])
		return nil
	}
	if m := dropTable.FindStringSubmatch(stmt); m != nil {
		for name, k := range keys {
			if k.table == m[1] {
				delete(keys, name)
			}
		}
		return nil
	}
	if m := uniqueIndexStmt.FindStringSubmatch(stmt); m != nil {
		cols, err := columns(m[3])
		keys[m[1]] = uniqueKey{m[2], cols}
		return err
	}
	if m := addKeyStmt.FindStringSubmatch(stmt); m != nil {
		return addTableKey(keys, m[1], m[2])
	}
	m := createTableStmt.FindStringSubmatch(stmt)
	if m == nil {
		return nil
	}
	body, _, ok := group(m[2])
	if !ok {
		return fmt.Errorf("unbalanced parentheses in %.40q", stmt)
	}
	for _, def := range splitTop(body) {
		if err := addTableKey(keys, m[1], def); err != nil {
			return err
		}
	}
	return nil
}

// addTableKey adds the key one element of a table definition declares
// (a column with PRIMARY KEY or UNIQUE, or a table constraint), named as
// PostgreSQL names it when the schema does not.
func addTableKey(keys map[string]uniqueKey, table, def string) error {
	name, kind, list := "", "", ""
	switch {
	case namedKey.MatchString(def):
		m := namedKey.FindStringSubmatch(def)
		name, kind, list = m[1], m[2], m[3]
	case tableKey.MatchString(def):
		m := tableKey.FindStringSubmatch(def)
		kind, list = m[1], m[2]
	case columnKey.MatchString(def):
		m := columnKey.FindStringSubmatch(def)
		kind, list = m[2], "("+m[1]+")"
	default:
		return nil
	}
	cols, err := columns(list)
	if err != nil {
		return err
	}
	if name == "" {
		if strings.HasPrefix(strings.ToUpper(kind), "PRIMARY") {
			name = table + "_pkey"
		} else {
			name = table + "_" + strings.Join(cols, "_") + "_key"
		}
	}
	keys[name] = uniqueKey{table, cols}
	return nil
}

// columns returns the key columns of the parenthesised list that s begins
// with: a column's name, or an expression's text.
func columns(s string) ([]string, error) {
	list, _, ok := group(s)
	if !ok {
		return nil, fmt.Errorf("unbalanced parentheses in %.40q", s)
	}
	var out []string
	for _, c := range splitTop(list) {
		if m := plainColumn.FindStringSubmatch(c); m != nil {
			c = m[1] // name [COLLATE …] [ASC|DESC] [NULLS …]
		}
		out = append(out, c)
	}
	return out, nil
}

// group returns the inside of the parenthesised group s begins with, and
// what follows it.
func group(s string) (inside, rest string, ok bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "(") {
		return "", s, false
	}
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[1:i], s[i+1:], true
			}
		}
	}
	return "", s, false
}

// splitTop splits s at the commas outside parentheses, trimming each part.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// stripComments removes "--" comments (the schema has no "--" in strings).
func stripComments(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if j := strings.Index(l, "--"); j >= 0 {
			lines[i] = l[:j]
		}
	}
	return strings.Join(lines, "\n")
}

// constraints writes the map internal/db/postgres maps unique violations
// with.
func constraints(keys map[string]uniqueKey) []byte {
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("// Code generated by internal/db/internal/gen from schema/postgres. DO NOT EDIT.\n\n")
	b.WriteString("package postgres\n\n")
	b.WriteString("// uniqueKey is what a unique index or primary key covers.\n")
	b.WriteString("type uniqueKey struct {\n\ttable   string\n\tcolumns []string\n}\n\n")
	b.WriteString("// uniqueKeys are the unique indexes and primary keys of schema/postgres\n")
	b.WriteString("// by name: what a unique violation (PgError.ConstraintName) conflicted on.\n")
	b.WriteString("var uniqueKeys = map[string]uniqueKey{\n")
	for _, n := range names {
		k := keys[n]
		fmt.Fprintf(&b, "\t%q: {%q, %#v},\n", n, k.table, k.columns)
	}
	b.WriteString("}\n")
	return b.Bytes()
}
