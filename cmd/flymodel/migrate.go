package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/redact"
)

// migrateFlags are the flags of migrate up and migrate down.
type migrateFlags struct {
	testData string
	steps    int
	yes      bool
}

func (a *app) newMigrateCommand() *cobra.Command {
	var flags migrateFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or roll back the database schema and test data",
		Long: `Apply (up) or roll back (down) the database schema, and load or remove a set
of test data. With --dry, print the plan and change nothing.`,
		Args: subcommandArgs,
		RunE: requireSubcommand,
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply pending migrations, then load --test-data",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.migrate(cmd, flags, false)
		},
	}
	down := &cobra.Command{
		Use:   "down",
		Short: "Remove --test-data, or roll back migrations",
		Long: `With --test-data, remove that test data set and roll back no migrations
unless --steps is given. Without it, roll back --steps migrations (default 1).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.migrate(cmd, flags, true)
		},
	}
	addMigrateFlags(up, &flags, "number of migrations to apply (default: all pending)")
	addMigrateFlags(down, &flags, "number of migrations to roll back, 0 for all (default: 1, or none with --test-data)")
	down.Flags().BoolVar(&flags.yes, "yes", false, "roll back every migration (--steps 0) without asking: it deletes all the data")
	cmd.AddCommand(up, down)
	return cmd
}

// addMigrateFlags binds the flags of migrate up or down to flags; only one
// of the two commands runs, so they can share the variables.
func addMigrateFlags(cmd *cobra.Command, flags *migrateFlags, stepsHelp string) {
	f := cmd.Flags()
	f.StringVar(&flags.testData, "test-data", "",
		"test data set to load (up) or remove (down): "+strings.Join(db.FixtureSets, " or "))
	f.IntVar(&flags.steps, "steps", 0, stepsHelp)
	_ = cmd.RegisterFlagCompletionFunc("test-data", cobra.FixedCompletions(db.FixtureSets, cobra.ShellCompDirectiveNoFileComp))
}

// migratePlan is what one migrate command will do.
type migratePlan struct {
	down     bool
	url      string
	testData string
	// migrate is false when down only removes test data.
	migrate bool
	steps   int // 0 = all
}

func (a *app) migrate(cmd *cobra.Command, flags migrateFlags, down bool) error {
	plan := migratePlan{down: down, url: a.cfg.DatabaseURL(), testData: flags.testData, migrate: true, steps: flags.steps}
	if plan.testData != "" && !slices.Contains(db.FixtureSets, plan.testData) {
		return usageErrorf(cmd, "unknown --test-data %q: want one of %s", plan.testData, strings.Join(db.FixtureSets, ", "))
	}
	if plan.steps < 0 {
		return usageErrorf(cmd, "--steps %d: want 0 (all) or more", plan.steps)
	}
	if down && !cmd.Flags().Changed("steps") {
		if plan.testData != "" {
			plan.migrate = false // removing test data must not also drop the schema
		} else {
			plan.steps = 1
		}
	}

	ctx := cmd.Context()
	if a.dry {
		return printMigratePlan(ctx, a.stdout, plan)
	}
	if down && plan.migrate && plan.steps == 0 && !flags.yes {
		if err := a.confirmWipe(cmd, plan.url); err != nil {
			return err
		}
	}

	database, err := openDatabase(ctx, plan.url)
	if err != nil {
		return err
	}
	defer database.Close()
	return runMigratePlan(ctx, a.stdout, database, plan)
}

// confirmWipe asks before migrate down --steps 0 drops every table: on a
// terminal the user types "yes"; otherwise --yes is required.
func (a *app) confirmWipe(cmd *cobra.Command, url string) error {
	if !isTerminal(a.stdout) || !isReader(a.stdin) {
		return usageErrorf(cmd, "--steps 0 rolls back every migration and deletes all the data of %s: give --yes to do it", redact.URL(url))
	}
	fmt.Fprintf(a.stdout, "This rolls back every migration and deletes all the data of %s.\nType yes to go on: ", redact.URL(url))
	answer, _ := bufio.NewReader(a.stdin).ReadString('\n')
	if strings.TrimSpace(answer) != "yes" {
		return fmt.Errorf("not confirmed: nothing was changed")
	}
	return nil
}

// isReader reports whether r is a terminal to read an answer from.
func isReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(f)
}

func runMigratePlan(ctx context.Context, out io.Writer, database db.DB, plan migratePlan) error {
	if plan.down && plan.testData != "" {
		if err := db.UnloadFixtures(ctx, database, plan.testData); err != nil {
			return fmt.Errorf("remove test data %s: %w", plan.testData, err)
		}
		fmt.Fprintf(out, "removed test data %s\n", plan.testData)
	}

	if plan.migrate {
		results, err := database.Migrate(ctx, db.MigrateOptions{Down: plan.down, Steps: plan.steps})
		for _, r := range results {
			verb := "applied"
			if r.Direction == "down" {
				verb = "rolled back"
			}
			fmt.Fprintf(out, "%s migration %d (%s) in %s\n", verb, r.Version, path.Base(r.Source), roundDuration(r.Duration))
		}
		if err != nil {
			return fmt.Errorf("migrate %s: %w", direction(plan.down), err)
		}
	}

	if !plan.down && plan.testData != "" {
		if err := db.LoadFixtures(ctx, database, plan.testData); err != nil {
			return fmt.Errorf("load test data %s: %w", plan.testData, err)
		}
		fmt.Fprintf(out, "loaded test data %s\n", plan.testData)
	}

	status, err := database.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("read migration status: %w", err)
	}
	fmt.Fprintf(out, "schema at version %d (%d pending)\n", status.Current, status.Pending)
	return nil
}

// printMigratePlan prints what plan would do, from the migration status
// alone, and changes nothing: not even creating a missing SQLite file.
func printMigratePlan(ctx context.Context, out io.Writer, plan migratePlan) error {
	status, exists, err := peekMigrationStatus(ctx, plan.url)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "dry run: nothing will change\n")
	if !exists {
		fmt.Fprintf(out, "would create the database %s\n", plan.url)
	}
	fmt.Fprintf(out, "schema at version %d (%d pending)\n", status.Current, status.Pending)

	if plan.down {
		if plan.testData != "" {
			fmt.Fprintf(out, "would remove test data %s\n", plan.testData)
		}
		if plan.migrate {
			switch {
			case status.Current == 0:
				fmt.Fprintf(out, "no migration to roll back\n")
			case plan.steps == 0:
				fmt.Fprintf(out, "would roll back every applied migration, from version %d\n", status.Current)
			default:
				fmt.Fprintf(out, "would roll back %d %s, from version %d\n", plan.steps, plural(plan.steps, "migration", "migrations"), status.Current)
			}
		}
		return nil
	}

	n := status.Pending
	if plan.steps > 0 && plan.steps < n {
		n = plan.steps
	}
	if n == 0 {
		fmt.Fprintf(out, "no migration to apply\n")
	} else {
		fmt.Fprintf(out, "would apply %d of %d pending %s (latest version %d)\n", n, status.Pending, plural(status.Pending, "migration", "migrations"), status.Latest)
	}
	if plan.testData != "" {
		fmt.Fprintf(out, "would load test data %s\n", plan.testData)
	}
	return nil
}

// peekMigrationStatus reads the migration status of the database at url.
// A SQLite file that does not exist yet is not created: the status is read
// from a throwaway copy in a temporary folder instead, and exists is false.
func peekMigrationStatus(ctx context.Context, url string) (status db.MigrationStatus, exists bool, err error) {
	exists = true
	if file, ok := sqliteFile(url); ok {
		if _, statErr := os.Stat(file); errors.Is(statErr, fs.ErrNotExist) {
			exists = false
			tmp, err := os.MkdirTemp("", "flymodel-dry-*")
			if err != nil {
				return status, exists, err
			}
			defer os.RemoveAll(tmp)
			url = "sqlite:" + filepath.Join(tmp, "flymodel.db")
		}
	}
	database, err := openDatabase(ctx, url)
	if err != nil {
		return status, exists, err
	}
	defer database.Close()
	status, err = database.MigrationStatus(ctx)
	if err != nil {
		return status, exists, fmt.Errorf("read migration status: %w", err)
	}
	return status, exists, nil
}

func direction(down bool) string {
	if down {
		return "down"
	}
	return "up"
}

// roundDuration keeps durations readable: milliseconds, or microseconds
// for the fast ones.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}
