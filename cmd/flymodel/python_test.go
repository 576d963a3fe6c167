package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db/dbtest"
)

// pythonTimeout bounds one python3 process of these tests.
const pythonTimeout = 10 * time.Minute

// pythonDatabases is how many fresh PostgreSQL databases the Python suite
// gets: each server it starts takes its own (see python/tests/harness.py).
const pythonDatabases = 8

// TestPythonClient runs the Python client's unittest suites (python/tests)
// against this tree's binary: on the embedded default (SQLite, filesystem),
// on PostgreSQL + S3, and checks that pip installs the package offline.
// python3 missing: skipped, or failed when FLYMODEL_REQUIRE_SERVICES=1.
func TestPythonClient(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		dbtest.SkipOrFail(t, "python3 not found: skipping the Python client's tests")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pyDir := filepath.Join(repo, "python")
	tlsDir := writePythonPKI(t)

	t.Run("sqlite", func(t *testing.T) {
		runPythonSuite(t, python, pyDir,
			"FLYMODEL_PYTEST_TLS_DIR="+tlsDir)
	})

	t.Run("postgres+s3", func(t *testing.T) {
		var b [4]byte
		_, _ = rand.Read(b[:])
		// {server} is replaced by the harness with a name unique to each
		// server it starts (fresh buckets, made by setup-storage).
		storage := s3StorageTOML(t, "py-", hex.EncodeToString(b[:])+"-{server}")
		urls := make([]string, pythonDatabases)
		for i := range urls {
			urls[i] = dbtest.PostgresURL(t)
		}
		runPythonSuite(t, python, pyDir,
			"FLYMODEL_PYTEST_TLS_DIR="+tlsDir,
			"FLYMODEL_PYTEST_DATABASE_URL="+strings.Join(urls, " "),
			"FLYMODEL_PYTEST_STORAGE_TOML="+storage)
	})

	t.Run("install", func(t *testing.T) {
		testPythonInstall(t, python, pyDir)
	})
}

// writePythonPKI writes newTestPKI's CA, server certificate and client
// certificate as the five files the harness reads (FLYMODEL_PYTEST_TLS_DIR).
func writePythonPKI(t *testing.T) string {
	t.Helper()
	p := newTestPKI(t)
	// ca.crt, server.crt and server.key are newTestPKI's own files.
	var certs []*pem.Block
	for _, der := range p.clientCert.Certificate {
		certs = append(certs, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	writePEM(t, p.dir, "client.crt", certs...)
	key, ok := p.clientCert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("newTestPKI's client key is a %T, want *ecdsa.PrivateKey", p.clientCert.PrivateKey)
	}
	writePEM(t, p.dir, "client.key", pkcs8Block(t, key))
	for _, f := range []string{"ca.crt", "server.crt", "server.key", "client.crt", "client.key"} {
		if _, err := os.Stat(filepath.Join(p.dir, f)); err != nil {
			t.Fatalf("TLS material for the Python tests: %v", err)
		}
	}
	return p.dir
}

// pythonEnv is the environment of a python3 process of these tests: the
// test's own without FLYMODEL_ variables (FLYMODEL_TEST_* and
// FLYMODEL_REQUIRE_SERVICES kept), no bytecode written into the tree, plus extra.
func pythonEnv(extra ...string) []string {
	env := cleanEnv()
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FLYMODEL_TEST_") || strings.HasPrefix(kv, dbtest.RequireServicesEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	return append(env, extra...)
}

// pythonCommand is python3 args, stopped with SIGINT (so that the harness's
// atexit stops its servers) when ctx ends, killed 30 s later.
func pythonCommand(ctx context.Context, python, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	return cmd
}

var (
	unittestRan     = regexp.MustCompile(`^Ran (\d+) tests? in `)
	unittestSkipped = regexp.MustCompile(`^(.*) \.\.\. skipped ['"](.*)['"]$`)
)

// runPythonSuite runs python3 -m unittest discover over python/tests with
// the binary of TestMain, its output streamed into the test's log; it fails
// on a non-zero exit (with the last lines) or when no test ran.
func runPythonSuite(t *testing.T, python, pyDir string, extraEnv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pythonTimeout)
	defer cancel()
	env := pythonEnv(append([]string{"FLYMODEL_PYTEST_BINARY=" + binary}, extraEnv...)...)
	// -t python/: the tests are the package "tests", whose __init__.py puts
	// python/ (import flymodel) and python/tests (import harness) on sys.path.
	cmd := pythonCommand(ctx, python, pyDir, env,
		"-m", "unittest", "discover", "-s", filepath.Join(pyDir, "tests"), "-t", pyDir, "-v")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // unittest reports on stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("python3 -m unittest: %v", err)
	}

	var (
		mu      sync.Mutex
		tail    []string
		skipped []string
		ran     = -1
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			t.Log(line)
			mu.Lock()
			tail = append(tail, line)
			if len(tail) > 60 {
				tail = tail[1:]
			}
			if m := unittestSkipped.FindStringSubmatch(line); m != nil {
				skipped = append(skipped, m[1]+": "+m[2])
			}
			if m := unittestRan.FindStringSubmatch(line); m != nil {
				ran, _ = strconv.Atoi(m[1])
			}
			mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	<-done
	err = cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	last := strings.Join(tail, "\n")
	if ctx.Err() != nil {
		t.Fatalf("python3 -m unittest did not finish within %s; last lines:\n%s", pythonTimeout, last)
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		t.Fatalf("python3 -m unittest: exit %d; last lines:\n%s", exitErr.ExitCode(), last)
	case err != nil:
		t.Fatalf("python3 -m unittest: %v", err)
	case ran <= 0:
		t.Fatalf("python3 -m unittest ran no test; last lines:\n%s", last)
	}
	// A service the Python tests need fails them through harness.require when
	// FLYMODEL_REQUIRE_SERVICES=1; what remains skipped (an optional
	// package such as pandas missing) is listed here.
	if len(skipped) > 0 {
		t.Logf("%d of %d Python tests skipped:\n  %s", len(skipped), ran, strings.Join(skipped, "\n  "))
	}
}

var pythonVersionLine = regexp.MustCompile(`(?m)^__version__\s*(?::\s*str\s*)?=\s*["']([^"']+)["']`)

// testPythonInstall installs python/ with pip into a folder, without build
// isolation and with it (the in-tree backend needs nothing from an index),
// and imports it from there.
func testPythonInstall(t *testing.T, python, pyDir string) {
	init, err := os.ReadFile(filepath.Join(pyDir, "flymodel", "__init__.py"))
	if err != nil {
		t.Fatal(err)
	}
	m := pythonVersionLine.FindSubmatch(init)
	if m == nil {
		t.Fatalf("python/flymodel/__init__.py: no __version__ line")
	}
	want := string(m[1])

	// What a build could leave in the tree (and was not there before).
	var junk []string
	for _, f := range []string{"build", "dist", "flymodel.egg-info"} {
		if _, err := os.Stat(filepath.Join(pyDir, f)); err != nil {
			junk = append(junk, f)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), pythonTimeout)
	defer cancel()
	run := func(dir string, env []string, args ...string) (string, error) {
		cmd := pythonCommand(ctx, python, dir, env, args...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(t.TempDir(), pythonEnv(), "-m", "pip", "--version"); err != nil {
		dbtest.SkipOrFail(t, "python3 -m pip not available: skipping the install test ("+strings.TrimSpace(out)+")")
	}

	for _, isolation := range []string{"--no-build-isolation", ""} {
		name := "no build isolation"
		if isolation == "" {
			name = "build isolation"
		}
		t.Run(name, func(t *testing.T) {
			target := t.TempDir()
			args := []string{"-m", "pip", "install", "--no-index", "--no-deps", "--no-compile", "--disable-pip-version-check",
				"--target", target, pyDir}
			if isolation != "" {
				args = append(args[:3], append([]string{isolation}, args[3:]...)...)
			}
			if out, err := run(t.TempDir(), pythonEnv(), args...); err != nil {
				t.Fatalf("pip %s: %v\n%s", strings.Join(args[2:], " "), err, out)
			}
			// Imported from the target folder, not from the tree.
			out, err := run(t.TempDir(), pythonEnv("PYTHONPATH="+target),
				"-c", "import os, flymodel; print(flymodel.__version__); print(os.path.dirname(os.path.abspath(flymodel.__file__)))")
			if err != nil {
				t.Fatalf("import flymodel after pip install: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 2 || lines[0] != want {
				t.Fatalf("flymodel.__version__ after pip install: got %q, want %q", out, want)
			}
			if lines[1] != filepath.Join(target, "flymodel") {
				t.Errorf("flymodel imported from %s, want %s", lines[1], filepath.Join(target, "flymodel"))
			}
			for _, f := range []string{"py.typed", "__init__.py"} {
				if _, err := os.Stat(filepath.Join(target, "flymodel", f)); err != nil {
					t.Errorf("installed package: %v", err)
				}
			}
			dist := filepath.Join(target, "flymodel-"+want+".dist-info")
			for _, f := range []string{"METADATA", "RECORD", "WHEEL"} {
				if _, err := os.Stat(filepath.Join(dist, f)); err != nil {
					t.Errorf("installed metadata: %v", err)
				}
			}
			if meta, err := os.ReadFile(filepath.Join(dist, "METADATA")); err == nil {
				for _, line := range []string{"Name: flymodel", "Version: " + want, "Requires-Python: >=3.9", `Requires-Dist: tqdm; extra == "progress"`} {
					if !strings.Contains(string(meta), line+"\n") {
						t.Errorf("METADATA lacks %q:\n%s", line, meta)
					}
				}
			}
		})
	}
	// Building left nothing in the tree.
	for _, junk := range junk {
		if _, err := os.Stat(filepath.Join(pyDir, junk)); err == nil {
			t.Errorf("pip install left python/%s in the tree", junk)
		}
	}
}
