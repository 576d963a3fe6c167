// Package audit writes and reads the audit log: one record per mutation,
// appended by the mutation's own transaction, so that a change and its
// record are committed or rolled back together.
package audit

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
)

// Outcomes of a record.
const (
	// OK is a mutation that was committed with its record.
	OK = api.OutcomeOK
	// Denied is a request refused for want of a role; it changed nothing.
	Denied = api.OutcomeDenied
)

// Caller is who makes the changes of a request, and which request it is.
type Caller struct {
	// Actor is a token's name, "oidc:<subject>", "anonymous", or for
	// commands run on the server's host "local:<user>".
	Actor     string
	RequestID string
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries; without one the actor is
// "system" (the server's own work, such as retention).
func CallerFrom(ctx context.Context) Caller {
	c, ok := ctx.Value(callerKey{}).(Caller)
	if !ok || c.Actor == "" {
		c.Actor = api.ActorSystem
	}
	return c
}

// Entry is what a mutation records about itself.
type Entry struct {
	// Action is "<resource>.<verb>", e.g. version.create, artifact.create.
	Action string
	// Target is the resource's path under /api/v1.
	Target string
	// Namespace is the namespace the target lies in ("" for none).
	Namespace string
	// Detail is optional; it is stored as JSON.
	Detail any
}

// Record appends e with outcome OK through q, which should be the
// mutation's transaction.
func Record(ctx context.Context, q db.Queries, at time.Time, e Entry) error {
	return write(ctx, q, at, e, OK)
}

// DeniedWindow is how long after a denied record the same refusal again
// (same actor, action, target and namespace) is counted on it (repeats,
// last_at) instead of adding a record: a caller hammering a resource it
// may not change adds a record a minute, not one a request. The window
// runs from the record's own time, so a refusal that goes on is recorded
// again each minute.
const DeniedWindow = time.Minute

// RecordDenied appends e with outcome Denied, or counts it on the denied
// record of the same refusal within DeniedWindow (the first refusal is
// always a record of its own, with its request id).
func RecordDenied(ctx context.Context, q db.Queries, at time.Time, e Entry) error {
	c := CallerFrom(ctx)
	at = api.Timestamp(at)
	n, err := q.RepeatDeniedAudit(ctx, db.RepeatDeniedAuditParams{At: &at, Actor: c.Actor, Target: e.Target,
		Action: e.Action, Namespace: e.Namespace, Since: at.Add(-DeniedWindow)})
	if err != nil || n > 0 {
		return err
	}
	return write(ctx, q, at, e, Denied)
}

func write(ctx context.Context, q db.Queries, at time.Time, e Entry, outcome string) error {
	c := CallerFrom(ctx)
	var detail *string
	if e.Detail != nil {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return err
		}
		s := string(b)
		detail = &s
	}
	_, err := q.CreateAuditRecord(ctx, db.CreateAuditRecordParams{
		At: api.Timestamp(at), Actor: c.Actor, Action: e.Action, Target: e.Target,
		Namespace: e.Namespace, Outcome: outcome, RequestID: c.RequestID, Detail: detail,
	})
	return err
}

// Item is one record of the log as it is read back.
type Item = api.AuditRecord

// Filter selects records; zero fields select everything.
type Filter struct {
	Namespace, Actor, Action, Outcome string
	Since, Until                      time.Time
	// After is the id of the last record already seen (oldest first).
	After int64
	// Newest lists newest first, from before Before (0: from the newest);
	// After is then ignored and the next value returned is a Before.
	Newest bool
	Before int64
	// Limit caps the records returned: 1 to MaxLimit, 0 means DefaultLimit.
	Limit int64
}

// Limits of one read.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// List returns the records f selects, oldest first, and the After value
// that continues the list (0 when there is no more); with f.Newest, newest
// first, and the Before value that continues it.
func List(ctx context.Context, q db.Queries, f Filter) (items []Item, next int64, err error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	until := f.Until
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	// Without time bounds, the queries without them walk the primary key
	// and stop after the page; with bounds, the range is read from the
	// index on at.
	anyTime := f.Since.IsZero() && f.Until.IsZero()
	var rows []db.AuditLog
	switch {
	case f.Newest && anyTime:
		rows, err = q.ListAuditNewestAnyTime(ctx, db.ListAuditNewestAnyTimeParams{
			BeforeID: before(f.Before), Namespace: opt(f.Namespace), Actor: opt(f.Actor), Action: opt(f.Action),
			Outcome: opt(f.Outcome), PageLimit: limit + 1,
		})
	case f.Newest:
		rows, err = q.ListAuditNewest(ctx, db.ListAuditNewestParams{
			BeforeID: before(f.Before), Namespace: opt(f.Namespace), Actor: opt(f.Actor), Action: opt(f.Action),
			Outcome: opt(f.Outcome), Since: f.Since.UTC(), Until: until.UTC(), PageLimit: limit + 1,
		})
	case anyTime:
		rows, err = q.ListAuditAnyTime(ctx, db.ListAuditAnyTimeParams{
			AfterID: f.After, Namespace: opt(f.Namespace), Actor: opt(f.Actor), Action: opt(f.Action),
			Outcome: opt(f.Outcome), PageLimit: limit + 1,
		})
	default:
		rows, err = q.ListAudit(ctx, db.ListAuditParams{
			AfterID: f.After, Namespace: opt(f.Namespace), Actor: opt(f.Actor), Action: opt(f.Action),
			Outcome: opt(f.Outcome), Since: f.Since.UTC(), Until: until.UTC(), PageLimit: limit + 1,
		})
	}
	if err != nil {
		return nil, 0, err
	}
	if int64(len(rows)) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].ID
	}
	items = make([]Item, len(rows))
	for i, r := range rows {
		items[i] = Item{ID: r.ID, At: r.At, Actor: r.Actor, Action: r.Action, Target: r.Target,
			Namespace: r.Namespace, Outcome: r.Outcome, RequestID: r.RequestID, Repeats: r.Repeats, LastAt: r.LastAt}
		if r.Detail != nil {
			items[i].Detail = json.RawMessage(*r.Detail)
		}
	}
	return items, next, nil
}

// before is the id newest-first reading starts below: b, or past the
// newest record when b is 0 (or negative).
func before(b int64) int64 {
	if b <= 0 {
		return math.MaxInt64
	}
	return b
}
