package main

import (
	"fmt"
	"net/url"
)

// A page of the UI and the URLs its requests cycle through. pages is the one
// list of what the benchmark measures: a page that lands adds a row here.
// A page whose first URL answers 404 (not built yet) is reported as
// skipped, not failed.
type page struct {
	name string
	// urls are the page's variants on the seeded registry s: first, middle
	// and last model, page 1 and a deep page, filters, sorts.
	urls func(s seeded) []string
}

var pages = []page{
	{"home", func(s seeded) []string { return []string{"/", "/?page=1&size=20"} }},
	{"namespace", func(s seeded) []string {
		return []string{
			nsURL(s),
			nsURL(s) + "?page=2",
			nsURL(s) + "?q=m00",
			nsURL(s) + "?tag=" + modelTag,
			nsURL(s) + "?sort=-updated",
			nsURL(s) + "?sort=-created&page=2&size=20",
		}
	}},
	{"model", func(s seeded) []string {
		var out []string
		for _, m := range s.spread() {
			out = append(out,
				modelURL(s, m),
				modelURL(s, m)+"?page=10",
				modelURL(s, m)+"?state=prod",
				modelURL(s, m)+"?tag="+versionTag,
				modelURL(s, m)+"?sort=version&page=5",
				modelURL(s, m)+"?sort=created&state=qa",
			)
		}
		return out
	}},
	{"version", func(s seeded) []string {
		var out []string
		for _, m := range s.spread() {
			for _, v := range []int{0, s.versionsPerModel / 2, s.versionsPerModel - 2} {
				out = append(out, modelURL(s, m)+"/versions/"+versionName(v))
			}
			out = append(out, modelURL(s, m)+"/versions/"+versionName(s.versionsPerModel/2)+"?page=2&size=1")
		}
		return out
	}},
	{"compare", func(s seeded) []string {
		var out []string
		for _, m := range s.spread() {
			mid := s.versionsPerModel / 2
			out = append(out,
				modelURL(s, m)+"/compare?a="+versionName(mid)+"&b="+versionName(mid+1),
				modelURL(s, m)+"/compare?a="+versionName(0)+"&b="+versionName(s.versionsPerModel-2),
			)
		}
		return out
	}},
	{"metrics", func(s seeded) []string {
		var out []string
		for _, m := range s.spread() {
			out = append(out,
				modelURL(s, m)+"/metrics?experiment=eval0&metric=accuracy",
				modelURL(s, m)+"/metrics?experiment=eval0&metric=loss",
			)
		}
		return out
	}},
	{"audit", func(s seeded) []string {
		return []string{
			"/ui/audit",
			"/ui/audit?namespace=" + url.QueryEscape(s.namespace),
			"/ui/audit?actor=carol",
			"/ui/audit?outcome=denied",
			"/ui/audit?action=version.create&actor=bob",
			"/ui/audit?before=5000",
		}
	}},
	{"tokens", func(s seeded) []string { return []string{"/ui/tokens"} }},
	{"API reference", func(s seeded) []string { return []string{"/ui/api"} }},
}

func nsURL(s seeded) string { return "/ns/" + url.PathEscape(s.namespace) }

func modelURL(s seeded, m string) string { return nsURL(s) + "/models/" + url.PathEscape(m) }

func versionName(i int) string { return fmt.Sprintf("v%06d", i) }

// spread is the first, middle and last model.
func (s seeded) spread() []string {
	n := len(s.models)
	return []string{s.models[0], s.models[n/2], s.models[n-1]}
}
