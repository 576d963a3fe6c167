// Package filter is flymodel's query language: the `filter` query
// parameter of the list and search routes and of `flymodel search`, e.g.
//
//	state = "prod" AND experiments.eval.metrics.accuracy >= 0.9
//
// Parse turns a filter into an AST (a lexer and a recursive-descent
// parser); Build compiles the AST, a resource's scope, an order and a
// cursor into one parameterized SELECT for SQLite or PostgreSQL.
//
// Grammar (keywords are case-insensitive):
//
//	filter     = or
//	or         = and { "OR" and }
//	and        = unary { "AND" unary }
//	unary      = "NOT" unary | "(" or ")" | predicate
//	predicate  = field ( op value
//	                   | ["NOT"] ("LIKE" | "ILIKE") string
//	                   | ["NOT"] "IN" "(" value { "," value } ")"
//	                   | "IS" ["NOT"] "NULL" )
//	op         = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	value      = string | number | "true" | "false" | "null"
//	string     = '"' … '"' | "'" … "'"   (escapes \" \' \\ \n \t \r \uXXXX)
//	field      = name { "." name }       (the fields of each resource: fields.go)
//
// No input reaches SQL as text. Field names are looked up in a fixed table
// of each resource (fields.go) and only the table's SQL is written; every
// literal, and every JSON key (meta.<key>, metrics.<key>, params.<key>,
// experiments.<name>.…), is a bound parameter. Filters are at most
// MaxLength bytes, nest at most MaxDepth deep and list at most MaxInList
// values in an IN.
//
// Why a hand-written compiler: sqlc compiles static queries, and a user's
// filter is a query shape known only at run time; query builders
// (squirrel, goqu) assemble SQL from Go calls but parse no user language,
// and each engine needs its own JSON access anyway (json_extract/json_type
// on SQLite, jsonb ->/->> with jsonb_typeof guards and numeric casts on
// PostgreSQL). The grammar is small: a lexer, a recursive-descent parser
// and a compiler are a few hundred lines, fuzzed (FuzzCompile) and tested
// against both engines on the same rows (internal/db/dbtest).
package filter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a filter.
const (
	MaxLength = 4096 // bytes
	MaxDepth  = 32   // nested parentheses and NOTs
	MaxInList = 1000 // values of one IN list
)

// Error is a filter that does not parse or compile: at Pos (1-based, in
// characters), Expected was wanted and Found was there.
type Error struct {
	Pos      int
	Expected string
	Found    string
}

func (e *Error) Error() string {
	if e.Found == "" {
		return fmt.Sprintf("at %d: %s", e.Pos, e.Expected)
	}
	return fmt.Sprintf("at %d: expected %s, found %s", e.Pos, e.Expected, e.Found)
}

// token kinds.
type kind int

const (
	tEOF kind = iota
	tIdent
	tString
	tNumber
	tOp     // = != <> < <= > >=
	tLParen // (
	tRParen // )
	tComma  // ,
)

type token struct {
	kind kind
	text string // the source text (for strings: the decoded value)
	pos  int    // 1-based character position
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return "a string"
	case tNumber:
		return "number " + clip(t.text)
	}
	return "'" + clip(t.text) + "'"
}

// clip shortens s for an error message.
func clip(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		return string(r[:40]) + "…"
	}
	return s
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool {
	return r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// lex splits src into tokens.
func lex(src string) ([]token, error) {
	var out []token
	pos := 1 // character position of i
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRuneInString(src[i:])
		start := pos
		switch {
		case r == utf8.RuneError && n == 1:
			return nil, &Error{Pos: start, Expected: "valid UTF-8", Found: "an invalid byte"}
		case unicode.IsSpace(r):
			i += n
			pos++
		case r == '(' || r == ')' || r == ',':
			k := map[rune]kind{'(': tLParen, ')': tRParen, ',': tComma}[r]
			out = append(out, token{kind: k, text: string(r), pos: start})
			i += n
			pos++
		case r == '=' || r == '<' || r == '>' || r == '!':
			op := string(r)
			if i+1 < len(src) {
				two := src[i : i+2]
				if two == "<=" || two == ">=" || two == "!=" || two == "<>" {
					op = two
				}
			}
			if op == "!" {
				return nil, &Error{Pos: start, Expected: "'!='", Found: "'!'"}
			}
			out = append(out, token{kind: tOp, text: op, pos: start})
			i += len(op)
			pos += len(op)
		case r == '"' || r == '\'':
			s, used, chars, err := lexString(src[i:], start)
			if err != nil {
				return nil, err
			}
			out = append(out, token{kind: tString, text: s, pos: start})
			i += used
			pos += chars
		case r == '-' || r == '+' || r == '.' || (r >= '0' && r <= '9'):
			j := i + 1
			for j < len(src) && strings.IndexByte("0123456789.eE+-", src[j]) >= 0 {
				// a sign only right after an exponent
				if (src[j] == '+' || src[j] == '-') && src[j-1] != 'e' && src[j-1] != 'E' {
					break
				}
				j++
			}
			text := src[i:j]
			f, err := strconv.ParseFloat(text, 64)
			if err != nil || f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
				return nil, &Error{Pos: start, Expected: "a number", Found: "'" + clip(text) + "'"}
			}
			out = append(out, token{kind: tNumber, text: text, pos: start})
			pos += j - i
			i = j
		case isIdentStart(r):
			j := i + n
			chars := 1
			for j < len(src) {
				r2, n2 := utf8.DecodeRuneInString(src[j:])
				if !isIdentPart(r2) {
					break
				}
				j += n2
				chars++
			}
			out = append(out, token{kind: tIdent, text: src[i:j], pos: start})
			i = j
			pos += chars
		default:
			return nil, &Error{Pos: start, Expected: "a field, a value, an operator or a parenthesis", Found: fmt.Sprintf("%q", r)}
		}
	}
	out = append(out, token{kind: tEOF, pos: pos})
	return out, nil
}

// lexString decodes the quoted string at the start of s (quote s[0]),
// returning its value, the bytes and the characters it took.
func lexString(s string, start int) (string, int, int, error) {
	q := s[0]
	var b strings.Builder
	chars := 1
	for i := 1; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return "", 0, 0, &Error{Pos: start + chars, Expected: "valid UTF-8", Found: "an invalid byte"}
		}
		switch {
		case r == 0:
			return "", 0, 0, &Error{Pos: start + chars, Expected: "a character other than NUL in a string", Found: "NUL"}
		case r == rune(q):
			return b.String(), i + 1, chars + 1, nil
		case r == '\\':
			if i+1 >= len(s) {
				return "", 0, 0, &Error{Pos: start + chars, Expected: "an escaped character after '\\'", Found: "end of filter"}
			}
			e := s[i+1]
			switch e {
			case '"', '\'', '\\', '/':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'u':
				if i+6 > len(s) {
					return "", 0, 0, &Error{Pos: start + chars, Expected: "four hex digits after '\\u'", Found: "end of filter"}
				}
				v, err := strconv.ParseUint(s[i+2:i+6], 16, 32)
				if err != nil {
					return "", 0, 0, &Error{Pos: start + chars, Expected: "four hex digits after '\\u'", Found: "'" + s[i+2:i+6] + "'"}
				}
				if v == 0 {
					return "", 0, 0, &Error{Pos: start + chars, Expected: "a character other than NUL in a string", Found: `'\u0000'`}
				}
				b.WriteRune(rune(v))
				i += 6
				chars += 6
				continue
			default:
				return "", 0, 0, &Error{Pos: start + chars, Expected: `one of \" \' \\ \/ \n \t \r \uXXXX`, Found: fmt.Sprintf("'\\%c'", e)}
			}
			i += 2
			chars += 2
		default:
			b.WriteRune(r)
			i += n
			chars++
		}
	}
	return "", 0, 0, &Error{Pos: start, Expected: "a closing " + string(q), Found: "end of filter"}
}

// Expr is a parsed filter.
type Expr interface{ position() int }

// Logical is a AND b or a OR b.
type Logical struct {
	Op   string // "AND" or "OR"
	L, R Expr
	Pos  int
}

// Not is NOT x.
type Not struct {
	X   Expr
	Pos int
}

// Value is a literal.
type Value struct {
	Kind  ValueKind
	Str   string  // KindString
	Num   float64 // KindNumber
	Text  string  // KindNumber: as written
	Bool  bool    // KindBool
	Pos   int
	Width int // characters, for errors after it
}

// ValueKind is the type of a literal.
type ValueKind int

// Literal types.
const (
	KindString ValueKind = iota
	KindNumber
	KindBool
	KindNull
)

func (k ValueKind) String() string {
	return [...]string{"a string", "a number", "true or false", "null"}[k]
}

// Predicate is field OP value(s).
type Predicate struct {
	Field    string
	FieldPos int
	// Op is one of = != < <= > >= LIKE ILIKE IN NULL ("IS NULL"), each
	// negated by Not (NOT LIKE, NOT IN, IS NOT NULL; != is its own).
	Op     string
	OpPos  int
	Not    bool
	Values []Value
}

func (e *Logical) position() int   { return e.Pos }
func (e *Not) position() int       { return e.Pos }
func (e *Predicate) position() int { return e.FieldPos }

type parser struct {
	toks  []token
	i     int
	depth int
}

// Parse parses a filter. An empty (or blank) filter is a nil Expr: every
// row.
func Parse(src string) (Expr, error) {
	if len(src) > MaxLength {
		return nil, &Error{Pos: utf8.RuneCountInString(src[:MaxLength]) + 1, Expected: fmt.Sprintf("a filter of at most %d bytes", MaxLength), Found: fmt.Sprintf("%d bytes", len(src))}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	if toks[0].kind == tEOF {
		return nil, nil
	}
	p := &parser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, &Error{Pos: t.pos, Expected: "AND, OR or the end of the filter", Found: t.describe()}
	}
	return e, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// keyword reports whether t is the keyword kw.
func keyword(t token, kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }

var keywords = []string{"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "TRUE", "FALSE"}

func isKeyword(t token) bool {
	for _, k := range keywords {
		if keyword(t, k) {
			return true
		}
	}
	return false
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		return &Error{Pos: pos, Expected: fmt.Sprintf("at most %d nested parentheses or NOTs", MaxDepth), Found: "more"}
	}
	return nil
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for keyword(p.peek(), "OR") {
		t := p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Logical{Op: "OR", L: l, R: r, Pos: t.pos}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for keyword(p.peek(), "AND") {
		t := p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &Logical{Op: "AND", L: l, R: r, Pos: t.pos}
	}
	return l, nil
}

func (p *parser) unary() (Expr, error) {
	t := p.peek()
	switch {
	case keyword(t, "NOT"):
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		x, err := p.unary()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &Not{X: x, Pos: t.pos}, nil
	case t.kind == tLParen:
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		x, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &Error{Pos: c.pos, Expected: "')' closing the '(' at " + strconv.Itoa(t.pos), Found: c.describe()}
		}
		return x, nil
	case t.kind == tIdent && !isKeyword(t):
		return p.predicate()
	}
	return nil, &Error{Pos: t.pos, Expected: p.wantTerm(), Found: t.describe()}
}

// wantTerm says what may start a condition, after what came before.
func (p *parser) wantTerm() string {
	if p.i > 0 {
		return "a field, NOT or '(' after '" + clip(p.toks[p.i-1].text) + "'"
	}
	return "a field, NOT or '('"
}

func (p *parser) predicate() (Expr, error) {
	f := p.next()
	pr := &Predicate{Field: f.text, FieldPos: f.pos}
	t := p.next()
	pr.OpPos = t.pos
	if keyword(t, "NOT") {
		pr.Not = true
		t = p.next()
		if !keyword(t, "LIKE") && !keyword(t, "ILIKE") && !keyword(t, "IN") {
			return nil, &Error{Pos: t.pos, Expected: "LIKE, ILIKE or IN after NOT", Found: t.describe()}
		}
	}
	switch {
	case t.kind == tOp:
		pr.Op = t.text
		if pr.Op == "<>" {
			pr.Op = "!="
		}
		v, err := p.value(t)
		if err != nil {
			return nil, err
		}
		pr.Values = []Value{v}
	case keyword(t, "LIKE") || keyword(t, "ILIKE"):
		pr.Op = strings.ToUpper(t.text)
		v, err := p.value(t)
		if err != nil {
			return nil, err
		}
		if v.Kind != KindString {
			return nil, &Error{Pos: v.Pos, Expected: "a string pattern after " + pr.Op, Found: v.Kind.String()}
		}
		pr.Values = []Value{v}
	case keyword(t, "IN"):
		pr.Op = "IN"
		if o := p.next(); o.kind != tLParen {
			return nil, &Error{Pos: o.pos, Expected: "'(' after IN", Found: o.describe()}
		}
		for {
			v, err := p.value(p.toks[p.i-1])
			if err != nil {
				return nil, err
			}
			if len(pr.Values) == MaxInList {
				return nil, &Error{Pos: v.Pos, Expected: fmt.Sprintf("at most %d values in IN", MaxInList), Found: "more"}
			}
			pr.Values = append(pr.Values, v)
			c := p.next()
			if c.kind == tRParen {
				break
			}
			if c.kind != tComma {
				return nil, &Error{Pos: c.pos, Expected: "',' or ')' in the IN list", Found: c.describe()}
			}
		}
	case keyword(t, "IS"):
		pr.Op = "NULL"
		n := p.next()
		if keyword(n, "NOT") {
			pr.Not = true
			n = p.next()
		}
		if !keyword(n, "NULL") {
			return nil, &Error{Pos: n.pos, Expected: "NULL or NOT NULL after IS", Found: n.describe()}
		}
	default:
		return nil, &Error{Pos: t.pos, Expected: "an operator (= != < <= > >= LIKE ILIKE IN IS) after '" + clip(f.text) + "'", Found: t.describe()}
	}
	return pr, nil
}

// value reads a literal after the token after.
func (p *parser) value(after token) (Value, error) {
	t := p.next()
	switch {
	case t.kind == tString:
		return Value{Kind: KindString, Str: t.text, Pos: t.pos}, nil
	case t.kind == tNumber:
		f, _ := strconv.ParseFloat(t.text, 64) // lex checked it
		return Value{Kind: KindNumber, Num: f, Text: t.text, Pos: t.pos}, nil
	case keyword(t, "true"), keyword(t, "false"):
		return Value{Kind: KindBool, Bool: keyword(t, "true"), Pos: t.pos}, nil
	case keyword(t, "null"):
		return Value{Kind: KindNull, Pos: t.pos}, nil
	}
	expected := "a value after '" + clip(after.text) + "'"
	if t.kind == tIdent {
		// The likeliest slip: text without its quotes (state = prod).
		expected += ` (text is quoted: "` + clip(t.text) + `")`
	}
	return Value{}, &Error{Pos: t.pos, Expected: expected, Found: t.describe()}
}
