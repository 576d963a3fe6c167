package registry_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// scopes lists each token as name=namespaces.
func scopes(t *testing.T, r *registry.Registry) string {
	t.Helper()
	var out []string
	for _, tk := range ok[[]registry.Token](t)(r.ListTokens(ctx)) {
		out = append(out, fmt.Sprintf("%s=%s", tk.Name, strings.Join(tk.Namespaces, ",")))
	}
	return strings.Join(out, " ")
}

// TestTokenScopesByID: a token is limited to namespaces by id. Renaming
// namespace a to ghost does not hand a to the tokens of a deleted ghost,
// and keeps a's tokens on it (shown under its new name); a namespace made
// again under a deleted one's name is out of the deleted one's tokens'
// reach. No namespaces is refused, not taken for every namespace; ["*"] is
// every namespace.
func TestTokenScopesByID(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := registry.New(registry.Options{DB: s})
		authn := auth.New(auth.Options{DB: s})
		for _, ns := range []string{"a", "ghost"} {
			ok[registry.Namespace](t)(r.CreateNamespace(ctx, registry.NewNamespace{Name: ns}))
		}
		token := func(name string, namespaces ...string) string {
			_, secret, err := r.CreateToken(ctx, registry.NewToken{Name: name, Role: "admin", Namespaces: namespaces})
			if err != nil {
				t.Fatalf("token %s: %v", name, err)
			}
			return secret
		}
		ofA, ofGhost, global := token("of-a", "a"), token("of-ghost", "ghost"), token("global", "*")
		may := func(secret, ns string) bool {
			t.Helper()
			p := ok[auth.Principal](t)(authn.Authenticate(ctx, "Bearer "+secret))
			return p.Allows(ns, auth.Admin)
		}

		check(t, r.DeleteNamespace(ctx, "ghost", true))
		ok[registry.Namespace](t)(r.UpdateNamespace(ctx, "a", registry.NamespaceUpdate{Name: ptr("ghost")}))
		if may(ofGhost, "ghost") {
			t.Error("renaming a to ghost handed it to the deleted ghost's token")
		}
		if !may(ofA, "ghost") || may(ofA, "a") {
			t.Error("a's token does not follow a renamed ghost")
		}
		if got, want := scopes(t, r), "of-a=ghost of-ghost= global=*"; got != want {
			t.Errorf("tokens: %s, want %s", got, want)
		}

		check(t, r.DeleteNamespace(ctx, "ghost", true))
		ok[registry.Namespace](t)(r.CreateNamespace(ctx, registry.NewNamespace{Name: "ghost"}))
		ok[registry.Namespace](t)(r.CreateNamespace(ctx, registry.NewNamespace{Name: "a"}))
		for _, secret := range []string{ofA, ofGhost} {
			p := ok[auth.Principal](t)(authn.Authenticate(ctx, "Bearer "+secret))
			if len(p.Grants) != 0 || p.Allows("ghost", auth.Read) || p.Allows("a", auth.Read) || len(p.Namespaces()) != 0 {
				t.Errorf("%s: a token of deleted namespaces reaches %+v", p.Name, p.Grants)
			}
		}
		if !may(global, "ghost") || !may(global, "anything") {
			t.Error(`a ["*"] token is not global`)
		}

		// Refused, creating nothing: no namespaces, "*" beside names, a
		// namespace that does not exist.
		records := len(ok[[]audit.Item](t)(func() ([]audit.Item, error) {
			items, _, err := r.Audit(ctx, audit.Filter{Limit: audit.MaxLimit})
			return items, err
		}()))
		for _, ns := range [][]string{nil, {}, {"*", "a"}, {"nope"}, {"a", "nope"}} {
			_, _, err := r.CreateToken(ctx, registry.NewToken{Name: "refused", Role: "read", Namespaces: ns})
			if v := errAs[*registry.ValidationError](t, err); len(v.Fields) != 1 || v.Fields[0].Field != "namespaces" {
				t.Errorf("namespaces %q: %v", ns, err)
			}
		}
		if got := scopes(t, r); strings.Contains(got, "refused") {
			t.Errorf("a refused token was made: %s", got)
		}
		if n := len(ok[[]audit.Item](t)(func() ([]audit.Item, error) {
			items, _, err := r.Audit(ctx, audit.Filter{Limit: audit.MaxLimit})
			return items, err
		}())); n != records {
			t.Errorf("refused tokens added %d audit records", n-records)
		}
		tk, _, err := r.CreateToken(ctx, registry.NewToken{Name: "both", Role: "read", Namespaces: []string{"ghost", "a", "ghost"}})
		if err != nil || !slices.Equal(tk.Namespaces, []string{"a", "ghost"}) {
			t.Errorf("token of a and ghost = %+v, %v", tk, err)
		}
	})
}

// TestMigration00006: the tokens' namespace names become namespace ids.
// A name no namespace holds is dropped, with a token.migrate record in the
// audit log naming it; a token left with none reaches nothing (it is not
// taken for a global one), and a namespace made later under the dropped
// name is not its. Going down, the names come back, and a token that
// reaches none is revoked (version 5 reads no names as every namespace).
func TestMigration00006(t *testing.T) {
	legacyEngines(t, func(t *testing.T, s db.DB, raw *sql.DB) {
		if _, err := s.Migrate(ctx, db.MigrateOptions{Steps: 5}); err != nil {
			t.Fatal(err)
		}
		const at = "'2024-05-01 12:00:00+00:00'"
		for _, ns := range []string{"canada", "usa", "a_b"} {
			rawExec(t, raw, `INSERT INTO namespaces (name, created_at, updated_at) VALUES ('%s', %s, %s)`, ns, at, at)
		}
		secrets := map[string]string{}
		for _, tk := range []struct{ name, namespaces string }{
			{"ci", "canada/usa"}, {"global", ""}, {"ghosty", "ghost"}, {"mixed", "gone/usa"}, {"like", "a%b"}, {"under", "a_b"},
		} {
			secrets[tk.name] = auth.NewSecret()
			rawExec(t, raw, `INSERT INTO api_tokens (name, secret_hash, role, namespaces, created_by, created_at)
				VALUES ('%s', '%s', 'write', '%s', 'local:test', %s)`, tk.name, auth.HashSecret(secrets[tk.name]), tk.namespaces, at)
		}
		if _, err := s.Migrate(ctx, db.MigrateOptions{Steps: 1}); err != nil {
			t.Fatal(err)
		}
		r := registry.New(registry.Options{DB: s})
		if got, want := scopes(t, r), "ci=canada,usa global=* ghosty= mixed=usa like= under=a_b"; got != want {
			t.Errorf("tokens after up: %s, want %s", got, want)
		}
		items, _, err := r.Audit(ctx, audit.Filter{Action: "token.migrate"})
		if err != nil {
			t.Fatal(err)
		}
		var notes []string
		for _, it := range items {
			notes = append(notes, fmt.Sprintf("%s %s %s %s", it.Actor, it.Target, it.Outcome, it.Detail))
		}
		want := []string{
			`system /tokens/ghosty ok {"dropped_namespaces":["ghost"]}`,
			`system /tokens/mixed ok {"dropped_namespaces":["gone"]}`,
			`system /tokens/like ok {"dropped_namespaces":["a%b"]}`,
		}
		if !slices.Equal(notes, want) {
			t.Errorf("migration notes:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
		}

		ok[registry.Namespace](t)(r.CreateNamespace(ctx, registry.NewNamespace{Name: "ghost"}))
		authn := auth.New(auth.Options{DB: s})
		for name, want := range map[string]string{"ci": "canada,usa", "global": "", "ghosty": "-", "mixed": "usa", "under": "a_b"} {
			p := ok[auth.Principal](t)(authn.Authenticate(ctx, "Bearer "+secrets[name]))
			got := strings.Join(p.Namespaces(), ",")
			if p.Namespaces() == nil {
				got = ""
			} else if len(p.Grants) == 0 {
				got = "-"
			}
			if got != want || (name == "ghosty" && p.Allows("ghost", auth.Read)) {
				t.Errorf("%s after up reaches %q, want %q", name, got, want)
			}
		}

		if _, err := s.Migrate(ctx, db.MigrateOptions{Down: true, Steps: 1}); err != nil {
			t.Fatalf("migrate down: %v", err)
		}
		rows := rawRows(t, raw, `SELECT name, namespaces, revoked_at IS NOT NULL FROM api_tokens ORDER BY id`)
		wantDown := []string{"ci|canada/usa|", "global||", "ghosty||", "mixed|usa|", "like||", "under|a_b|"}
		for i, row := range rows {
			revoked := strings.HasSuffix(row, "|true") || strings.HasSuffix(row, "|1")
			row = row[:strings.LastIndex(row, "|")+1]
			if wantRevoked := strings.HasPrefix(row, "ghosty") || strings.HasPrefix(row, "like"); i >= len(wantDown) || row != wantDown[i] || revoked != wantRevoked {
				t.Errorf("token row %d after down: %s (revoked %v), want %s", i, rows[i], revoked, wantDown[min(i, len(wantDown)-1)])
			}
		}
		if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
			t.Fatalf("migrate up again: %v", err)
		}
		// ghosty and like were revoked going down, their '' read as every
		// namespace coming up again: revoked, they reach nothing.
		if got, want := scopes(t, r), "ci=canada,usa global=* ghosty=* mixed=usa like=* under=a_b"; got != want {
			t.Errorf("tokens after up again: %s, want %s", got, want)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
