package main

import "github.com/spf13/cobra"

func (a *app) newRetentionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "retention",
		Short: "Apply retention now (the server also runs it on a schedule)",
		Long: `Remove the model versions and experiment runs that are older than the
retention.<lifecycle> limits of the configuration, with their artifacts.
With --dry, list what would be removed.`,
		Args: cobra.NoArgs,
		RunE: notImplemented,
	}
}
