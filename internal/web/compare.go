package web

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// The compare page: two versions of a model side by side
// (registry.CompareVersions).

// CompareURL is the compare page of versions a and b of a model ("" leaves
// a side to the page's default).
func CompareURL(ns, model, a, b string) string {
	q := url.Values{}
	if a != "" {
		q.Set("a", a)
	}
	if b != "" {
		q.Set("b", b)
	}
	u := ModelURL(ns, model) + "/compare"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// pickerVersions is how many of a model's newest versions the pickers of
// the compare page offer (any other is typed in the URL, and kept).
const pickerVersions = 50

// compareData is the compare page's.
type compareData struct {
	Namespace, Model string
	// A and B are the chosen names; Choices the pickers' options (the
	// newest versions, and A and B).
	A, B    string
	Choices []string
	// Comparison is nil when the model has no version yet.
	Comparison *registry.Comparison
	// Sides are the two versions, a then b.
	Sides []registry.Version
	// Identical: both versions have the same non-empty digest.
	Identical   bool
	Experiments []experimentRow
	// SwapURL compares the other way round.
	SwapURL string
}

// experimentRow is an experiment name on both versions, its metrics side
// by side.
type experimentRow struct {
	Name           string
	StateA, StateB string // "" when the side has no such experiment
	Metrics        []metricRow
}

// metricRow is one metric key of an experiment on both versions: values
// as JSON text ("" when absent), and b − a when both are numbers.
type metricRow struct {
	Key    string
	A, B   string
	Delta  string
	HasNum bool
	// Sign is -1, 0 or 1: the delta's direction.
	Sign int
}

func (u *ui) comparePage(r *http.Request) (View, error) {
	n, err := pathNames(r, "namespace", "model")
	if err != nil {
		return View{}, err
	}
	ns, model := n[0], n[1]
	if err := need(r, ns, auth.Read); err != nil {
		return View{}, err
	}
	q := r.URL.Query()
	a, b := q.Get("a"), q.Get("b")
	for key, v := range map[string]string{"a": a, "b": b} {
		if v == "" {
			continue
		}
		if err := registry.ValidateNameRef(v); err != nil {
			return View{}, Errorf(api.ProblemInvalidName, "query parameter %s: version name %s", key, err)
		}
	}
	ctx := r.Context()
	newest, err := u.reg.ListVersions(ctx, ns, model, registry.VersionFilter{}, registry.PageRequest{Page: 1, Size: pickerVersions})
	if err != nil {
		return View{}, err
	}
	d := compareData{Namespace: ns, Model: model}
	for _, v := range newest.Items {
		d.Choices = append(d.Choices, v.Version)
	}
	// Defaults: the newest version (b) against the one before it (a).
	if b == "" && len(d.Choices) > 0 {
		b = d.Choices[0]
	}
	if a == "" && len(d.Choices) > 0 {
		a = d.Choices[min(1, len(d.Choices)-1)]
		if a == b && len(d.Choices) > 1 {
			a = d.Choices[1]
		}
	}
	d.A, d.B = a, b
	for _, v := range []string{b, a} {
		if v != "" && !slices.Contains(d.Choices, v) {
			d.Choices = append([]string{v}, d.Choices...)
		}
	}
	crumbs := append(modelCrumbs(ns, model), Crumb{"Compare", CompareURL(ns, model, a, b)})
	view := View{Template: "compare", Title: "Compare · " + model, Crumbs: crumbs, Data: &d}
	if a == "" || b == "" {
		if _, err := u.reg.GetModel(ctx, ns, model); err != nil {
			return View{}, err
		}
		return view, nil
	}
	c, err := u.reg.CompareVersions(ctx, ns, model, a, b)
	if err != nil {
		return View{}, err
	}
	d.Comparison = &c
	d.Sides = []registry.Version{c.A, c.B}
	d.Identical = c.A.Digest != "" && c.A.Digest == c.B.Digest
	d.SwapURL = CompareURL(ns, model, b, a)
	for _, p := range c.Experiments {
		d.Experiments = append(d.Experiments, experimentPairRow(p))
	}
	view.Title = a + " ↔ " + b + " · " + model
	return view, nil
}

// experimentPairRow sets the metrics of an experiment's two sides by key.
func experimentPairRow(p registry.ExperimentPair) experimentRow {
	row := experimentRow{Name: p.Name}
	ma, mb := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	if p.A != nil {
		row.StateA = string(p.A.State)
		_ = json.Unmarshal(p.A.Metrics, &ma)
	}
	if p.B != nil {
		row.StateB = string(p.B.State)
		_ = json.Unmarshal(p.B.Metrics, &mb)
	}
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	for _, k := range slices.Sorted(mapKeys(keys)) {
		m := metricRow{Key: k, A: string(ma[k]), B: string(mb[k])}
		x, okA := number(ma[k])
		y, okB := number(mb[k])
		if okA && okB {
			delta := y - x
			if !math.IsInf(delta, 0) && !math.IsNaN(delta) {
				m.HasNum = true
				m.Delta = FormatDelta(delta)
				switch {
				case delta > 0:
					m.Sign = 1
				case delta < 0:
					m.Sign = -1
				}
			}
		}
		row.Metrics = append(row.Metrics, m)
	}
	return row
}

// number reads a JSON number.
func number(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, false
	}
	return f, true
}

// FormatDelta writes a difference with its sign and six significant
// digits (0.95 − 0.93 is +0.02, not +0.019999999999999907).
func FormatDelta(d float64) string {
	s := strconv.FormatFloat(d, 'g', 6, 64)
	if d > 0 {
		return "+" + s
	}
	if d == 0 {
		return "0"
	}
	return s
}

// ShortDigest shortens a digest ("sha256:…" or bare hex) to its first 12
// hex digits and an ellipsis; the full value goes in a title and a copy
// button.
func ShortDigest(s string) string {
	prefix := ""
	if len(s) > 7 && s[:7] == "sha256:" {
		prefix, s = "sha256:", s[7:]
	}
	if len(s) <= 12 {
		return prefix + s
	}
	return prefix + s[:12] + "…"
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
