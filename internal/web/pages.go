package web

import (
	"net/http"
	"strings"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// Each page reads its request, checks access (need), loads its data in a
// load… function that returns the template's data (so richer registry
// queries replace the body of load… without touching the handler or the
// template's names), and returns a View.

func (u *ui) notFound(r *http.Request) (View, error) {
	return View{}, Errorf(api.ProblemNotFound, "no page at %s", r.URL.Path)
}

// signIn is a placeholder: the sign-in form (API token, OIDC) comes with
// the session cookie.
func (u *ui) signIn(r *http.Request) (View, error) {
	next := r.URL.Query().Get("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/"
	}
	return View{Template: "signin", Title: "Sign in", Crumbs: []Crumb{{"Sign in", "/ui/signin"}}, Data: next}, nil
}

// versionData is the version page's.
type versionData struct {
	Version     registry.Version
	Artifacts   []registry.Artifact
	Pager       Pager
	Experiments []registry.Experiment
	// MoreExperiments: the version has more experiments than shown.
	MoreExperiments int64
	History         []registry.StateChange
	// CanPromote: the principal may change the version's state.
	CanPromote bool
}

// versionExperiments is how many experiments the version page lists.
const versionExperiments = 100

func (u *ui) versionPage(r *http.Request) (View, error) {
	n, err := pathNames(r, "namespace", "model", "version")
	if err != nil {
		return View{}, err
	}
	ref := registry.Ref{Namespace: n[0], Model: n[1], Version: n[2]}
	if err := need(r, ref.Namespace, auth.Read); err != nil {
		return View{}, err
	}
	page, err := PageRequest(r, "")
	if err != nil {
		return View{}, err
	}
	ctx := r.Context()
	v, err := u.reg.GetVersion(ctx, ref)
	if err != nil {
		return View{}, err
	}
	arts, err := u.reg.ListArtifacts(ctx, registry.Owner{Ref: ref}, page)
	if err != nil {
		return View{}, err
	}
	exps, err := u.reg.ListExperiments(ctx, ref, "", registry.PageRequest{Page: 1, Size: versionExperiments})
	if err != nil {
		return View{}, err
	}
	hist, err := u.reg.VersionHistory(ctx, ref)
	if err != nil {
		return View{}, err
	}
	d := versionData{Version: v, Artifacts: arts.Items, Pager: NewPager(r, "", arts), Experiments: exps.Items,
		MoreExperiments: exps.TotalItems - int64(len(exps.Items)), History: hist,
		CanPromote: Principal(ctx).Allows(ref.Namespace, auth.Write)}
	crumbs := append(modelCrumbs(ref.Namespace, ref.Model), Crumb{ref.Version, VersionURL(ref.Namespace, ref.Model, ref.Version)})
	return View{Template: "version", Title: ref.Version + " · " + ref.Model, Crumbs: crumbs, Data: d}, nil
}

func nsCrumbs(ns string) []Crumb { return []Crumb{{ns, NamespaceURL(ns)}} }

func modelCrumbs(ns, model string) []Crumb {
	return append(nsCrumbs(ns), Crumb{model, ModelURL(ns, model)})
}
