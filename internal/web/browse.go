package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// The browsing pages: home (the namespaces), a namespace (its models, its
// lifecycle board, its tags and, for an admin, its buckets) and a model
// (its versions), each over the registry's overview methods
// (internal/registry/overview.go).

// Count is a count the registry caps at registry.CountCap: shown with
// thousands separators, "10,000+" at the cap.
type Count int64

func (c Count) String() string {
	s := groupDigits(int64(c))
	if c >= registry.CountCap {
		s += "+"
	}
	return s
}

// groupDigits writes n with a comma between groups of three digits.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// SortColumn is a table header that sorts the list: its link, and how the
// list is sorted by it now (aria-sort: "ascending", "descending" or "").
type SortColumn struct {
	Label string
	URL   string
	Aria  string
}

// Arrow is the visible mark of the column's order.
func (c SortColumn) Arrow() string {
	switch c.Aria {
	case "ascending":
		return "▲"
	case "descending":
		return "▼"
	}
	return ""
}

// sortColumn is the header of a column sorted by the values of order
// (registry sort names, "-" for descending): its link sorts by order[0],
// or by the next value when the list is already sorted by one of them.
func sortColumn(u *url.URL, current, label string, order ...string) SortColumn {
	c := SortColumn{Label: label, URL: Link(u, "sort", order[0])}
	if i := slices.Index(order, current); i >= 0 {
		c.Aria = "ascending"
		if strings.HasPrefix(current, "-") {
			c.Aria = "descending"
		}
		c.URL = Link(u, "sort", order[(i+1)%len(order)])
	}
	return c
}

// SortOption is one choice of a list's sort select.
type SortOption struct {
	Value, Label string
}

// readSortOf reads ?sort= as one of the registry's sort names allowed
// ("" gives def); another is a 400 page.
func readSortOf(r *http.Request, allowed []string, def string) (string, error) {
	v := r.URL.Query().Get("sort")
	if v == "" {
		return def, nil
	}
	if !slices.Contains(allowed, v) {
		return "", Errorf(api.ProblemMalformedRequest, "query parameter sort must be one of %s, not %q", strings.Join(allowed, ", "), v)
	}
	return v, nil
}

// Home.

// homeData is the home page's: the namespaces the principal reads.
type homeData struct {
	Namespaces []namespaceSummary
	Pager      Pager
}

// namespaceSummary is a row of the home page.
type namespaceSummary struct {
	registry.NamespaceSummary
	Models, Versions, ProdTotal Count
	// MoreProd is how many versions in prod are not listed.
	MoreProd Count
}

func (u *ui) homePage(r *http.Request) (View, error) {
	p := Principal(r.Context())
	if len(p.Grants) == 0 {
		return View{}, refusal(r, p, "", auth.Read)
	}
	page, err := PageRequest(r, "")
	if err != nil {
		return View{}, err
	}
	list, err := u.reg.NamespaceSummaries(r.Context(), p.Namespaces(), page)
	if err != nil {
		return View{}, err
	}
	d := homeData{Pager: NewPager(r, "", list)}
	for _, s := range list.Items {
		d.Namespaces = append(d.Namespaces, namespaceSummary{NamespaceSummary: s, Models: Count(s.Models), Versions: Count(s.Versions),
			ProdTotal: Count(s.ProdTotal), MoreProd: Count(max(s.ProdTotal-int64(len(s.Prod)), 0))})
	}
	return View{Template: "home", Title: "Namespaces", Data: d}, nil
}

// Namespace.

// namespaceData is the namespace page's.
type namespaceData struct {
	Namespace registry.Namespace
	Models    []modelOverview
	Pager     Pager
	// Q, Tag and Sort are the list's filters and order (?q=, ?tag=,
	// ?sort=); Sorts the choices, Cols the sortable headers.
	Q, Tag, Sort string
	Sorts        []SortOption
	Cols         map[string]SortColumn
	Lifecycles   []string
	Board        []lane
	// Tags are the namespace's tags (a page of them, ?tpage=).
	Tags      []string
	TagsPager Pager
	// Admin: the principal is admin in the namespace, and Buckets (a page
	// of them, ?bpage=) are shown.
	Admin        bool
	Buckets      []registry.Bucket
	BucketsPager Pager
	// TagCommand and BucketCommand are the hints of the empty tags and
	// buckets.
	TagCommand, BucketCommand string
}

// modelOverview is a row of the models.
type modelOverview struct {
	registry.ModelOverview
	Versions Count
	// Now is the newest version in each lifecycle, in promotion order.
	Now []registry.VersionBrief
}

// lane is a lifecycle of the board.
type lane struct {
	registry.Lane
	Total, More Count
}

// modelSortLabels name the orders of registry.ModelSorts.
var modelSortLabels = map[string]string{"name": "name", "-created": "newest first", "created": "oldest first",
	"-updated": "recently updated", "updated": "least recently updated"}

// versionSortLabels name the orders of registry.VersionSorts.
var versionSortLabels = map[string]string{"-created": "newest first", "created": "oldest first", "version": "version (A–Z)", "-version": "version (Z–A)"}

func sortOptions(sorts []string, labels map[string]string) []SortOption {
	out := make([]SortOption, len(sorts))
	for i, s := range sorts {
		out[i] = SortOption{Value: s, Label: labels[s]}
		if out[i].Label == "" {
			out[i].Label = s
		}
	}
	return out
}

// tagsPerPage and bucketsPerPage are the default page sizes of the
// namespace page's second lists.
const (
	tagsPerPage    = 100
	bucketsPerPage = 25
)

// secondPage is PageRequest of a list with prefix whose default size is
// size.
func secondPage(r *http.Request, prefix string, size int64) (registry.PageRequest, error) {
	p, err := PageRequest(r, prefix)
	if _, sk := pageParams(prefix); r.URL.Query().Get(sk) == "" {
		p.Size = size
	}
	return p, err
}

func (u *ui) namespacePage(r *http.Request) (View, error) {
	ns, err := pathName(r, "namespace")
	if err != nil {
		return View{}, err
	}
	if err := need(r, ns, auth.Read); err != nil {
		return View{}, err
	}
	page, err := PageRequest(r, "")
	if err != nil {
		return View{}, err
	}
	tpage, err := secondPage(r, "t", tagsPerPage)
	if err != nil {
		return View{}, err
	}
	bpage, err := secondPage(r, "b", bucketsPerPage)
	if err != nil {
		return View{}, err
	}
	sortBy, err := readSortOf(r, registry.ModelSorts, "name")
	if err != nil {
		return View{}, err
	}
	q := r.URL.Query()
	f := registry.ModelFilter{NameContains: q.Get("q"), Tag: q.Get("tag")}
	ctx := r.Context()
	n, err := u.reg.GetNamespace(ctx, ns)
	if err != nil {
		return View{}, err
	}
	list, err := u.reg.ModelOverviews(ctx, ns, f, sortBy, page)
	if err != nil {
		return View{}, err
	}
	board, err := u.reg.LifecycleBoard(ctx, ns, 0)
	if err != nil {
		return View{}, err
	}
	tags, err := u.reg.ListTags(ctx, ns, tpage)
	if err != nil {
		return View{}, err
	}
	d := namespaceData{Namespace: n, Pager: NewPager(r, "", list), Q: f.NameContains, Tag: f.Tag, Sort: sortBy,
		Sorts: sortOptions(registry.ModelSorts, modelSortLabels), Lifecycles: registry.Lifecycles,
		TagsPager: NewPager(r, "t", tags),
		TagCommand: "curl -X POST -H \"Authorization: Bearer $FLYMODEL_TOKEN\" -H 'Content-Type: application/json' -d '{\"tag\":\"gold\"}' " +
			ShellQuote(apiBase(r)+"/api/v1/namespaces/"+url.PathEscape(ns)+"/tags"),
		BucketCommand: "curl -X POST -H \"Authorization: Bearer $FLYMODEL_TOKEN\" -H 'Content-Type: application/json' -d '{\"name\":\"BUCKET\",\"region\":\"REGION\",\"role\":\"prod\"}' " +
			ShellQuote(apiBase(r)+"/api/v1/namespaces/"+url.PathEscape(ns)+"/buckets"),
		Cols: map[string]SortColumn{
			"name":    sortColumn(r.URL, sortBy, "Model", "name"),
			"created": sortColumn(r.URL, sortBy, "Created", "-created", "created"),
			"updated": sortColumn(r.URL, sortBy, "Updated", "-updated", "updated"),
		}}
	for _, m := range list.Items {
		row := modelOverview{ModelOverview: m, Versions: Count(m.Versions)}
		for _, lc := range registry.Lifecycles {
			if h, ok := m.Heads[lc]; ok {
				row.Now = append(row.Now, h)
			}
		}
		d.Models = append(d.Models, row)
	}
	for _, l := range board.Lanes {
		d.Board = append(d.Board, lane{Lane: l, Total: Count(l.Total), More: Count(max(l.Total-int64(len(l.Versions)), 0))})
	}
	for _, t := range tags.Items {
		d.Tags = append(d.Tags, t.Tag)
	}
	if d.Admin = Principal(ctx).Allows(ns, auth.Admin); d.Admin {
		buckets, err := u.reg.ListBuckets(ctx, ns, bpage)
		if err != nil {
			return View{}, err
		}
		d.Buckets, d.BucketsPager = buckets.Items, NewPager(r, "b", buckets)
		slices.SortStableFunc(d.Buckets, func(a, b registry.Bucket) int {
			return slices.Index(registry.Lifecycles, a.Role) - slices.Index(registry.Lifecycles, b.Role)
		})
	}
	return View{Template: "namespace", Title: ns, Crumbs: nsCrumbs(ns), Data: d}, nil
}

// apiBase is the server's origin as the request names it, for the
// commands the empty states show.
func apiBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// Model.

// modelData is the model page's.
type modelData struct {
	Model    registry.Model
	Versions []versionSummary
	Pager    Pager
	// State, Tag and Sort are the filters and order (?state=, ?tag=,
	// ?sort=); States and Sorts the choices, Cols the sortable headers.
	State, Tag, Sort string
	States           []string
	Sorts            []SortOption
	Cols             map[string]SortColumn
	// CompareURL and MetricsURL are the model's compare and metrics pages;
	// CompareA and CompareB the versions the compare form proposes.
	CompareURL, MetricsURL string
	CompareA, CompareB     string
	// Metadata is the model card's keys and values (JSON text), by key.
	Metadata []metadataRow
}

// versionSummary is a row of the versions.
type versionSummary struct {
	registry.VersionSummary
	Size string
}

func (u *ui) modelPage(r *http.Request) (View, error) {
	n, err := pathNames(r, "namespace", "model")
	if err != nil {
		return View{}, err
	}
	ns, name := n[0], n[1]
	if err := need(r, ns, auth.Read); err != nil {
		return View{}, err
	}
	page, err := PageRequest(r, "")
	if err != nil {
		return View{}, err
	}
	sortBy, err := readSortOf(r, registry.VersionSorts, "-created")
	if err != nil {
		return View{}, err
	}
	q := r.URL.Query()
	f := registry.VersionFilter{State: q.Get("state"), Tag: q.Get("tag")}
	ctx := r.Context()
	m, err := u.reg.GetModel(ctx, ns, name)
	if err != nil {
		return View{}, err
	}
	list, err := u.reg.VersionSummaries(ctx, ns, name, f, sortBy, page)
	if err != nil {
		return View{}, err
	}
	d := modelData{Model: m, Pager: NewPager(r, "", list), State: api.CanonicalLifecycle(f.State), Tag: f.Tag, Sort: sortBy,
		States: registry.Lifecycles, Sorts: sortOptions(registry.VersionSorts, versionSortLabels),
		Cols: map[string]SortColumn{
			"version": sortColumn(r.URL, sortBy, "Version", "version", "-version"),
			"created": sortColumn(r.URL, sortBy, "Created", "-created", "created"),
		},
		CompareURL: ModelURL(ns, name) + "/compare", MetricsURL: ModelURL(ns, name) + "/metrics",
		Metadata: metadataRows(m.Metadata)}
	for _, v := range list.Items {
		d.Versions = append(d.Versions, versionSummary{VersionSummary: v, Size: HumanBytes(v.ArtifactBytes)})
	}
	// The compare form proposes the two newest versions listed, older
	// first.
	if len(list.Items) > 1 && sortBy == "-created" {
		d.CompareA, d.CompareB = list.Items[1].Version.Version, list.Items[0].Version.Version
	}
	return View{Template: "model", Title: name + " · " + ns, Crumbs: modelCrumbs(ns, name), Data: d}, nil
}
