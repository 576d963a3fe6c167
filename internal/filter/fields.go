package filter

import (
	"fmt"
	"sort"
	"strings"
)

// Resource is what a filter selects.
type Resource int

// Resources.
const (
	Models Resource = iota
	Versions
	Experiments
)

func (r Resource) String() string { return [...]string{"models", "versions", "experiments"}[r] }

// ParseResource is the Resource called s (models, versions, experiments).
func ParseResource(s string) (Resource, bool) {
	for r := Models; r <= Experiments; r++ {
		if r.String() == s {
			return r, true
		}
	}
	return 0, false
}

// fieldKind is how a field compiles.
type fieldKind int

const (
	fText   fieldKind = iota // a text column
	fEnum                    // a text column with a fixed set of values
	fTime                    // a timestamp column; values are RFC 3339 strings
	fSealed                  // sealed: true when sealed_at is set
	fInt                     // an integer column
	fSet                     // tags, aliases: = means "has", != "has not"
	fJSON                    // meta.<key>, metrics.<key>, params.<key>
	fExp                     // versions: experiments.<name>.state|metrics.<k>|params.<k>
)

// field is one entry of a resource's fixed table: the SQL below is all a
// field ever writes.
type field struct {
	kind fieldKind
	col  string   // column (fText, fEnum, fTime, fSealed, fInt, fJSON: the JSON column)
	enum []string // fEnum
	// fSet: the EXISTS subquery's FROM … WHERE (linking the row), and the
	// column compared.
	set, setCol string
}

// Table aliases: m models, v model_versions, e experiments, n namespaces.
const (
	tagsOf     = "tag_links tl JOIN tags t ON t.id = tl.tag_id WHERE tl.%s = %s"
	aliasesOf  = "model_aliases a WHERE a.%s = %s"
	lifecycles = "test qa stage prod"
)

var (
	lifecycleValues  = strings.Fields(lifecycles)
	experimentStates = []string{"created", "running", "passed", "failed"}
)

// fields are the fixed tables of the resources; a name ending in "." is a
// prefix followed by a JSON key.
var fields = map[Resource]map[string]field{
	Models: {
		"name":        {kind: fText, col: "m.name"},
		"description": {kind: fText, col: "m.description"},
		"created_at":  {kind: fTime, col: "m.created_at"},
		"updated_at":  {kind: fTime, col: "m.updated_at"},
		"namespace":   {kind: fText, col: "n.name"},
		"tags":        {kind: fSet, set: fmt.Sprintf(tagsOf, "model_id", "m.id"), setCol: "t.tag"},
		"aliases":     {kind: fSet, set: fmt.Sprintf(aliasesOf, "model_id", "m.id"), setCol: "a.alias"},
		"meta.":       {kind: fJSON, col: "m.metadata"},
	},
	Versions: {
		"name":             {kind: fText, col: "v.version"},
		"version":          {kind: fText, col: "v.version"},
		"state":            {kind: fEnum, col: "v.state", enum: lifecycleValues},
		"sealed":           {kind: fSealed, col: "v.sealed_at"},
		"created_at":       {kind: fTime, col: "v.created_at"},
		"updated_at":       {kind: fTime, col: "v.updated_at"},
		"state_changed_at": {kind: fTime, col: "v.state_changed_at"},
		"description":      {kind: fText, col: "v.description"},
		"digest":           {kind: fText, col: "v.digest"},
		"model":            {kind: fText, col: "m.name"},
		"namespace":        {kind: fText, col: "n.name"},
		"tags":             {kind: fSet, set: fmt.Sprintf(tagsOf, "version_id", "v.id"), setCol: "t.tag"},
		"aliases":          {kind: fSet, set: fmt.Sprintf(aliasesOf, "version_id", "v.id"), setCol: "a.alias"},
		"meta.":            {kind: fJSON, col: "v.metadata"},
		"experiments.":     {kind: fExp},
	},
	Experiments: {
		"name":        {kind: fText, col: "e.name"},
		"state":       {kind: fEnum, col: "e.state", enum: experimentStates},
		"created_at":  {kind: fTime, col: "e.created_at"},
		"updated_at":  {kind: fTime, col: "e.updated_at"},
		"started_at":  {kind: fTime, col: "e.started_at"},
		"finished_at": {kind: fTime, col: "e.finished_at"},
		"duration_ms": {kind: fInt, col: "e.duration_ms"},
		"retries":     {kind: fInt, col: "e.retries"},
		"version":     {kind: fText, col: "v.version"},
		"model":       {kind: fText, col: "m.name"},
		"namespace":   {kind: fText, col: "n.name"},
		"tags":        {kind: fSet, set: fmt.Sprintf(tagsOf, "experiment_id", "e.id"), setCol: "t.tag"},
		"metrics.":    {kind: fJSON, col: "e.metrics"},
		"params.":     {kind: fJSON, col: "e.params"},
	},
}

// experimentFields are what experiments.<name>. is followed by; the
// experiment is x in its EXISTS subquery.
var experimentFields = map[string]field{
	"state":    {kind: fEnum, col: "x.state", enum: experimentStates},
	"metrics.": {kind: fJSON, col: "x.metrics"},
	"params.":  {kind: fJSON, col: "x.params"},
}

// Fields lists the field names of r (prefixes end in ".<key>"), sorted.
func Fields(r Resource) []string {
	var out []string
	for name := range fields[r] {
		switch name {
		case "experiments.":
			out = append(out, "experiments.<name>.state", "experiments.<name>.metrics.<key>", "experiments.<name>.params.<key>")
		default:
			if strings.HasSuffix(name, ".") {
				name += "<key>"
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// resolved is a field of a filter: its table entry, and for JSON fields
// the key, for experiment fields the experiment and its field.
type resolved struct {
	field
	key  string
	exp  string
	sub  *resolved
	name string
}

// validKey reports whether k may be a JSON key: identifier characters
// (letters, digits, _ - .), which also keep SQLite's JSON path '$."k"'
// unambiguous. Keys are bound parameters, never SQL text.
func validKey(k string) bool {
	if k == "" || len(k) > 256 {
		return false
	}
	for _, r := range k {
		if !isIdentPart(r) {
			return false
		}
	}
	return !strings.HasPrefix(k, ".") && !strings.HasSuffix(k, ".")
}

func unknownField(r Resource, name string, pos int) error {
	return &Error{Pos: pos, Expected: "a field of " + r.String() + " (" + strings.Join(Fields(r), ", ") + ")", Found: "'" + clip(name) + "'"}
}

// resolve looks name up in r's table.
func resolve(r Resource, name string, pos int) (resolved, error) {
	table := fields[r]
	if f, ok := table[name]; ok && !strings.HasSuffix(name, ".") {
		return resolved{field: f, name: name}, nil
	}
	prefix, rest, ok := strings.Cut(name, ".")
	if !ok {
		return resolved{}, unknownField(r, name, pos)
	}
	f, ok := table[prefix+"."]
	if !ok {
		return resolved{}, unknownField(r, name, pos)
	}
	if f.kind == fJSON {
		if !validKey(rest) {
			return resolved{}, &Error{Pos: pos + len([]rune(prefix)) + 1, Expected: "a key of letters, digits, '_', '-' or '.' after '" + prefix + ".'", Found: "'" + clip(rest) + "'"}
		}
		return resolved{field: f, key: rest, name: name}, nil
	}
	// experiments.<name>.state | .metrics.<k> | .params.<k>
	var exp, subName string
	if e, ok := strings.CutSuffix(rest, ".state"); ok {
		exp, subName = e, "state"
	} else if i := strings.Index(rest, ".metrics."); i >= 0 {
		exp, subName = rest[:i], rest[i+1:]
	} else if i := strings.Index(rest, ".params."); i >= 0 {
		exp, subName = rest[:i], rest[i+1:]
	} else {
		return resolved{}, &Error{Pos: pos, Expected: "experiments.<name>.state, experiments.<name>.metrics.<key> or experiments.<name>.params.<key>", Found: "'" + clip(name) + "'"}
	}
	if !validKey(exp) {
		return resolved{}, &Error{Pos: pos, Expected: "an experiment name after 'experiments.'", Found: "'" + clip(exp) + "'"}
	}
	var sub resolved
	if subName == "state" {
		sub = resolved{field: experimentFields["state"], name: name}
	} else {
		p, key, _ := strings.Cut(subName, ".")
		if !validKey(key) {
			return resolved{}, &Error{Pos: pos, Expected: "a key of letters, digits, '_', '-' or '.' after '" + p + ".'", Found: "'" + clip(key) + "'"}
		}
		sub = resolved{field: experimentFields[p+"."], key: key, name: name}
	}
	return resolved{field: f, exp: exp, sub: &sub, name: name}, nil
}
