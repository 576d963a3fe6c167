package main

import "github.com/spf13/cobra"

func (a *app) newVerifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-hash stored blobs and report missing or altered ones",
		Long: `Re-read every referenced blob, hash it, and report the ones that are missing
or whose sha256 differs from the recorded one. Exits non-zero if any is.`,
		Args: cobra.NoArgs,
		RunE: notImplemented,
	}
	cmd.Flags().String("namespace", "", "verify only this namespace")
	return cmd
}
