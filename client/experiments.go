package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/flymodel/flymodel/api"
)

// CreateExperiment creates an experiment of a version, once per name (a
// second create is ErrConflict, never a rerun). params is any value that
// encodes as a JSON object (a struct, a map), JSON text as a
// json.RawMessage or []byte, or nil; it never changes afterwards.
func (c *Client) CreateExperiment(ctx context.Context, v VersionRef, name string, params any) (Experiment, error) {
	in := api.ExperimentCreate{Name: name}
	var err error
	if in.Params, err = rawObject(params); err != nil {
		return Experiment{}, fmt.Errorf("flymodel client: experiment %s params: %w", name, err)
	}
	var out Experiment
	err = c.doJSON(ctx, http.MethodPost, v.path()+"/experiments", nil, in, &out)
	return out, err
}

// GetExperiment returns a live (not deleted) experiment.
func (c *Client) GetExperiment(ctx context.Context, v VersionRef, name string) (Experiment, error) {
	var out Experiment
	err := c.doJSON(ctx, http.MethodGet, v.experimentPath(name), nil, nil, &out)
	return out, err
}

// ListExperiments returns one page of a version's experiments, oldest
// first; state (created, running, passed, failed) filters when not empty.
func (c *Client) ListExperiments(ctx context.Context, v VersionRef, state string, opts ListOptions) (Page[Experiment], error) {
	q := opts.values()
	if state != "" {
		q.Set("state", state)
	}
	var p Page[Experiment]
	err := c.doJSON(ctx, http.MethodGet, v.path()+"/experiments", q, nil, &p)
	return p, err
}

// DeleteExperiment soft-deletes an experiment (hidden, its name still
// taken) or, with hard, removes it and frees its name.
func (c *Client) DeleteExperiment(ctx context.Context, v VersionRef, name string, hard bool) error {
	return c.doJSON(ctx, http.MethodDelete, v.experimentPath(name), flag("hard", hard), nil, nil)
}

// ExperimentUpdate is a move of an experiment's state machine: State
// running, passed or failed; with passed or failed, DurationMs (nil lets
// the server measure it from the first start) and Metrics (a JSON object,
// or empty).
type ExperimentUpdate = api.ExperimentStateUpdate

// SetExperimentState moves an experiment: created → running → passed or
// failed. Running again while running counts a retry; the result is written
// exactly once, and any other move is ErrTransition.
//
// Unlike other PUTs this request is not retried once it may have reached
// the server: a repeated "running" would count a retry that never was.
func (c *Client) SetExperimentState(ctx context.Context, v VersionRef, name string, u ExperimentUpdate) (Experiment, error) {
	var out Experiment
	cl := &call{method: http.MethodPut, path: v.experimentPath(name) + "/state"}
	err := c.sendJSON(ctx, cl, u, &out)
	return out, err
}

// StartExperiment moves an experiment to running (again: a retry).
func (c *Client) StartExperiment(ctx context.Context, v VersionRef, name string) (Experiment, error) {
	return c.SetExperimentState(ctx, v, name, ExperimentUpdate{State: StateRunning})
}

// Result is the outcome of a run, recorded by FinishExperiment.
type Result struct {
	// Duration is the run's duration (in whole milliseconds); zero lets
	// the server measure it from the first start.
	Duration time.Duration
	// Metrics is any value that encodes as a JSON object, JSON text as a
	// json.RawMessage or []byte, or nil.
	Metrics any
}

// FinishExperiment records a running experiment's result, exactly once:
// passed or failed, with its duration and metrics.
func (c *Client) FinishExperiment(ctx context.Context, v VersionRef, name string, passed bool, r Result) (Experiment, error) {
	u := ExperimentUpdate{State: StateFailed}
	if passed {
		u.State = StatePassed
	}
	if r.Duration < 0 {
		return Experiment{}, fmt.Errorf("flymodel client: experiment %s: negative duration %s", name, r.Duration)
	}
	if r.Duration > 0 {
		ms := r.Duration.Milliseconds()
		u.DurationMs = &ms
	}
	var err error
	if u.Metrics, err = rawObject(r.Metrics); err != nil {
		return Experiment{}, fmt.Errorf("flymodel client: experiment %s metrics: %w", name, err)
	}
	return c.SetExperimentState(ctx, v, name, u)
}

// ExperimentTags returns the tags attached to an experiment.
func (c *Client) ExperimentTags(ctx context.Context, v VersionRef, name string) ([]Tag, error) {
	var out api.List[Tag]
	err := c.doJSON(ctx, http.MethodGet, v.experimentPath(name)+"/tags", nil, nil, &out)
	return out.Data, err
}

// TagExperiment attaches a tag of the namespace to an experiment
// (idempotent).
func (c *Client) TagExperiment(ctx context.Context, v VersionRef, name, tag string) error {
	return c.doJSON(ctx, http.MethodPut, v.experimentPath(name)+"/tags/"+url.PathEscape(tag), nil, nil, nil)
}

// UntagExperiment detaches a tag from an experiment (idempotent).
func (c *Client) UntagExperiment(ctx context.Context, v VersionRef, name, tag string) error {
	return c.doJSON(ctx, http.MethodDelete, v.experimentPath(name)+"/tags/"+url.PathEscape(tag), nil, nil, nil)
}

// rawObject encodes v as JSON (JSON text as it is); nil stays nil.
func rawObject(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return v, nil
	case []byte:
		return json.RawMessage(v), nil
	}
	return json.Marshal(v)
}
