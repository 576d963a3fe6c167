package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// The version page (/ns/{namespace}/models/{model}/versions/{version},
// where {version} may be a selector: @prod, @champion):
// its artifacts and experiments (each list paged on its own: ?page= and
// ?epage=), its lifecycle history, and for a principal with write in the
// namespace the promotion control: what the gate of each other lifecycle
// says now (GatePreview), and a form per lifecycle that POSTs to
// VersionStateURL (promote), which moves the version as the API's
// PUT …/state does (the same registry call, audited the same way).

// versionData is the version page's.
type versionData struct {
	Version   registry.Version
	Artifacts []registry.Artifact
	Pager     Pager
	// ArchiveURL is the API path of the whole version as a tar archive.
	ArchiveURL string
	// ExperimentsURL is the API path of the version's experiments.
	ExperimentsURL string
	Experiments    []registry.Experiment
	EPager         Pager
	History        []registry.StateChange
	// CanPromote: the principal may change the version's state; Gates
	// are then what each other lifecycle's gate says of the version.
	CanPromote bool
	Gates      []registry.GateStatus
	// StateURL is where the promotion forms post.
	StateURL string
	// Moved is the lifecycle the version was just moved to (?moved=),
	// shown as a confirmation.
	Moved string
	// Refused is the server's refusal of a move to RefusedTo, shown in
	// context (nil after a GET).
	Refused   *Error
	RefusedTo string
	// Parents are the versions it was made from, in namespaces the
	// principal may read; Metadata its model card's keys and values (JSON
	// text), by key.
	Parents  []registry.Parent
	Metadata []metadataRow
}

// metadataRow is one key of a version's metadata, its value as JSON text.
type metadataRow struct{ Key, Value string }

// metadataRows lists a metadata object by key.
func metadataRows(raw json.RawMessage) []metadataRow {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []metadataRow
	for _, k := range slices.Sorted(mapKeys(m)) {
		out = append(out, metadataRow{Key: k, Value: string(m[k])})
	}
	return out
}

// VersionStateURL is where the version page's promotion forms post.
func VersionStateURL(ns, model, version string) string {
	return VersionURL(ns, model, version) + "/state"
}

// versionArchiveURL is the API path of a version's tar archive.
func versionArchiveURL(ref registry.Ref) string {
	return "/api/v1" + registry.VersionPath(ref.Namespace, ref.Model, ref.Version) + "/archive"
}

func versionRef(r *http.Request) (registry.Ref, error) {
	n, err := pathNames(r, "namespace", "model", "version")
	if err != nil {
		return registry.Ref{}, err
	}
	return registry.Ref{Namespace: n[0], Model: n[1], Version: n[2]}, nil
}

func (u *ui) versionPage(r *http.Request) (View, error) {
	ref, err := versionRef(r)
	if err != nil {
		return View{}, err
	}
	if err := need(r, ref.Namespace, auth.Read); err != nil {
		return View{}, err
	}
	// A selector (@prod, @champion) shows the version it names now; one
	// that names nothing is the API's 404, saying what is missing.
	if ref, err = u.reg.ResolveRef(r.Context(), ref); err != nil {
		return View{}, err
	}
	// ?moved= is a one-time confirmation: the page's links (pagers) drop it.
	q := r.URL.Query()
	moved := api.CanonicalLifecycle(q.Get("moved"))
	if q.Has("moved") {
		q.Del("moved")
		u2 := *r.URL
		u2.RawQuery = q.Encode()
		r.URL = &u2
	}
	d, err := u.loadVersion(r, ref)
	if err != nil {
		return View{}, err
	}
	if isLifecycle(moved) && moved == string(d.Version.State) {
		d.Moved = moved
	}
	return versionView(ref, d, 0), nil
}

func versionView(ref registry.Ref, d versionData, status int) View {
	crumbs := append(modelCrumbs(ref.Namespace, ref.Model), Crumb{ref.Version, VersionURL(ref.Namespace, ref.Model, ref.Version)})
	return View{Template: "version", Title: ref.Version + " · " + ref.Model, Crumbs: crumbs, Data: d, Status: status}
}

func isLifecycle(s string) bool {
	for _, l := range registry.Lifecycles {
		if s == l {
			return true
		}
	}
	return false
}

// loadVersion reads what the version page shows: the version, a page of
// its artifacts (?page=, ?size=), a page of its experiments (?epage=,
// ?esize=), its history, and the gates when the principal may promote.
func (u *ui) loadVersion(r *http.Request, ref registry.Ref) (versionData, error) {
	page, err := PageRequest(r, "")
	if err != nil {
		return versionData{}, err
	}
	epage, err := PageRequest(r, "e")
	if err != nil {
		return versionData{}, err
	}
	ctx := r.Context()
	v, err := u.reg.GetVersion(ctx, ref)
	if err != nil {
		return versionData{}, err
	}
	arts, err := u.reg.ListArtifacts(ctx, registry.Owner{Ref: ref}, page)
	if err != nil {
		return versionData{}, err
	}
	exps, err := u.reg.ListExperiments(ctx, ref, "", epage)
	if err != nil {
		return versionData{}, err
	}
	hist, err := u.reg.VersionHistory(ctx, ref)
	if err != nil {
		return versionData{}, err
	}
	p := Principal(ctx)
	parents, err := u.reg.VersionParents(ctx, ref, func(ns string) bool { return p.Allows(ns, auth.Read) })
	if err != nil {
		return versionData{}, err
	}
	d := versionData{Version: v, Artifacts: arts.Items, Pager: NewPager(r, "", arts), ArchiveURL: versionArchiveURL(ref),
		ExperimentsURL: "/api/v1" + registry.VersionPath(ref.Namespace, ref.Model, ref.Version) + "/experiments",
		Experiments:    exps.Items, EPager: NewPager(r, "e", exps), History: hist,
		CanPromote: Principal(ctx).Allows(ref.Namespace, auth.Write),
		StateURL:   VersionStateURL(ref.Namespace, ref.Model, ref.Version),
		Parents:    parents, Metadata: metadataRows(v.Metadata)}
	if d.CanPromote {
		for _, to := range registry.Lifecycles {
			if to == string(v.State) {
				continue
			}
			g, err := u.reg.GatePreview(ctx, ref, to)
			if err != nil {
				return versionData{}, err
			}
			d.Gates = append(d.Gates, g)
		}
	}
	return d, nil
}

// promote moves a version to the lifecycle of the form's field "to": the
// registry call of the API's PUT …/state, so the gate, placement and audit
// are the API's. Success redirects to the version page with ?moved=; a
// refusal renders the page again with the problem, at its status.
func (u *ui) promote(w http.ResponseWriter, r *http.Request) (string, View, error) {
	ref, err := versionRef(r)
	if err != nil {
		return "", View{}, err
	}
	page := VersionURL(ref.Namespace, ref.Model, ref.Version)
	if p := Principal(r.Context()); !p.Allows(ref.Namespace, auth.Write) {
		if p.Anonymous {
			// Back to the page after signing in, not to this POST-only path.
			return "", View{}, &signInError{next: page}
		}
		return "", View{}, Errorf(api.ProblemForbidden, "changing a version's lifecycle needs the write role in namespace %s", ref.Namespace)
	}
	to := r.PostFormValue("to")
	v, err := u.reg.SetVersionState(r.Context(), ref, to)
	if err == nil {
		return page + "?" + url.Values{"moved": {string(v.State)}}.Encode(), View{}, nil
	}
	p, ok := httpapi.ProblemOf(err)
	if !ok || p.Status == http.StatusNotFound {
		return "", View{}, err
	}
	// The page is shown again at its own URL (its links and pagers are
	// the version page's, not this POST-only path's).
	if pu, perr := url.Parse(page); perr == nil {
		r.URL = pu
	}
	d, lerr := u.loadVersion(r, ref)
	if lerr != nil {
		return "", View{}, err
	}
	d.Refused = &Error{Status: p.Status, Title: p.Title, Detail: p.Detail}
	d.RefusedTo = to
	return "", versionView(ref, d, p.Status), nil
}
