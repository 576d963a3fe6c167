package upsert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"

	"github.com/flymodel/flymodel/internal/registry"
)

// Local is the Backend of the registry in this process (the laptop case:
// no server, the data folder that serve uses).
type Local struct {
	R *registry.Registry
}

var _ Backend = Local{}

func found(err error) (bool, error) {
	var nf *registry.NotFoundError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &nf):
		return false, nil
	}
	return false, err
}

// madeLocally reports a create that lost a race to a concurrent one: the
// thing exists, which is what the upsert wants.
func madeLocally(err error) error {
	var ce *registry.ConflictError
	if errors.As(err, &ce) {
		return nil
	}
	return err
}

func (l Local) ref(ref Ref) registry.Ref {
	return registry.Ref{Namespace: ref.Namespace, Model: ref.Model, Version: ref.Version}
}

// Namespace implements Backend.
func (l Local) Namespace(ctx context.Context, name string) (bool, error) {
	_, err := l.R.GetNamespace(ctx, name)
	return found(err)
}

// CreateNamespace implements Backend.
func (l Local) CreateNamespace(ctx context.Context, name string) error {
	_, err := l.R.CreateNamespace(ctx, registry.NewNamespace{Name: name})
	return madeLocally(err)
}

// Model implements Backend.
func (l Local) Model(ctx context.Context, ns, name string) (bool, error) {
	_, err := l.R.GetModel(ctx, ns, name)
	return found(err)
}

// CreateModel implements Backend.
func (l Local) CreateModel(ctx context.Context, ns, name string) error {
	_, err := l.R.CreateModel(ctx, ns, name)
	return madeLocally(err)
}

// Version implements Backend.
func (l Local) Version(ctx context.Context, ref Ref) (VersionInfo, error) {
	v, err := l.R.GetVersion(ctx, l.ref(ref))
	ok, err := found(err)
	if !ok {
		return VersionInfo{}, err
	}
	return VersionInfo{Exists: true, State: v.State, Sealed: v.Sealed}, nil
}

// CreateVersion implements Backend.
func (l Local) CreateVersion(ctx context.Context, ref Ref) error {
	_, err := l.R.CreateVersion(ctx, ref.Namespace, ref.Model, registry.NewVersion{Version: ref.Version})
	return madeLocally(err)
}

// Artifacts implements Backend.
func (l Local) Artifacts(ctx context.Context, ref Ref) (map[string]string, error) {
	out := map[string]string{}
	for page := int64(1); ; page++ {
		p, err := l.R.ListArtifacts(ctx, registry.Owner{Ref: l.ref(ref)}, registry.PageRequest{Page: page, Size: registry.MaxPageSize})
		if err != nil {
			return nil, err
		}
		for _, a := range p.Items {
			out[a.Name] = a.SHA256
		}
		if page >= p.TotalPages {
			return out, nil
		}
	}
}

// Upload implements Backend.
func (l Local) Upload(ctx context.Context, ref Ref, a Artifact, progress func(int64)) error {
	f, err := os.Open(a.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, _, err = l.R.PutArtifact(ctx, registry.Owner{Ref: l.ref(ref)}, registry.NewArtifact{
		Name: a.Name, Format: a.Format, Encoding: a.Encoding, Extra: a.Extra, SHA256: a.SHA256,
	}, &countingReader{r: f, report: progress})
	return err
}

// countingReader reports the bytes read so far.
type countingReader struct {
	r      io.Reader
	n      int64
	report func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.report != nil {
		c.report(c.n)
	}
	return n, err
}

// Experiment implements Backend.
func (l Local) Experiment(ctx context.Context, ref Ref, name string) (ExperimentInfo, error) {
	e, err := l.R.GetExperiment(ctx, l.ref(ref), name)
	ok, err := found(err)
	if !ok {
		return ExperimentInfo{}, err
	}
	return ExperimentInfo{Exists: true, State: e.State, Params: e.Params, Metrics: e.Metrics, DurationMs: e.DurationMs}, nil
}

// CreateExperiment implements Backend.
func (l Local) CreateExperiment(ctx context.Context, ref Ref, name string, params json.RawMessage) error {
	_, err := l.R.CreateExperiment(ctx, l.ref(ref), registry.NewExperiment{Name: name, Params: params})
	return madeLocally(err)
}

// SetExperimentState implements Backend.
func (l Local) SetExperimentState(ctx context.Context, ref Ref, name, state string, metrics json.RawMessage, durationMs *int64) error {
	_, err := l.R.SetExperimentState(ctx, l.ref(ref), name, registry.ExperimentUpdate{State: state, Metrics: metrics, DurationMs: durationMs})
	return err
}

// SetVersionState implements Backend.
func (l Local) SetVersionState(ctx context.Context, ref Ref, state string) error {
	_, err := l.R.SetVersionState(ctx, l.ref(ref), state)
	return err
}
