package main

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/config"
)

// outputFormats are the values of every --output flag.
var outputFormats = []string{"text", "json"}

// checkOutput is the usage error of an --output value not in outputFormats.
func checkOutput(cmd *cobra.Command, output string) error {
	if !slices.Contains(outputFormats, output) {
		return usageErrorf(cmd, "--output %q: want %s", output, strings.Join(outputFormats, " or "))
	}
	return nil
}

// writeJSON writes v as --output json does: indented, one document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// completeFixed completes flag with values (and no file names).
func completeFixed(cmd *cobra.Command, flag string, values []string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// completionTimeout bounds the requests a completion makes: a shell waits
// for it.
const completionTimeout = 2 * time.Second

// completionClient is the client of the configured server (--server,
// FLYMODEL_SERVER, client.server) for completing names, or nil: completion
// is best effort and says nothing when it cannot reach one.
func (a *app) completionClient(cmd *cobra.Command) *client.Client {
	// Completion runs without the configuration loaded (see needsConfig).
	cfg, err := config.Load(config.LoadOptions{File: a.configFile, Environ: a.environ, Warn: func(string) {}})
	if err != nil {
		return nil
	}
	server, token := cfg.Client.Server, cfg.Client.Token
	if f := cmd.Flags().Lookup("server"); f != nil && f.Changed {
		server = f.Value.String()
	}
	if f := cmd.Flags().Lookup("token"); f != nil && f.Changed {
		token = f.Value.String()
	}
	if server == "" {
		return nil
	}
	opts, err := a.clientTLSOptions(cmd, cfg.Client.TLS)
	if err != nil {
		return nil
	}
	opts = append(opts, client.WithUserAgent("flymodel-completion/"+buildVersion()))
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	c, err := client.New(server, opts...)
	if err != nil {
		return nil
	}
	return c
}

// completeNamespaces completes --namespace from the configured server.
func (a *app) completeNamespaces(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	c := a.completionClient(cmd)
	if c == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	p, err := c.ListNamespaces(ctx, client.ListOptions{Size: client.MaxPageSize})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, ns := range p.Data {
		if strings.HasPrefix(ns.Name, prefix) {
			names = append(names, ns.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeModels completes --model with the models of --namespace on the
// configured server.
func (a *app) completeModels(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	ns, _ := cmd.Flags().GetString("namespace")
	c := a.completionClient(cmd)
	if c == nil || ns == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	p, err := c.ListModels(ctx, ns, client.ModelFilter{Name: prefix}, client.ListOptions{Size: client.MaxPageSize})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, m := range p.Data {
		if strings.HasPrefix(m.Name, prefix) {
			names = append(names, m.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeModelPath completes pull's first argument, NS/MODEL: namespaces
// (with their "/") until one is chosen, then its models; the version, then
// the folder, are left to the shell.
func (a *app) completeModelPath(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	ns, model, ok := strings.Cut(prefix, "/")
	if !ok {
		names, directive := a.completeNamespaces(cmd, args, prefix)
		for i := range names {
			names[i] += "/"
		}
		return names, directive | cobra.ShellCompDirectiveNoSpace
	}
	c := a.completionClient(cmd)
	if c == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	p, err := c.ListModels(ctx, ns, client.ModelFilter{Name: model}, client.ListOptions{Size: client.MaxPageSize})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var paths []string
	for _, m := range p.Data {
		if strings.HasPrefix(m.Name, model) {
			paths = append(paths, ns+"/"+m.Name)
		}
	}
	return paths, cobra.ShellCompDirectiveNoFileComp
}
