package registry_test

import (
	"math"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// TestPageBound: a page number past api.MaxPage is a validation error
// naming page and its maximum (it used to overflow the offset: 500 on
// PostgreSQL, page 1's items on SQLite); the last page allowed, at the
// largest size, is an empty page.
func TestPageBound(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := registry.New(registry.Options{DB: s})
		setup(t, r)
		page := ok[registry.Page[registry.Namespace]](t)(r.ListNamespaces(ctx, registry.PageRequest{Page: api.MaxPage, Size: api.MaxPageSize}))
		if len(page.Items) != 0 || page.TotalItems != 1 {
			t.Errorf("page %d: %d items of %d", api.MaxPage, len(page.Items), page.TotalItems)
		}
		versions := ok[registry.Page[registry.Version]](t)(r.ListVersions(ctx, "canada", "llm.sm", registry.VersionFilter{}, registry.PageRequest{Page: api.MaxPage, Size: 2}))
		if len(versions.Items) != 0 {
			t.Errorf("versions page %d: %d items", api.MaxPage, len(versions.Items))
		}
		for _, p := range []int64{api.MaxPage + 1, math.MaxInt64, math.MaxInt64/2 + 1} {
			_, err := r.ListNamespaces(ctx, registry.PageRequest{Page: p, Size: 2})
			v := errAs[*registry.ValidationError](t, err)
			if len(v.Fields) != 1 || v.Fields[0].Field != "page" || !strings.Contains(v.Fields[0].Message, "1000000000") {
				t.Errorf("page %d: %+v", p, v.Fields)
			}
			_, err = r.ListVersions(ctx, "canada", "llm.sm", registry.VersionFilter{}, registry.PageRequest{Page: p, Size: 2})
			errAs[*registry.ValidationError](t, err)
		}
	})
}
