// Command screenshots writes PNGs of the web UI's pages into docs/screenshots
// (`make screenshots`). It starts a throwaway `flymodel serve` on a temporary
// SQLite registry seeded with `migrate up --test-data multi_region` plus
// generated versions, experiments with metrics and artifacts (through the
// Go client), then opens each page of the table below in headless Chromium
// (internal/browser) and saves a full-page PNG at laptop width, and at
// phone width for the pages that ask for it.
//
//	go run ./internal/cmd/screenshots -flymodel bin/flymodel -out docs/screenshots
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/browser"
)

// page is one screenshot: the path on the server, the file name (without
// .png) and whether a phone-width one is taken too.
type page struct {
	Path  string
	Name  string
	Phone bool
}

// pages is the list of screenshots: the web UI's main pages.
var pages = []page{
	{Path: "/", Name: "home", Phone: true},
	{Path: "/ns/canada", Name: "namespace", Phone: true},
	{Path: "/ns/canada/models/llm.sm", Name: "model", Phone: true},
	{Path: "/ns/canada/models/llm.sm/versions/v1.10.0", Name: "version", Phone: true},
	{Path: "/ns/canada/models/llm.sm/compare?a=v1.9.0&b=v1.10.0", Name: "compare"},
	{Path: "/ns/canada/models/llm.sm/metrics?experiment=eval&metric=accuracy", Name: "metrics", Phone: true},
	{Path: "/ui/audit", Name: "audit"},
	{Path: "/ui/tokens", Name: "tokens"},
	{Path: "/ui/api", Name: "api-reference"},
	{Path: "/ui/signin", Name: "signin"},
}

func main() {
	bin := flag.String("flymodel", "bin/flymodel", "the flymodel binary to serve with")
	out := flag.String("out", "docs/screenshots", "folder to write the PNGs into")
	versions := flag.Int("versions", 12, "generated versions per model")
	flag.Parse()

	p := browser.NewProgram()
	defer p.Close()
	if err := run(p, *bin, *out, *versions); err != nil {
		p.Fatalf("screenshots: %v", err)
	}
	if p.Failed() {
		p.Close()
		os.Exit(1)
	}
}

func run(p *browser.Program, bin, out string, versions int) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "flymodel-screenshots-")
	if err != nil {
		return err
	}
	p.Cleanup(func() { _ = os.RemoveAll(dir) })

	db := "sqlite:" + filepath.Join(dir, "flymodel-data", "flymodel.db")
	migrate := exec.Command(bin, "migrate", "up", "--test-data", "multi_region", "-d", db)
	migrate.Dir = dir
	if b, err := migrate.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate up: %v\n%s", err, b)
	}

	base, err := serve(p, bin, dir, db)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := client.New(base)
	if err != nil {
		return err
	}
	if err := seed(ctx, c, versions); err != nil {
		return fmt.Errorf("seed: %w", err)
	}

	// The top of a long page (the audit log, the API reference) is what
	// a reader of the README needs, and keeps the PNGs small.
	laptop, phone := browser.Laptop, browser.Phone
	laptop.MaxHeight, phone.MaxHeight = 1800, 2400
	b := browser.Start(p)
	tab := b.NewTab(p, base)
	for _, pg := range pages {
		tab.Navigate(pg.Path)
		shot := filepath.Join(out, pg.Name+".png")
		tab.Screenshot(shot, laptop)
		fmt.Println(shot)
		if pg.Phone {
			shot = filepath.Join(out, pg.Name+"-phone.png")
			tab.Screenshot(shot, phone)
			fmt.Println(shot)
		}
	}
	for _, e := range tab.Events() {
		// What a test would fail on is worth knowing here too.
		p.Logf("screenshots: the browser recorded %s", e)
	}
	return nil
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// serve starts `flymodel serve` on a free port in dir, stopped in p's
// cleanup, and returns its base URL once it listens.
func serve(p *browser.Program, bin, dir, db string) (string, error) {
	cmd := exec.Command(bin, "serve", "-p", "0", "-b", "127.0.0.1", "--log-format", "text", "-d", db)
	cmd.Dir = dir
	// A throwaway server on loopback: anonymous requests may do anything,
	// so seeding needs no token.
	cmd.Env = append(os.Environ(), "FLYMODEL_AUTH_ANONYMOUS=admin")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	p.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	var log bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			} else if log.Len() < 1<<16 {
				log.WriteString(sc.Text() + "\n")
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		close(found)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			return "", fmt.Errorf("flymodel serve exited:\n%s", log.String())
		}
		return "http://" + addr, nil
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("flymodel serve did not listen within 30s")
	}
}

// seed adds, to each model of multi_region, generated versions (some
// promoted), experiments with metrics (passed, failed, running) and
// artifacts on versions and experiments.
func seed(ctx context.Context, c *client.Client, n int) error {
	models, err := c.ListModels(ctx, "canada", client.ModelFilter{}, client.ListOptions{})
	if err != nil {
		return err
	}
	for mi, m := range models.Data {
		for i := 1; i <= n; i++ {
			v, err := c.CreateVersion(ctx, "canada", m.Name, client.NewVersion{
				Version:     fmt.Sprintf("v1.%d.0", i),
				Description: fmt.Sprintf("## %s v1.%d.0\n\nRetrained on the %d-th data snapshot.", m.Name, i, i),
			})
			if err != nil {
				return fmt.Errorf("version v1.%d.0 of %s: %w", i, m.Name, err)
			}
			ref := v.Ref()
			if _, _, err := c.UploadArtifact(ctx, ref.Owner(), "weights/model.safetensors",
				strings.NewReader(strings.Repeat(fmt.Sprintf("%s %d ", m.Name, i), 512)), client.UploadOptions{}); err != nil {
				return fmt.Errorf("artifact of %s: %w", ref, err)
			}
			if _, _, err := c.UploadArtifact(ctx, ref.Owner(), "config.json",
				strings.NewReader(fmt.Sprintf(`{"layers": %d, "heads": %d}`, 12+mi*12, 8+i%4)), client.UploadOptions{}); err != nil {
				return fmt.Errorf("artifact of %s: %w", ref, err)
			}
			for ei, name := range []string{"eval", "load"} {
				if _, err := c.CreateExperiment(ctx, ref, name, map[string]any{"dataset": "holdout-" + name, "seed": i}); err != nil {
					return fmt.Errorf("experiment %s of %s: %w", name, ref, err)
				}
				if i == n && ei == 1 {
					continue // one left created
				}
				if _, err := c.StartExperiment(ctx, ref, name); err != nil {
					return fmt.Errorf("start %s of %s: %w", name, ref, err)
				}
				if i == n-1 && ei == 1 {
					continue // one left running
				}
				passed := (i+ei)%4 != 0
				if _, err := c.FinishExperiment(ctx, ref, name, passed, client.Result{
					Duration: time.Duration(30+i*7+ei*90) * time.Second,
					Metrics:  map[string]any{"accuracy": 0.8 + float64(i)/100, "loss": 0.5 - float64(i)/50, "p99_ms": 40 + i*3},
				}); err != nil {
					return fmt.Errorf("finish %s of %s: %w", name, ref, err)
				}
				if _, _, err := c.UploadArtifact(ctx, ref.ExperimentOwner(name), "report.txt",
					strings.NewReader(fmt.Sprintf("%s of %s: passed=%v\n", name, ref, passed)), client.UploadOptions{}); err != nil {
					return fmt.Errorf("report of %s %s: %w", ref, name, err)
				}
			}
			// A lifecycle board worth looking at: the newest versions
			// climb, one to prod (through qa and stage), two to stage,
			// three to qa.
			var path []string
			switch {
			case i == n-4:
				path = []string{"qa", "stage", "prod"}
			case i == n-3 || i == n-5:
				path = []string{"qa", "stage"}
			case i >= n-8 && i < n-5:
				path = []string{"qa"}
			}
			for _, to := range path {
				if _, err := c.SetVersionState(ctx, ref, to); err != nil {
					return fmt.Errorf("move %s to %s: %w", ref, to, err)
				}
			}
		}
	}
	return nil
}
