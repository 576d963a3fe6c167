package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/registry"
)

// TestRecordBuckets: recording validates as CreateBucket does, audits what
// it creates or replaces, and leaves a bucket recorded already alone.
func TestRecordBuckets(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		r := registry.New(registry.Options{DB: s})
		setup(t, r)
		actions := func() []string {
			items, _, err := r.Audit(ctx, audit.Filter{Namespace: "canada", Limit: audit.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range items {
				if it.Action == "bucket.create" || it.Action == "bucket.update" {
					out = append(out, it.Action+" "+string(it.Detail))
				}
			}
			return out
		}
		record := func(in ...registry.NewBucket) []bool {
			t.Helper()
			changed, err := r.RecordBuckets(ctx, "canada", in)
			if err != nil {
				t.Fatal(err)
			}
			return changed
		}
		prod := registry.NewBucket{Name: "ml-prod", Region: "ca-local", Role: "prod"}
		qa := registry.NewBucket{Name: "ml-qa", Region: "ca-local", Role: "qa"}

		if got := record(prod, qa); !got[0] || !got[1] {
			t.Fatalf("first record: changed %v, want both", got)
		}
		if got := record(prod, qa); got[0] || got[1] {
			t.Fatalf("second record: changed %v, want neither", got)
		}
		moved := registry.NewBucket{Name: "ml-prod-2", Region: "ca-local", Role: "prod"}
		if got := record(moved, qa); !got[0] || got[1] {
			t.Fatalf("replacing prod: changed %v, want prod only", got)
		}
		want := []string{
			`bucket.create {"name":"ml-prod","region":"ca-local","role":"prod"}`,
			`bucket.create {"name":"ml-qa","region":"ca-local","role":"qa"}`,
			`bucket.update {"name":["ml-prod","ml-prod-2"]}`,
		}
		if got := actions(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("audit records %q, want %q", got, want)
		}

		_, err := r.RecordBuckets(ctx, "canada", []registry.NewBucket{{Name: "Bad_Name", Region: "", Role: "gold"}})
		if ve := errAs[*registry.ValidationError](t, err); len(ve.Fields) != 3 {
			t.Fatalf("want 3 field errors, got %+v", ve.Fields)
		}
		_, err = r.RecordBuckets(ctx, "canada", []registry.NewBucket{{Name: "ml-qa", Region: "ca-local", Role: "stage"}})
		errAs[*registry.ConflictError](t, err)
		_, err = r.RecordBuckets(ctx, "nowhere", []registry.NewBucket{prod})
		errAs[*registry.NotFoundError](t, err)
		if got := actions(); len(got) != len(want) {
			t.Fatalf("refused records were audited: %q", got)
		}
	})
}

// TestRecordDenied: a refusal is recorded with the caller, outcome denied
// and the registry's clock.
func TestRecordDenied(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		at := time.Date(2030, 1, 2, 3, 4, 5, 6789, time.UTC)
		r := registry.New(registry.Options{DB: s, Now: func() time.Time { return at }})
		ctx := audit.WithCaller(ctx, audit.Caller{Actor: "reader", RequestID: "req-1"})
		if err := r.RecordDenied(ctx, "request.delete", "canada", "/namespaces/canada", map[string]string{"needs": "admin"}); err != nil {
			t.Fatal(err)
		}
		items, _, err := r.Audit(ctx, audit.Filter{Outcome: audit.Denied, Limit: audit.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 {
			t.Fatalf("got %d denied records, want 1", len(items))
		}
		it := items[0]
		if it.Actor != "reader" || it.RequestID != "req-1" || it.Action != "request.delete" || it.Namespace != "canada" ||
			!it.At.Equal(at.Truncate(time.Microsecond)) {
			t.Fatalf("record %+v", it)
		}
	})
}

// failingStore is a blob store whose every call fails.
type failingStore struct{ blob.Store }

func (failingStore) Stat(context.Context, string, string) (blob.Info, error) {
	return blob.Info{}, errors.New("connection refused")
}
func (failingStore) String() string { return "s3:down" }

// TestReady: the database and every store are checked, in a stable order.
func TestReady(t *testing.T) {
	engines(t, func(t *testing.T, s db.DB) {
		_, fs := withStore(t, s, nil)
		r := registry.New(registry.Options{DB: s, Blobs: registry.BlobStores{
			ByName: map[string]blob.Store{"local": fs, "remote": failingStore{}},
		}})
		checks := r.Ready(ctx)
		if len(checks) != 3 || checks[0].Name != "database" || checks[1].Name != "storage:local" || checks[2].Name != "storage:remote" {
			t.Fatalf("checks %+v", checks)
		}
		if checks[0].Err != nil || checks[1].Err != nil || checks[2].Err == nil {
			t.Fatalf("checks %+v: want only storage:remote failed", checks)
		}
		errAs[*registry.StoreError](t, checks[2].Err)
	})
	checks := registry.New(registry.Options{}).Ready(ctx)
	if len(checks) != 1 || checks[0].Err == nil {
		t.Fatalf("without a database: %+v", checks)
	}
}
