package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/redact"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// without it, the module version of the build is used.
var version string

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	// exitConflict: the registry holds something the inputs contradict
	// (upsert: other bytes under an artifact name, a sealed version, …).
	exitConflict = 3
)

// app is what every command shares: the process's streams and environment,
// the global flags, and the configuration loaded from them.
type app struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string

	configFile  string // -c/--config
	dry         bool   // --dry
	databaseURL string // -d/--database-url (see applyDatabaseURL)
	// clientTLS holds --ca-file, --cert-file and --key-file of the client
	// commands (see clientTLSOptions).
	clientTLS config.ClientTLS

	// cfg is loaded once, before any command runs (see loadConfig).
	cfg *config.Config
}

// localActor names the user running a command in the audit log.
func localActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return api.ActorLocalPrefix + name
}

// run executes the command line args (without the program name) in the
// environment environ ("KEY=value" entries) and returns what went wrong,
// for the caller to print with exitCode.
func run(ctx context.Context, args []string, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if args == nil {
		args = []string{} // cobra would read os.Args for nil
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ}
	root := a.newRootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Create cobra's lazily added commands now, so that markUsageErrors
	// reaches them too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(args...)
	markUsageErrors(root)
	// Changes a command makes on its own (upsert without a server,
	// retention, token) are recorded as the local user's.
	ctx = audit.WithCaller(ctx, audit.Caller{Actor: localActor()})
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && isCobraUsageError(err) {
		err = &usageError{err: err, commandPath: cmd.CommandPath()}
	}
	return err
}

// loadConfig is the root's PersistentPreRunE: it loads the configuration
// once for whichever command runs, with -d/--database-url over it. Commands
// then apply their own flags that were given explicitly on top of it.
func (a *app) loadConfig(cmd *cobra.Command, _ []string) error {
	if !needsConfig(cmd) {
		return nil
	}
	cfg, err := config.Load(config.LoadOptions{File: a.configFile, Environ: a.environ,
		Warn: func(msg string) { fmt.Fprintf(a.stderr, "flymodel: warning: %s\n", msg) }})
	if err != nil {
		return err
	}
	if len(cfg.Shadowed) > 0 {
		fmt.Fprintf(a.stderr, "flymodel: warning: read %s; %s also exists and is not read (-c FILE chooses)\n",
			cfg.Source, strings.Join(cfg.Shadowed, ", "))
	}
	a.cfg = cfg
	return a.applyDatabaseURL(cmd)
}

// needsConfig is false for the commands that only describe the CLI itself.
func needsConfig(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case "completion", "help", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return false
		}
	}
	return true
}

// buildVersion is the version -V prints.
func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// usageError is a command line that does not make sense: an unknown command
// or flag, a bad argument or flag value. It exits with exitUsage and a hint
// to the command's help.
type usageError struct {
	err         error
	commandPath string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), commandPath: cmd.CommandPath()}
}

// markUsageErrors makes the argument and flag errors of cmd and its
// subcommands usage errors.
func markUsageErrors(cmd *cobra.Command) {
	if validate := cmd.Args; validate != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := validate(c, args); err != nil {
				return &usageError{err: err, commandPath: c.CommandPath()}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markUsageErrors(sub)
	}
}

// flagError is every command's FlagErrorFunc (cobra inherits it from root).
func flagError(cmd *cobra.Command, err error) error {
	return &usageError{err: err, commandPath: cmd.CommandPath()}
}

// exitCode prints err, if any, to stderr as one line, "flymodel: …" (plus a
// hint to the help for a usage error), and returns the process exit code.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	// The Go client's errors carry the prefix already. Any URL in it (a
	// database URL, a server, an endpoint) shows no credentials.
	fmt.Fprintf(stderr, "flymodel: %s\n", oneLine(redact.URL(strings.TrimPrefix(err.Error(), "flymodel: "))))
	var ue *usageError
	if errors.As(err, &ue) {
		path := ue.commandPath
		if path == "" {
			path = "flymodel"
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", path)
		return exitUsage
	}
	return classExitCode(api.ClassOf(err))
}

// isCobraUsageError recognises the usage errors cobra makes where no hook
// can mark them (required flags, flag groups).
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"required flag(s)", "if any flags in the group", "at least one of the flags in the group", "none of the others can be"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// oneLine joins the lines of a multi-line message (errors.Join, say), so
// that an error is always one line on stderr.
func oneLine(msg string) string {
	lines := strings.FieldsFunc(strings.TrimSpace(msg), func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
