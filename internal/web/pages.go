package web

import (
	"net/http"

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

// homeData is the home page's: the namespaces the principal reads.
type homeData struct {
	Namespaces []registry.Namespace
	Pager      Pager
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
	var list registry.Page[registry.Namespace]
	if scope := p.Namespaces(); scope != nil {
		list, err = u.reg.ListNamespacesNamed(r.Context(), scope, page)
	} else {
		list, err = u.reg.ListNamespaces(r.Context(), page)
	}
	if err != nil {
		return View{}, err
	}
	return View{Template: "home", Title: "Namespaces", Data: homeData{Namespaces: list.Items, Pager: NewPager(r, "", list)}}, nil
}

// namespaceData is the namespace page's.
type namespaceData struct {
	Namespace registry.Namespace
	Models    []modelRow
	Pager     Pager
	// Q and Tag are the filters (?q=, ?tag=).
	Q, Tag string
}

// modelRow is a model in a namespace's list with its newest version
// (Newest is nil for a model without one) and its count of versions.
type modelRow struct {
	registry.Model
	Newest   *registry.Version
	Versions int64
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
	q := r.URL.Query()
	d, err := u.loadNamespace(r, ns, registry.ModelFilter{NameContains: q.Get("q"), Tag: q.Get("tag")}, page)
	if err != nil {
		return View{}, err
	}
	return View{Template: "namespace", Title: ns, Crumbs: nsCrumbs(ns), Data: d}, nil
}

func (u *ui) loadNamespace(r *http.Request, ns string, f registry.ModelFilter, page registry.PageRequest) (namespaceData, error) {
	ctx := r.Context()
	n, err := u.reg.GetNamespace(ctx, ns)
	if err != nil {
		return namespaceData{}, err
	}
	list, err := u.reg.ListModels(ctx, ns, f, page)
	if err != nil {
		return namespaceData{}, err
	}
	d := namespaceData{Namespace: n, Pager: NewPager(r, "", list), Q: f.NameContains, Tag: f.Tag}
	for _, m := range list.Items {
		row := modelRow{Model: m}
		vs, err := u.reg.ListVersions(ctx, ns, m.Name, registry.VersionFilter{}, registry.PageRequest{Page: 1, Size: 1})
		if err != nil {
			return namespaceData{}, err
		}
		if len(vs.Items) > 0 {
			row.Newest = &vs.Items[0]
		}
		row.Versions = vs.TotalItems
		d.Models = append(d.Models, row)
	}
	return d, nil
}

// modelData is the model page's.
type modelData struct {
	Model    registry.Model
	Versions []registry.Version
	Pager    Pager
	// State and Tag are the filters (?state=, ?tag=); States the choices.
	State, Tag string
	States     []string
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
	q := r.URL.Query()
	f := registry.VersionFilter{State: q.Get("state"), Tag: q.Get("tag")}
	ctx := r.Context()
	m, err := u.reg.GetModel(ctx, ns, name)
	if err != nil {
		return View{}, err
	}
	list, err := u.reg.ListVersions(ctx, ns, name, f, page)
	if err != nil {
		return View{}, err
	}
	d := modelData{Model: m, Versions: list.Items, Pager: NewPager(r, "", list), State: f.State, Tag: f.Tag, States: registry.Lifecycles}
	return View{Template: "model", Title: name + " · " + ns, Crumbs: modelCrumbs(ns, name), Data: d}, nil
}

func nsCrumbs(ns string) []Crumb { return []Crumb{{ns, NamespaceURL(ns)}} }

func modelCrumbs(ns, model string) []Crumb {
	return append(nsCrumbs(ns), Crumb{model, ModelURL(ns, model)})
}
