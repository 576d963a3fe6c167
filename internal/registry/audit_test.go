package registry_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// TestDeniedRepeats: the same refusal again (actor, action, target and
// namespace) within audit.DeniedWindow of its record is counted on it
// (repeats, last_at) instead of adding a record; the first refusal keeps a
// record of its own, with its request id; another actor, action, target or
// namespace, or a refusal after the window, adds one.
func TestDeniedRepeats(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		now := start
		r := registry.New(registry.Options{DB: s, Now: func() time.Time { return now }})
		deny := func(actor, request, action, ns, target string, after time.Duration) {
			t.Helper()
			now = start.Add(after)
			ctx := audit.WithCaller(ctx, audit.Caller{Actor: actor, RequestID: request})
			if err := r.RecordDenied(ctx, action, ns, target, map[string]string{"needs": "admin"}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 5 {
			deny("reader", fmt.Sprint("req-", i), "request.delete", "canada", "/namespaces/canada", time.Duration(i)*10*time.Second)
		}
		deny("writer", "req-w", "request.delete", "canada", "/namespaces/canada", 41*time.Second)
		deny("reader", "req-p", "request.post", "canada", "/namespaces/canada", 42*time.Second)
		deny("reader", "req-t", "request.delete", "canada", "/namespaces/canada/models/m", 43*time.Second)
		deny("reader", "req-n", "request.delete", "usa", "/namespaces/canada", 44*time.Second)
		deny("reader", "req-late", "request.delete", "canada", "/namespaces/canada", audit.DeniedWindow+time.Second)
		deny("reader", "req-late2", "request.delete", "canada", "/namespaces/canada", audit.DeniedWindow+2*time.Second)

		items, _, err := r.Audit(ctx, audit.Filter{Outcome: audit.Denied, Limit: audit.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			last := "-"
			if it.LastAt != nil {
				last = it.LastAt.Sub(start).String()
			}
			got = append(got, fmt.Sprintf("%s %s %s %s %s at=%s repeats=%d last=%s", it.RequestID, it.Actor, it.Action, it.Namespace, it.Target,
				it.At.Sub(start), it.Repeats, last))
		}
		want := []string{
			"req-0 reader request.delete canada /namespaces/canada at=0s repeats=4 last=40s",
			"req-w writer request.delete canada /namespaces/canada at=41s repeats=0 last=-",
			"req-p reader request.post canada /namespaces/canada at=42s repeats=0 last=-",
			"req-t reader request.delete canada /namespaces/canada/models/m at=43s repeats=0 last=-",
			"req-n reader request.delete usa /namespaces/canada at=44s repeats=0 last=-",
			"req-late reader request.delete canada /namespaces/canada at=1m1s repeats=1 last=1m2s",
		}
		if !slices.Equal(got, want) {
			t.Errorf("denied records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
