package registry_test

import (
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// TestLegacyReservedNames: names holding '?', '#' or '%' are refused
// for new resources, but those stored before the rule (written here
// straight into the database, as an older server did) stay readable,
// renamable and deletable by name.
func TestLegacyReservedNames(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := registry.New(registry.Options{DB: s})
		for _, name := range []string{"a?x=..", "a#b", "%2e%2e%2fetc%2fpasswd", "*"} {
			if _, err := r.CreateNamespace(ctx, registry.NewNamespace{Name: name}); err == nil {
				t.Errorf("namespace %q created", name)
			} else {
				errAs[*registry.ValidationError](t, err)
			}
		}
		setup(t, r)
		for _, bad := range []func() error{
			func() error { _, err := r.CreateModel(ctx, "canada", "m#1"); return err },
			func() error { _, err := r.RenameModel(ctx, "canada", "llm.sm", "llm%sm"); return err },
			func() error {
				_, err := r.CreateVersion(ctx, "canada", "llm.sm", registry.NewVersion{Version: "v1?x"})
				return err
			},
			func() error {
				_, err := r.CreateExperiment(ctx, registry.Ref{Namespace: "canada", Model: "llm.sm", Version: "v1"}, registry.NewExperiment{Name: "e#1"})
				return err
			},
			func() error { _, err := r.CreateTag(ctx, "canada", registry.NewTag{Tag: "100%"}); return err },
			func() error {
				_, err := r.UpdateNamespace(ctx, "canada", registry.NamespaceUpdate{Name: ptr("*")})
				return err
			},
			func() error { _, err := r.CreateModel(ctx, "canada", "*"); return err },
		} {
			errAs[*registry.ValidationError](t, bad())
		}

		now := time.Now().UTC().Truncate(time.Microsecond)
		ns := ok[db.Namespace](t)(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "old?ns", Now: now}))
		m := ok[db.Model](t)(s.CreateModel(ctx, db.CreateModelParams{NamespaceID: ns.ID, Name: "old#model", Now: now}))
		ok[db.ModelVersion](t)(s.CreateVersion(ctx, db.CreateVersionParams{ModelID: m.ID, Version: "v%1", State: "test", Now: now}))

		if got := ok[registry.Namespace](t)(r.GetNamespace(ctx, "old?ns")); got.Name != "old?ns" {
			t.Errorf("namespace %q", got.Name)
		}
		ok[registry.Version](t)(r.GetVersion(ctx, registry.Ref{Namespace: "old?ns", Model: "old#model", Version: "v%1"}))
		list := ok[registry.Page[registry.Model]](t)(r.ListModels(ctx, "old?ns", registry.ModelFilter{}, registry.PageRequest{Page: 1, Size: 10}))
		if len(list.Items) != 1 || list.Items[0].Name != "old#model" {
			t.Errorf("models: %+v", list.Items)
		}
		// A new version under the old names is fine; its own name follows the rule.
		ok[registry.Version](t)(r.CreateVersion(ctx, "old?ns", "old#model", registry.NewVersion{Version: "v2"}))
		// Renamed to a name of today's rules, then deleted by it.
		ok[registry.Model](t)(r.RenameModel(ctx, "old?ns", "old#model", "renamed"))
		ok[registry.Version](t)(r.GetVersion(ctx, registry.Ref{Namespace: "old?ns", Model: "renamed", Version: "v%1"}))
		if err := r.DeleteNamespace(ctx, "old?ns", true); err != nil {
			t.Fatal(err)
		}
		if _, err := r.GetNamespace(ctx, "old?ns"); err == nil {
			t.Error("namespace still there after delete")
		}

		// A namespace named "*" from before that rule: still read by its
		// name, and renamed to a name of today's rules.
		ok[db.Namespace](t)(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "*", Now: now}))
		ok[registry.Namespace](t)(r.GetNamespace(ctx, "*"))
		ok[registry.Model](t)(r.CreateModel(ctx, "*", "m"))
		if got := ok[registry.Namespace](t)(r.UpdateNamespace(ctx, "*", registry.NamespaceUpdate{Name: ptr("star")})); got.Name != "star" {
			t.Errorf("renamed to %q", got.Name)
		}
	})
}
