package main

import "github.com/spf13/cobra"

func (a *app) newAuditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Print the audit log",
		Long: `Print the audit log: every mutation with its time, actor, action, target,
outcome and request id, oldest first.`,
		Args: cobra.NoArgs,
		RunE: notImplemented,
	}
	f := cmd.Flags()
	f.String("namespace", "", "only records about this namespace")
	f.String("actor", "", "only records of this actor (token name, or anonymous)")
	f.String("since", "", "only records from this time on (RFC 3339) or this long ago (e.g. 24h)")
	return cmd
}
