package registry_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/db"
)

// TestAuditNewest: audit.List with Newest pages newest first through the
// same filters as the oldest-first list, continuing from Before.
func TestAuditNewest(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		for i := range 30 {
			c := audit.WithCaller(ctx, audit.Caller{Actor: []string{"alice", "bob", "carol"}[i%3]})
			e := audit.Entry{Action: []string{"model.create", "version.create"}[i%2], Namespace: []string{"canada", "usa"}[i%5/4],
				Target: fmt.Sprint("/t/", i)}
			if err := audit.Record(c, s, start.Add(time.Duration(i)*time.Minute), e); err != nil {
				t.Fatal(err)
			}
		}
		filters := []audit.Filter{
			{},
			{Actor: "bob"},
			{Namespace: "usa"},
			{Action: "version.create", Actor: "alice"},
			{Outcome: audit.OK, Since: start.Add(5 * time.Minute), Until: start.Add(20 * time.Minute)},
			{Outcome: audit.Denied},
		}
		for _, f := range filters {
			f.Limit = audit.MaxLimit
			oldest, _, err := audit.List(ctx, s, f)
			if err != nil {
				t.Fatal(err)
			}
			slices.Reverse(oldest)
			// Newest first, three at a time.
			var got []int64
			f.Newest, f.Limit = true, 3
			for pages := 0; ; pages++ {
				items, next, err := audit.List(ctx, s, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					got = append(got, it.ID)
				}
				if next == 0 {
					break
				}
				if pages > 20 || next != items[len(items)-1].ID {
					t.Fatalf("filter %+v: next = %d after %v", f, next, got)
				}
				f.Before = next
			}
			var want []int64
			for _, it := range oldest {
				want = append(want, it.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("filter %+v: newest first = %v, want %v", f, got, want)
			}
		}
		// The newest record comes first; After is ignored in this mode.
		items, _, err := audit.List(ctx, s, audit.Filter{Newest: true, After: 1000, Limit: 1})
		if err != nil || len(items) != 1 || items[0].Target != "/t/29" {
			t.Fatalf("newest = %+v, %v", items, err)
		}
	})
}
