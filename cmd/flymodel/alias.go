package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/client"
)

// aliasFlags are the flags every alias command takes.
type aliasFlags struct {
	server, token string
	output        string
}

func (a *app) newAliasCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alias",
		Short: "Set, delete and list a model's aliases (champion, canary, …)",
		Long: `An alias is a named, movable pointer from a model to one of its versions.
Wherever a version is named (pull, the API's paths, the clients), @ALIAS
names the version the alias points to, and @LIFECYCLE (@test, @qa, @stage,
@prod) the newest version now in that lifecycle. Every move is kept in the
alias's history and audited. An alias protected in the server's
configuration (aliases.protected) needs the rule's role to move or delete,
and its target must be in the rule's lifecycle.

The server comes from --server, FLYMODEL_SERVER or client.server; the
token from --token, FLYMODEL_TOKEN or client.token.`,
		Args: subcommandArgs,
		RunE: requireSubcommand,
	}
	cmd.AddCommand(a.newAliasSetCommand(), a.newAliasDeleteCommand(), a.newAliasListCommand(), a.newAliasHistoryCommand())
	return cmd
}

func (a *app) aliasCommand(use, short, long, example string, nargs int, run func(ctx context.Context, cmd *cobra.Command, c *client.Client, fl aliasFlags, ns, model string, args []string) error) *cobra.Command {
	var fl aliasFlags
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args: cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, model, ok := strings.Cut(args[0], "/")
			if !ok || ns == "" || model == "" || strings.Contains(model, "/") {
				return usageErrorf(cmd, "%q: want NAMESPACE/MODEL", args[0])
			}
			if err := checkOutput(cmd, fl.output); err != nil {
				return err
			}
			c, err := a.serverClient(cmd, fl.server, fl.token, "flymodel-alias")
			if err != nil {
				return err
			}
			return explainAuth(run(cmd.Context(), cmd, c, fl, ns, model, args[1:]))
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.server, "server", "", "flymodel server URL (env FLYMODEL_SERVER, config client.server)")
	f.StringVar(&fl.token, "token", "", "API token (env FLYMODEL_TOKEN, config client.token)")
	f.StringVar(&fl.output, "output", "text", "result format: text or json")
	a.addClientTLSFlags(cmd)
	completeFixed(cmd, "output", outputFormats)
	cmd.ValidArgsFunction = a.completeModelPath
	return cmd
}

func (a *app) newAliasSetCommand() *cobra.Command {
	return a.aliasCommand("set NS/MODEL ALIAS VERSION|@SELECTOR",
		"Point an alias to a version, creating or moving it",
		`Point ALIAS of NS/MODEL to VERSION: a version name, or a selector resolved
now (@prod: the newest version in prod; @canary: the version alias canary
points to). Setting it to the version it points to changes nothing. An
alias's name is a name that is not a lifecycle and does not start with '@'.
With --dry, print what it would point to and change nothing.`,
		`  flymodel alias set canada/llm.sm champion v1.2.0
  flymodel alias set canada/llm.sm canary @stage`,
		3, func(ctx context.Context, cmd *cobra.Command, c *client.Client, fl aliasFlags, ns, model string, args []string) error {
			alias, version := args[0], args[1]
			if a.dry {
				v, err := c.ResolveVersion(ctx, ns, model, version)
				if err != nil {
					return err
				}
				if fl.output == "json" {
					return writeJSON(a.stdout, map[string]any{"dry": true, "alias": alias, "version": v.Version, "model": model, "namespace": ns})
				}
				_, err = fmt.Fprintf(a.stdout, "would point alias %s of %s/%s to %s (dry run: nothing changed)\n", alias, ns, model, v.Version)
				return err
			}
			al, err := c.SetAlias(ctx, ns, model, alias, version)
			if err != nil {
				return err
			}
			if fl.output == "json" {
				return writeJSON(a.stdout, al)
			}
			_, err = fmt.Fprintf(a.stdout, "alias %s of %s/%s points to %s\n", al.Alias, ns, model, al.Version)
			return err
		})
}

func (a *app) newAliasDeleteCommand() *cobra.Command {
	return a.aliasCommand("delete NS/MODEL ALIAS",
		"Remove an alias",
		`Remove ALIAS of NS/MODEL; its history keeps the removal. With --dry, print
what it would remove and change nothing.`,
		`  flymodel alias delete canada/llm.sm canary`,
		2, func(ctx context.Context, cmd *cobra.Command, c *client.Client, fl aliasFlags, ns, model string, args []string) error {
			alias := args[0]
			verb := "deleted"
			if a.dry {
				al, err := c.GetAlias(ctx, ns, model, alias)
				if err != nil {
					return err
				}
				verb = "would delete (dry run: nothing changed)"
				alias = al.Alias + " (" + al.Version + ")"
			} else if err := c.DeleteAlias(ctx, ns, model, alias); err != nil {
				return err
			}
			if fl.output == "json" {
				return writeJSON(a.stdout, map[string]any{"dry": a.dry, "deleted": args[0], "model": model, "namespace": ns})
			}
			_, err := fmt.Fprintf(a.stdout, "%s alias %s of %s/%s\n", verb, alias, ns, model)
			return err
		})
}

func (a *app) newAliasListCommand() *cobra.Command {
	return a.aliasCommand("list NS/MODEL",
		"List a model's aliases",
		`List the aliases of NS/MODEL, by name: the version each points to, when
and by whom it was last set.`,
		`  flymodel alias list canada/llm.sm --output json`,
		1, func(ctx context.Context, cmd *cobra.Command, c *client.Client, fl aliasFlags, ns, model string, _ []string) error {
			list, err := c.ListAliases(ctx, ns, model)
			if err != nil {
				return err
			}
			if fl.output == "json" {
				if list == nil {
					list = []client.Alias{}
				}
				return writeJSON(a.stdout, list)
			}
			return printAliases(a.stdout, list)
		})
}

func (a *app) newAliasHistoryCommand() *cobra.Command {
	return a.aliasCommand("history NS/MODEL ALIAS",
		"Show an alias's moves, newest first",
		`Show every change of ALIAS of NS/MODEL, newest first: from which version to
which, by whom, when ("-" for none: created, or removed).`,
		`  flymodel alias history canada/llm.sm champion`,
		2, func(ctx context.Context, cmd *cobra.Command, c *client.Client, fl aliasFlags, ns, model string, args []string) error {
			all := []client.AliasChange{}
			for opts, more := (client.ListOptions{Page: 1, Size: client.MaxPageSize}), true; more; {
				p, err := c.AliasHistory(ctx, ns, model, args[0], opts)
				if err != nil {
					return err
				}
				all = append(all, p.Data...)
				opts, more = p.Next()
			}
			if fl.output == "json" {
				return writeJSON(a.stdout, all)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "WHEN\tFROM\tTO\tBY")
			or := func(s *string) string {
				if s == nil {
					return "-"
				}
				return *s
			}
			for _, h := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.ChangedAt.Format("2006-01-02 15:04:05Z"), or(h.From), or(h.To), h.Actor)
			}
			return tw.Flush()
		})
}

func printAliases(w io.Writer, list []client.Alias) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no aliases")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ALIAS\tVERSION\tUPDATED\tBY")
	for _, al := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", al.Alias, al.Version, al.UpdatedAt.Format("2006-01-02 15:04:05Z"), al.UpdatedBy)
	}
	return tw.Flush()
}
