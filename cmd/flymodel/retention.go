package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/registry"
)

func (a *app) newRetentionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "retention",
		Short: "Apply retention now (the server also runs it on a schedule)",
		Long: `Remove the model versions and experiment runs that are older than the
retention.<lifecycle> limits of the configuration, with their artifacts and
the blobs no one else uses. A version's age in a lifecycle counts from when
it entered it; a run's from its creation. With --dry, list what would be
removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules := retentionRules(a.cfg.Retention)
			if len(rules) == 0 {
				fmt.Fprintln(a.stdout, "no retention configured: everything is kept")
				return nil
			}
			l, err := a.openRegistry(cmd.Context(), openOptions{schema: schemaAsIs, blobs: blobsOpen})
			if err != nil {
				return err
			}
			defer l.Close()
			if l.empty() {
				return a.noRegistry()
			}
			rep, err := l.reg.Retention(cmd.Context(), rules, a.dry)
			verb := "removed"
			if a.dry {
				verb = "would remove"
			}
			for _, v := range rep.Versions {
				fmt.Fprintf(a.stdout, "%s version %s\n", verb, v)
			}
			for _, e := range rep.Experiments {
				fmt.Fprintf(a.stdout, "%s experiment %s\n", verb, e)
			}
			fmt.Fprintf(a.stdout, "%s %d versions, %d experiments, %d blobs\n", verb, len(rep.Versions), len(rep.Experiments), rep.Blobs)
			return err
		},
	}
}

// retentionRules turns the retention configuration into the registry's
// rules, leaving out lifecycles kept forever.
func retentionRules(cfg map[string]config.Retention) map[string]registry.RetentionRule {
	rules := map[string]registry.RetentionRule{}
	for lifecycle, r := range cfg {
		if r.Models != nil || r.Runs != nil {
			rules[lifecycle] = registry.RetentionRule{Models: r.Models, Runs: r.Runs}
		}
	}
	return rules
}
