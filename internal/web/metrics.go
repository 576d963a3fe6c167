package web

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// The metrics page: one experiment's metric over a model's versions, as
// an SVG chart drawn here and as a table.

// MetricsURL is the metrics page of a model ("" leaves the experiment or
// the metric to the page's default).
func MetricsURL(ns, model, experiment, metric string) string {
	q := url.Values{}
	if experiment != "" {
		q.Set("experiment", experiment)
	}
	if metric != "" {
		q.Set("metric", metric)
	}
	u := ModelURL(ns, model) + "/metrics"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// metricsData is the metrics page's.
type metricsData struct {
	Namespace, Model string
	// Experiments are the model's experiment names, Experiment the
	// chosen one; Keys its numeric metrics, Metric the chosen one.
	Experiments []string
	Experiment  string
	Keys        []string
	Metric      string
	Chart       Chart
	// Rows are the versions with the experiment, oldest first.
	Rows []metricsRow
}

// metricsRow is a row of the page's table.
type metricsRow struct {
	Version   string
	CreatedAt time.Time
	State     string
	// Value is the metric's value; "" when the version lacks it.
	Value string
}

func (u *ui) metricsPage(r *http.Request) (View, error) {
	n, err := pathNames(r, "namespace", "model")
	if err != nil {
		return View{}, err
	}
	ns, model := n[0], n[1]
	if err := need(r, ns, auth.Read); err != nil {
		return View{}, err
	}
	q := r.URL.Query()
	ctx := r.Context()
	names, err := u.reg.ExperimentNames(ctx, ns, model)
	if err != nil {
		return View{}, err
	}
	d := metricsData{Namespace: ns, Model: model, Experiments: names, Experiment: q.Get("experiment"), Metric: q.Get("metric")}
	if d.Experiment == "" && len(names) > 0 {
		d.Experiment = names[0]
	}
	if d.Experiment != "" && !slices.Contains(d.Experiments, d.Experiment) {
		if err := registry.ValidateNameRef(d.Experiment); err != nil {
			return View{}, Errorf(api.ProblemInvalidName, "query parameter experiment: %s", err)
		}
		d.Experiments = append([]string{d.Experiment}, d.Experiments...)
	}
	crumbs := append(modelCrumbs(ns, model), Crumb{"Metrics", MetricsURL(ns, model, "", "")})
	view := View{Template: "metrics", Title: "Metrics · " + model, Crumbs: crumbs, Data: &d}
	if d.Experiment == "" {
		return view, nil
	}
	s, err := u.reg.MetricSeries(ctx, ns, model, d.Experiment, 0)
	if err != nil {
		return View{}, err
	}
	d.Keys = s.Keys
	if d.Metric == "" && len(s.Keys) > 0 {
		d.Metric = s.Keys[0]
	}
	if d.Metric != "" && !slices.Contains(d.Keys, d.Metric) {
		d.Keys = append([]string{d.Metric}, d.Keys...)
	}
	var pts []ChartPoint
	for _, p := range s.Points {
		row := metricsRow{Version: p.Version, CreatedAt: p.CreatedAt, State: p.State}
		if v, ok := p.Metrics[d.Metric]; ok {
			row.Value = strconv.FormatFloat(v, 'g', 10, 64)
			pts = append(pts, ChartPoint{Label: p.Version, Value: v, Class: p.State})
		}
		d.Rows = append(d.Rows, row)
	}
	d.Chart = NewChart(pts)
	view.Title = d.Experiment + " · " + d.Metric + " · " + model
	return view, nil
}

// ChartPoint is a value to draw: its x label (a version), value, and the
// class that colours it (an experiment state).
type ChartPoint struct {
	Label string
	Value float64
	Class string
}

// Chart is a line chart laid out in the SVG's user units (viewBox 0 0
// Width Height): what the template draws.
type Chart struct {
	Width, Height float64
	// The plot area.
	Left, Right, Top, Bottom float64
	// TickX is where the y tick labels end, LabelY where the version
	// labels start.
	TickX, LabelY float64
	Points        []PlacedPoint
	// Line is the polyline through the points ("x,y x,y …").
	Line   string
	YTicks []Tick
	// XLabels are the version labels kept (thinned so they do not
	// overlap).
	XLabels []Tick
	// Skipped counts the values not drawn (NaN, ±Inf).
	Skipped int
}

// PlacedPoint is a point in the chart's units.
type PlacedPoint struct {
	X, Y  float64
	Label string
	Value string
	Class string
}

// Tick is an axis tick or label at a position.
type Tick struct {
	Pos   float64
	Label string
}

// Chart geometry.
const (
	chartWidth, chartHeight = 800.0, 340.0
	chartLeft, chartRight   = 72.0, 784.0
	chartTop, chartBottom   = 16.0, 260.0
	// labelSpace is the room one (slanted) version label needs on the x
	// axis, and labelMax the runes of one.
	labelSpace = 22.0
	labelMax   = 18
)

// NewChart lays out points (in order, evenly spaced) with round y ticks;
// NaN and infinite values are skipped. No points is a Chart without
// Points.
func NewChart(points []ChartPoint) Chart {
	c := Chart{Width: chartWidth, Height: chartHeight, Left: chartLeft, Right: chartRight, Top: chartTop, Bottom: chartBottom,
		TickX: chartLeft - 6, LabelY: chartBottom + 14}
	var pts []ChartPoint
	for _, p := range points {
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			c.Skipped++
			continue
		}
		pts = append(pts, p)
	}
	if len(pts) == 0 {
		return c
	}
	lo, hi := pts[0].Value, pts[0].Value
	for _, p := range pts {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	ticks, step := niceTicks(lo, hi, 5)
	ylo, yhi := ticks[0], ticks[len(ticks)-1]
	y := func(v float64) float64 {
		return round2(c.Bottom - (v-ylo)/(yhi-ylo)*(c.Bottom-c.Top))
	}
	decimals := max(0, int(-math.Floor(math.Log10(step))))
	for _, t := range ticks {
		c.YTicks = append(c.YTicks, Tick{Pos: y(t), Label: formatTick(t, decimals)})
	}
	x := func(i int) float64 {
		if len(pts) == 1 {
			return round2((c.Left + c.Right) / 2)
		}
		pad := 12.0
		return round2(c.Left + pad + float64(i)*(c.Right-c.Left-2*pad)/float64(len(pts)-1))
	}
	// Keep every k-th label so that they do not overlap; the newest is
	// always kept.
	room := int((c.Right - c.Left) / labelSpace)
	k := max(1, (len(pts)+room-1)/room)
	line := make([]byte, 0, len(pts)*16)
	for i, p := range pts {
		pp := PlacedPoint{X: x(i), Y: y(p.Value), Label: p.Label, Value: strconv.FormatFloat(p.Value, 'g', 10, 64), Class: p.Class}
		c.Points = append(c.Points, pp)
		if i > 0 {
			line = append(line, ' ')
		}
		line = strconv.AppendFloat(line, pp.X, 'f', -1, 64)
		line = append(line, ',')
		line = strconv.AppendFloat(line, pp.Y, 'f', -1, 64)
		if (len(pts)-1-i)%k == 0 {
			c.XLabels = append(c.XLabels, Tick{Pos: pp.X, Label: shorten(p.Label, labelMax)})
		}
	}
	c.Line = string(line)
	return c
}

// niceTicks are about n round values (1, 2 or 5 times a power of ten
// apart) covering lo..hi; equal bounds are widened around the value.
func niceTicks(lo, hi float64, n int) ([]float64, float64) {
	if hi == lo {
		d := math.Abs(lo) / 10
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	step := niceNum((hi - lo) / float64(n-1))
	start := math.Floor(lo/step) * step
	end := math.Ceil(hi/step) * step
	var out []float64
	for i := 0; ; i++ {
		t := start + float64(i)*step
		if t > end+step/2 || i > 100 {
			break
		}
		out = append(out, t)
	}
	return out, step
}

// niceNum is the round step (1, 2, 2.5 or 5 × 10^k) nearest above x.
func niceNum(x float64) float64 {
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var nf float64
	switch {
	case f <= 1:
		nf = 1
	case f <= 2:
		nf = 2
	case f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// formatTick writes a tick value with the decimals its step needs (never
// "-0"); very large or small magnitudes in exponent form.
func formatTick(v float64, decimals int) string {
	if v != 0 && (math.Abs(v) >= 1e9 || decimals > 8) {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if f, _ := strconv.ParseFloat(s, 64); f == 0 {
		return strconv.FormatFloat(0, 'f', decimals, 64)
	}
	return s
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
