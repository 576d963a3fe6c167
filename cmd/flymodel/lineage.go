package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/client"
)

// lineageFlags are the command line of lineage.
type lineageFlags struct {
	server, token string
	output        string
	depth         int
}

func (a *app) newLineageCommand() *cobra.Command {
	var fl lineageFlags
	cmd := &cobra.Command{
		Use:   "lineage NS/MODEL VERSION",
		Short: "Show the versions a version was made from, and those made from it",
		Long: `Show the lineage graph of a version (GET …/versions/VERSION/lineage): its
ancestors (parents, their parents, …) and descendants, --depth links each
way (1 to 10), in the namespaces the token may read (the others are
counted as hidden). VERSION may be @LIFECYCLE.

The server comes from --server, FLYMODEL_SERVER or client.server; the
token from --token, FLYMODEL_TOKEN or client.token.`,
		Example: `  flymodel lineage canada/llm.sm v2
  flymodel lineage canada/llm.sm @prod --depth 10 --output json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.lineage(cmd.Context(), cmd, fl, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.server, "server", "", "flymodel server URL (env FLYMODEL_SERVER, config client.server)")
	f.StringVar(&fl.token, "token", "", "API token (env FLYMODEL_TOKEN, config client.token)")
	f.StringVar(&fl.output, "output", "text", "result format: text or json (the API's graph)")
	f.IntVar(&fl.depth, "depth", 3, "links to walk each way, 1 to 10")
	a.addClientTLSFlags(cmd)
	completeFixed(cmd, "output", outputFormats)
	cmd.ValidArgsFunction = a.completeModelPath
	return cmd
}

func (a *app) lineage(ctx context.Context, cmd *cobra.Command, fl lineageFlags, args []string) error {
	ns, model, err := modelArg(cmd, args[0])
	if err != nil {
		return err
	}
	if err := checkOutput(cmd, fl.output); err != nil {
		return err
	}
	if fl.depth < 1 || fl.depth > 10 {
		return usageErrorf(cmd, "--depth %d: want 1 to 10", fl.depth)
	}
	c, err := a.serverClient(cmd, fl.server, fl.token, "flymodel-lineage")
	if err != nil {
		return err
	}
	v, err := c.ResolveVersion(ctx, ns, model, args[1])
	if err != nil {
		return explainAuth(err)
	}
	l, err := c.Lineage(ctx, v.Ref(), fl.depth)
	if err != nil {
		return explainAuth(err)
	}
	if fl.output == "json" {
		return writeJSON(a.stdout, l)
	}
	printLineage(a.stdout, l)
	return nil
}

// printLineage writes the graph as text: each version with its depth
// (negative: an ancestor), then each link.
func printLineage(w io.Writer, l client.Lineage) {
	for _, n := range l.Nodes {
		depth := strconv.FormatInt(n.Depth, 10)
		if n.Depth > 0 {
			depth = "+" + depth
		}
		fmt.Fprintf(w, "%3s  %s (%s)\n", depth, n.Path, n.State)
	}
	for _, e := range l.Edges {
		fmt.Fprintf(w, "%s <- %s (%s)\n", e.Parent, e.Child, e.Relation)
	}
	if l.Hidden > 0 {
		fmt.Fprintf(w, "%d linked version(s) hidden: in namespaces this token may not read\n", l.Hidden)
	}
}
