package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
)

// Experiment is an experiment as the API shows it.
type Experiment = api.Experiment

func toExperiment(ref Ref) func(db.Experiment) Experiment {
	return func(e db.Experiment) Experiment {
		return Experiment{
			ID: e.ID, Namespace: ref.Namespace, Model: ref.Model, Version: ref.Version, Name: e.Name,
			State: e.State, Retries: e.Retries, Params: rawJSON(e.Params), Metrics: rawJSON(e.Metrics),
			DurationMs: e.DurationMs, StartedAt: utc(e.StartedAt), FinishedAt: utc(e.FinishedAt),
			CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
		}
	}
}

func rawJSON(s *string) json.RawMessage {
	if s == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(*s)
}

// ExperimentPath is the API path of an experiment.
func ExperimentPath(ref Ref, name string) string {
	return experimentPath(ref.Namespace, ref.Model, ref.Version, name)
}

// jsonObject checks that raw is absent/null or a JSON object and returns
// it compacted for storage (nil when absent).
func jsonObject(v *validation, field string, raw json.RawMessage) *string {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		v.addf(field, "must be a JSON object")
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, trimmed); err != nil {
		v.addf(field, "must be a JSON object")
		return nil
	}
	s := b.String()
	return &s
}

// NewExperiment is an experiment to create; Params never change afterwards.
type NewExperiment struct {
	Name   string
	Params json.RawMessage
}

// CreateExperiment creates an experiment on a version, once per name: a
// second create is a conflict, never a rerun.
func (r *Registry) CreateExperiment(ctx context.Context, ref Ref, in NewExperiment) (Experiment, error) {
	var v validation
	validName(&v, "name", in.Name)
	params := jsonObject(&v, "params", in.Params)
	if err := v.err(); err != nil {
		return Experiment{}, err
	}
	var out db.Experiment
	err := r.write(ctx, func(q db.Queries) error {
		res, err := r.version(ctx, q, ref)
		if err != nil {
			return err
		}
		path := ExperimentPath(ref, in.Name)
		out, err = q.CreateExperiment(ctx, db.CreateExperimentParams{VersionID: res.version.ID, Name: in.Name, Params: params, Now: r.now()})
		if err != nil {
			return conflict(err, "experiment", path)
		}
		return r.record(ctx, q, "experiment.create", ref.Namespace, path, nil)
	})
	return toExperiment(ref)(out), err
}

func (r *Registry) experiment(ctx context.Context, q db.Queries, ref Ref, name string) (resolved, db.Experiment, error) {
	return r.lookupExperiment(ctx, q, ref, name, false)
}

// lookupExperiment is experiment, optionally finding a soft-deleted one.
func (r *Registry) lookupExperiment(ctx context.Context, q db.Queries, ref Ref, name string, withDeleted bool) (resolved, db.Experiment, error) {
	res, err := r.version(ctx, q, ref)
	if err != nil {
		return resolved{}, db.Experiment{}, err
	}
	path := ExperimentPath(ref, name)
	if ValidateNameRef(name) != nil {
		return resolved{}, db.Experiment{}, &NotFoundError{Kind: "experiment", Path: path}
	}
	e, err := q.GetExperimentByName(ctx, db.GetExperimentByNameParams{VersionID: res.version.ID, Name: name})
	if err != nil {
		return resolved{}, db.Experiment{}, notFound(err, "experiment", path)
	}
	if e.DeletedAt != nil && !withDeleted {
		return resolved{}, db.Experiment{}, &NotFoundError{Kind: "experiment", Path: path}
	}
	return res, e, nil
}

// GetExperiment returns a live experiment.
func (r *Registry) GetExperiment(ctx context.Context, ref Ref, name string) (Experiment, error) {
	_, e, err := r.experiment(ctx, r.db, ref, name)
	return toExperiment(ref)(e), err
}

// ListExperiments returns one page of a version's live experiments, oldest first.
func (r *Registry) ListExperiments(ctx context.Context, ref Ref, state string, page PageRequest) (Page[Experiment], error) {
	var v validation
	off, lim := page.validate(&v)
	if state != "" {
		oneOf(&v, "state", state, ExperimentStates)
	}
	if err := v.err(); err != nil {
		return Page[Experiment]{}, err
	}
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return Page[Experiment]{}, err
	}
	st := optional(state)
	rows, err := r.db.ListExperiments(ctx, db.ListExperimentsParams{VersionID: res.version.ID, State: st, PageOffset: off, PageLimit: lim})
	if err != nil {
		return Page[Experiment]{}, err
	}
	total, err := r.db.CountExperiments(ctx, db.CountExperimentsParams{VersionID: res.version.ID, State: st})
	if err != nil {
		return Page[Experiment]{}, err
	}
	return newPage(convert(rows, toExperiment(ref)), page, total), nil
}

// ExperimentUpdate is a state change of an experiment: running (again, a
// retry), or passed/failed with the result.
type ExperimentUpdate struct {
	State string
	// DurationMs is the run's duration; when nil it is measured from the
	// first start to now.
	DurationMs *int64
	Metrics    json.RawMessage
}

// SetExperimentState moves an experiment: created → running → passed or
// failed; running again while running counts a retry; the result is
// written exactly once. Any other move is a StateError and changes nothing.
func (r *Registry) SetExperimentState(ctx context.Context, ref Ref, name string, in ExperimentUpdate) (Experiment, error) {
	var v validation
	oneOf(&v, "state", in.State, ExperimentStates)
	metrics := jsonObject(&v, "metrics", in.Metrics)
	if in.DurationMs != nil && *in.DurationMs < 0 {
		v.addf("duration_ms", "must not be negative")
	}
	finishing := api.Finished(in.State)
	if !finishing && (in.DurationMs != nil || metrics != nil) {
		v.addf("state", "duration_ms and metrics are only recorded with passed or failed")
	}
	if err := v.err(); err != nil {
		return Experiment{}, err
	}
	path := ExperimentPath(ref, name)
	var out db.Experiment
	err := r.write(ctx, func(q db.Queries) error {
		_, e, err := r.experiment(ctx, q, ref, name)
		if err != nil {
			return err
		}
		refuse := func(reason string) error {
			return &StateError{Kind: "experiment", Path: path, From: e.State, To: in.State, Reason: reason}
		}
		now := r.now()
		switch {
		case api.Finished(e.State):
			return refuse("its result is already recorded")
		case in.State == api.ExperimentCreated:
			return refuse("an experiment cannot return to created")
		case in.State == api.ExperimentRunning:
			out, err = q.StartExperiment(ctx, db.StartExperimentParams{ID: e.ID, Now: now})
		case e.State != api.ExperimentRunning:
			return refuse("it must be running before it records a result")
		default:
			duration := in.DurationMs
			if duration == nil {
				ms := max(0, now.Sub(*e.StartedAt).Milliseconds())
				duration = &ms
			}
			out, err = q.FinishExperiment(ctx, db.FinishExperimentParams{ID: e.ID, State: in.State, Metrics: metrics, DurationMs: *duration, Now: now})
		}
		if errors.Is(err, db.ErrNotFound) {
			// The row changed state between our read and the update.
			return refuse("its state changed concurrently")
		}
		if err != nil {
			return err
		}
		return r.record(ctx, q, "experiment.state", ref.Namespace, path, diff("state", e.State, in.State))
	})
	return toExperiment(ref)(out), err
}

// DeleteExperiment soft-deletes an experiment (hidden, name still taken) or,
// with hard, removes it with its artifact records; a hard delete also
// purges an experiment that was soft-deleted before.
func (r *Registry) DeleteExperiment(ctx context.Context, ref Ref, name string, hard bool) error {
	return r.write(ctx, func(q db.Queries) error {
		_, e, err := r.lookupExperiment(ctx, q, ref, name, hard)
		if err != nil {
			return err
		}
		if hard {
			_, err = q.DeleteExperiment(ctx, e.ID)
		} else {
			_, err = q.SoftDeleteExperiment(ctx, db.SoftDeleteExperimentParams{ID: e.ID, Now: r.now()})
		}
		if err != nil {
			return err
		}
		return r.record(ctx, q, "experiment.delete", ref.Namespace, ExperimentPath(ref, name), map[string]bool{"hard": hard})
	})
}

// TagExperiment attaches (or with detach, removes) a namespace tag on an experiment.
func (r *Registry) TagExperiment(ctx context.Context, ref Ref, name, tag string, detach bool) error {
	return r.write(ctx, func(q db.Queries) error {
		res, e, err := r.experiment(ctx, q, ref, name)
		if err != nil {
			return err
		}
		return r.setTag(ctx, q, res.ns, tag, ExperimentPath(ref, name), detach, tagTarget{ExperimentID: &e.ID})
	})
}

// ExperimentTags lists the tags attached to an experiment.
func (r *Registry) ExperimentTags(ctx context.Context, ref Ref, name string) ([]Tag, error) {
	_, e, err := r.experiment(ctx, r.db, ref, name)
	if err != nil {
		return nil, err
	}
	rows, err := r.db.ListLinkedTags(ctx, tagTarget{ExperimentID: &e.ID})
	return convert(rows, toTag(ref.Namespace)), err
}
