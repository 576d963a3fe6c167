package filter

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// KeyKind is the type of an order's sort key.
type KeyKind int

// Sort key types.
const (
	KeyTime   KeyKind = iota // time.Time
	KeyText                  // string
	KeyNumber                // float64
)

// orderField is an entry of a resource's fixed order table.
type orderField struct {
	col      string // the key's column ("" for metrics.<key>)
	kind     KeyKind
	nullable bool
}

var orders = map[Resource]map[string]orderField{
	Models: {
		"name":       {col: "m.name", kind: KeyText},
		"created_at": {col: "m.created_at", kind: KeyTime},
		"updated_at": {col: "m.updated_at", kind: KeyTime},
	},
	Versions: {
		"name":             {col: "v.version", kind: KeyText},
		"created_at":       {col: "v.created_at", kind: KeyTime},
		"updated_at":       {col: "v.updated_at", kind: KeyTime},
		"state_changed_at": {col: "v.state_changed_at", kind: KeyTime},
	},
	Experiments: {
		"name":        {col: "e.name", kind: KeyText},
		"created_at":  {col: "e.created_at", kind: KeyTime},
		"updated_at":  {col: "e.updated_at", kind: KeyTime},
		"finished_at": {col: "e.finished_at", kind: KeyTime, nullable: true},
		"duration_ms": {col: "e.duration_ms", kind: KeyNumber, nullable: true},
		"metrics.":    {kind: KeyNumber, nullable: true},
	},
}

// Order is a sort order: a field of the resource's order table, and its
// direction; the row id breaks ties in the same direction. Rows without a
// value (a nullable key) come last either way.
type Order struct {
	Field string // "created_at", "metrics.accuracy", …
	Desc  bool
}

// DefaultOrder is newest first.
var DefaultOrder = Order{Field: "created_at", Desc: true}

func (o Order) String() string {
	if o.Desc {
		return o.Field + " desc"
	}
	return o.Field + " asc"
}

// Orders lists the order fields of r.
func Orders(r Resource) []string {
	var out []string
	for k := range orders[r] {
		if strings.HasSuffix(k, ".") {
			k += "<key>"
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseOrder reads "field [asc|desc]" (empty: DefaultOrder).
func ParseOrder(r Resource, s string) (Order, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return DefaultOrder, nil
	}
	o := Order{Field: words[0]}
	if _, err := o.field(r); err != nil {
		return Order{}, err
	}
	if len(words) > 2 {
		return Order{}, &Error{Pos: 1, Expected: "'field', 'field asc' or 'field desc'", Found: fmt.Sprintf("%d words", len(words))}
	}
	if len(words) == 2 {
		switch strings.ToLower(words[1]) {
		case "asc":
		case "desc":
			o.Desc = true
		default:
			return Order{}, &Error{Pos: len([]rune(words[0])) + 2, Expected: "asc or desc", Found: fmt.Sprintf("%q", clip(words[1]))}
		}
	}
	return o, nil
}

// field looks o up in r's order table; key is the JSON key of metrics.<key>.
func (o Order) field(r Resource) (orderField, error) {
	if f, ok := orders[r][o.Field]; ok && !strings.HasSuffix(o.Field, ".") {
		return f, nil
	}
	if prefix, key, ok := strings.Cut(o.Field, "."); ok {
		if f, ok := orders[r][prefix+"."]; ok && validKey(key) {
			return f, nil
		}
	}
	return orderField{}, &Error{Pos: 1, Expected: "an order of " + r.String() + " (" + strings.Join(Orders(r), ", ") + ")", Found: fmt.Sprintf("%q", clip(o.Field))}
}

// KeyKind is the type of o's sort key on r.
func (o Order) KeyKind(r Resource) KeyKind {
	f, _ := o.field(r)
	return f.kind
}

// Cursor is where a page ends: the last row's sort key (nil when it has
// none) and id, under an order.
type Cursor struct {
	Order Order
	Key   any // time.Time, string, float64 or nil
	ID    int64
}

type cursorJSON struct {
	O string          `json:"o"`
	K json.RawMessage `json:"k"`
	I int64           `json:"i"`
}

// Encode is the cursor as the API shows it: opaque base64url.
func (c Cursor) Encode() string {
	var k any = c.Key
	if t, ok := c.Key.(time.Time); ok {
		k = t.UTC().Format(time.RFC3339Nano)
	}
	raw, _ := json.Marshal(k)
	out, _ := json.Marshal(cursorJSON{O: c.Order.String(), K: raw, I: c.ID})
	return base64.RawURLEncoding.EncodeToString(out)
}

// ErrCursor is a cursor that does not decode, or was made for another order.
var ErrCursor = fmt.Errorf("the cursor is not one this list answered with this order_by")

// DecodeCursor reads a cursor of r under order o.
func DecodeCursor(r Resource, o Order, s string) (*Cursor, error) {
	if len(s) > 2*MaxLength {
		return nil, ErrCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, ErrCursor
	}
	var cj cursorJSON
	if err := json.Unmarshal(raw, &cj); err != nil || cj.O != o.String() {
		return nil, ErrCursor
	}
	f, err := o.field(r)
	if err != nil {
		return nil, err
	}
	c := &Cursor{Order: o, ID: cj.I}
	if string(cj.K) == "null" {
		if !f.nullable {
			return nil, ErrCursor
		}
		return c, nil
	}
	switch f.kind {
	case KeyTime:
		var s string
		if json.Unmarshal(cj.K, &s) != nil {
			return nil, ErrCursor
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, ErrCursor
		}
		c.Key = t.UTC()
	case KeyText:
		var s string
		if json.Unmarshal(cj.K, &s) != nil {
			return nil, ErrCursor
		}
		c.Key = s
	case KeyNumber:
		var n float64
		if json.Unmarshal(cj.K, &n) != nil {
			return nil, ErrCursor
		}
		c.Key = n
	}
	return c, nil
}

// Query is a search: the rows of Resource that Filter (nil: every row)
// selects within the scope, in Order, after the cursor After, at most
// Limit of them.
type Query struct {
	Resource Resource
	Filter   Expr
	// Namespaces, when not nil, limits the rows to the namespaces of these
	// names (an empty list: no rows).
	Namespaces []string
	// NamespaceID, ModelID, VersionID limit the rows to one namespace,
	// model or version (0: any).
	NamespaceID, ModelID, VersionID int64
	Order                           Order
	After                           *Cursor
	Limit                           int64
	// Offset skips rows (the page-numbered lists); Count selects the
	// number of matching rows instead of them (order, cursor and limits
	// ignored).
	Offset int64
	Count  bool
}

// from is each resource's FROM clause and the condition every row meets
// (live versions and experiments only).
var from = map[Resource]string{
	Models:      "FROM models m JOIN namespaces n ON n.id = m.namespace_id WHERE 1 = 1",
	Versions:    "FROM model_versions v JOIN models m ON m.id = v.model_id JOIN namespaces n ON n.id = m.namespace_id WHERE v.deleted_at IS NULL",
	Experiments: "FROM experiments e JOIN model_versions v ON v.id = e.version_id JOIN models m ON m.id = v.model_id JOIN namespaces n ON n.id = m.namespace_id WHERE e.deleted_at IS NULL AND v.deleted_at IS NULL",
}

// newestFirst are the indexes of migration 00015, in created_at order.
var newestFirst = map[Resource]string{Models: "models_created_idx", Versions: "model_versions_live_created_idx", Experiments: "experiments_live_created_idx"}

var idCol = map[Resource]string{Models: "m.id", Versions: "v.id", Experiments: "e.id"}

// Build compiles q for dialect d: a SELECT of two columns, the row id and
// its sort key, and the arguments of its placeholders.
func Build(d Dialect, q Query) (string, []any, error) {
	b := &builder{d: d}
	if q.Order.Field == "" {
		q.Order = DefaultOrder
	}
	of, err := q.Order.field(q.Resource)
	if err != nil {
		return "", nil, err
	}
	id := idCol[q.Resource]
	key := func() string {
		if of.col != "" {
			if of.kind == KeyText {
				return b.text(of.col)
			}
			return of.col
		}
		_, k, _ := strings.Cut(q.Order.Field, ".")
		return b.jsonNumber("e.metrics", k)
	}
	fromClause := from[q.Resource]
	if idx := newestFirst[q.Resource]; d == SQLite && idx != "" && q.Order.Field == "created_at" &&
		q.NamespaceID == 0 && q.ModelID == 0 && q.VersionID == 0 && !q.Count {
		// Across namespaces, SQLite would start from the (few) namespaces
		// and sort every match; the newest-first index (migration 00015)
		// hands the rows over in order, so a page stops after its rows.
		fromClause = strings.Replace(fromClause, " "+idCol[q.Resource][:1]+" ", " "+idCol[q.Resource][:1]+" INDEXED BY "+idx+" ", 1)
	}
	if q.Count {
		b.w("SELECT COUNT(*) ", fromClause)
	} else {
		b.w("SELECT ", id, ", ", key(), " ", fromClause)
	}
	if q.Namespaces != nil {
		if len(q.Namespaces) == 0 {
			b.w(" AND 1 = 0")
		} else {
			b.w(" AND n.name IN (")
			for i, n := range q.Namespaces {
				if i > 0 {
					b.w(", ")
				}
				b.w(b.arg(n))
			}
			b.w(")")
		}
	}
	if q.NamespaceID != 0 {
		b.w(" AND m.namespace_id = ", b.arg(q.NamespaceID))
	}
	if q.ModelID != 0 {
		b.w(" AND m.id = ", b.arg(q.ModelID))
	}
	if q.VersionID != 0 && q.Resource == Experiments {
		b.w(" AND e.version_id = ", b.arg(q.VersionID))
	} else if q.VersionID != 0 && q.Resource == Versions {
		b.w(" AND v.id = ", b.arg(q.VersionID))
	}
	if q.Filter != nil {
		b.w(" AND ")
		if err := b.compile(q.Resource, q.Filter); err != nil {
			return "", nil, err
		}
	}
	if q.Count {
		return b.sb.String(), b.args, nil
	}
	if c := q.After; c != nil {
		lt := ">"
		if q.Order.Desc {
			lt = "<"
		}
		switch {
		case c.Key == nil:
			// Past the last key: among the rows without one.
			b.w(" AND ", key(), " IS NULL AND ", id, " ", lt, " ", b.arg(c.ID))
		case of.nullable:
			b.w(" AND (", key(), " IS NULL OR ", key(), " ", lt, " ", b.typed(c.Key, kindOf(of.kind)),
				" OR (", key(), " = ", b.typed(c.Key, kindOf(of.kind)), " AND ", id, " ", lt, " ", b.arg(c.ID), "))")
		default:
			b.w(" AND (", key(), " ", lt, " ", b.typed(c.Key, kindOf(of.kind)),
				" OR (", key(), " = ", b.typed(c.Key, kindOf(of.kind)), " AND ", id, " ", lt, " ", b.arg(c.ID), "))")
		}
	}
	dir := " ASC"
	if q.Order.Desc {
		dir = " DESC"
	}
	b.w(" ORDER BY ")
	if of.nullable {
		b.w("(", key(), " IS NULL), ")
	}
	b.w(key(), dir, ", ", id, dir)
	if q.Limit > 0 {
		b.w(" LIMIT ", b.arg(q.Limit))
		if q.Offset > 0 {
			b.w(" OFFSET ", b.arg(q.Offset))
		}
	}
	return b.sb.String(), b.args, nil
}

func kindOf(k KeyKind) ValueKind {
	if k == KeyNumber {
		return KindNumber
	}
	return KindString
}
