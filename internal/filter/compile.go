package filter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Dialect is the SQL of an engine.
type Dialect int

// Dialects.
const (
	SQLite Dialect = iota
	Postgres
)

// builder writes SQL and its bound arguments.
type builder struct {
	d    Dialect
	sb   strings.Builder
	args []any
}

func (b *builder) w(s ...string) {
	for _, x := range s {
		b.sb.WriteString(x)
	}
}

// arg binds v and returns its placeholder.
func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	if b.d == Postgres {
		return "$" + strconv.Itoa(len(b.args))
	}
	return "?"
}

// path binds a JSON key: SQLite's path '$."key"' (validKey keeps quotes
// out of it), PostgreSQL's key as text.
func (b *builder) path(key string) string {
	if b.d == Postgres {
		return b.arg(key)
	}
	return b.arg(`$."` + key + `"`)
}

// text is col made comparable the same way on both engines: PostgreSQL
// compares in the "C" collation (byte order), as SQLite does.
func (b *builder) text(col string) string {
	if b.d == Postgres {
		return col + ` COLLATE "C"`
	}
	return col
}

// jsonNumber is the number at key of the JSON column col, NULL when the
// value is absent or not a number (never an error).
func (b *builder) jsonNumber(col, key string) string {
	if b.d == Postgres {
		return "(CASE WHEN jsonb_typeof(" + col + "->" + b.path(key) + ") = 'number' THEN (" + col + "->>" + b.path(key) + ")::numeric END)"
	}
	return "(CASE WHEN json_type(" + col + ", " + b.path(key) + ") IN ('integer', 'real') THEN json_extract(" + col + ", " + b.path(key) + ") END)"
}

// jsonString is the string at key of col, NULL when absent or not a string.
func (b *builder) jsonString(col, key string) string {
	if b.d == Postgres {
		return "(CASE WHEN jsonb_typeof(" + col + "->" + b.path(key) + ") = 'string' THEN " + col + "->>" + b.path(key) + ` END) COLLATE "C"`
	}
	return "(CASE WHEN json_type(" + col + ", " + b.path(key) + ") = 'text' THEN json_extract(" + col + ", " + b.path(key) + ") END)"
}

// jsonBool is 'true' or 'false' for a boolean at key of col, else NULL.
func (b *builder) jsonBool(col, key string) string {
	if b.d == Postgres {
		return "(CASE WHEN jsonb_typeof(" + col + "->" + b.path(key) + ") = 'boolean' THEN " + col + "->>" + b.path(key) + " END)"
	}
	return "(CASE WHEN json_type(" + col + ", " + b.path(key) + ") IN ('true', 'false') THEN json_type(" + col + ", " + b.path(key) + ") END)"
}

// jsonAny is the value at key of col, NULL when absent or JSON null.
func (b *builder) jsonAny(col, key string) string {
	if b.d == Postgres {
		return "(" + col + "->>" + b.path(key) + ")"
	}
	return "json_extract(" + col + ", " + b.path(key) + ")"
}

// compile writes e for resource r.
func (b *builder) compile(r Resource, e Expr) error {
	switch e := e.(type) {
	case *Logical:
		b.w("(")
		if err := b.compile(r, e.L); err != nil {
			return err
		}
		b.w(" ", e.Op, " ")
		if err := b.compile(r, e.R); err != nil {
			return err
		}
		b.w(")")
	case *Not:
		b.w("(NOT ")
		if err := b.compile(r, e.X); err != nil {
			return err
		}
		b.w(")")
	case *Predicate:
		f, err := resolve(r, e.Field, e.FieldPos)
		if err != nil {
			return err
		}
		return b.predicate(f, e)
	default:
		return fmt.Errorf("filter: unknown expression %T", e)
	}
	return nil
}

var comparisons = []string{"=", "!=", "<", "<=", ">", ">="}

func opError(p *Predicate, f resolved, allowed string) error {
	op := p.Op
	switch {
	case op == "NULL" && p.Not:
		op = "IS NOT NULL"
	case op == "NULL":
		op = "IS NULL"
	case p.Not:
		op = "NOT " + op
	}
	return &Error{Pos: p.OpPos, Expected: allowed + " after '" + clip(f.name) + "'", Found: "'" + op + "'"}
}

func valueError(v Value, want string, f resolved) error {
	found := v.Kind.String()
	if v.Kind == KindNull {
		found += " (use IS NULL)"
	}
	return &Error{Pos: v.Pos, Expected: want + " to compare with '" + clip(f.name) + "'", Found: found}
}

// predicate writes one condition on field f.
func (b *builder) predicate(f resolved, p *Predicate) error {
	switch f.kind {
	case fSet:
		return b.set(f, p)
	case fExp:
		return b.experiment(f, p)
	case fSealed:
		if p.Op != "=" && p.Op != "!=" {
			return opError(p, f, "= or !=")
		}
		v := p.Values[0]
		if v.Kind != KindBool {
			return valueError(v, "true or false", f)
		}
		if v.Bool == (p.Op == "=") {
			b.w(f.col, " IS NOT NULL")
		} else {
			b.w(f.col, " IS NULL")
		}
		return nil
	}
	if p.Op == "NULL" {
		col := f.col
		if f.kind == fJSON {
			col = b.jsonAny(f.col, f.key)
		}
		if p.Not {
			b.w(col, " IS NOT NULL")
		} else {
			b.w(col, " IS NULL")
		}
		return nil
	}
	if (p.Op == "LIKE" || p.Op == "ILIKE") && f.kind != fText && f.kind != fEnum && f.kind != fJSON {
		return opError(p, f, "=, !=, <, <=, >, >=, IN or IS NULL")
	}
	// The values' common type decides the column's expression.
	want := KindString
	switch f.kind {
	case fInt:
		want = KindNumber
	case fJSON:
		want = p.Values[0].Kind
		if want == KindNull {
			return valueError(p.Values[0], "a string, a number or true/false", f)
		}
	}
	args := make([]any, len(p.Values))
	for i, v := range p.Values {
		if v.Kind != want {
			return valueError(v, want.String(), f)
		}
		switch {
		case f.kind == fTime:
			t, err := parseTime(v)
			if err != nil {
				return err
			}
			args[i] = t
		case f.kind == fEnum && (p.Op == "=" || p.Op == "!=" || p.Op == "IN"):
			s := v.Str
			if len(f.enum) == 4 && s == "staging" {
				s = "stage" // the original's name of the lifecycle
			}
			if !slices.Contains(f.enum, s) {
				return &Error{Pos: v.Pos, Expected: "one of " + strings.Join(f.enum, ", "), Found: fmt.Sprintf("%q", clip(v.Str))}
			}
			args[i] = s
		case want == KindNumber:
			args[i] = v.Num
		case want == KindBool:
			args[i] = strconv.FormatBool(v.Bool)
		default:
			args[i] = v.Str
		}
	}
	var col string
	switch {
	case f.kind == fJSON && want == KindNumber:
		col = b.jsonNumber(f.col, f.key)
	case f.kind == fJSON && want == KindBool:
		if p.Op != "=" && p.Op != "!=" {
			return opError(p, f, "= or != with true or false")
		}
		col = b.jsonBool(f.col, f.key)
	case f.kind == fJSON:
		col = b.jsonString(f.col, f.key)
	case f.kind == fEnum && (p.Op == "=" || p.Op == "!=" || p.Op == "IN"):
		col = f.col // PostgreSQL: an enum type, compared with its values (checked above)
	case f.kind == fEnum && b.d == Postgres:
		col = b.text(f.col + "::text")
	case f.kind == fText || f.kind == fEnum:
		col = b.text(f.col)
	default:
		col = f.col
	}
	return b.operator(col, f, p, args, want)
}

// operator writes col OP args.
func (b *builder) operator(col string, f resolved, p *Predicate, args []any, want ValueKind) error {
	switch {
	case slices.Contains(comparisons, p.Op):
		b.w(col, " ", p.Op, " ", b.typed(args[0], want))
	case p.Op == "LIKE" || p.Op == "ILIKE":
		if want != KindString || f.kind == fTime {
			return opError(p, f, "=, !=, <, <=, >, >=, IN or IS NULL")
		}
		if p.Not {
			b.w("NOT ")
		}
		b.like(col, p.Op, args[0].(string))
	case p.Op == "IN":
		b.w(col)
		if p.Not {
			b.w(" NOT")
		}
		b.w(" IN (")
		for i, a := range args {
			if i > 0 {
				b.w(", ")
			}
			b.w(b.typed(a, want))
		}
		b.w(")")
	default:
		return opError(p, f, "an operator")
	}
	return nil
}

// typed binds a and casts a number on PostgreSQL.
func (b *builder) typed(a any, want ValueKind) string {
	ph := b.arg(a)
	if b.d == Postgres && want == KindNumber {
		return ph + "::numeric"
	}
	return ph
}

// like writes col LIKE pattern: case-sensitive on both engines (SQLite's
// LIKE folds ASCII case, so there it is a GLOB of the same pattern), and
// ILIKE folds ASCII letters on SQLite, every letter on PostgreSQL. '\'
// escapes % and _ in the pattern.
func (b *builder) like(col, op, pattern string) {
	pattern = closeEscape(pattern)
	if b.d == Postgres {
		b.w(col, " ", op, " ", b.arg(pattern), ` ESCAPE '\'`)
		return
	}
	if op == "ILIKE" {
		b.w(col, " LIKE ", b.arg(pattern), ` ESCAPE '\'`)
		return
	}
	b.w(col, " GLOB ", b.arg(likeToGlob(pattern)))
}

// closeEscape makes a pattern's trailing lone '\' a literal backslash
// (PostgreSQL refuses a pattern ending with its escape character).
func closeEscape(p string) string {
	escaped := false
	for i := 0; i < len(p); i++ {
		escaped = p[i] == '\\' && !escaped
	}
	if escaped {
		return p + `\`
	}
	return p
}

// likeToGlob turns a LIKE pattern into the GLOB pattern matching the same
// strings.
func likeToGlob(p string) string {
	var sb strings.Builder
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		i += n
		switch r {
		case '\\':
			if i < len(p) {
				r, n = utf8.DecodeRuneInString(p[i:])
				i += n
			}
			sb.WriteString(globLiteral(r))
		case '%':
			sb.WriteByte('*')
		case '_':
			sb.WriteByte('?')
		default:
			sb.WriteString(globLiteral(r))
		}
	}
	return sb.String()
}

func globLiteral(r rune) string {
	switch r {
	case '*', '?', '[':
		return "[" + string(r) + "]"
	}
	return string(r)
}

// set writes a condition on tags or aliases: = "x" has x, != "x" has not,
// IN has one of, NOT IN has none of, LIKE has one matching, NOT LIKE has
// none matching, IS NULL has none at all, IS NOT NULL has some.
func (b *builder) set(f resolved, p *Predicate) error {
	switch p.Op {
	case "=", "!=", "IN", "LIKE", "ILIKE", "NULL":
	default:
		return opError(p, f, "=, !=, IN, NOT IN, LIKE, NOT LIKE or IS NULL")
	}
	for _, v := range p.Values {
		if v.Kind != KindString {
			return valueError(v, "a string", f)
		}
	}
	exists := "EXISTS"
	switch {
	case p.Op == "NULL":
		if !p.Not {
			exists = "NOT EXISTS"
		}
		b.w(exists, " (SELECT 1 FROM ", f.set, ")")
		return nil
	case p.Op == "!=" || p.Not:
		exists = "NOT EXISTS"
	case p.Op == "=" || p.Op == "IN" || p.Op == "LIKE" || p.Op == "ILIKE":
	default:
		return opError(p, f, "=, !=, IN, NOT IN, LIKE, NOT LIKE or IS NULL")
	}
	b.w(exists, " (SELECT 1 FROM ", f.set, " AND ")
	col := b.text(f.setCol)
	switch p.Op {
	case "=", "!=":
		b.w(col, " = ", b.arg(p.Values[0].Str))
	case "LIKE", "ILIKE":
		b.like(col, p.Op, p.Values[0].Str)
	case "IN":
		b.w(col, " IN (")
		for i, v := range p.Values {
			if i > 0 {
				b.w(", ")
			}
			b.w(b.arg(v.Str))
		}
		b.w(")")
	}
	b.w(")")
	return nil
}

// experiment writes a condition on a version's experiment: true when the
// version has a live experiment of that name for which the condition
// holds; IS NULL when it has none with the value set.
func (b *builder) experiment(f resolved, p *Predicate) error {
	exists := "EXISTS"
	inner := *p
	if p.Op == "NULL" && !p.Not {
		exists, inner.Not = "NOT EXISTS", true
	}
	b.w(exists, " (SELECT 1 FROM experiments x WHERE x.version_id = v.id AND x.deleted_at IS NULL AND x.name = ", b.arg(f.exp), " AND ")
	if err := b.predicate(*f.sub, &inner); err != nil {
		return err
	}
	b.w(")")
	return nil
}

// parseTime reads a timestamp literal: RFC 3339, or a date (midnight UTC).
func parseTime(v Value) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v.Str); err == nil {
			return t.UTC().Truncate(time.Microsecond), nil
		}
	}
	return time.Time{}, &Error{Pos: v.Pos, Expected: `an RFC 3339 time ("2026-01-02T15:04:05Z") or a date ("2026-01-02")`, Found: fmt.Sprintf("%q", clip(v.Str))}
}
