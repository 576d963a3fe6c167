package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/registry"
)

func (a *app) newGCCommand() *cobra.Command {
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove unreferenced blobs and stale temporary files",
		Long: `Remove the blobs that no record references (with their objects), objects
that no record knows (left by a crash between the blob write and the
metadata), and stale temporary files, sparing everything younger than
--grace so that an upload in flight is never collected. With --dry, list
what would be removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grace < time.Minute {
				return usageErrorf(cmd, "--grace %s: at least 1m, longer than an upload can stall", grace)
			}
			l, err := a.openRegistry(cmd.Context(), openOptions{schema: schemaAsIs, blobs: blobsOpen})
			if err != nil {
				return err
			}
			defer l.Close()
			if l.empty() {
				return a.noRegistry()
			}
			rep, err := l.reg.GC(cmd.Context(), registry.GCOptions{Grace: grace, Dry: a.dry})
			verb := "removed"
			if a.dry {
				verb = "would remove"
			}
			for _, b := range rep.Blobs {
				fmt.Fprintf(a.stdout, "%s unreferenced blob %s\n", verb, b)
			}
			for _, o := range rep.Orphans {
				fmt.Fprintf(a.stdout, "%s orphaned object %s\n", verb, o)
			}
			fmt.Fprintf(a.stdout, "%s %d blobs, %d orphaned objects (%s), %d temporary files\n",
				verb, len(rep.Blobs), len(rep.Orphans), humanBytes(rep.Bytes), rep.TempFiles)
			if err == nil {
				fmt.Fprintf(a.stdout, "spared %d unreferenced blobs and %d unrecorded objects younger than --grace %s (an upload may still be committing them; a later gc collects them)\n",
					rep.SparedBlobs, rep.SparedObjects, grace)
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", time.Hour, "spare blobs, objects and temporary files younger than this")
	return cmd
}
