package web

import (
	"net/http"

	"github.com/flymodel/flymodel/api"
)

// Each page reads its request, checks access (need), loads its data in a
// load… function that returns the template's data (so richer registry
// queries replace the body of load… without touching the handler or the
// template's names), and returns a View.

func (u *ui) notFound(r *http.Request) (View, error) {
	return View{}, Errorf(api.ProblemNotFound, "no page at %s", r.URL.Path)
}

func nsCrumbs(ns string) []Crumb { return []Crumb{{ns, NamespaceURL(ns)}} }

func modelCrumbs(ns, model string) []Crumb {
	return append(nsCrumbs(ns), Crumb{model, ModelURL(ns, model)})
}
