package main

import "github.com/spf13/cobra"

func (a *app) newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Args:  subcommandArgs,
		RunE:  requireSubcommand,
	}

	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token; its secret is printed once",
		Args:  cobra.NoArgs,
		RunE:  notImplemented,
	}
	f := create.Flags()
	f.String("name", "", "token name (required)")
	f.String("role", "read", "role: read, write or admin")
	f.StringArray("namespace", nil, "namespace the token is limited to; repeatable (default: all)")
	f.String("expires", "", "lifetime, e.g. 90d or 12h (default: never)")
	_ = create.MarkFlagRequired("name")
	_ = create.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{"read", "write", "admin"}, cobra.ShellCompDirectiveNoFileComp))

	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE:  notImplemented,
	}
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token",
		Args:  cobra.ExactArgs(1),
		RunE:  notImplemented,
	}

	cmd.AddCommand(create, list, revoke)
	return cmd
}
