package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/client"
)

// pullFlags are the command line of pull.
type pullFlags struct {
	server, token string
	parallel      int
	output        string
}

func (a *app) newPullCommand() *cobra.Command {
	var fl pullFlags
	cmd := &cobra.Command{
		Use:   "pull NS/MODEL VERSION|@LIFECYCLE|@ALIAS [DIR]",
		Short: "Download every file of a version, verified",
		Long: `Download every artifact of a version (its own, not its experiments') from a
server into DIR (default: ./MODEL-VERSION), one file per artifact under its
name, several at once. The artifacts listed are checked against the
version's digest, and each file's sha256 and size before it is renamed into
place, so a file is either the artifact or as it was. Files already there
with the right sha256 are left alone (a rerun downloads nothing), files with
other bytes are replaced, other files in DIR are not touched. Artifacts in
S3 are fetched straight from the bucket when the server offers a redirect.

@LIFECYCLE (@test, @qa, @stage, @prod) is the newest version now in that
lifecycle: the one created last; @ALIAS (@champion) the version the
model's alias points to (flymodel alias). The server resolves either, once.
With --dry, print what would be downloaded and write nothing.

The server comes from --server, FLYMODEL_SERVER or client.server; the
token from --token, FLYMODEL_TOKEN or client.token.`,
		Example: `  flymodel pull canada/llm.sm v0.1.0
  flymodel pull canada/llm.sm @prod ./models/llm.sm --output json
  flymodel pull canada/llm.sm @champion`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.pull(cmd.Context(), cmd, fl, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.server, "server", "", "flymodel server URL (env FLYMODEL_SERVER, config client.server)")
	f.StringVar(&fl.token, "token", "", "API token (env FLYMODEL_TOKEN, config client.token)")
	f.IntVar(&fl.parallel, "parallel", 4, "files downloaded at once")
	f.StringVar(&fl.output, "output", "text", "result format: text or json")
	a.addClientTLSFlags(cmd)
	completeFixed(cmd, "output", outputFormats)
	cmd.ValidArgsFunction = a.completeModelPath
	return cmd
}

func (a *app) pull(ctx context.Context, cmd *cobra.Command, fl pullFlags, args []string) error {
	ns, model, ok := strings.Cut(args[0], "/")
	if !ok || ns == "" || model == "" || strings.Contains(model, "/") {
		return usageErrorf(cmd, "%q: want NAMESPACE/MODEL", args[0])
	}
	if err := checkOutput(cmd, fl.output); err != nil {
		return err
	}
	if fl.parallel < 1 {
		return usageErrorf(cmd, "--parallel %d: at least 1", fl.parallel)
	}
	c, err := a.serverClient(cmd, fl.server, fl.token, "flymodel-pull")
	if err != nil {
		return err
	}
	version, err := c.ResolveVersion(ctx, ns, model, args[1])
	if err != nil {
		return explainAuth(err)
	}
	dir := model + "-" + version.Version
	if len(args) == 3 {
		dir = args[2]
	}
	opts := client.PullOptions{Parallel: fl.parallel, Dry: a.dry}
	var bar *pullBar
	if fl.output == "text" && !a.dry && isTerminal(a.stderr) {
		bar = &pullBar{w: a.stderr}
		opts.Progress = bar.draw
	}
	res, err := c.Pull(ctx, version.Ref(), dir, opts)
	bar.clear()
	if fl.output == "json" {
		out := struct {
			client.PullResult
			Error string `json:"error,omitempty"`
		}{PullResult: res}
		if err != nil {
			out.Error = err.Error()
		}
		if encErr := writeJSON(a.stdout, out); encErr != nil {
			return encErr
		}
	} else if err == nil {
		printPull(a.stdout, res)
	}
	return explainAuth(err)
}

// serverClient is the client of the server a command talks to: --server,
// else FLYMODEL_SERVER or client.server; the token from --token, else
// FLYMODEL_TOKEN or client.token.
func (a *app) serverClient(cmd *cobra.Command, server, token, agent string) (*client.Client, error) {
	if !cmd.Flags().Changed("server") {
		server = a.cfg.Client.Server
	}
	if !cmd.Flags().Changed("token") {
		token = a.cfg.Client.Token
	}
	if server == "" {
		return nil, usageErrorf(cmd, "%s talks to a server: give --server, FLYMODEL_SERVER or client.server", cmd.Name())
	}
	opts, err := a.clientTLSOptions(cmd, a.cfg.Client.TLS)
	if err != nil {
		return nil, err
	}
	opts = append(opts, client.WithUserAgent(agent+"/"+buildVersion()))
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	c, err := client.New(server, opts...)
	if err != nil {
		return nil, usageErrorf(cmd, "--server: %v", err)
	}
	return c, nil
}

// explainAuth adds where a token comes from to a 401.
func explainAuth(err error) error {
	if errors.Is(err, client.ErrUnauthorized) {
		return fmt.Errorf("%w (give a token with --token, FLYMODEL_TOKEN or client.token)", err)
	}
	return err
}

// printPull writes one line per file and a summary.
func printPull(w io.Writer, res client.PullResult) {
	for _, f := range res.Files {
		line := fmt.Sprintf("%-9s %s", f.Action, f.Name)
		if f.Action != client.PullUnchanged {
			line += fmt.Sprintf(" (%s)", humanBytes(f.Size))
		}
		fmt.Fprintln(w, line)
	}
	v := res.Version
	digest := v.Digest
	if digest == "" {
		digest = "no artifacts"
	}
	verb := "downloaded"
	if res.Dry {
		verb = "to download (dry run: nothing was written)"
	}
	fmt.Fprintf(w, "%s/%s/%s (%s, %s): %d %s, %d unchanged in %s\n",
		v.Namespace, v.Model, v.Version, v.State, digest, res.Downloaded, verb, res.Unchanged, res.Dir)
}

// pullBar draws the progress of a whole pull on one terminal line, at
// most every 100 ms. A nil *pullBar draws nothing.
type pullBar struct {
	w    io.Writer
	mu   sync.Mutex
	last time.Time
	used bool
}

func (b *pullBar) draw(done, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.last) < 100*time.Millisecond && done < total || total <= 0 {
		return
	}
	b.last, b.used = time.Now(), true
	pct := float64(done) / float64(total) * 100
	bar := strings.Repeat("#", int(pct/5)) + strings.Repeat(".", 20-int(pct/5))
	fmt.Fprintf(b.w, "\rpull [%s] %5.1f%% %s / %s", bar, pct, humanBytes(done), humanBytes(total))
}

// clear erases the bar's line, if it drew one.
func (b *pullBar) clear() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
