package main

import "github.com/spf13/cobra"

func (a *app) newSetupStorageCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "setup-storage",
		Short: "Create and verify the configured buckets (versioning on) and record them",
		Long: `For every configured storage location: create the bucket when missing,
turn versioning on, prove write, read and delete with a probe object, and
record the bucket so that uploads route to it. With --dry, only report.`,
		Args: cobra.NoArgs,
		RunE: notImplemented,
	}
}
