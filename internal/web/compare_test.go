package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/web"
)

// seedCompare makes namespace lab, model m with versions v1 and v2: v2
// changes b.bin, adds c.bin, removes a.bin, keeps same.txt; experiment
// eval on both (accuracy 0.93 → 0.95, loss 0.5 → 0.25, a text metric),
// experiment only-a on v1.
func (s *site) seedCompare() {
	t := s.t
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "lab"}))
	must[registry.Model](t)(s.reg.CreateModel(ctx, "lab", "m"))
	put := func(v, name, body string) {
		ref := registry.Ref{Namespace: "lab", Model: "m", Version: v}
		if _, _, err := s.reg.PutArtifact(ctx, registry.Owner{Ref: ref}, registry.NewArtifact{Name: name}, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	exp := func(v, name, metrics string) {
		ref := registry.Ref{Namespace: "lab", Model: "m", Version: v}
		must[registry.Experiment](t)(s.reg.CreateExperiment(ctx, ref, registry.NewExperiment{Name: name}))
		must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, name, registry.ExperimentUpdate{State: "running"}))
		must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, name, registry.ExperimentUpdate{State: "passed", Metrics: json.RawMessage(metrics)}))
	}
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "lab", "m", registry.NewVersion{Version: "v1"}))
	put("v1", "a.bin", "gone")
	put("v1", "b.bin", "old bytes")
	put("v1", "same.txt", "same")
	exp("v1", "eval", `{"accuracy":0.93,"loss":0.5,"note":"x"}`)
	exp("v1", "only-a", `{"n":1}`)
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "lab", "m", registry.NewVersion{Version: "v2", Description: "second",
		Metadata: json.RawMessage(`{"framework":"<jax>","task":"qa"}`)}))
	put("v2", "b.bin", "new bytes")
	put("v2", "c.bin", "added")
	put("v2", "same.txt", "same")
	exp("v2", "eval", `{"accuracy":0.95,"loss":0.25,"note":"y"}`)
}

// section is the part of body from the element with id after to the next
// <section (or the end).
func section(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no element with id %s in:\n%s", id, body)
	}
	rest := body[i:]
	if j := strings.Index(rest[1:], "<section"); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

func TestComparePage(t *testing.T) {
	s := newSite(t)
	s.seedCompare()
	body := page(t, s.get("/ns/lab/models/m/compare?a=v1&b=v2"), http.StatusOK)
	contains(t, section(t, body, "added-h"), "c.bin")
	contains(t, section(t, body, "removed-h"), "a.bin")
	changed := section(t, body, "changed-h")
	contains(t, changed, "b.bin", `data-copy="`+sha("old bytes")+`"`, `data-copy="`+sha("new bytes")+`"`, sha("new bytes")[:12]+"…")
	unchanged := section(t, body, "unchanged-h")
	contains(t, unchanged, "<details", "1 unchanged artifact<", "same.txt")
	for _, wrong := range []string{"c.bin", "a.bin", "b.bin"} {
		if strings.Contains(unchanged, wrong) {
			t.Errorf("%s listed as unchanged", wrong)
		}
	}
	contains(t, body, "1 added · 1 removed · 1 changed · 1 unchanged")
	// Metrics side by side with b − a.
	contains(t, body, "eval", "accuracy", "<code>0.93</code>", "<code>0.95</code>", `delta delta-up">&#43;0.02<`,
		`delta delta-down">-0.25<`, "only-a", "absent", `<option value="v1" selected>`, `<option value="v2" selected>`,
		`href="/ns/lab/models/m/compare?a=v2&amp;b=v1"`, `badge badge-passed`)
	if regexp.MustCompile(`note</td>.*?class="delta[^"]*">[^<]*[0-9]`).MatchString(body) {
		t.Error("a text metric has a delta")
	}
	if strings.Contains(body, "Identical content") {
		t.Error("different versions called identical")
	}
	// The model card: the description changed, the metadata keys that differ (escaped).
	contains(t, section(t, body, "card"), "The descriptions differ.", "<td data-label=\"Metadata key\">framework</td>",
		"<code>&#34;&lt;jax&gt;&#34;</code>", "task")

	// The same version twice: identical content, nothing added or removed.
	same := page(t, s.get("/ns/lab/models/m/compare?a=v2&b=v2"), http.StatusOK)
	contains(t, same, "Identical content", "0 added · 0 removed · 0 changed · 3 unchanged", `delta">0<`)
	contains(t, section(t, same, "card"), "The same description and metadata.")

	// Defaults: the newest against the one before.
	def := page(t, s.get("/ns/lab/models/m/compare"), http.StatusOK)
	contains(t, def, `<option value="v1" selected>`, `<option value="v2" selected>`, "1 added · 1 removed")
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestCompareErrors(t *testing.T) {
	s := newSite(t)
	s.seedCompare()
	for target, status := range map[string]int{
		"/ns/lab/models/m/compare?a=v1&b=nope":                           http.StatusNotFound,
		"/ns/lab/models/m/compare?a=nope&b=v1":                           http.StatusNotFound,
		"/ns/lab/models/nope/compare?a=v1&b=v2":                          http.StatusNotFound,
		"/ns/lab/models/m/compare?a=..&b=v1":                             http.StatusBadRequest,
		"/ns/lab/models/m/compare?a=" + url.QueryEscape("a/b") + "&b=v1": http.StatusBadRequest,
		"/ns/nope/models/m/compare":                                      http.StatusNotFound,
		"/ns/lab/models/m/metrics?experiment=..":                         http.StatusBadRequest,
		"/ns/lab/models/nope/metrics":                                    http.StatusNotFound,
	} {
		body := page(t, s.get(target), status)
		contains(t, body, `class="error"`)
	}
	// A model without versions: the form and an empty state.
	must[registry.Model](t)(s.reg.CreateModel(context.Background(), "lab", "empty"))
	contains(t, page(t, s.get("/ns/lab/models/empty/compare"), http.StatusOK), "No versions to compare yet.")
	contains(t, page(t, s.get("/ns/lab/models/empty/metrics"), http.StatusOK), "No experiments on this model")
	// POST is refused.
	if rec := s.do(http.MethodPost, "/ns/lab/models/m/compare"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST compare: %d", rec.Code)
	}
}

// chartSVG is the chart of a metrics page, parsed as XML.
type chartSVG struct {
	XMLName xml.Name `xml:"svg"`
	Title   string   `xml:"title"`
	Groups  []struct {
		Class   string `xml:"class,attr"`
		Circles []struct {
			Class string  `xml:"class,attr"`
			CX    float64 `xml:"cx,attr"`
			CY    float64 `xml:"cy,attr"`
			Title string  `xml:"title"`
		} `xml:"circle"`
		Texts []struct {
			Text string `xml:",chardata"`
		} `xml:"text"`
	} `xml:"g"`
}

func parseChart(t *testing.T, body string) chartSVG {
	t.Helper()
	i := strings.Index(body, "<svg class=\"chart-svg\"")
	if i < 0 {
		t.Fatalf("no chart in:\n%s", body)
	}
	j := strings.Index(body[i:], "</svg>")
	var c chartSVG
	d := xml.NewDecoder(strings.NewReader(body[i : i+j+len("</svg>")]))
	d.Strict = true
	if err := d.Decode(&c); err != nil {
		t.Fatalf("the chart is not well-formed XML: %v\n%s", err, body[i:i+j])
	}
	// Nothing after the element.
	if _, err := d.Token(); err != io.EOF {
		t.Fatalf("trailing content after the chart: %v", err)
	}
	return c
}

func (c chartSVG) group(class string) (circles int, titles, texts []string) {
	for _, g := range c.Groups {
		if g.Class != class {
			continue
		}
		for _, p := range g.Circles {
			circles++
			titles = append(titles, p.Title)
		}
		for _, x := range g.Texts {
			texts = append(texts, x.Text)
		}
	}
	return
}

func TestMetricsPage(t *testing.T) {
	s := newSite(t)
	s.seedCompare()
	ctx := context.Background()
	// A hostile version name, with the metric.
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "lab", "m", registry.NewVersion{Version: hostile + `"&'`}))
	ref := registry.Ref{Namespace: "lab", Model: "m", Version: hostile + `"&'`}
	must[registry.Experiment](t)(s.reg.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval"}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "running"}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "failed", Metrics: json.RawMessage(`{"accuracy":-0.5,"z<b>k</b>":1}`)}))

	// Defaults: the first experiment, its first metric.
	body := page(t, s.get("/ns/lab/models/m/metrics"), http.StatusOK)
	contains(t, body, `<option value="eval" selected>`, `<option value="accuracy" selected>`, `<option value="loss">`)
	c := parseChart(t, body)
	n, titles, _ := c.group("chart-points")
	if n != 3 {
		t.Fatalf("%d points, want 3: %v", n, titles)
	}
	if titles[0] != "v1: accuracy = 0.93 (passed)" || titles[2] != hostile+`"&'`+": accuracy = -0.5 (failed)" {
		t.Errorf("point titles %q", titles)
	}
	_, _, labels := c.group("chart-xlabels")
	if len(labels) != 3 || labels[0] != "v1" || !strings.HasPrefix(labels[2], "<img") {
		t.Errorf("x labels %q", labels)
	}
	if strings.Contains(body, "<img src=x") {
		t.Error("a hostile version name reached the page as HTML")
	}
	_, _, ticks := c.group("chart-yticks")
	if len(ticks) < 2 || ticks[0] != "-0.6" && ticks[0] != "-0.5" {
		t.Errorf("y ticks %q", ticks)
	}
	// The table has the same data.
	contains(t, body, `class="metrics-table"`, "0.93", "0.95", "-0.5")

	// Another metric and experiment.
	loss := page(t, s.get("/ns/lab/models/m/metrics?experiment=eval&metric=loss"), http.StatusOK)
	if n, _, _ := parseChart(t, loss).group("chart-points"); n != 2 {
		t.Errorf("loss: %d points, want 2", n)
	}
	one := page(t, s.get("/ns/lab/models/m/metrics?experiment=only-a"), http.StatusOK)
	if n, _, _ := parseChart(t, one).group("chart-points"); n != 1 {
		t.Errorf("only-a: %d points, want 1", n)
	}
	// A metric no version has, and an experiment no version has.
	contains(t, page(t, s.get("/ns/lab/models/m/metrics?experiment=eval&metric=nope"), http.StatusOK), "No version has the metric nope")
	contains(t, page(t, s.get("/ns/lab/models/m/metrics?experiment=ghost"), http.StatusOK), "has no numeric metrics yet")
	// A hostile metric key is text.
	hk := page(t, s.get("/ns/lab/models/m/metrics?experiment=eval&metric="+url.QueryEscape("z<b>k</b>")), http.StatusOK)
	if strings.Contains(hk, "<b>k") {
		t.Error("a hostile metric key reached the page as HTML")
	}
	if n, titles, _ := parseChart(t, hk).group("chart-points"); n != 1 || !strings.Contains(titles[0], "z<b>k</b> = 1") {
		t.Errorf("hostile key: %d points %q", n, titles)
	}
	// A text metric only: no chart.
	if b := page(t, s.get("/ns/lab/models/m/metrics?experiment=eval&metric=note"), http.StatusOK); strings.Contains(b, "<svg class=\"chart-svg\"") {
		t.Error("a chart of a text metric")
	}
}

func TestChartEdges(t *testing.T) {
	nan, inf := func() float64 { var z float64; return z / z }(), func() float64 { var z float64; return 1 / z }()
	for name, tc := range map[string]struct {
		values  []float64
		points  int
		skipped int
	}{
		"none":     {nil, 0, 0},
		"one":      {[]float64{0.5}, 1, 0},
		"equal":    {[]float64{2, 2, 2}, 3, 0},
		"zeros":    {[]float64{0, 0}, 2, 0},
		"negative": {[]float64{-3, -1.5, 4}, 3, 0},
		"nan inf":  {[]float64{1, nan, inf, -inf, 2}, 2, 3},
		"huge":     {[]float64{1e12, 3e12}, 2, 0},
		"tiny":     {[]float64{1e-9, 3e-9}, 2, 0},
	} {
		t.Run(name, func(t *testing.T) {
			var pts []web.ChartPoint
			for i, v := range tc.values {
				pts = append(pts, web.ChartPoint{Label: string(rune('a' + i)), Value: v, Class: "passed"})
			}
			c := web.NewChart(pts)
			if len(c.Points) != tc.points || c.Skipped != tc.skipped {
				t.Fatalf("%d points, %d skipped; want %d, %d", len(c.Points), c.Skipped, tc.points, tc.skipped)
			}
			if tc.points == 0 {
				return
			}
			if len(c.YTicks) < 2 {
				t.Errorf("y ticks %v", c.YTicks)
			}
			seen := map[string]bool{}
			for _, tk := range c.YTicks {
				if tk.Pos < c.Top-0.01 || tk.Pos > c.Bottom+0.01 {
					t.Errorf("tick %v outside the plot", tk)
				}
				if seen[tk.Label] || tk.Label == "-0" {
					t.Errorf("tick labels %v", c.YTicks)
				}
				seen[tk.Label] = true
			}
			for _, p := range c.Points {
				if p.X < c.Left || p.X > c.Right || p.Y < c.Top-0.01 || p.Y > c.Bottom+0.01 {
					t.Errorf("point %v outside the plot", p)
				}
			}
		})
	}
	// Many versions: labels thinned, the newest kept.
	var pts []web.ChartPoint
	for i := range 200 {
		pts = append(pts, web.ChartPoint{Label: "version-" + strings.Repeat("x", i%30), Value: float64(i)})
	}
	c := web.NewChart(pts)
	if len(c.XLabels) >= 200 || len(c.XLabels) < 10 || c.XLabels[len(c.XLabels)-1].Pos != c.Points[199].X {
		t.Errorf("%d labels", len(c.XLabels))
	}
	for i := 1; i < len(c.XLabels); i++ {
		if c.XLabels[i].Pos-c.XLabels[i-1].Pos < 20 {
			t.Fatalf("labels %d and %d overlap: %v, %v", i-1, i, c.XLabels[i-1], c.XLabels[i])
		}
	}
	for _, l := range c.XLabels {
		if len([]rune(l.Label)) > 18 {
			t.Errorf("label %q not shortened", l.Label)
		}
	}
}

func TestFormatDelta(t *testing.T) {
	for in, want := range map[float64]string{0.95 - 0.93: "+0.02", -0.25: "-0.25", 0: "0", 1e-12: "+1e-12", 3: "+3"} {
		if got := web.FormatDelta(in); got != want {
			t.Errorf("FormatDelta(%v) = %q, want %q", in, got, want)
		}
	}
	if got := web.ShortDigest("sha256:" + strings.Repeat("ab", 32)); got != "sha256:abababababab…" {
		t.Errorf("ShortDigest = %q", got)
	}
}

func TestAPIReference(t *testing.T) {
	s := newSite(t)
	body := page(t, s.get("/ui/api"), http.StatusOK)
	ref, err := web.ParseAPIRef(httpapi.OpenAPIDocument(), httpapi.Routes())
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]web.APIOp{}
	for _, tag := range ref.Tags {
		for _, op := range tag.Ops {
			ops[op.Method+" "+op.Path] = op
		}
	}
	for _, r := range httpapi.Routes() {
		path := httpapi.RouteLabel(r.Path)
		for _, m := range r.Methods {
			op, ok := ops[m+" "+path]
			if !ok {
				t.Errorf("route %s %s is not on the page", m, path)
				continue
			}
			if op.Role == "" || op.Role != r.Role || op.Access != r.Access {
				t.Errorf("%s %s: role %q (%q), want %q (%q)", m, path, op.Role, op.Access, r.Role, r.Access)
			}
			// On the page: the operation's anchor, its path, its role.
			i := strings.Index(body, `id="`+op.Anchor+`"`)
			if i < 0 {
				t.Errorf("%s %s: no anchor %s", m, path, op.Anchor)
				continue
			}
			art := body[i:]
			art = art[:strings.Index(art, "</article>")]
			esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
			contains(t, art, ">"+m+"<", strings.Join(strings.SplitAfter(esc(path), "/"), "<wbr>"), `data-role="`+r.Role+`"`)
			if !strings.Contains(body, `href="#`+op.Anchor+`"`) {
				t.Errorf("%s %s not in the index", m, path)
			}
		}
	}
	// Roles as routes.go says.
	for key, role := range map[string]string{
		"GET /healthz": "public",
		"GET /api/v1/namespaces/{namespace}/models/{model}":    "read",
		"POST /api/v1/namespaces/{namespace}/models":           "write",
		"DELETE /api/v1/namespaces/{namespace}/models/{model}": "admin",
		"GET /api/v1/tokens":                                   "global admin",
		"POST /graphql":                                        "by resource",
	} {
		if ops[key].Role != role {
			t.Errorf("%s: role %q, want %q", key, ops[key].Role, role)
		}
	}
	// Parameters, bodies, responses and schemas; X-Request-Id, a parameter
	// of every operation, once.
	if n := strings.Count(body, `<td data-label="Parameter"><code>X-Request-Id</code>`); n != 1 {
		t.Errorf("X-Request-Id listed %d times", n)
	}
	contains(t, body, `id="common"`, `id="schema-Version"`, `href="#schema-Version"`, `<code>namespace</code>`, "path", `<code>digest</code>`,
		`href="#schema-VersionCreate"`, `<code>404</code>`, "array of", `id="tag-versions"`, `id="schemas"`)
	lv := ops["GET /api/v1/namespaces/{namespace}/models/{model}/versions"]
	names := map[string]web.APIParam{}
	for _, p := range lv.Params {
		names[p.Name] = p
	}
	if p := names["namespace"]; !p.Required || p.In != "path" || p.Type.Ref != "Name" {
		t.Errorf("namespace parameter %+v", p)
	}
	if p := names["page"]; p.Required || p.In != "query" || !strings.HasPrefix(p.Type.Text, "integer") {
		t.Errorf("page parameter %+v", p)
	}
	if cv := ops["POST /api/v1/namespaces/{namespace}/models/{model}/versions"]; cv.Body.Ref != "VersionCreate" || !cv.BodyRequired {
		t.Errorf("create version body %+v", cv.Body)
	}
	var version *web.APISchema
	for i := range ref.Schemas {
		if ref.Schemas[i].Name == "Version" {
			version = &ref.Schemas[i]
		}
	}
	if version == nil {
		t.Fatal("no schema Version")
	}
	for _, p := range version.Props {
		if p.Name == "sealed_at" && (p.Type.Text != "string (date-time) | null" || !p.Required) {
			t.Errorf("sealed_at %+v", p)
		}
	}
	// The page needs no credentials, like the document.
	if rec := s.get("/ui/api"); rec.Code != http.StatusOK {
		t.Errorf("/ui/api: %d", rec.Code)
	}
}
