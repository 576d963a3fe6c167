package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// moduleRoot is the folder of the go.mod of the working directory.
func moduleRoot(ctx context.Context, goTool string) (string, error) {
	out, err := exec.CommandContext(ctx, goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the flymodel module (go env GOMOD is empty)")
	}
	return filepath.Dir(mod), nil
}

// pickBase chooses the folder that holds the run: the temporary folder, the
// user cache folder or the module root, the first that is on a disk (not
// tmpfs or ramfs, where dd and fsync would measure memory).
func pickBase(moduleRoot string) (string, error) {
	candidates := []string{os.TempDir()}
	if d, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, d)
	}
	candidates = append(candidates, moduleRoot)
	var skipped []string
	for _, c := range candidates {
		if err := os.MkdirAll(c, 0o755); err != nil {
			skipped = append(skipped, fmt.Sprintf("%s (%v)", c, err))
			continue
		}
		m, err := mountOf(c)
		if err != nil {
			return "", err
		}
		if inMemory(m.fsType) {
			skipped = append(skipped, fmt.Sprintf("%s (%s)", c, m.fsType))
			continue
		}
		return c, nil
	}
	return "", fmt.Errorf("no folder on a disk among %s: give one with -dir", strings.Join(skipped, ", "))
}

func inMemory(fsType string) bool {
	return fsType == "tmpfs" || fsType == "ramfs"
}

// checkFree refuses to start when the disk cannot hold an artifact per
// round and the dd file, with a margin.
func checkFree(dir string, size int64, runs int) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if need := int64(runs+1)*size + size/10 + 256*mib; free < need {
		return fmt.Errorf("%s has %s free, the run needs about %s", dir, formatSize(free/mib*mib), formatSize(need/mib*mib))
	}
	return nil
}

// buildServer builds cmd/flymodel into work.
func buildServer(ctx context.Context, goTool, root, work string) (string, error) {
	bin := filepath.Join(work, "flymodel")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/flymodel")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/flymodel: %w\n%s", err, out)
	}
	return bin, nil
}

// server is a running `flymodel serve -p 0`.
type server struct {
	cmd     *exec.Cmd
	addr    string // host:port from the "listening" line
	dataDir string
	exited  chan struct{} // closed once the process has exited
	waitErr error         // Wait's result, once exited is closed

	mu   sync.Mutex
	tail []string // the last log lines
}

const logTailLines = 40

// serverEnv is this process's environment without the variables that
// configure flymodel, so the server runs on its defaults, plus extra.
func serverEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FLYMODEL_") || strings.HasPrefix(kv, "DB_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// startServer starts `bin serve -p 0 -b 127.0.0.1` in work/server and
// returns once it logs its address.
func startServer(ctx context.Context, bin, work string, env []string) (*server, error) {
	dir := filepath.Join(work, "server")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "-p", "0", "-b", "127.0.0.1")
	cmd.Dir = dir
	cmd.Env = serverEnv(env)
	// The server must not outlive the benchmark, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	s := &server{cmd: cmd, dataDir: filepath.Join(dir, "flymodel-data"), exited: make(chan struct{})}
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.log(line)
			var entry struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" && entry.Addr != "" {
				select {
				case addr <- entry.Addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	timer := time.NewTimer(2 * time.Minute)
	defer timer.Stop()
	select {
	case s.addr = <-addr:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("the server exited before listening: %v\n%s", s.waitErr, s.logTail())
	case <-timer.C:
		err = errors.New("the server did not log its address within 2 minutes")
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = cmd.Process.Kill()
	<-s.exited
	return nil, fmt.Errorf("%w\n%s", err, s.logTail())
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) log(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tail) == logTailLines {
		s.tail = s.tail[1:]
	}
	s.tail = append(s.tail, line)
}

func (s *server) logTail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, l := range s.tail {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// stop sends SIGINT and waits up to grace for the server to finish, then
// kills it. A server that does not exit cleanly is an error.
func (s *server) stop(grace time.Duration) error {
	select {
	case <-s.exited:
		return fmt.Errorf("the server exited during the run: %v", s.waitErr)
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-s.exited:
		if s.waitErr != nil {
			return fmt.Errorf("the server did not stop cleanly on SIGINT: %w", s.waitErr)
		}
		return nil
	case <-timer.C:
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the server did not stop within %s of SIGINT; killed", grace)
	}
}

// procStatus reads fields of /proc/PID/status in bytes (VmRSS, VmHWM…).
func procStatus(pid int, fields ...string) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	return parseStatus(b, fields...)
}

func parseStatus(b []byte, fields ...string) (map[string]int64, error) {
	out := make(map[string]int64, len(fields))
	for line := range bytes.Lines(b) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		for _, f := range fields {
			if string(name) != f {
				continue
			}
			v := strings.Fields(string(rest)) // "  12345 kB"
			if len(v) != 2 || v[1] != "kB" {
				return nil, fmt.Errorf("/proc status %s: unexpected %q", f, rest)
			}
			n, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc status %s: %w", f, err)
			}
			out[f] = n << 10
		}
	}
	for _, f := range fields {
		if _, ok := out[f]; !ok {
			return nil, fmt.Errorf("/proc status: no %s", f)
		}
	}
	return out, nil
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux 4.0+),
// so the peak measured is the upload's, not the start's.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the user and system time of the process so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

func parseStatCPU(b []byte) (time.Duration, error) {
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("/proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("/proc stat: too few fields")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// selfCPU is this process's user and system time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssSampler reads the server's VmRSS every interval until stopped.
type rssSampler struct {
	done    chan struct{}
	stopped chan struct{}
	max     int64
	samples int
	err     error
}

func sampleRSS(pid int, interval time.Duration) *rssSampler {
	r := &rssSampler{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(r.stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			st, err := procStatus(pid, "VmRSS")
			if err != nil {
				r.err = err
				return
			}
			r.max = max(r.max, st["VmRSS"])
			r.samples++
			select {
			case <-r.done:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// stop ends the sampling and returns the largest VmRSS seen.
func (r *rssSampler) stop() (int64, int, error) {
	close(r.done)
	<-r.stopped
	return r.max, r.samples, r.err
}
