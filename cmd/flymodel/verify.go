package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) newVerifyCommand() *cobra.Command {
	var namespace, output string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-hash stored blobs and report missing or altered ones",
		Long: `Re-read every referenced blob, hash it, and report the ones that are missing
or whose sha256 differs from the recorded one. Exits 1 if any is. An
artifact recorded in a store that the configuration here does not have is
reported "unconfigured" (store X is not configured here), not missing, and
also exits 1: it could not be checked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usageErrorf(cmd, "--output %q: want text or json", output)
			}
			l, err := a.openRegistry(cmd.Context(), openOptions{schema: schemaAsIs, blobs: blobsOpen})
			if err != nil {
				return err
			}
			defer l.Close()
			if l.empty() {
				return a.noRegistry()
			}
			var progress func(int64)
			if output == "text" && isTerminal(a.stderr) {
				var (
					mu   sync.Mutex
					last time.Time
				)
				progress = func(n int64) {
					mu.Lock()
					defer mu.Unlock()
					if time.Since(last) > 100*time.Millisecond {
						last = time.Now()
						fmt.Fprintf(a.stderr, "\rverified %s", humanBytes(n))
					}
				}
			}
			rep, err := l.reg.Verify(cmd.Context(), namespace, progress)
			if progress != nil {
				fmt.Fprint(a.stderr, "\r\033[K")
			}
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					fmt.Fprintf(a.stdout, "%-8s %s (%s %s): %s\n", p.Problem, p.Artifact, p.Store, p.Key, p.Detail)
				}
				fmt.Fprintf(a.stdout, "checked %d artifacts (%s): %d missing or altered\n", rep.Checked, humanBytes(rep.Bytes), len(rep.Problems)-rep.Count("unconfigured"))
			}
			bad, unconfigured := len(rep.Problems)-rep.Count("unconfigured"), rep.Count("unconfigured")
			switch {
			case bad > 0:
				return fmt.Errorf("%d of %d artifacts are missing or altered", bad, rep.Checked)
			case unconfigured > 0:
				return fmt.Errorf("%d of %d artifacts are in stores not configured here (%s): run verify with their configuration",
					unconfigured, rep.Checked, strings.Join(rep.Unconfigured, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&namespace, "namespace", "", "verify only this namespace")
	cmd.Flags().StringVar(&output, "output", "text", "result format: text or json")
	completeFixed(cmd, "output", outputFormats)
	return cmd
}
