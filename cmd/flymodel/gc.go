package main

import "github.com/spf13/cobra"

func (a *app) newGCCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Remove unreferenced blobs and stale temporary files",
		Long: `Remove the blobs that no record references and stale temporary files,
sparing recent ones so that an upload in flight is never collected.
With --dry, list what would be removed.`,
		Args: cobra.NoArgs,
		RunE: notImplemented,
	}
}
