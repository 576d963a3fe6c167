package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
)

// The read side of the web UI's pages: summaries that each take a bounded
// number of indexed queries (at most a few per item of a page).

// VersionBrief names a version with the times a list shows.
type VersionBrief struct {
	Model          string
	Version        string
	State          string
	StateChangedAt time.Time
	CreatedAt      time.Time
}

// MaxBriefs is the most versions a summary lists per lifecycle.
const MaxBriefs = 100

// DefaultBriefs is how many versions a summary lists per lifecycle when
// asked for 0.
const DefaultBriefs = 10

// CountCap bounds the counts of versions in a namespace (NamespaceSummary
// Versions and ProdTotal, Lane Total), which would otherwise read every
// version: a count equal to CountCap means CountCap or more.
const CountCap = 10000

// NamespaceSummary is a namespace with its counts and the versions now in
// prod (the newest DefaultBriefs state changes; ProdTotal counts them all,
// up to CountCap).
type NamespaceSummary struct {
	Namespace Namespace
	Models    int64
	// Versions counts the live (not soft-deleted) versions, up to CountCap.
	Versions  int64
	Prod      []VersionBrief
	ProdTotal int64
}

// NamespaceSummaries returns one page of namespaces (by name) with their
// summaries; names limits it to those namespaces (nil: all), as
// ListNamespacesNamed does.
func (r *Registry) NamespaceSummaries(ctx context.Context, names []string, page PageRequest) (Page[NamespaceSummary], error) {
	var (
		nss Page[Namespace]
		err error
	)
	if names == nil {
		nss, err = r.ListNamespaces(ctx, page)
	} else {
		nss, err = r.ListNamespacesNamed(ctx, names, page)
	}
	if err != nil {
		return Page[NamespaceSummary]{}, err
	}
	items := make([]NamespaceSummary, 0, len(nss.Items))
	for _, ns := range nss.Items {
		s := NamespaceSummary{Namespace: ns}
		if s.Models, err = r.db.CountNamespaceModels(ctx, ns.ID); err != nil {
			return Page[NamespaceSummary]{}, err
		}
		if s.Versions, err = r.db.CountNamespaceLiveVersions(ctx, db.CountNamespaceLiveVersionsParams{NamespaceID: ns.ID, CountCap: CountCap}); err != nil {
			return Page[NamespaceSummary]{}, err
		}
		if s.Prod, s.ProdTotal, err = r.lane(ctx, ns.ID, api.Prod, DefaultBriefs); err != nil {
			return Page[NamespaceSummary]{}, err
		}
		items = append(items, s)
	}
	return newPage(items, page, nss.TotalItems), nil
}

// lane lists the newest n state changes into lifecycle of a namespace's
// live versions, with their total.
func (r *Registry) lane(ctx context.Context, nsID int64, lifecycle string, n int) ([]VersionBrief, int64, error) {
	rows, err := r.db.ListNamespaceVersionsInState(ctx, db.ListNamespaceVersionsInStateParams{NamespaceID: nsID, State: lifecycle, PageLimit: int64(n)})
	if err != nil {
		return nil, 0, err
	}
	out := make([]VersionBrief, len(rows))
	for i, row := range rows {
		out[i] = VersionBrief{Model: row.Model, Version: row.Version, State: lifecycle,
			StateChangedAt: row.StateChangedAt.UTC(), CreatedAt: row.CreatedAt.UTC()}
	}
	total := int64(len(rows))
	if total == int64(n) {
		if total, err = r.db.CountNamespaceVersionsInState(ctx, db.CountNamespaceVersionsInStateParams{NamespaceID: nsID, State: lifecycle, CountCap: CountCap}); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// ModelSorts are the orders ModelOverviews accepts ("" is name).
var ModelSorts = []string{"name", "-created", "created", "-updated", "updated"}

// ModelOverview is a model with its live versions' count, its newest
// version and the newest version in each lifecycle (keyed by lifecycle;
// a lifecycle without versions is absent).
type ModelOverview struct {
	Model    Model
	Versions int64
	// Newest is nil when the model has no live version.
	Newest *VersionBrief
	Heads  map[string]VersionBrief
}

// ModelOverviews returns one page of a namespace's models, filtered as
// ListModels filters, in the order sort names (one of ModelSorts).
func (r *Registry) ModelOverviews(ctx context.Context, ns string, f ModelFilter, sortBy string, page PageRequest) (Page[ModelOverview], error) {
	var v validation
	off, lim := page.validate(&v)
	if f.Tag != "" {
		v.add("tag", ValidateNameRef(f.Tag))
	}
	if len([]rune(f.NameContains)) > MaxNameLen {
		v.addf("name", "must be at most %d characters", MaxNameLen)
	}
	if sortBy == "" {
		sortBy = "name"
	}
	oneOf(&v, "sort", sortBy, ModelSorts)
	if err := v.err(); err != nil {
		return Page[ModelOverview]{}, err
	}
	n, err := r.namespace(ctx, r.db, ns)
	if err != nil {
		return Page[ModelOverview]{}, err
	}
	contains, tag := optional(f.NameContains), optional(f.Tag)
	rows, err := r.db.ListModelsSorted(ctx, db.ListModelsSortedParams{NamespaceID: n.ID, NameContains: contains, Tag: tag, Sort: sortBy, PageOffset: off, PageLimit: lim})
	if err != nil {
		return Page[ModelOverview]{}, err
	}
	total, err := r.db.CountModels(ctx, db.CountModelsParams{NamespaceID: n.ID, NameContains: contains, Tag: tag})
	if err != nil {
		return Page[ModelOverview]{}, err
	}
	// The page's heads and counts in one statement (the same page: same
	// parameters; a model that moved off it in between shows none).
	heads, err := r.db.ListModelPageHeads(ctx, db.ListModelPageHeadsParams{NamespaceID: n.ID, NameContains: contains, Tag: tag, Sort: sortBy, PageOffset: off, PageLimit: lim})
	if err != nil {
		return Page[ModelOverview]{}, err
	}
	items := make([]ModelOverview, 0, len(rows))
	at := make(map[int64]int, len(rows))
	for _, m := range rows {
		o := ModelOverview{Heads: map[string]VersionBrief{}}
		if o.Model, err = r.toModelTags(ctx, r.db, ns, m); err != nil {
			return Page[ModelOverview]{}, err
		}
		at[m.ID] = len(items)
		items = append(items, o)
	}
	ptrs := make([]*Model, len(items))
	for i := range items {
		ptrs[i] = &items[i].Model
	}
	if err := withPageModelAliases(ctx, r.db, ptrs); err != nil {
		return Page[ModelOverview]{}, err
	}
	for _, h := range heads { // by model, newest first
		i, ok := at[h.ModelID]
		if !ok {
			continue
		}
		o := &items[i]
		b := VersionBrief{Model: o.Model.Name, Version: h.Version, State: h.State, StateChangedAt: h.StateChangedAt.UTC(), CreatedAt: h.CreatedAt.UTC()}
		if o.Newest == nil {
			o.Newest = &b
		}
		o.Heads[h.State] = b
		o.Versions = h.Live
	}
	return newPage(items, page, total), nil
}

// Board is a namespace's versions by lifecycle, in promotion order.
type Board struct {
	Namespace string
	Lanes     []Lane
}

// Lane is the versions now in one lifecycle, newest state change first
// (at most the board's cap), and how many there are (up to CountCap).
type Lane struct {
	Lifecycle string
	Versions  []VersionBrief
	Total     int64
}

// LifecycleBoard returns, for each lifecycle, the namespace's live versions
// now in it: the newest perLifecycle state changes (0: DefaultBriefs, at
// most MaxBriefs) and the total.
func (r *Registry) LifecycleBoard(ctx context.Context, ns string, perLifecycle int) (Board, error) {
	var v validation
	if perLifecycle == 0 {
		perLifecycle = DefaultBriefs
	}
	if perLifecycle < 1 || perLifecycle > MaxBriefs {
		v.addf("per_lifecycle", "must be between 1 and %d", MaxBriefs)
	}
	if err := v.err(); err != nil {
		return Board{}, err
	}
	n, err := r.namespace(ctx, r.db, ns)
	if err != nil {
		return Board{}, err
	}
	b := Board{Namespace: ns}
	for _, lc := range Lifecycles {
		l := Lane{Lifecycle: lc}
		if l.Versions, l.Total, err = r.lane(ctx, n.ID, lc, perLifecycle); err != nil {
			return Board{}, err
		}
		b.Lanes = append(b.Lanes, l)
	}
	return b, nil
}

// VersionSorts are the orders VersionSummaries accepts ("" is -created).
var VersionSorts = []string{"-created", "created", "version", "-version"}

// VersionSummary is a version with its own artifacts' count and bytes.
type VersionSummary struct {
	Version       Version
	Artifacts     int64
	ArtifactBytes int64
}

// VersionSummaries returns one page of a model's live versions, filtered as
// ListVersions filters, in the order sort names (one of VersionSorts).
func (r *Registry) VersionSummaries(ctx context.Context, ns, model string, f VersionFilter, sortBy string, page PageRequest) (Page[VersionSummary], error) {
	if sortBy == "" {
		sortBy = "-created"
	}
	var v validation
	oneOf(&v, "sort", sortBy, VersionSorts)
	if err := v.err(); err != nil {
		return Page[VersionSummary]{}, err
	}
	var versions Page[Version]
	if sortBy == "-created" {
		var err error
		if versions, err = r.ListVersions(ctx, ns, model, f, page); err != nil {
			return Page[VersionSummary]{}, err
		}
	} else {
		var err error
		if versions, err = r.listVersionsSorted(ctx, ns, model, f, sortBy, page); err != nil {
			return Page[VersionSummary]{}, err
		}
	}
	items := make([]VersionSummary, len(versions.Items))
	for i, ver := range versions.Items {
		t, err := r.db.VersionArtifactTotals(ctx, ver.ID)
		if err != nil {
			return Page[VersionSummary]{}, err
		}
		items[i] = VersionSummary{Version: ver, Artifacts: t.Artifacts, ArtifactBytes: t.Bytes}
	}
	return newPage(items, page, versions.TotalItems), nil
}

// listVersionsSorted is ListVersions in another order than newest first.
func (r *Registry) listVersionsSorted(ctx context.Context, ns, model string, f VersionFilter, sortBy string, page PageRequest) (Page[Version], error) {
	var v validation
	off, lim := page.validate(&v)
	f.validate(&v)
	if err := v.err(); err != nil {
		return Page[Version]{}, err
	}
	res, err := r.model(ctx, r.db, ns, model)
	if err != nil {
		return Page[Version]{}, err
	}
	state, tag := optional(f.State), optional(f.Tag)
	var rows []db.ModelVersion
	switch sortBy {
	case "created":
		rows, err = r.db.ListVersionsCreatedAsc(ctx, db.ListVersionsCreatedAscParams{ModelID: res.model.ID, State: state, Tag: tag, PageOffset: off, PageLimit: lim})
	case "version":
		rows, err = r.db.ListVersionsByName(ctx, db.ListVersionsByNameParams{ModelID: res.model.ID, State: state, Tag: tag, PageOffset: off, PageLimit: lim})
	default:
		rows, err = r.db.ListVersionsByNameDesc(ctx, db.ListVersionsByNameDescParams{ModelID: res.model.ID, State: state, Tag: tag, PageOffset: off, PageLimit: lim})
	}
	if err != nil {
		return Page[Version]{}, err
	}
	var total int64
	if f.State != "" && f.Tag == "" {
		total, err = r.db.CountVersionsInState(ctx, db.CountVersionsInStateParams{ModelID: res.model.ID, State: f.State})
	} else {
		total, err = r.db.CountVersions(ctx, db.CountVersionsParams{ModelID: res.model.ID, State: state, Tag: tag})
	}
	if err != nil {
		return Page[Version]{}, err
	}
	items := convert(rows, toVersion(ns, model))
	if err := withPageTags(ctx, r.db, items); err != nil {
		return Page[Version]{}, err
	}
	return newPage(items, page, total), nil
}

// GateExperiment is an experiment a gate looks at, with its state.
type GateExperiment struct {
	Name  string
	State string
}

// gateVerdict is what the promotion gate of a lifecycle says of a version.
type gateVerdict struct {
	// Require and RequireAllPassed are the gate's rule (empty: ungated).
	Require          []string
	RequireAllPassed bool
	// Missing are required experiments the version does not have.
	Missing []string
	// NotPassed are experiments the gate needs passed that are not, by name.
	NotPassed []GateExperiment
	// NoExperiments: every experiment must pass and there are none.
	NoExperiments bool
}

func (g gateVerdict) passed() bool {
	return len(g.Missing) == 0 && len(g.NotPassed) == 0 && !g.NoExperiments
}

// GateStatus is what SetVersionState would say now of moving a version
// to lifecycle To, without changing anything.
type GateStatus struct {
	Ref  Ref
	From string
	To   string
	// NoChange: the version is in To already (SetVersionState changes nothing).
	NoChange bool
	// The gate of To: its rule and what the version lacks.
	Require          []string
	RequireAllPassed bool
	Missing          []string
	NotPassed        []GateExperiment
	NoExperiments    bool
	// GatePassed: the gate lets the version in (an ungated lifecycle does).
	GatePassed bool
	// MoveAllowed is false when the move is refused for another reason than
	// the gate; Reason says why (e.g. no blob store serves To for a
	// version with artifacts).
	MoveAllowed bool
	Reason      string
	// WouldSucceed: SetVersionState would succeed now.
	WouldSucceed bool
}

// GatePreview says whether the version ref could move to lifecycle to now,
// and what the gate of to requires of it; it changes nothing.
func (r *Registry) GatePreview(ctx context.Context, ref Ref, to string) (GateStatus, error) {
	to = api.CanonicalLifecycle(to)
	var v validation
	oneOf(&v, "to", to, Lifecycles)
	if err := v.err(); err != nil {
		return GateStatus{}, err
	}
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return GateStatus{}, err
	}
	g, err := r.gateVerdict(ctx, r.db, res.version.ID, to)
	if err != nil {
		return GateStatus{}, err
	}
	st := GateStatus{Ref: ref, From: res.version.State, To: to, NoChange: res.version.State == to,
		Require: g.Require, RequireAllPassed: g.RequireAllPassed, Missing: g.Missing, NotPassed: g.NotPassed,
		NoExperiments: g.NoExperiments, GatePassed: g.passed(), MoveAllowed: true}
	if st.Require == nil {
		st.Require = []string{}
	}
	if !st.NoChange {
		// A version with artifacts needs a blob store serving the lifecycle
		// (SetVersionState places its artifacts there).
		rows, err := r.db.ListVersionBlobs(ctx, res.version.ID)
		if err != nil {
			return GateStatus{}, err
		}
		if len(rows) > 0 {
			if reason, err := r.storeRefusal(ctx, res.ns, to); err != nil {
				return GateStatus{}, err
			} else if reason != "" {
				st.MoveAllowed, st.Reason = false, reason
			}
		}
	}
	// Moving to the state it is in changes nothing and always succeeds.
	st.WouldSucceed = st.NoChange || (st.GatePassed && st.MoveAllowed)
	return st, nil
}

// storeRefusal is why route would refuse lifecycle of ns ("" when it
// would not), without creating anything.
func (r *Registry) storeRefusal(ctx context.Context, ns db.Namespace, lifecycle string) (string, error) {
	var bucket string
	b, err := r.db.GetBucketForRole(ctx, db.GetBucketForRoleParams{NamespaceID: ns.ID, Role: lifecycle})
	switch {
	case err == nil:
		bucket = b.Name
	case !errors.Is(err, db.ErrNotFound):
		return "", err
	}
	name, err := r.blobs.serving(ns.Name, lifecycle, bucket)
	if err == nil {
		_, err = r.blobs.store(name)
	}
	if err != nil {
		return err.Error(), nil
	}
	return "", nil
}

// Comparison sets two versions of a model side by side.
type Comparison struct {
	A, B Version
	// The versions' own artifacts, by name: in B only, in A only, in both
	// with other bytes, in both with the same bytes.
	Added, Removed []Artifact
	Changed        []ArtifactChange
	Unchanged      []Artifact
	// Experiments by name present on either version.
	Experiments []ExperimentPair
	// DescriptionChanged: the descriptions differ (A.Description,
	// B.Description).
	DescriptionChanged bool
	// Metadata are the top-level metadata keys whose values differ, by
	// key (a side without the key has nil).
	Metadata []api.ValueDiff
}

// ArtifactChange is an artifact of both versions with different bytes.
type ArtifactChange struct {
	Name string
	A, B Artifact
}

// ExperimentPair is one experiment name on two versions; a side without it
// is nil.
type ExperimentPair struct {
	Name string
	A, B *Experiment
	// Metrics are the metrics of either side by key, side by side (a side
	// without the key has nil).
	Metrics []api.ValueDiff
}

// compareLimit is the most artifacts and experiments per version a
// comparison reads.
const compareLimit = MaxPageSize

// CompareVersions compares versions a and b of a model (the web UI's
// compare page; the API's diff is DiffVersions, the same comparison).
func (r *Registry) CompareVersions(ctx context.Context, ns, model, a, b string) (Comparison, error) {
	return r.DiffVersions(ctx, Ref{Namespace: ns, Model: model, Version: a}, Ref{Namespace: ns, Model: model, Version: b})
}

// DiffVersions compares version a with version b, of any models: their
// own artifacts by name and sha256, their descriptions, their metadata
// by top-level key, and their experiments by name with the metrics side
// by side. It reads at most compareLimit artifacts and experiments of
// each.
func (r *Registry) DiffVersions(ctx context.Context, refA, refB Ref) (Comparison, error) {
	var c Comparison
	type side struct {
		v    Version
		arts []Artifact
		exps []Experiment
	}
	read := func(ref Ref) (side, error) {
		var s side
		var err error
		if s.v, err = r.GetVersion(ctx, ref); err != nil {
			return s, err
		}
		arts, err := r.ListArtifacts(ctx, Owner{Ref: ref}, PageRequest{Page: 1, Size: compareLimit})
		if err != nil {
			return s, err
		}
		exps, err := r.ListExperiments(ctx, ref, "", PageRequest{Page: 1, Size: compareLimit})
		if err != nil {
			return s, err
		}
		s.arts, s.exps = arts.Items, exps.Items
		return s, nil
	}
	sa, err := read(refA)
	if err != nil {
		return c, err
	}
	sb, err := read(refB)
	if err != nil {
		return c, err
	}
	c = Comparison{A: sa.v, B: sb.v, Added: []Artifact{}, Removed: []Artifact{}, Changed: []ArtifactChange{}, Unchanged: []Artifact{}, Experiments: []ExperimentPair{}}
	inA := map[string]Artifact{}
	for _, x := range sa.arts {
		inA[x.Name] = x
	}
	inB := map[string]bool{}
	for _, y := range sb.arts { // by name, as listed
		inB[y.Name] = true
		x, ok := inA[y.Name]
		switch {
		case !ok:
			c.Added = append(c.Added, y)
		case x.SHA256 != y.SHA256:
			c.Changed = append(c.Changed, ArtifactChange{Name: y.Name, A: x, B: y})
		default:
			c.Unchanged = append(c.Unchanged, y)
		}
	}
	for _, x := range sa.arts {
		if !inB[x.Name] {
			c.Removed = append(c.Removed, x)
		}
	}
	pairs := map[string]*ExperimentPair{}
	pair := func(name string) *ExperimentPair {
		p, ok := pairs[name]
		if !ok {
			p = &ExperimentPair{Name: name}
			pairs[name] = p
		}
		return p
	}
	for i := range sa.exps {
		pair(sa.exps[i].Name).A = &sa.exps[i]
	}
	for i := range sb.exps {
		pair(sb.exps[i].Name).B = &sb.exps[i]
	}
	for _, name := range slices.Sorted(mapKeys(pairs)) {
		p := pairs[name]
		var ma, mb json.RawMessage
		if p.A != nil {
			ma = p.A.Metrics
		}
		if p.B != nil {
			mb = p.B.Metrics
		}
		p.Metrics = sideBySide(ma, mb, false)
		c.Experiments = append(c.Experiments, *p)
	}
	c.DescriptionChanged = sa.v.Description != sb.v.Description
	c.Metadata = sideBySide(sa.v.Metadata, sb.v.Metadata, true)
	return c, nil
}

// sideBySide pairs the top-level members of two JSON objects by key,
// sorted (nil or not an object: none); onlyChanged keeps the keys whose
// values differ.
func sideBySide(a, b json.RawMessage, onlyChanged bool) []api.ValueDiff {
	members := func(raw json.RawMessage) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if len(raw) > 0 {
			_ = json.Unmarshal(raw, &m)
		}
		return m
	}
	ma, mb := members(a), members(b)
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	out := []api.ValueDiff{}
	for _, k := range slices.Sorted(mapKeys(keys)) {
		x, y := ma[k], mb[k]
		if onlyChanged && x != nil && y != nil && sameJSON(string(x), string(y)) {
			continue
		}
		out = append(out, api.ValueDiff{Key: k, A: compactJSON(x), B: compactJSON(y)})
	}
	return out
}

func compactJSON(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
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

// Series limits.
const (
	DefaultSeriesLimit = 200
	MaxSeriesLimit     = 1000
)

// Series is one experiment's numeric metrics over a model's versions,
// oldest version first.
type Series struct {
	Experiment string
	// Keys is the union of the points' metric names, sorted.
	Keys   []string
	Points []SeriesPoint
}

// SeriesPoint is the experiment on one version: its state and its numeric
// metrics (other values are left out).
type SeriesPoint struct {
	Version   string
	CreatedAt time.Time
	State     string
	Metrics   map[string]float64
}

// MetricSeries returns experiment's metrics over the newest limit live
// versions of a model that have it (0: DefaultSeriesLimit, at most
// MaxSeriesLimit), in version creation order.
func (r *Registry) MetricSeries(ctx context.Context, ns, model, experiment string, limit int) (Series, error) {
	var v validation
	validName(&v, "experiment", experiment)
	if limit == 0 {
		limit = DefaultSeriesLimit
	}
	if limit < 1 || limit > MaxSeriesLimit {
		v.addf("limit", "must be between 1 and %d", MaxSeriesLimit)
	}
	if err := v.err(); err != nil {
		return Series{}, err
	}
	res, err := r.model(ctx, r.db, ns, model)
	if err != nil {
		return Series{}, err
	}
	rows, err := r.db.ListExperimentSeries(ctx, db.ListExperimentSeriesParams{ModelID: res.model.ID, Name: experiment, PageLimit: int64(limit)})
	if err != nil {
		return Series{}, err
	}
	s := Series{Experiment: experiment, Keys: []string{}, Points: make([]SeriesPoint, len(rows))}
	keys := map[string]bool{}
	for i, row := range rows {
		p := SeriesPoint{Version: row.Version, CreatedAt: row.CreatedAt.UTC(), State: row.State, Metrics: map[string]float64{}}
		if row.Metrics != nil {
			var m map[string]any
			if json.Unmarshal([]byte(*row.Metrics), &m) == nil {
				for k, x := range m {
					if f, ok := x.(float64); ok {
						p.Metrics[k] = f
						keys[k] = true
					}
				}
			}
		}
		s.Points[len(rows)-1-i] = p // rows are newest first
	}
	for k := range keys {
		s.Keys = append(s.Keys, k)
	}
	sort.Strings(s.Keys)
	return s, nil
}

// MaxExperimentNames is the most names ExperimentNames returns.
const MaxExperimentNames = 1000

// ExperimentNames returns the distinct names of the experiments of a
// model's live versions, sorted (at most MaxExperimentNames).
func (r *Registry) ExperimentNames(ctx context.Context, ns, model string) ([]string, error) {
	res, err := r.model(ctx, r.db, ns, model)
	if err != nil {
		return nil, err
	}
	names, err := r.db.ListModelExperimentNames(ctx, db.ListModelExperimentNamesParams{ModelID: res.model.ID, PageLimit: MaxExperimentNames})
	if names == nil {
		names = []string{}
	}
	return names, err
}
