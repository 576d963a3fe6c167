package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

func TestAliasesRegistry(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := registry.New(registry.Options{DB: s, ProtectedAliases: []registry.AliasRule{{Name: "champion", Role: "admin", Lifecycle: "prod"}}})
		ref := setup(t, r)
		alice := as(ctx, "alice")
		ok[registry.Version](t)(r.CreateVersion(alice, "canada", "llm.sm", registry.NewVersion{Version: "v2"}))
		ok[registry.Version](t)(r.CreateVersion(alice, "canada", "llm.sm", registry.NewVersion{Version: "v3", State: "prod"}))

		// Selectors: lifecycles and aliases.
		if v := ok[registry.Version](t)(r.ResolveVersion(ctx, "canada", "llm.sm", "@test")); v.Version != "v2" {
			t.Errorf("@test = %s, want the newest in test, v2", v.Version)
		}
		if v := ok[registry.Version](t)(r.ResolveVersion(ctx, "canada", "llm.sm", "@prod")); v.Version != "v3" {
			t.Errorf("@prod = %s", v.Version)
		}
		if v := ok[registry.Version](t)(r.ResolveVersion(ctx, "canada", "llm.sm", "v1")); v.Version != "v1" {
			t.Errorf("v1 = %s", v.Version)
		}
		for sel, want := range map[string]string{
			"@qa":       "no version of canada/llm.sm is in qa",
			"@staging":  "no version of canada/llm.sm is in stage",
			"@canary":   "no alias canary on canada/llm.sm",
			"@":         "no alias  on canada/llm.sm",
			"@a/b":      "no alias a/b on canada/llm.sm",
			"@champion": "no alias champion on canada/llm.sm",
		} {
			_, err := r.ResolveVersion(ctx, "canada", "llm.sm", sel)
			nf := errAs[*registry.NotFoundError](t, err)
			if nf.Error() != want || !errors.Is(err, api.ErrNotFound) {
				t.Errorf("%s: %v, want %q", sel, err, want)
			}
		}
		_, err := r.ResolveVersion(ctx, "canada", "nope", "@prod")
		if nf := errAs[*registry.NotFoundError](t, err); nf.Kind != "model" {
			t.Errorf("unknown model: %v", err)
		}

		// Set, by name and by selector; move; no-op.
		a := ok[registry.Alias](t)(r.SetAlias(alice, "canada", "llm.sm", "canary", "v1"))
		if a.Version != "v1" || a.UpdatedBy != "alice" || a.Alias != "canary" {
			t.Fatalf("alias = %+v", a)
		}
		if v := ok[registry.Version](t)(r.ResolveVersion(ctx, "canada", "llm.sm", "@canary")); v.Version != "v1" || strings.Join(v.Aliases, ",") != "canary" {
			t.Errorf("@canary = %+v", v)
		}
		bob := as(ctx, "bob")
		ok[registry.Alias](t)(r.SetAlias(bob, "canada", "llm.sm", "canary", "@test"))
		ok[registry.Alias](t)(r.SetAlias(bob, "canada", "llm.sm", "canary", "v2"))
		h := ok[registry.Page[registry.AliasChange]](t)(r.AliasHistory(ctx, "canada", "llm.sm", "canary", registry.PageRequest{Page: 1, Size: 10}))
		if h.TotalItems != 2 || *h.Items[0].From != "v1" || *h.Items[0].To != "v2" || h.Items[0].Actor != "bob" || h.Items[1].From != nil {
			t.Errorf("history = %+v", h)
		}
		if m := ok[registry.Model](t)(r.GetModel(ctx, "canada", "llm.sm")); strings.Join(m.Aliases, ",") != "canary" {
			t.Errorf("model aliases = %v", m.Aliases)
		}
		if p := ok[registry.Page[registry.Model]](t)(r.ListModels(ctx, "canada", registry.ModelFilter{}, registry.PageRequest{Page: 1, Size: 10})); strings.Join(p.Items[0].Aliases, ",") != "canary" {
			t.Errorf("model list aliases = %v", p.Items[0].Aliases)
		}
		if v := ok[registry.Version](t)(r.GetVersion(ctx, ref)); v.Aliases == nil || len(v.Aliases) != 0 {
			t.Errorf("v1 aliases = %#v, want empty", v.Aliases)
		}

		// A name is data, never SQL.
		hostile := `x' OR '1'='1"; DROP TABLE model_aliases; --`
		ok[registry.Alias](t)(r.SetAlias(alice, "canada", "llm.sm", hostile, "v1"))
		if v := ok[registry.Version](t)(r.ResolveVersion(ctx, "canada", "llm.sm", "@"+hostile)); v.Version != "v1" {
			t.Errorf("@hostile = %s", v.Version)
		}
		if _, err := r.ResolveVersion(ctx, "canada", "llm.sm", "@x' OR '1'='1"); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("a prefix of the hostile name: %v", err)
		}
		check(t, r.DeleteAlias(alice, "canada", "llm.sm", hostile))
		// Names.
		for _, bad := range []string{"prod", "staging", "@x", "a/b", "", " x", "a?b"} {
			_, err := r.SetAlias(alice, "canada", "llm.sm", bad, "v1")
			if ve := errAs[*registry.ValidationError](t, err); ve.Fields[0].Field != "alias" {
				t.Errorf("alias %q: %v", bad, err)
			}
		}
		if _, err := r.SetAlias(alice, "canada", "llm.sm", "x", ""); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("empty version: %v", err)
		}
		if _, err := r.CreateVersion(alice, "canada", "llm.sm", registry.NewVersion{Version: "@v4"}); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("version @v4: %v", err)
		}
		_, err = r.SetAlias(alice, "canada", "llm.sm", "x", "v9")
		errAs[*registry.NotFoundError](t, err)
		err = r.DeleteAlias(alice, "canada", "llm.sm", "x")
		if nf := errAs[*registry.NotFoundError](t, err); nf.Kind != "alias" {
			t.Errorf("delete unknown: %v", err)
		}

		// Protection: the role (from the caller's role check), then the lifecycle.
		writer := registry.WithRoleCheck(alice, func(ns, role string) bool { return role != "admin" })
		_, err = r.SetAlias(writer, "canada", "llm.sm", "champion", "v3")
		fe := errAs[*registry.AliasForbiddenError](t, err)
		if !errors.Is(err, api.ErrForbidden) || fe.Rule.Name != "champion" {
			t.Errorf("writer: %v", err)
		}
		_, err = r.SetAlias(alice, "canada", "llm.sm", "champion", "v1")
		pe := errAs[*registry.AliasProtectedError](t, err)
		if !errors.Is(err, api.ErrConflict) || pe.State != "test" || !strings.Contains(err.Error(), `aliases.protected "champion" (role = "admin", lifecycle = "prod")`) {
			t.Errorf("to a test version: %v", err)
		}
		ok[registry.Alias](t)(r.SetAlias(alice, "canada", "llm.sm", "champion", "@prod"))
		if err := r.DeleteAlias(writer, "canada", "llm.sm", "champion"); !errors.Is(err, api.ErrForbidden) {
			t.Errorf("writer delete: %v", err)
		}

		// Deleting a version takes its aliases, recorded.
		check(t, r.DeleteVersion(alice, registry.Ref{Namespace: "canada", Model: "llm.sm", Version: "v3"}, false))
		if list := ok[[]registry.Alias](t)(r.ListAliases(ctx, "canada", "llm.sm")); len(list) != 1 || list[0].Alias != "canary" {
			t.Errorf("aliases = %+v", list)
		}
		h = ok[registry.Page[registry.AliasChange]](t)(r.AliasHistory(ctx, "canada", "llm.sm", "champion", registry.PageRequest{Page: 1, Size: 10}))
		if h.Items[0].To != nil || *h.Items[0].From != "v3" || h.Items[0].Actor != "alice" {
			t.Errorf("champion history = %+v", h.Items)
		}
		recs, _, err := audit.List(ctx, s, audit.Filter{Action: "alias.delete", Outcome: audit.OK})
		check(t, err)
		if len(recs) != 2 || recs[1].Target != "/namespaces/canada/models/llm.sm/aliases/champion" || !strings.Contains(string(recs[1].Detail), "version deleted") {
			t.Errorf("alias.delete records = %+v", recs)
		}
		ok[registry.Alias](t)(r.SetAlias(alice, "canada", "llm.sm", "canary", "v1"))
		check(t, r.DeleteAlias(alice, "canada", "llm.sm", "canary"))
		if _, err := r.GetAlias(ctx, "canada", "llm.sm", "canary"); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("deleted alias: %v", err)
		}
		if _, err := r.AliasHistory(ctx, "canada", "llm.sm", "never", registry.PageRequest{Page: 1, Size: 10}); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("history of an alias that never was: %v", err)
		}
	})
}

// Retention removing a version removes its aliases too.
func TestAliasRetention(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		r := registry.New(registry.Options{DB: s, Now: func() time.Time { return clock }})
		setup(t, r)
		ok[registry.Alias](t)(r.SetAlias(ctx, "canada", "llm.sm", "canary", "v1"))
		clock = clock.Add(40 * 24 * time.Hour)
		ok[registry.RetentionReport](t)(r.Retention(context.Background(), map[string]registry.RetentionRule{"test": {Models: days(30)}}, false))
		if list := ok[[]registry.Alias](t)(r.ListAliases(ctx, "canada", "llm.sm")); len(list) != 0 {
			t.Errorf("aliases after retention = %+v", list)
		}
		h := ok[registry.Page[registry.AliasChange]](t)(r.AliasHistory(ctx, "canada", "llm.sm", "canary", registry.PageRequest{Page: 1, Size: 10}))
		if h.TotalItems != 2 || h.Items[0].To != nil || h.Items[0].Actor != api.ActorSystem {
			t.Errorf("history = %+v", h.Items)
		}
	})
}
