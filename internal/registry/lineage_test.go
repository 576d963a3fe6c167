package registry_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// TestLineageRules: the registry's side of lineage: a diamond walked once
// per version at its nearest depth, soft-deleted versions left out (and not
// walked through), unreadable ones counted as hidden, retention purging a
// parent (its links go with it), and the UI's comparison being the API's
// diff.
func TestLineageRules(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		r, _ := withStore(t, s, &clock)
		for _, ns := range []string{"canada", "usa"} {
			ok[registry.Namespace](t)(r.CreateNamespace(ctx, registry.NewNamespace{Name: ns}))
			ok[registry.Model](t)(r.CreateModel(ctx, ns, "m"))
		}
		ref := func(ns, v string) registry.Ref { return registry.Ref{Namespace: ns, Model: "m", Version: v} }
		create := func(ns, v string, parents ...string) {
			t.Helper()
			var ps []api.ParentRef
			for _, p := range parents {
				ps = append(ps, api.ParentRef{Version: p, Relation: api.RelationDerived})
			}
			ok[registry.Version](t)(r.CreateVersion(ctx, ns, "m", registry.NewVersion{Version: v, Parents: ps}))
		}
		// a <- b <- d, a <- c <- d (a diamond); d <- e; usa's x from a.
		create("canada", "a")
		create("canada", "b", "a")
		create("canada", "c", "a")
		create("canada", "d", "b", "c")
		create("canada", "e", "d")
		create("usa", "x", "/canada/m/a")

		graph := func(l registry.Lineage) string {
			var out []string
			for _, n := range l.Nodes {
				out = append(out, fmt.Sprintf("%s%+d", strings.TrimPrefix(n.Path, "/"), n.Depth))
			}
			return fmt.Sprintf("%s edges=%d hidden=%d", strings.Join(out, " "), len(l.Edges), l.Hidden)
		}
		l := ok[registry.Lineage](t)(r.VersionLineage(ctx, ref("canada", "a"), 10, nil))
		if got := graph(l); got != "canada/m/a+0 canada/m/b+1 canada/m/c+1 usa/m/x+1 canada/m/d+2 canada/m/e+3 edges=6 hidden=0" {
			t.Fatalf("lineage of a: %s", got)
		}
		canadaOnly := func(ns string) bool { return ns == "canada" }
		l = ok[registry.Lineage](t)(r.VersionLineage(ctx, ref("canada", "e"), 2, canadaOnly))
		if got := graph(l); got != "canada/m/b-2 canada/m/c-2 canada/m/d-1 canada/m/e+0 edges=3 hidden=0" {
			t.Fatalf("lineage of e, depth 2: %s", got)
		}
		l = ok[registry.Lineage](t)(r.VersionLineage(ctx, ref("canada", "a"), 1, canadaOnly))
		if got := graph(l); got != "canada/m/a+0 canada/m/b+1 canada/m/c+1 edges=2 hidden=1" {
			t.Fatalf("lineage of a as canada: %s", got)
		}
		// A soft-deleted child (with cascade: it is a parent of e) is left
		// out and not walked through: e is only reached through d.
		if err := r.DeleteVersion(ctx, ref("canada", "d"), false); !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "/canada/m/e") {
			t.Fatalf("delete d: %v", err)
		}
		ok[registry.Version](t)(r.CreateVersion(ctx, "canada", "m", registry.NewVersion{Version: "f", Parents: []api.ParentRef{{Version: "d", Relation: api.RelationMerged}}}))
		if err := r.DeleteVersion(ctx, ref("canada", "f"), false); err != nil {
			t.Fatal(err)
		}
		l = ok[registry.Lineage](t)(r.VersionLineage(ctx, ref("canada", "d"), 3, nil))
		if got := graph(l); got != "canada/m/a-2 canada/m/b-1 canada/m/c-1 canada/m/d+0 canada/m/e+1 edges=5 hidden=0" {
			t.Fatalf("lineage of d without f: %s", got)
		}
		// A soft-deleted parent is not found as a new parent.
		_, err := r.CreateVersion(ctx, "canada", "m", registry.NewVersion{Version: "g", Parents: []api.ParentRef{{Version: "f", Relation: api.RelationMerged}}})
		if !errors.Is(err, api.ErrNotFound) {
			t.Fatalf("a soft-deleted parent: %v", err)
		}

		// Retention purges versions that a link still names: the links go.
		ok[registry.Version](t)(r.SetVersionState(ctx, ref("canada", "a"), "qa"))
		clock = clock.Add(48 * time.Hour)
		rep := ok[registry.RetentionReport](t)(r.Retention(ctx, map[string]registry.RetentionRule{"qa": {Models: days(1)}}, false))
		if len(rep.Versions) != 1 {
			t.Fatalf("retention: %+v", rep)
		}
		if ps := ok[[]registry.Parent](t)(r.VersionParents(ctx, ref("usa", "x"), nil)); len(ps) != 0 {
			t.Fatalf("x's parents after a was purged: %+v", ps)
		}

		// The UI's comparison and the API's diff are one function.
		ok[registry.Version](t)(r.UpdateVersion(ctx, ref("canada", "b"), registry.VersionChange{Metadata: json.RawMessage(`{"task":"qa","k":1}`)}))
		ok[registry.Version](t)(r.UpdateVersion(ctx, ref("canada", "c"), registry.VersionChange{Metadata: json.RawMessage(`{"task":"qa","k":2}`)}))
		cmp := ok[registry.Comparison](t)(r.CompareVersions(ctx, "canada", "m", "b", "c"))
		d := ok[registry.Comparison](t)(r.DiffVersions(ctx, ref("canada", "b"), ref("canada", "c")))
		if !reflect.DeepEqual(cmp, d) || len(d.Metadata) != 1 || d.Metadata[0].Key != "k" || string(d.Metadata[0].A) != "1" {
			t.Fatalf("compare %+v, diff %+v", cmp, d)
		}
	})
}
