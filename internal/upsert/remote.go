package upsert

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/flymodel/flymodel/client"
)

// Remote is the Backend of a flymodel server.
type Remote struct{ C *client.Client }

var _ Backend = Remote{}

func exists(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, client.ErrNotFound):
		return false, nil
	}
	return false, err
}

// madeMeanwhile reports a create that lost a race to a concurrent one (a
// 409 that says the name exists): the thing exists, which is what the
// upsert wants.
func madeMeanwhile(err error) error {
	if errors.Is(err, client.ErrConflict) && !errors.Is(err, client.ErrGate) && !errors.Is(err, client.ErrTransition) {
		return nil
	}
	return err
}

func (r Remote) vref(ref Ref) client.VersionRef {
	return client.VersionRef{Namespace: ref.Namespace, Model: ref.Model, Version: ref.Version}
}

// Namespace implements Backend.
func (r Remote) Namespace(ctx context.Context, name string) (bool, error) {
	_, err := r.C.GetNamespace(ctx, name)
	return exists(err)
}

// CreateNamespace implements Backend.
func (r Remote) CreateNamespace(ctx context.Context, name string) error {
	_, err := r.C.CreateNamespace(ctx, name, "")
	return madeMeanwhile(err)
}

// Model implements Backend.
func (r Remote) Model(ctx context.Context, ns, name string) (bool, error) {
	_, err := r.C.GetModel(ctx, ns, name)
	return exists(err)
}

// CreateModel implements Backend.
func (r Remote) CreateModel(ctx context.Context, ns, name string) error {
	_, err := r.C.CreateModel(ctx, ns, name)
	return madeMeanwhile(err)
}

// Version implements Backend.
func (r Remote) Version(ctx context.Context, ref Ref) (VersionInfo, error) {
	v, err := r.C.GetVersion(ctx, r.vref(ref))
	ok, err := exists(err)
	if !ok {
		return VersionInfo{}, err
	}
	return VersionInfo{Exists: true, State: v.State, Sealed: v.Sealed}, nil
}

// CreateVersion implements Backend.
func (r Remote) CreateVersion(ctx context.Context, ref Ref) error {
	_, err := r.C.CreateVersion(ctx, ref.Namespace, ref.Model, client.NewVersion{Version: ref.Version})
	return madeMeanwhile(err)
}

// Artifacts implements Backend.
func (r Remote) Artifacts(ctx context.Context, ref Ref) (map[string]string, error) {
	arts, err := r.C.AllArtifacts(ctx, client.Owner{Namespace: ref.Namespace, Model: ref.Model, Version: ref.Version})
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(arts))
	for _, a := range arts {
		out[a.Name] = a.SHA256
	}
	return out, nil
}

// Upload implements Backend: the digest and size go ahead of the bytes.
func (r Remote) Upload(ctx context.Context, ref Ref, a Artifact, progress func(int64)) error {
	_, _, err := r.C.UploadFile(ctx, client.Owner{Namespace: ref.Namespace, Model: ref.Model, Version: ref.Version}, a.Name, a.Path,
		client.UploadOptions{SHA256: a.SHA256, Size: a.Size, Format: a.Format, Encoding: a.Encoding, Extra: a.Extra, Progress: progress})
	return err
}

// Experiment implements Backend.
func (r Remote) Experiment(ctx context.Context, ref Ref, name string) (ExperimentInfo, error) {
	e, err := r.C.GetExperiment(ctx, r.vref(ref), name)
	ok, err := exists(err)
	if !ok {
		return ExperimentInfo{}, err
	}
	return ExperimentInfo{Exists: true, State: e.State, Params: e.Params, Metrics: e.Metrics, DurationMs: e.DurationMs}, nil
}

// CreateExperiment implements Backend.
func (r Remote) CreateExperiment(ctx context.Context, ref Ref, name string, params json.RawMessage) error {
	var p any
	if len(params) > 0 {
		p = params
	}
	_, err := r.C.CreateExperiment(ctx, r.vref(ref), name, p)
	return madeMeanwhile(err)
}

// SetExperimentState implements Backend.
func (r Remote) SetExperimentState(ctx context.Context, ref Ref, name, state string, metrics json.RawMessage, durationMs *int64) error {
	_, err := r.C.SetExperimentState(ctx, r.vref(ref), name, client.ExperimentUpdate{State: state, Metrics: metrics, DurationMs: durationMs})
	return err
}

// SetVersionState implements Backend.
func (r Remote) SetVersionState(ctx context.Context, ref Ref, state string) error {
	_, err := r.C.SetVersionState(ctx, r.vref(ref), state)
	return err
}
