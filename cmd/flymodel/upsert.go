package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/redact"
	"github.com/flymodel/flymodel/internal/upsert"
)

// upsertFlags are the command line of upsert.
type upsertFlags struct {
	server, token             string
	namespace, model, version string
	state                     string
	artifacts                 []string
	extra, format, encode     string
	experiments               []string
	experimentState, metrics  string
	params                    []string
	duration                  time.Duration
	output                    string
	local                     bool
}

func (a *app) newUpsertCommand() *cobra.Command {
	var fl upsertFlags
	cmd := &cobra.Command{
		Use:   "upsert",
		Short: "Idempotently register a namespace, model, version, experiments and their files",
		Long: `Create what is missing (namespace, model, version, experiments), upload the
files the registry does not have yet, and move the state last. A rerun with
the same inputs changes nothing and reports every item "unchanged". A file
that differs from what is stored under its name is refused before anything
is written (exit 3). What to register comes from the [upsert] section of
the configuration and from these flags; with --dry, print the plan.

Without a server (--server, FLYMODEL_SERVER or client.server), register into
the local data folder that "flymodel serve" uses by default, and say so on
stderr. With a server configured, --local registers locally instead.
Every name is checked before anything is read or sent; the plan prints
before the first upload starts.

Exit codes: 0 ok, 1 error, 2 usage, 3 conflict with the registry.`,
		Example: `  flymodel upsert --namespace canada --model llm.sm --version v0.1.0 \
    --artifact weights=./out/weights --artifact config.json=./out/config.json \
    --experiment eval --param lr=0.001 --experiment-state passed --metrics '{"accuracy": 0.93}' \
    --duration 42m --state qa`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := a.upsertSpec(cmd, fl)
			if err != nil {
				return err
			}
			return a.upsert(cmd.Context(), cmd, fl, spec)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.server, "server", "", "flymodel server URL (env FLYMODEL_SERVER, config client.server); none: the local data folder")
	f.BoolVar(&fl.local, "local", false, "register into the local registry (-d, or the data folder) even when a server is configured")
	f.StringVar(&fl.token, "token", "", "API token (env FLYMODEL_TOKEN, config client.token)")
	a.addClientTLSFlags(cmd)
	f.StringVar(&fl.namespace, "namespace", "", "namespace (config upsert.namespace)")
	f.StringVar(&fl.model, "model", "", "model name (config upsert.model)")
	f.StringVar(&fl.version, "version", "", "model version, e.g. v0.1.0 (config upsert.version)")
	f.StringVar(&fl.state, "state", "", "lifecycle state to move the version to, last: test, qa, stage or prod")
	f.StringArrayVar(&fl.artifacts, "artifact", nil, "NAME=PATH[:FORMAT] of a file, or of a folder (every file under it, named NAME/relative/path); FORMAT sets a file's format (default: from its extension); repeatable")
	f.StringVar(&fl.extra, "extra", "", "JSON object stored with the --artifact files")
	f.StringVar(&fl.format, "format", "", "format of the --artifact files whose extension names none, e.g. json, parquet")
	f.StringVar(&fl.encode, "encode", "", "encoding of the --artifact files, e.g. uncompressed, gzip, zstd")
	f.StringArrayVar(&fl.experiments, "experiment", nil, "experiment name; repeatable")
	f.StringVar(&fl.experimentState, "experiment-state", "", "state to record for the --experiment names: running, passed or failed")
	f.StringVar(&fl.metrics, "metrics", "", "JSON object of metrics recorded with a passed or failed --experiment-state")
	f.StringArrayVar(&fl.params, "param", nil, "KEY=VALUE parameter of the --experiment names, set at creation (VALUE: JSON, else a string); repeatable")
	f.DurationVar(&fl.duration, "duration", 0, "run time recorded with a passed or failed --experiment-state, e.g. 42m (default: measured by the registry)")
	f.StringVar(&fl.output, "output", "text", "result format: text or json")
	cmd.MarkFlagsMutuallyExclusive("server", "local")
	completeFixed(cmd, "state", api.Lifecycles)
	completeFixed(cmd, "experiment-state", []string{api.ExperimentRunning, api.ExperimentPassed, api.ExperimentFailed})
	completeFixed(cmd, "output", outputFormats)
	completeFixed(cmd, "format", api.Formats)
	completeFixed(cmd, "encode", api.Encodings)
	_ = cmd.RegisterFlagCompletionFunc("namespace", a.completeNamespaces)
	_ = cmd.RegisterFlagCompletionFunc("model", a.completeModels)
	return cmd
}

// upsertSpec merges the [upsert] configuration with the flags (flags win
// for single values; artifacts and experiments add up) and hashes the files.
func (a *app) upsertSpec(cmd *cobra.Command, fl upsertFlags) (upsert.Spec, error) {
	cfg := a.cfg.Upsert
	spec := upsert.Spec{Namespace: cfg.Namespace, Model: cfg.Model, Version: cfg.Version, State: cfg.State}
	for _, set := range []struct {
		flag string
		dst  *string
	}{{"namespace", &spec.Namespace}, {"model", &spec.Model}, {"version", &spec.Version}, {"state", &spec.State}} {
		if cmd.Flags().Changed(set.flag) {
			v, _ := cmd.Flags().GetString(set.flag)
			*set.dst = v
		}
	}
	var missing []string
	for name, v := range map[string]string{"--namespace": spec.Namespace, "--model": spec.Model, "--version": spec.Version} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return spec, usageErrorf(cmd, "upsert needs %s (flags or the [upsert] configuration)", strings.Join(missing, ", "))
	}
	if api.IsSelector(spec.Version) {
		// upsert creates the version it names when it is missing: a
		// selector names no version to create, and aliases point at
		// versions that exist.
		return spec, usageErrorf(cmd, "--version %q: name the version; aliases point at versions that exist (a version name may not start with '@')", spec.Version)
	}
	spec.State = api.CanonicalLifecycle(spec.State)
	if spec.State != "" && !slices.Contains(config.Lifecycles, spec.State) {
		return spec, usageErrorf(cmd, "--state %q: want one of %s", spec.State, strings.Join(config.Lifecycles, ", "))
	}
	if err := checkOutput(cmd, fl.output); err != nil {
		return spec, err
	}
	jsonObject := func(flag, v string) (json.RawMessage, error) {
		if v == "" {
			return nil, nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, usageErrorf(cmd, "%s must be a JSON object: %v", flag, err)
		}
		return json.RawMessage(v), nil
	}
	extra, err := jsonObject("--extra", fl.extra)
	if err != nil {
		return spec, err
	}
	metrics, err := jsonObject("--metrics", fl.metrics)
	if err != nil {
		return spec, err
	}

	for _, art := range cfg.Artifacts {
		if art.Format != "" && !slices.Contains(api.Formats, art.Format) {
			return spec, usageErrorf(cmd, "upsert.artifacts %s: format %q: want one of %s", art.Path, art.Format, strings.Join(api.Formats, ", "))
		}
		files, err := upsert.Files(art.Name, art.Path)
		if err != nil {
			return spec, fmt.Errorf("upsert.artifacts %s: %w", art.Path, err)
		}
		var x json.RawMessage
		if art.Extra != nil {
			x, _ = json.Marshal(art.Extra)
		}
		for i := range files {
			files[i].Encoding, files[i].Extra = art.Encode, x
		}
		upsert.SetFormats(files, art.Format, len(files) == 1 && files[0].Path == art.Path, art.Format)
		spec.Artifacts = append(spec.Artifacts, files...)
	}
	if fl.format != "" && !slices.Contains(api.Formats, fl.format) {
		return spec, usageErrorf(cmd, "--format %q: want one of %s", fl.format, strings.Join(api.Formats, ", "))
	}
	for _, arg := range fl.artifacts {
		name, path, ok := strings.Cut(arg, "=")
		if !ok {
			name, path = "", arg
		}
		path, format, err := artifactFormat(cmd, arg, path)
		if err != nil {
			return spec, err
		}
		if path == "" {
			return spec, usageErrorf(cmd, "--artifact %q: want NAME=PATH[:FORMAT]", arg)
		}
		files, err := upsert.Files(name, path)
		if err != nil {
			return spec, fmt.Errorf("--artifact %s: %w", arg, err)
		}
		for i := range files {
			files[i].Encoding, files[i].Extra = fl.encode, extra
		}
		fallback := fl.format
		if format != "" {
			fallback = format
		}
		upsert.SetFormats(files, format, len(files) == 1 && files[0].Path == path, fallback)
		spec.Artifacts = append(spec.Artifacts, files...)
	}
	seen := map[string]bool{}
	for _, art := range spec.Artifacts {
		if seen[art.Name] {
			return spec, usageErrorf(cmd, "artifact %q is given twice", art.Name)
		}
		seen[art.Name] = true
	}

	for _, e := range cfg.Experiments {
		x := upsert.Experiment{Name: e.Name, State: e.State}
		if e.Params != nil {
			x.Params, _ = json.Marshal(e.Params)
		}
		if e.Metrics != nil {
			x.Metrics, _ = json.Marshal(e.Metrics)
		}
		spec.Experiments = append(spec.Experiments, x)
	}
	if fl.experimentState != "" && !slices.Contains(api.ExperimentStates, fl.experimentState) {
		return spec, usageErrorf(cmd, "--experiment-state %q: want running, passed or failed", fl.experimentState)
	}
	given := cmd.Flags().Changed
	if len(fl.experiments) == 0 && (fl.experimentState != "" || fl.metrics != "" || len(fl.params) > 0 || given("duration")) {
		return spec, usageErrorf(cmd, "--experiment-state, --metrics, --param and --duration need --experiment NAME")
	}
	// A result without a final state would be dropped: refuse it.
	if final := api.Finished(fl.experimentState); !final && (fl.metrics != "" || given("duration")) {
		return spec, usageErrorf(cmd, "--metrics and --duration are recorded with the result: give --experiment-state passed or failed")
	}
	if fl.duration < 0 {
		return spec, usageErrorf(cmd, "--duration %s: want a positive duration", fl.duration)
	}
	var duration *int64
	if given("duration") {
		ms := fl.duration.Milliseconds()
		duration = &ms
	}
	params, err := paramsObject(cmd, fl.params)
	if err != nil {
		return spec, err
	}
	for _, name := range fl.experiments {
		spec.Experiments = append(spec.Experiments, upsert.Experiment{Name: name, State: fl.experimentState, Metrics: metrics,
			Params: params, DurationMs: duration})
	}
	// Every name is checked before anything is read or sent.
	if err := spec.Validate(); err != nil {
		return spec, &usageError{err: err, commandPath: cmd.CommandPath()}
	}
	if err := upsert.Hash(spec.Artifacts); err != nil {
		return spec, err
	}
	return spec, nil
}

// artifactFormat splits the format off PATH[:FORMAT], the path of an
// --artifact argument: a suffix that is a known format is one; any other
// suffix is part of the path, unless no such path exists and the suffix
// reads like a format (a word), when it is refused as an unknown format.
func artifactFormat(cmd *cobra.Command, arg, path string) (string, string, error) {
	i := strings.LastIndexByte(path, ':')
	if i <= 0 {
		return path, "", nil
	}
	suffix := path[i+1:]
	if slices.Contains(api.Formats, suffix) {
		return path[:i], suffix, nil
	}
	if _, err := os.Stat(path); err != nil && suffix != "" && !strings.ContainsAny(suffix, `/\.`) {
		return "", "", usageErrorf(cmd, "--artifact %q: unknown format %q: want one of %s", arg, suffix, strings.Join(api.Formats, ", "))
	}
	return path, "", nil
}

// paramsObject turns --param KEY=VALUE flags into a JSON object: VALUE is
// taken as JSON when it is (0.001, 32, true, "x", [1,2]), else as a string.
func paramsObject(cmd *cobra.Command, flags []string) (json.RawMessage, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	params := map[string]any{}
	for _, kv := range flags {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return nil, usageErrorf(cmd, "--param %q: want KEY=VALUE", kv)
		}
		if _, dup := params[key]; dup {
			return nil, usageErrorf(cmd, "--param %s is given twice", key)
		}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			v = value
		}
		params[key] = v
	}
	out, err := json.Marshal(params)
	return out, err
}

func (a *app) upsert(ctx context.Context, cmd *cobra.Command, fl upsertFlags, spec upsert.Spec) error {
	server := a.cfg.Client.Server
	if cmd.Flags().Changed("server") {
		server = fl.server
	}
	if fl.local {
		server = ""
	} else if server != "" && cmd.Flags().Changed("database-url") {
		// Two destinations: never pick one silently.
		return usageErrorf(cmd, "a server is configured (%s) and -d names a database: give --local to register into the database, or leave -d out", redact.URL(server))
	}
	var backend upsert.Backend
	if server != "" {
		c, err := a.serverClient(cmd, fl.server, fl.token, "flymodel-upsert")
		if err != nil {
			return err
		}
		backend = upsert.Remote{C: c}
	} else {
		fmt.Fprintf(a.stderr, "%s: registering into %s\n", localReason(fl.local), a.localTarget())
		local, closeLocal, err := a.localBackend(ctx)
		if err != nil {
			return err
		}
		defer closeLocal()
		backend = local
	}

	opts := upsert.Options{Dry: a.dry}
	if fl.output == "text" && isTerminal(a.stderr) {
		opts.Progress = progressBar(a.stderr)
	}
	if fl.output == "text" {
		// The plan shows before the first upload starts.
		opts.Planned = func(res upsert.Result) { printItems(a.stdout, res) }
	}
	res, err := upsert.Run(ctx, backend, spec, opts)
	if fl.output == "json" {
		out := struct {
			upsert.Result
			Error string `json:"error,omitempty"`
		}{Result: res}
		if err != nil {
			out.Error = err.Error()
		}
		if encErr := writeJSON(a.stdout, out); encErr != nil {
			return encErr
		}
	} else if err == nil || res.Conflicts > 0 {
		printSummary(a.stdout, res)
	} else if res.Changed > 0 {
		// The plan is on screen: say how far the run got (a rerun goes on
		// from there).
		fmt.Fprintf(a.stdout, "%s: %d of %d change(s) made, then an error\n", res.Version, res.Changed, res.Changed+pendingSteps(res))
	}
	return explainAuth(err)
}

// localBackend registers into the local registry: the configured database
// (by default the data folder's SQLite file), migrated like serve does, and
// the configured blob stores. A dry run creates nothing, not even the
// database file: without one, the registry is empty and everything would
// be created.
func (a *app) localBackend(ctx context.Context) (upsert.Backend, func(), error) {
	opts := openOptions{schema: schemaMigrate, blobs: blobsEnsure}
	if a.dry {
		opts = openOptions{schema: schemaAsIs, blobs: blobsOpen}
	}
	l, err := a.openRegistry(ctx, opts)
	if err != nil || l.empty() {
		return upsert.Empty{}, func() {}, err
	}
	return upsert.Local{R: l.reg}, func() { l.Close() }, nil
}

// localReason says why upsert registers locally.
func localReason(forced bool) string {
	if forced {
		return "--local"
	}
	return "no --server"
}

// localTarget names where a local upsert writes: the data folder, or the
// database -d (or the configuration) names.
func (a *app) localTarget() string {
	def := config.Config{DataDir: a.cfg.DataDir}
	if url := a.cfg.DatabaseURL(); url != def.DatabaseURL() {
		return redact.URL(url)
	}
	dir := a.cfg.DataDir
	if !filepath.IsAbs(dir) && !strings.HasPrefix(dir, ".") {
		dir = "./" + dir
	}
	return dir
}

// printItems writes one line per item of the plan.
func printItems(w io.Writer, res upsert.Result) {
	for _, it := range res.Items {
		line := fmt.Sprintf("%-9s %-16s %s", it.Action, it.Kind, it.Name)
		switch {
		case it.Action == upsert.Upload:
			line += fmt.Sprintf(" (%s, sha256 %s)", humanBytes(it.Size), it.SHA256)
		case it.Detail != "":
			line += ": " + it.Detail
		}
		fmt.Fprintln(w, line)
	}
}

// pendingSteps counts the planned changes a failed run did not make.
func pendingSteps(res upsert.Result) int {
	n := 0
	for _, it := range res.Items {
		if it.Action != upsert.Unchanged && it.Action != upsert.Conflict {
			n++
		}
	}
	return n - res.Changed
}

// printSummary writes the last line of a run.
func printSummary(w io.Writer, res upsert.Result) {
	unchanged := 0
	for _, it := range res.Items {
		if it.Action == upsert.Unchanged {
			unchanged++
		}
	}
	switch {
	case res.Conflicts > 0:
		fmt.Fprintf(w, "%d conflict(s): nothing was written\n", res.Conflicts)
	case res.Dry:
		fmt.Fprintf(w, "dry run: %d change(s) planned, %d unchanged; nothing was written\n", len(res.Items)-unchanged, unchanged)
	default:
		fmt.Fprintf(w, "%s: %d changed, %d unchanged\n", res.Version, res.Changed, unchanged)
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// progressMin is the smallest upload that gets a progress bar.
const progressMin = 8 << 20

// progressBar draws one line per large upload on a terminal, redrawn at
// most every 100 ms.
func progressBar(w io.Writer) func(upsert.Artifact) (func(int64), func()) {
	return func(art upsert.Artifact) (func(int64), func()) {
		if art.Size < progressMin {
			return func(int64) {}, func() {}
		}
		var (
			mu    sync.Mutex
			last  time.Time
			start = time.Now()
		)
		draw := func(done int64) {
			fmt.Fprintf(w, "\r\033[K%s", progressLine(art.Name, done, art.Size, time.Since(start)))
		}
		report := func(done int64) {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(last) < 100*time.Millisecond && done < art.Size {
				return
			}
			last = time.Now()
			draw(min(done, art.Size))
		}
		finish := func() {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprint(w, "\r\033[K")
		}
		return report, finish
	}
}

// progressLine is one state of the progress bar: the share done, the
// bytes, the rate so far and the time left at that rate.
func progressLine(name string, done, size int64, elapsed time.Duration) string {
	pct := float64(done) / float64(size) * 100
	bar := strings.Repeat("#", int(pct/5)) + strings.Repeat(".", 20-int(pct/5))
	line := fmt.Sprintf("%s [%s] %5.1f%% %s / %s", name, bar, pct, humanBytes(done), humanBytes(size))
	if secs := elapsed.Seconds(); secs > 0 && done > 0 {
		rate := float64(done) / secs
		left := time.Duration(float64(size-done) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf(" %s/s, %s left", humanBytes(int64(rate)), left)
	}
	return line
}
