package main

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/client"
)

type searchFlags struct {
	server, token, output, orderBy string
	limit                          int64
}

var searchResources = []string{"versions", "models", "experiments"}

func (a *app) newSearchCommand() *cobra.Command {
	var fl searchFlags
	cmd := &cobra.Command{
		Use:   "search versions|models|experiments [FILTER]",
		Short: "Find versions, models or experiments with the filter language",
		Long: `Search every namespace the token reads for the versions, models or
experiments a filter selects (no filter: all of them), newest first or in
--order-by, following the server's cursors until --limit rows (default:
all). The filter language is the README's "Search: the filter language":
comparisons = != < <= > >=, LIKE, ILIKE, IN (…), IS NULL, AND, OR, NOT and
parentheses over each resource's fields, e.g.

  state = "prod" AND experiments.eval.metrics.accuracy >= 0.9

A filter that does not parse is refused with where and what was expected.
With --output json, one JSON object per line (as the API has them).

The server comes from --server, FLYMODEL_SERVER or client.server; the
token from --token, FLYMODEL_TOKEN or client.token.`,
		Example: `  flymodel search versions 'state = "prod" AND experiments.eval.metrics.accuracy >= 0.9'
  flymodel search experiments 'metrics.accuracy >= 0.9' --order-by 'metrics.accuracy desc' --limit 10
  flymodel search models 'tags = "nlp"' --output json`,
		Args: cobra.RangeArgs(1, 2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return searchResources, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.search(cmd.Context(), cmd, fl, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.server, "server", "", "flymodel server URL (env FLYMODEL_SERVER, config client.server)")
	f.StringVar(&fl.token, "token", "", "API token (env FLYMODEL_TOKEN, config client.token)")
	f.StringVar(&fl.orderBy, "order-by", "", `order: a field and asc or desc (default "created_at desc"), e.g. "name", "metrics.accuracy desc"`)
	f.Int64Var(&fl.limit, "limit", 0, "print at most this many rows (default: all)")
	f.StringVar(&fl.output, "output", "text", "text (a table) or json (one object per line)")
	a.addClientTLSFlags(cmd)
	completeFixed(cmd, "output", outputFormats)
	return cmd
}

func (a *app) search(ctx context.Context, cmd *cobra.Command, fl searchFlags, args []string) error {
	resource := args[0]
	filter := ""
	if len(args) == 2 {
		filter = args[1]
	}
	if err := checkOutput(cmd, fl.output); err != nil {
		return err
	}
	if fl.limit < 0 {
		return usageErrorf(cmd, "--limit %d: want a positive number (or 0 for all)", fl.limit)
	}
	c, err := a.serverClient(cmd, fl.server, fl.token, "flymodel-search")
	if err != nil {
		return err
	}
	opts := client.SearchOptions{OrderBy: fl.orderBy, Limit: client.MaxPageSize}
	if fl.limit > 0 {
		opts.Limit = min(fl.limit, client.MaxPageSize)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	w := searchWriter{json: fl.output == "json", enc: json.NewEncoder(a.stdout), tw: tw, limit: fl.limit}
	switch resource {
	case "versions":
		w.header("NAMESPACE\tMODEL\tVERSION\tSTATE\tCREATED\tTAGS")
		err = each(w, c.SearchVersions(ctx, filter, opts), func(v client.Version) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", v.Namespace, v.Model, v.Version, v.State, v.CreatedAt.Format(time.RFC3339), dash(strings.Join(v.Tags, ",")))
		})
	case "models":
		w.header("NAMESPACE\tMODEL\tCREATED\tTAGS")
		err = each(w, c.SearchModels(ctx, filter, opts), func(m client.Model) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s", m.Namespace, m.Name, m.CreatedAt.Format(time.RFC3339), dash(strings.Join(m.Tags, ",")))
		})
	case "experiments":
		w.header("NAMESPACE\tMODEL\tVERSION\tEXPERIMENT\tSTATE\tMETRICS")
		err = each(w, c.SearchExperiments(ctx, filter, opts), func(e client.Experiment) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", e.Namespace, e.Model, e.Version, e.Name, e.State, metricsText(e.Metrics))
		})
	default:
		return usageErrorf(cmd, "%q: want versions, models or experiments", resource)
	}
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	return explainAuth(err)
}

// searchWriter prints search rows as a table or as JSON lines.
type searchWriter struct {
	json  bool
	enc   *json.Encoder
	tw    *tabwriter.Writer
	limit int64
	head  string // the table's header, printed once the first page came
}

func (w *searchWriter) header(h string) { w.head = h }

// each prints the rows of seq, up to the limit, flushing the table a page
// at a time.
func each[T any](w searchWriter, seq iter.Seq2[T, error], line func(T) string) error {
	n := int64(0)
	for item, err := range seq {
		if err != nil {
			return err
		}
		if n == 0 && !w.json {
			fmt.Fprintln(w.tw, w.head)
		}
		if w.json {
			if err := w.enc.Encode(item); err != nil {
				return err
			}
		} else {
			fmt.Fprintln(w.tw, line(item))
		}
		n++
		if w.limit > 0 && n >= w.limit {
			break
		}
		if n%client.MaxPageSize == 0 {
			if err := w.tw.Flush(); err != nil {
				return err
			}
		}
	}
	if n == 0 && !w.json {
		fmt.Fprintln(w.tw, w.head) // no match: the header alone
	}
	return nil
}

// metricsText is an experiment's metrics as key=value, by key.
func metricsText(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v, _ := json.Marshal(m[k])
		parts[i] = k + "=" + string(v)
	}
	return strings.Join(parts, " ")
}
