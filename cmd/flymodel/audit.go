package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/audit"
)

func (a *app) newAuditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Print the audit log",
		Long: `Print the audit log: every mutation with its time, actor, action, target,
outcome and request id, oldest first. Requests refused for want of a role
are listed with outcome "denied". Reads the database directly. With
--output json, one JSON object per line (as GET /api/v1/audit has them).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			var f audit.Filter
			f.Namespace, _ = fl.GetString("namespace")
			f.Actor, _ = fl.GetString("actor")
			f.Action, _ = fl.GetString("action")
			f.Outcome, _ = fl.GetString("outcome")
			if f.Outcome != "" && f.Outcome != audit.OK && f.Outcome != audit.Denied {
				return usageErrorf(cmd, "--outcome %q: want ok or denied", f.Outcome)
			}
			output, _ := fl.GetString("output")
			if output != "text" && output != "json" {
				return usageErrorf(cmd, "--output %q: want text or json", output)
			}
			limit, _ := fl.GetInt64("limit")
			if limit < 0 {
				return usageErrorf(cmd, "--limit %d: want a positive number (or 0 for all)", limit)
			}
			if since, _ := fl.GetString("since"); since != "" {
				at, err := parseSince(since, time.Now())
				if err != nil {
					return usageErrorf(cmd, "--since: %v", err)
				}
				f.Since = at
			}
			l, err := a.openRegistry(cmd.Context(), openOptions{schema: schemaAsIs, blobs: blobsNone})
			if err != nil {
				return err
			}
			defer l.Close()
			if l.empty() {
				return a.noRegistry()
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			enc := json.NewEncoder(a.stdout)
			if output == "text" {
				fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tOUTCOME\tREQUEST ID\tDETAIL")
			}
			printed := int64(0)
			for {
				f.Limit = audit.MaxLimit
				if limit > 0 {
					f.Limit = min(f.Limit, limit-printed)
				}
				items, next, err := l.reg.Audit(cmd.Context(), f)
				if err != nil {
					return err
				}
				for _, it := range items {
					if output == "json" {
						if err := enc.Encode(it); err != nil {
							return err
						}
						continue
					}
					outcome := string(it.Outcome)
					if it.Repeats > 0 { // the same refusal again, counted on this record
						outcome += fmt.Sprintf("×%d", it.Repeats+1)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.At.Format(time.RFC3339Nano), it.Actor, it.Action,
						it.Target, outcome, dash(it.RequestID), dash(string(it.Detail)))
				}
				// A page at a time: a long log is never held in memory.
				if err := tw.Flush(); err != nil {
					return err
				}
				printed += int64(len(items))
				if next == 0 || (limit > 0 && printed >= limit) {
					break
				}
				f.After = next
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.String("namespace", "", "only records about this namespace")
	f.String("actor", "", "only records of this actor (token name, oidc:<subject>, anonymous, local:<user>)")
	f.String("action", "", "only records of this action (e.g. version.state, artifact.create)")
	f.String("outcome", "", "only records with this outcome: ok or denied")
	f.String("since", "", "only records from this time on (RFC 3339) or this long ago (e.g. 24h)")
	f.Int64("limit", 0, "print at most this many records (default: all)")
	f.String("output", "text", "text (a table) or json (one object per line)")
	completeFixed(cmd, "output", outputFormats)
	completeFixed(cmd, "outcome", []string{string(audit.OK), string(audit.Denied)})
	return cmd
}

// parseSince reads --since: an RFC 3339 time, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return at, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time or a duration such as 24h, not %q", s)
	}
	return now.Add(-d), nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
