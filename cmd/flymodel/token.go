package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/registry"
)

func (a *app) newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Long: `Create, list and revoke the API tokens that requests carry as
"Authorization: Bearer <token>". These commands work on the database
directly (-d/--database-url, or the configuration), so the first admin
token can be made before anyone can call the API; an unscoped admin token
can then manage tokens over /api/v1/tokens too.`,
		Args: subcommandArgs,
		RunE: requireSubcommand,
	}

	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token; its secret is printed once",
		Long: `Create a token and print its secret on standard output, once: only a
hash of it is stored. read may GET; write may also create, upload and move
states; admin may also delete and manage buckets, tags and namespaces.
--namespace limits the token to those namespaces (repeatable); without it
the token applies to all, and an unscoped admin may also create namespaces
and manage tokens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			name, _ := f.GetString("name")
			role, _ := f.GetString("role")
			namespaces, _ := f.GetStringArray("namespace")
			expires, _ := f.GetString("expires")
			in := registry.NewToken{Name: name, Role: role, Namespaces: namespaces, ExpiresIn: expires}
			if a.dry {
				scope := "every namespace"
				if len(namespaces) > 0 {
					scope = "namespaces " + strings.Join(namespaces, ", ")
				}
				fmt.Fprintf(a.stdout, "would create token %s: %s in %s\n", name, role, scope)
				return nil
			}
			reg, closeReg, _, err := a.openRegistry(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer closeReg()
			t, secret, err := reg.CreateToken(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, secret)
			expiry := "never expires"
			if t.ExpiresAt != nil {
				expiry = "expires " + t.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(a.stderr, "created token %s (%s in %s, %s); the secret above is shown only now\n", t.Name, t.Role, scopeOf(t), expiry)
			return nil
		},
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, closeReg, empty, err := a.openRegistry(cmd.Context(), false)
			if err != nil {
				return err
			}
			if empty {
				fmt.Fprintln(a.stdout, "no tokens: the database has no schema yet")
				return nil
			}
			defer closeReg()
			tokens, err := reg.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tNAMESPACES\tSTATUS\tCREATED\tEXPIRES\tCREATED BY")
			for _, t := range tokens {
				expires := "never"
				if t.ExpiresAt != nil {
					expires = t.ExpiresAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, scopeOf(t), t.Status,
					t.CreatedAt.Format(time.RFC3339), expires, t.CreatedBy)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token",
		Long:  "Revoke the live token called NAME: requests carrying it are refused (401) from now on.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.dry {
				fmt.Fprintf(a.stdout, "would revoke token %s\n", args[0])
				return nil
			}
			reg, closeReg, empty, err := a.openRegistry(cmd.Context(), false)
			if err != nil {
				return err
			}
			if empty {
				return fmt.Errorf("token %s not found: the database has no schema yet", args[0])
			}
			defer closeReg()
			t, err := reg.RevokeToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "revoked token %s\n", t.Name)
			return nil
		},
	}

	cmd.AddCommand(create, list, revoke)
	return cmd
}

// scopeOf describes the namespaces a token reaches.
func scopeOf(t registry.Token) string {
	if len(t.Namespaces) == 0 {
		return "*"
	}
	return strings.Join(t.Namespaces, ",")
}
