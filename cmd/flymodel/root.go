package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "flymodel",
		Short: "flymodel keeps every version of every model, its experiments and their files",
		Long: `flymodel is a model version registry: every version of every model, the
experiments run against each version, and the artifacts both produce.
One binary is the server (serve), its admin commands and the client (upsert).

With no configuration, flymodel keeps everything in ./flymodel-data.`,
		Version:           buildVersion(),
		Args:              subcommandArgs,
		RunE:              a.runBare,
		PersistentPreRunE: a.loadConfig,
		SilenceErrors:     true, // exitCode prints them, as one line
		SilenceUsage:      true, // a runtime error is not a reason to show usage
	}
	root.SetVersionTemplate("flymodel {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)

	pf := root.PersistentFlags()
	pf.StringVarP(&a.configFile, "config", "c", "",
		"configuration file (default: config/flymodel.{toml,yaml,yml,json,json5}, else ./flymodel.toml)")
	pf.BoolVar(&a.dry, "dry", false, "print what a mutating command would change and change nothing")
	pf.StringVarP(&a.databaseURL, "database-url", "d", "", databaseURLHelp)
	root.Flags().BoolP("version", "V", false, "print the version and exit")

	root.AddCommand(
		a.newServeCommand(),
		a.newMigrateCommand(),
		a.newSetupStorageCommand(),
		a.newUpsertCommand(),
		a.newPullCommand(),
		a.newAliasCommand(),
		a.newRetentionCommand(),
		a.newGCCommand(),
		a.newVerifyCommand(),
		a.newTokenCommand(),
		a.newAuditCommand(),
		a.newDiffCommand(),
		a.newLineageCommand(),
		a.newSearchCommand(),
	)
	return root
}

// runBare is bare flymodel: a command line without a command. It prints
// the help on stderr and exits with the usage code (--help exits 0).
func (a *app) runBare(cmd *cobra.Command, _ []string) error {
	cmd.SetOut(a.stderr)
	_ = cmd.Help()
	return usageErrorf(cmd, "no command given")
}

// subcommandArgs is the Args of commands that only group subcommands: any
// argument is an unknown command.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, applied only on its own path
	}
	if suggestions := cmd.SuggestionsFor(args[0]); len(suggestions) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(suggestions, " or "))
	}
	return fmt.Errorf("%s", msg)
}

// requireSubcommand is the RunE of a command group called without one of
// its commands.
func requireSubcommand(cmd *cobra.Command, _ []string) error {
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return usageErrorf(cmd, "%q needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))
}
