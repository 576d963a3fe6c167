package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
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
	cmd.AddCommand(a.newTokenCreateCommand(), a.newTokenListCommand(), a.newTokenRevokeCommand())
	return cmd
}

func (a *app) newTokenCreateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a token; its secret is printed once",
		Long: `Create a token and print its secret on standard output, once: only a
hash of it is stored. read may GET; write may also create, upload and move
states; admin may also delete and manage buckets, tags and namespaces.
--namespace limits the token to those namespaces (repeatable; they must
exist, and are held by id: a renamed namespace stays the token's, a deleted
one goes from it). Without it, or with --namespace '*', the token applies to
every namespace, and an unscoped admin may also create namespaces and
manage tokens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			name, _ := f.GetString("name")
			role, _ := f.GetString("role")
			namespaces, _ := f.GetStringArray("namespace")
			if len(namespaces) == 0 {
				// Today's default, written out: the registry takes no
				// empty list for every namespace.
				namespaces = []string{auth.AllNamespaces}
			}
			expires, _ := f.GetString("expires")
			in := registry.NewToken{Name: name, Role: role, Namespaces: namespaces, ExpiresIn: expires}
			// The flags are checked first, for a dry run too: it must
			// refuse what the real run would refuse.
			if err := checkNewToken(cmd, in); err != nil {
				return err
			}
			if a.dry {
				return tokenFlagError(cmd, a.dryCreateToken(cmd.Context(), in))
			}
			return tokenFlagError(cmd, a.createToken(cmd.Context(), in))
		},
	}
	f := cmd.Flags()
	f.String("name", "", "token name (required)")
	f.String("role", "read", "role: read, write or admin")
	f.StringArray("namespace", nil, "namespace the token is limited to; repeatable; '*' = every namespace (the default)")
	f.String("expires", "", "lifetime, e.g. 90d or 12h (default: never)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(api.Roles, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) dryCreateToken(ctx context.Context, in registry.NewToken) error {
	if live, err := a.liveToken(ctx, in.Name); err != nil {
		return err
	} else if live != nil {
		return tokenExists(in.Name)
	}
	scope := "every namespace"
	if !slices.Equal(in.Namespaces, []string{auth.AllNamespaces}) {
		scope = "namespaces " + strings.Join(in.Namespaces, ", ")
		if err := a.namespacesExist(ctx, in.Namespaces); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "would create token %s: %s in %s\n", in.Name, in.Role, scope)
	return nil
}

// namespacesExist refuses, as CreateToken would, a namespace that does
// not exist; it changes nothing, not even by creating the database.
func (a *app) namespacesExist(ctx context.Context, names []string) error {
	l, err := a.openRegistry(ctx, openOptions{schema: schemaAsIs, blobs: blobsNone})
	if err != nil {
		return err
	}
	defer l.Close()
	for _, name := range names {
		var err error
		if !l.empty() {
			_, err = l.reg.GetNamespace(ctx, name)
		}
		if nf := (*registry.NotFoundError)(nil); l.empty() || errors.As(err, &nf) {
			return &registry.ValidationError{Fields: []registry.FieldError{{Field: "namespaces", Message: fmt.Sprintf("no namespace is called %q", name)}}}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *app) createToken(ctx context.Context, in registry.NewToken) error {
	l, err := a.openRegistry(ctx, openOptions{schema: schemaMigrate, blobs: blobsNone})
	if err != nil {
		return err
	}
	defer l.Close()
	t, secret, err := l.reg.CreateToken(ctx, in)
	if ce := (*registry.ConflictError)(nil); errors.As(err, &ce) && ce.Kind == "token" {
		return tokenExists(in.Name)
	}
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
}

func (a *app) newTokenListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.openRegistry(cmd.Context(), openOptions{schema: schemaAsIs, blobs: blobsNone})
			if err != nil {
				return err
			}
			defer l.Close()
			if l.empty() {
				return a.noRegistry()
			}
			tokens, err := l.reg.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			return printTokens(a.stdout, tokens)
		},
	}
}

// printTokens writes tokens as a table.
func printTokens(w io.Writer, tokens []registry.Token) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
}

func (a *app) newTokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token",
		Long:  "Revoke the live token called NAME: requests carrying it are refused (401) from now on.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.dry {
				return a.dryRevokeToken(cmd.Context(), args[0])
			}
			return a.revokeToken(cmd.Context(), args[0])
		},
	}
}

func (a *app) dryRevokeToken(ctx context.Context, name string) error {
	live, err := a.liveToken(ctx, name)
	if err != nil {
		return err
	}
	if live == nil {
		return noLiveToken(name)
	}
	fmt.Fprintf(a.stdout, "would revoke token %s (%s in %s)\n", name, live.Role, scopeOf(*live))
	return nil
}

func (a *app) revokeToken(ctx context.Context, name string) error {
	l, err := a.openRegistry(ctx, openOptions{schema: schemaAsIs, blobs: blobsNone})
	if err != nil {
		return err
	}
	defer l.Close()
	if l.empty() {
		return noLiveToken(name)
	}
	t, err := l.reg.RevokeToken(ctx, name)
	if nf := (*registry.NotFoundError)(nil); errors.As(err, &nf) {
		return noLiveToken(name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "revoked token %s\n", t.Name)
	return nil
}

// checkNewToken refuses the flags of a token the registry would refuse,
// as a usage error that names the first bad flag.
func checkNewToken(cmd *cobra.Command, in registry.NewToken) error {
	return tokenFlagError(cmd, in.Validate())
}

// tokenFlagError is err, or the usage error naming the first bad flag when
// err is a *registry.ValidationError.
func tokenFlagError(cmd *cobra.Command, err error) error {
	var invalid *registry.ValidationError
	if errors.As(err, &invalid) {
		f := invalid.Fields[0]
		return usageErrorf(cmd, "%s: %s", tokenFlags[f.Field], f.Message)
	}
	return err
}

// tokenFlags names the flag of each field of registry.NewToken.
var tokenFlags = map[string]string{"name": "--name", "role": "--role", "namespaces": "--namespace", "expires_in": "--expires"}

func tokenExists(name string) error {
	return &registry.ConflictError{Kind: "token", Path: name,
		Reason: "a token of that name exists and is not revoked; revoke it first (flymodel token revoke " + name + ") or choose another name"}
}

func noLiveToken(name string) error {
	return fmt.Errorf("no live token named %q (see flymodel token list)", name)
}

// liveToken returns the token called name that is not revoked, or nil;
// it changes nothing, not even by creating the database.
func (a *app) liveToken(ctx context.Context, name string) (*registry.Token, error) {
	l, err := a.openRegistry(ctx, openOptions{schema: schemaAsIs, blobs: blobsNone})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	if l.empty() {
		return nil, nil
	}
	tokens, err := l.reg.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(tokens, func(t registry.Token) bool { return t.Name == name && t.RevokedAt == nil })
	if i < 0 {
		return nil, nil
	}
	return &tokens[i], nil
}

// scopeOf describes the namespaces a token reaches: "*" for every one,
// "-" for none (its namespaces were deleted).
func scopeOf(t registry.Token) string {
	if len(t.Namespaces) == 0 {
		return "-"
	}
	return strings.Join(t.Namespaces, ",")
}
