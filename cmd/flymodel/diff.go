package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/client"
)

// diffFlags are the command line of diff.
type diffFlags struct {
	server, token string
	output        string
}

func (a *app) newDiffCommand() *cobra.Command {
	var fl diffFlags
	cmd := &cobra.Command{
		Use:   "diff NS/MODEL A B",
		Short: "Compare two versions: files, metadata, description, metrics",
		Long: `Compare version A of a model with version B (GET …/versions/A/diff/B):
the artifacts added in B (+), removed from A (-) and changed (~, with both
sizes and sha256), how many are unchanged, the metadata keys that differ,
whether the description changed, and the metrics of the experiments of
either version side by side. Both digests head the output. B may be in
another model: NS/MODEL/VERSION. A and B may be @LIFECYCLE (the newest
version now in it).

The server comes from --server, FLYMODEL_SERVER or client.server; the
token from --token, FLYMODEL_TOKEN or client.token.`,
		Example: `  flymodel diff canada/llm.sm v1 v2
  flymodel diff canada/llm.sm @prod v3 --output json
  flymodel diff canada/llm.sm v3 canada/llm.lg/v1`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.diff(cmd.Context(), cmd, fl, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.server, "server", "", "flymodel server URL (env FLYMODEL_SERVER, config client.server)")
	f.StringVar(&fl.token, "token", "", "API token (env FLYMODEL_TOKEN, config client.token)")
	f.StringVar(&fl.output, "output", "text", "result format: text or json (the API's diff)")
	a.addClientTLSFlags(cmd)
	completeFixed(cmd, "output", outputFormats)
	cmd.ValidArgsFunction = a.completeModelPath
	return cmd
}

// modelArg reads NAMESPACE/MODEL.
func modelArg(cmd *cobra.Command, arg string) (string, string, error) {
	ns, model, ok := strings.Cut(arg, "/")
	if !ok || ns == "" || model == "" || strings.Contains(model, "/") {
		return "", "", usageErrorf(cmd, "%q: want NAMESPACE/MODEL", arg)
	}
	return ns, model, nil
}

func (a *app) diff(ctx context.Context, cmd *cobra.Command, fl diffFlags, args []string) error {
	ns, model, err := modelArg(cmd, args[0])
	if err != nil {
		return err
	}
	if err := checkOutput(cmd, fl.output); err != nil {
		return err
	}
	// B is a version of the model, or NS/MODEL/VERSION.
	bns, bmodel, bsel := ns, model, args[2]
	if parts := strings.Split(args[2], "/"); len(parts) == 3 && !strings.HasPrefix(args[2], "@") {
		if parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return usageErrorf(cmd, "%q: want a version of %s, or NAMESPACE/MODEL/VERSION", args[2], args[0])
		}
		bns, bmodel, bsel = parts[0], parts[1], parts[2]
	}
	c, err := a.serverClient(cmd, fl.server, fl.token, "flymodel-diff")
	if err != nil {
		return err
	}
	va, err := c.ResolveVersion(ctx, ns, model, args[1])
	if err != nil {
		return explainAuth(err)
	}
	vb, err := c.ResolveVersion(ctx, bns, bmodel, bsel)
	if err != nil {
		return explainAuth(err)
	}
	var d client.Diff
	if bns == ns && bmodel == model {
		d, err = c.Diff(ctx, va.Ref(), vb.Version)
	} else {
		d, err = c.DiffWith(ctx, va.Ref(), vb.Ref())
	}
	if err != nil {
		return explainAuth(err)
	}
	if fl.output == "json" {
		return writeJSON(a.stdout, d)
	}
	printDiff(a.stdout, d)
	return nil
}

// shortSHA is the first 12 hex digits of a sha256.
func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// jsonText is a JSON value on one line, "-" for none (the API's null:
// absent on that side).
func jsonText(raw json.RawMessage) string {
	if raw == nil || string(raw) == "null" {
		return "-"
	}
	return string(raw)
}

// printDiff writes a diff as text: one line per difference.
func printDiff(w io.Writer, d client.Diff) {
	head := func(side string, v api.Version) {
		digest := v.Digest
		if digest == "" {
			digest = "(no artifacts)"
		}
		fmt.Fprintf(w, "%s: %s/%s/%s (%s) %s\n", side, v.Namespace, v.Model, v.Version, v.State, digest)
	}
	head("a", d.A)
	head("b", d.B)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nartifacts:")
	for _, x := range d.Artifacts.Added {
		fmt.Fprintf(tw, "+ %s\t%s\tsha256 %s\n", x.Name, humanBytes(x.Size), shortSHA(x.SHA256))
	}
	for _, x := range d.Artifacts.Removed {
		fmt.Fprintf(tw, "- %s\t%s\tsha256 %s\n", x.Name, humanBytes(x.Size), shortSHA(x.SHA256))
	}
	for _, x := range d.Artifacts.Changed {
		fmt.Fprintf(tw, "~ %s\t%s -> %s\tsha256 %s -> %s\n", x.Name, humanBytes(x.ASize), humanBytes(x.BSize), shortSHA(x.ASHA256), shortSHA(x.BSHA256))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "  %d added, %d removed, %d changed, %d unchanged\n",
		len(d.Artifacts.Added), len(d.Artifacts.Removed), len(d.Artifacts.Changed), len(d.Artifacts.Unchanged))
	if d.Description != nil {
		fmt.Fprintf(w, "\ndescription: changed (%d -> %d bytes)\n", len(d.Description.A), len(d.Description.B))
	}
	if len(d.Metadata) > 0 {
		fmt.Fprintln(w, "\nmetadata:")
		for _, m := range d.Metadata {
			fmt.Fprintf(tw, "  %s\t%s\t->\t%s\n", m.Key, jsonText(m.A), jsonText(m.B))
		}
		_ = tw.Flush()
	}
	if len(d.Experiments) > 0 {
		fmt.Fprintln(w, "\nexperiments:\ta\tb")
		state := func(s *string) string {
			if s == nil {
				return "-"
			}
			return *s
		}
		for _, e := range d.Experiments {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Name, state(e.AState), state(e.BState))
			for _, m := range e.Metrics {
				fmt.Fprintf(tw, "    %s\t%s\t%s\n", m.Key, jsonText(m.A), jsonText(m.B))
			}
		}
		_ = tw.Flush()
	}
}
