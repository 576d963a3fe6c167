// Package upsert registers a model version idempotently: it plans what is
// missing (namespace, model, version, artifacts, experiments, the state),
// refuses the whole run before writing anything when a file differs from
// what is stored under its name, and then creates and uploads only what the
// registry lacks, moving the version's state last. A rerun with the same
// inputs reads and changes nothing.
//
// It runs against a Backend: a flymodel server through the Go client, or the
// local registry in-process.
package upsert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/registry"
)

// Spec is what to register.
type Spec struct {
	Namespace, Model, Version string
	// State is the lifecycle to move the version to last; "" leaves it.
	State       string
	Artifacts   []Artifact
	Experiments []Experiment
}

// Artifact is one local file to store under Name.
type Artifact struct {
	Name, Path       string
	Format, Encoding string
	Extra            json.RawMessage
	// SHA256 and Size are filled by Hash.
	SHA256 string
	Size   int64
}

// Experiment is one experiment of the version. State "" only ensures it
// exists; running, passed or failed move it there (through running).
type Experiment struct {
	Name    string
	State   string
	Params  json.RawMessage
	Metrics json.RawMessage
	// DurationMs is the run's duration recorded with its result; nil lets
	// the registry measure it from the first start.
	DurationMs *int64
}

// Validate checks every name of the spec with the registry's rules, before
// anything is read or sent: a name the registry would refuse stops the run
// with nothing planned. The error names every bad name.
func (s Spec) Validate() error {
	var errs []error
	check := func(what, name string, rule func(string) error) {
		if err := rule(name); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", what, name, err))
		}
	}
	check("namespace", s.Namespace, registry.ValidateName)
	check("model", s.Model, registry.ValidateName)
	check("version", s.Version, registry.ValidateVersionName)
	if s.State != "" && !slices.Contains(api.Lifecycles, s.State) {
		errs = append(errs, fmt.Errorf("state %q: want one of %s", s.State, strings.Join(api.Lifecycles, ", ")))
	}
	for _, a := range s.Artifacts {
		check("artifact", a.Name, registry.ValidateArtifactName)
	}
	for _, e := range s.Experiments {
		check("experiment", e.Name, registry.ValidateName)
		if e.State != "" && !slices.Contains(api.ExperimentStates, e.State) {
			errs = append(errs, fmt.Errorf("experiment %q: state %q: want one of %s", e.Name, e.State, strings.Join(api.ExperimentStates, ", ")))
		}
		if !api.Finished(e.State) && (len(e.Metrics) > 0 || e.DurationMs != nil) {
			// They are recorded with the result: without one they would be dropped.
			errs = append(errs, fmt.Errorf("experiment %q: metrics and duration are recorded with the result: give state passed or failed", e.Name))
		}
	}
	if len(errs) > 0 {
		return &InvalidError{Errs: errs}
	}
	return nil
}

// InvalidError is a spec the registry would refuse (a bad name, an unknown
// state); nothing was read or written. It is of class api.ErrInvalid.
type InvalidError struct{ Errs []error }

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return "invalid: " + strings.Join(msgs, "; ")
}

// Unwrap makes it of class api.ErrInvalid.
func (e *InvalidError) Unwrap() error { return api.ErrInvalid }

// Ref names the version.
func (s Spec) Ref() Ref { return Ref{Namespace: s.Namespace, Model: s.Model, Version: s.Version} }

// Ref names a model version.
type Ref struct{ Namespace, Model, Version string }

// Files expands a NAME=PATH argument: a file is one artifact named name
// (or the file's base name when name is empty); a folder is every regular
// file under it, named name + "/" + its relative path with "/" separators
// (or the relative path alone when name is empty), in lexical order.
func Files(name, path string) ([]Artifact, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", path)
		}
		if name == "" {
			name = filepath.Base(path)
		}
		return []Artifact{{Name: name, Path: path}}, nil
	}
	var out []Artifact
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(path, p)
		if err != nil {
			return err
		}
		n := filepath.ToSlash(rel)
		if name != "" {
			n = strings.TrimSuffix(name, "/") + "/" + n
		}
		out = append(out, Artifact{Name: n, Path: p})
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("folder %s holds no files", path)
	}
	return out, err
}

// SetFormats gives the artifacts of one argument (what Files expanded from
// one path) their formats. given, for a path that is one file, is that
// file's format whatever its name says. Otherwise each file takes the
// format its extension says (api.TypeByName: the artifact name's, else the
// local file's), else fallback: the format of files whose extension says
// nothing (the format of a folder argument, or --format).
func SetFormats(arts []Artifact, given string, file bool, fallback string) {
	for i := range arts {
		switch f := api.FormatByName(arts[i].Name); {
		case file && given != "":
			arts[i].Format = given
		case f != "":
			arts[i].Format = f
		case api.FormatByName(arts[i].Path) != "":
			arts[i].Format = api.FormatByName(arts[i].Path)
		default:
			arts[i].Format = fallback
		}
	}
}

// Hash computes each artifact's sha256 and size from its file.
func Hash(arts []Artifact) error {
	for i := range arts {
		f, err := os.Open(arts[i].Path)
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", arts[i].Path, err)
		}
		arts[i].SHA256, arts[i].Size = hex.EncodeToString(h.Sum(nil)), n
	}
	return nil
}

// Action is what a run does (or, dry, would do) to one item.
type Action string

// Actions.
const (
	Create    Action = "create"
	Upload    Action = "upload"
	Move      Action = "move"
	Unchanged Action = "unchanged"
	Conflict  Action = "conflict"
)

// Item is one line of a plan or a result.
type Item struct {
	Kind   string `json:"kind"` // namespace, model, version, artifact, experiment, state
	Name   string `json:"name"`
	Action Action `json:"action"`
	// Detail explains a move or a conflict.
	Detail         string `json:"detail,omitempty"`
	SHA256         string `json:"sha256,omitempty"`
	ExistingSHA256 string `json:"existing_sha256,omitempty"`
	Size           int64  `json:"size,omitempty"`
}

// Result is the outcome of a run.
type Result struct {
	Dry       bool   `json:"dry"`
	Version   string `json:"version"` // namespace/model/version
	Items     []Item `json:"items"`
	Changed   int    `json:"changed"`
	Conflicts int    `json:"conflicts"`
}

// ErrConflict is returned when the registry holds something the inputs
// contradict (other bytes under an artifact name, a sealed version, an
// experiment with another result, a promotion gate); nothing was written.
// It is of class api.ErrConflict.
var ErrConflict = api.NewError(api.ErrConflict, "conflict with what the registry holds")

// VersionInfo is what the backend knows of the version.
type VersionInfo struct {
	Exists bool
	State  string
	Sealed bool
}

// ExperimentInfo is what the backend knows of an experiment.
type ExperimentInfo struct {
	Exists bool
	State  string
	// Params, Metrics and DurationMs as recorded (nil when absent).
	Params, Metrics json.RawMessage
	DurationMs      *int64
}

// Backend is the registry upsert talks to. Lookups report a missing
// resource as false / Exists false, not as an error.
type Backend interface {
	Namespace(ctx context.Context, name string) (bool, error)
	CreateNamespace(ctx context.Context, name string) error
	Model(ctx context.Context, ns, name string) (bool, error)
	CreateModel(ctx context.Context, ns, name string) error
	Version(ctx context.Context, ref Ref) (VersionInfo, error)
	CreateVersion(ctx context.Context, ref Ref) error
	// Artifacts maps the version's artifact names to their sha256.
	Artifacts(ctx context.Context, ref Ref) (map[string]string, error)
	Upload(ctx context.Context, ref Ref, a Artifact, progress func(done int64)) error
	Experiment(ctx context.Context, ref Ref, name string) (ExperimentInfo, error)
	CreateExperiment(ctx context.Context, ref Ref, name string, params json.RawMessage) error
	// SetExperimentState moves an experiment to running, or records its
	// result (passed, failed) with metrics and, when not nil, its duration.
	SetExperimentState(ctx context.Context, ref Ref, name, state string, metrics json.RawMessage, durationMs *int64) error
	SetVersionState(ctx context.Context, ref Ref, state string) error
}

// Options tune a run.
type Options struct {
	Dry bool
	// Progress, when set, is called for each upload with a callback that
	// the upload reports its bytes to; it returns a function to call when
	// the upload ends.
	Progress func(a Artifact) (report func(done int64), done func())
	// Planned, when set, is called with the plan once it is made, before
	// the first write (and before a conflict or a dry run returns), so
	// that the plan can be shown before the uploads start.
	Planned func(Result)
}

// step is one planned write.
type step struct {
	item Item
	run  func(ctx context.Context) error
}

// Run plans the upsert with reads only, stops with ErrConflict (nothing
// written) when the inputs contradict the registry, and otherwise (unless
// dry) performs the planned writes in order.
func Run(ctx context.Context, b Backend, spec Spec, opts Options) (Result, error) {
	res := Result{Dry: opts.Dry, Version: spec.Namespace + "/" + spec.Model + "/" + spec.Version}
	if err := spec.Validate(); err != nil {
		return res, err
	}
	steps, err := plan(ctx, b, spec, opts, &res)
	if err != nil {
		return res, err
	}
	if opts.Planned != nil {
		opts.Planned(res)
	}
	if res.Conflicts > 0 {
		return res, fmt.Errorf("%w: %d conflicting item(s); nothing was written", ErrConflict, res.Conflicts)
	}
	if opts.Dry {
		return res, nil
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return res, fmt.Errorf("%s %s %s: %w", s.item.Action, s.item.Kind, s.item.Name, err)
		}
		res.Changed++
	}
	return res, nil
}

func plan(ctx context.Context, b Backend, spec Spec, opts Options, res *Result) ([]step, error) {
	var steps []step
	add := func(it Item, run func(ctx context.Context) error) {
		res.Items = append(res.Items, it)
		switch it.Action {
		case Unchanged:
		case Conflict:
			res.Conflicts++
		default:
			steps = append(steps, step{item: it, run: run})
		}
	}
	ref := spec.Ref()

	// Each level exists only if its parent does; below a missing parent
	// everything is created and nothing needs to be read.
	nsExists, err := b.Namespace(ctx, spec.Namespace)
	if err != nil {
		return nil, err
	}
	add(Item{Kind: "namespace", Name: spec.Namespace, Action: createOr(nsExists)},
		func(ctx context.Context) error { return b.CreateNamespace(ctx, spec.Namespace) })
	modelExists := false
	if nsExists {
		if modelExists, err = b.Model(ctx, spec.Namespace, spec.Model); err != nil {
			return nil, err
		}
	}
	add(Item{Kind: "model", Name: spec.Model, Action: createOr(modelExists)},
		func(ctx context.Context) error { return b.CreateModel(ctx, spec.Namespace, spec.Model) })
	var v VersionInfo
	if modelExists {
		if v, err = b.Version(ctx, ref); err != nil {
			return nil, err
		}
	}
	add(Item{Kind: "version", Name: spec.Version, Action: createOr(v.Exists)},
		func(ctx context.Context) error { return b.CreateVersion(ctx, ref) })

	stored := map[string]string{}
	if v.Exists {
		if stored, err = b.Artifacts(ctx, ref); err != nil {
			return nil, err
		}
	}
	for _, a := range spec.Artifacts {
		it := Item{Kind: "artifact", Name: a.Name, SHA256: a.SHA256, Size: a.Size, Action: Upload}
		switch have, ok := stored[a.Name]; {
		case ok && have == a.SHA256:
			it.Action = Unchanged
		case ok:
			it.Action, it.ExistingSHA256 = Conflict, have
			it.Detail = fmt.Sprintf("stored with sha256 %s, the file hashes to %s: artifacts are immutable, create a new version", have, a.SHA256)
		case v.Sealed:
			it.Action = Conflict
			it.Detail = fmt.Sprintf("version is sealed (state %s): no new artifacts, create a new version", v.State)
		}
		a := a
		add(it, func(ctx context.Context) error {
			report, done := func(int64) {}, func() {}
			if opts.Progress != nil {
				report, done = opts.Progress(a)
			}
			defer done()
			return b.Upload(ctx, ref, a, report)
		})
	}

	for _, e := range spec.Experiments {
		var info ExperimentInfo
		if v.Exists {
			if info, err = b.Experiment(ctx, ref, e.Name); err != nil {
				return nil, err
			}
		}
		switch {
		case !info.Exists:
			add(Item{Kind: "experiment", Name: e.Name, Action: Create},
				func(ctx context.Context) error { return b.CreateExperiment(ctx, ref, e.Name, e.Params) })
			info.State = "created"
		case len(e.Params) > 0 && !sameJSON(e.Params, info.Params):
			// Params are set at creation and never change: other ones are
			// another run, not this one again.
			add(Item{Kind: "experiment", Name: e.Name, Action: Conflict,
				Detail: fmt.Sprintf("created with params %s, given %s: params are set once, name another experiment", show(info.Params), compact(e.Params))}, nil)
		default:
			add(Item{Kind: "experiment", Name: e.Name, Action: Unchanged}, nil)
		}
		for _, move := range experimentMoves(info.State, e.State) {
			it := Item{Kind: "experiment-state", Name: e.Name, Action: Move, Detail: move.from + " -> " + move.to}
			if move.conflict != "" {
				it.Action, it.Detail = Conflict, move.conflict
			}
			if move.from == move.to {
				it.Action, it.Detail = Unchanged, move.to
				if conflict := resultConflict(info, e); conflict != "" {
					it.Action, it.Detail = Conflict, conflict
				}
			}
			to := move.to
			add(it, func(ctx context.Context) error {
				var metrics json.RawMessage
				var duration *int64
				if to == "passed" || to == "failed" {
					metrics, duration = e.Metrics, e.DurationMs
				}
				return b.SetExperimentState(ctx, ref, e.Name, to, metrics, duration)
			})
		}
	}

	if spec.State != "" {
		from := v.State
		if !v.Exists {
			from = "test"
		}
		it := Item{Kind: "state", Name: spec.State, Action: Move, Detail: from + " -> " + spec.State}
		if from == spec.State {
			it.Action, it.Detail = Unchanged, from
		}
		add(it, func(ctx context.Context) error { return b.SetVersionState(ctx, ref, spec.State) })
	}
	return steps, nil
}

// resultConflict says how the result e asks for differs from the one
// recorded (the same final state): results are written once, so other
// metrics or another duration are a conflict, never silently dropped.
func resultConflict(info ExperimentInfo, e Experiment) string {
	if info.State != "passed" && info.State != "failed" {
		return ""
	}
	var diffs []string
	if len(e.Metrics) > 0 && !sameJSON(e.Metrics, info.Metrics) {
		diffs = append(diffs, fmt.Sprintf("metrics %s, given %s", show(info.Metrics), compact(e.Metrics)))
	}
	if e.DurationMs != nil && (info.DurationMs == nil || *info.DurationMs != *e.DurationMs) {
		recorded := "none"
		if info.DurationMs != nil {
			recorded = fmt.Sprintf("%d ms", *info.DurationMs)
		}
		diffs = append(diffs, fmt.Sprintf("duration %s, given %d ms", recorded, *e.DurationMs))
	}
	if len(diffs) == 0 {
		return ""
	}
	return fmt.Sprintf("its result is already recorded as %s with %s: a result is written once, name another experiment or version",
		info.State, strings.Join(diffs, "; "))
}

// sameJSON reports whether two JSON documents are equal as values (key
// order and spacing aside).
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// compact is a JSON document on one line.
func compact(m json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, m) != nil {
		return string(m)
	}
	return buf.String()
}

// show is a recorded JSON document on one line, "none" when absent.
func show(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return "none"
	}
	return compact(m)
}

func createOr(exists bool) Action {
	if exists {
		return Unchanged
	}
	return Create
}

type move struct{ from, to, conflict string }

// experimentMoves are the transitions from state to the wanted state:
// created → running → passed|failed. A recorded result is final, and
// running again is a retry only when asked for explicitly (never by a
// rerun), so running → running is unchanged.
func experimentMoves(state, want string) []move {
	switch {
	case want == "" || want == "created":
		return nil
	case state == want:
		return []move{{from: state, to: want}}
	case state == "passed" || state == "failed":
		return []move{{from: state, to: want, conflict: fmt.Sprintf("its result is already recorded as %s; a result is written once", state)}}
	case want == "running":
		return []move{{from: state, to: "running"}}
	case slices.Contains([]string{"passed", "failed"}, want):
		var moves []move
		if state == "created" {
			moves = append(moves, move{from: "created", to: "running"})
		}
		return append(moves, move{from: "running", to: want})
	}
	return []move{{from: state, to: want, conflict: "unknown experiment state " + want}}
}

// Empty is a Backend that holds nothing: a dry run against a registry that
// does not exist yet plans to create everything. Its writes fail.
type Empty struct{}

var _ Backend = Empty{}

var errEmpty = errors.New("the registry does not exist yet")

// Namespace implements Backend.
func (Empty) Namespace(context.Context, string) (bool, error) { return false, nil }

// CreateNamespace implements Backend.
func (Empty) CreateNamespace(context.Context, string) error { return errEmpty }

// Model implements Backend.
func (Empty) Model(context.Context, string, string) (bool, error) { return false, nil }

// CreateModel implements Backend.
func (Empty) CreateModel(context.Context, string, string) error { return errEmpty }

// Version implements Backend.
func (Empty) Version(context.Context, Ref) (VersionInfo, error) { return VersionInfo{}, nil }

// CreateVersion implements Backend.
func (Empty) CreateVersion(context.Context, Ref) error { return errEmpty }

// Artifacts implements Backend.
func (Empty) Artifacts(context.Context, Ref) (map[string]string, error) { return nil, nil }

// Upload implements Backend.
func (Empty) Upload(context.Context, Ref, Artifact, func(int64)) error { return errEmpty }

// Experiment implements Backend.
func (Empty) Experiment(context.Context, Ref, string) (ExperimentInfo, error) {
	return ExperimentInfo{}, nil
}

// CreateExperiment implements Backend.
func (Empty) CreateExperiment(context.Context, Ref, string, json.RawMessage) error { return errEmpty }

// SetExperimentState implements Backend.
func (Empty) SetExperimentState(context.Context, Ref, string, string, json.RawMessage, *int64) error {
	return errEmpty
}

// SetVersionState implements Backend.
func (Empty) SetVersionState(context.Context, Ref, string) error { return errEmpty }
