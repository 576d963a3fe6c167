package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/config"
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
	output                    string
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
the local data folder that "flymodel serve" uses by default.

Exit codes: 0 ok, 1 error, 2 usage, 3 conflict with the registry.`,
		Example: `  flymodel upsert --namespace canada --model llm.sm --version v0.1.0 \
    --artifact weights=./out/weights --artifact config.json=./out/config.json \
    --experiment eval --experiment-state passed --metrics '{"accuracy": 0.93}' --state qa`,
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
	f.StringVar(&fl.output, "output", "text", "result format: text or json")
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
	spec.State = api.CanonicalLifecycle(spec.State)
	if spec.State != "" && !slices.Contains(config.Lifecycles, spec.State) {
		return spec, usageErrorf(cmd, "--state %q: want one of %s", spec.State, strings.Join(config.Lifecycles, ", "))
	}
	if fl.output != "text" && fl.output != "json" {
		return spec, usageErrorf(cmd, "--output %q: want text or json", fl.output)
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
	if err := upsert.Hash(spec.Artifacts); err != nil {
		return spec, err
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
	if len(fl.experiments) == 0 && (fl.experimentState != "" || fl.metrics != "") {
		return spec, usageErrorf(cmd, "--experiment-state and --metrics need --experiment NAME")
	}
	for _, name := range fl.experiments {
		spec.Experiments = append(spec.Experiments, upsert.Experiment{Name: name, State: fl.experimentState, Metrics: metrics})
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

func (a *app) upsert(ctx context.Context, cmd *cobra.Command, fl upsertFlags, spec upsert.Spec) error {
	server, token := a.cfg.Client.Server, a.cfg.Client.Token
	if cmd.Flags().Changed("server") {
		server = fl.server
	}
	if cmd.Flags().Changed("token") {
		token = fl.token
	}
	var backend upsert.Backend
	if server != "" {
		opts, err := a.clientTLSOptions(cmd)
		if err != nil {
			return err
		}
		if token != "" {
			opts = append(opts, client.WithToken(token))
		}
		opts = append(opts, client.WithUserAgent("flymodel-upsert/"+buildVersion()))
		c, err := client.New(server, opts...)
		if err != nil {
			return usageErrorf(cmd, "--server: %v", err)
		}
		backend = upsert.Remote{C: c}
	} else {
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
	res, err := upsert.Run(ctx, backend, spec, opts)
	if fl.output == "json" {
		out := struct {
			upsert.Result
			Error string `json:"error,omitempty"`
		}{Result: res}
		if err != nil {
			out.Error = err.Error()
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if encErr := enc.Encode(out); encErr != nil {
			return encErr
		}
	} else if err == nil || len(res.Items) > 0 {
		printUpsert(a.stdout, res)
	}
	if errors.Is(err, client.ErrUnauthorized) {
		err = fmt.Errorf("%w (give a token with --token, FLYMODEL_TOKEN or client.token)", err)
	}
	return err
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

// printUpsert writes one line per item and a summary.
func printUpsert(w io.Writer, res upsert.Result) {
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
			mu   sync.Mutex
			last time.Time
		)
		draw := func(done int64) {
			pct := float64(done) / float64(art.Size) * 100
			bar := strings.Repeat("#", int(pct/5)) + strings.Repeat(".", 20-int(pct/5))
			fmt.Fprintf(w, "\r%s [%s] %5.1f%% %s / %s", art.Name, bar, pct, humanBytes(done), humanBytes(art.Size))
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
