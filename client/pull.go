package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/flymodel/flymodel/api"
)

// ResolveVersion returns the version that selector names in a model: a
// version name, "@<lifecycle>" (such as "@prod"; "@staging" is "@stage")
// for the newest version now in that lifecycle — the one created last, as
// the server lists versions (newest first); a version promoted into the
// lifecycle later than a newer one was does not displace it — or
// "@<alias>" (such as "@champion") for the version the model's alias
// points to. The server resolves it (the selector is the version segment
// of the path), so there is one resolution; one that names nothing is
// ErrNotFound, its detail saying what is missing ("no version of ns/model
// is in prod", "no alias champion on ns/model").
func (c *Client) ResolveVersion(ctx context.Context, ns, model, selector string) (Version, error) {
	return c.GetVersion(ctx, VersionRef{Namespace: ns, Model: model, Version: selector})
}

// PullOptions tune Pull.
type PullOptions struct {
	// Parallel is how many files download at once; 0 means 4.
	Parallel int
	// Dry plans the pull (which files would be downloaded, replaced or
	// left alone) and writes nothing, not even dir.
	Dry bool
	// Progress, when set, is called as file bytes arrive with the bytes
	// received so far and the total to receive (the files to download),
	// one call at a time. It is never called after Pull returns.
	Progress func(done, total int64)
}

// Pull actions: what Pull did to each file.
const (
	// PullDownload: the file was missing and was downloaded.
	PullDownload = "download"
	// PullReplace: a file with other bytes was in the way; it was
	// replaced by the artifact.
	PullReplace = "replace"
	// PullUnchanged: the file was there with the artifact's sha256.
	PullUnchanged = "unchanged"
	// PullFailed: the pull failed before the file was written (its own
	// download failed, or another's stopped the pull first); what was
	// there is untouched.
	PullFailed = "failed"
)

// PulledFile is one artifact of a pull.
type PulledFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Action is PullDownload, PullReplace or PullUnchanged (what a dry run
	// would do), or PullFailed.
	Action string `json:"action"`
}

// PullResult is what Pull did.
type PullResult struct {
	Version Version `json:"version"`
	// Dir is the folder the files are in.
	Dir string `json:"dir"`
	// Files are the version's artifacts, by name.
	Files []PulledFile `json:"files"`
	// Downloaded counts the files downloaded or replaced (that a dry run
	// would), Bytes their bytes; Failed those a failed pull did not write.
	Downloaded int   `json:"downloaded"`
	Unchanged  int   `json:"unchanged"`
	Bytes      int64 `json:"bytes"`
	Failed     int   `json:"failed,omitempty"`
	Dry        bool  `json:"dry,omitempty"`
}

// Pull downloads every artifact of version v (a name or a selector such
// as "@prod" or "@champion", resolved once; its own artifacts, not its
// experiments') into dir, one file per artifact under the artifact's name
// (a name with "/" is a path below dir), several at once.
//
// The listing is checked against the version's digest first; each file's
// bytes are verified (sha256 and size) against the listing, whether they
// come through the server or straight from the store (see
// WithDirectDownloads). Each file is written atomically: to a temporary
// file in its folder, synced, then renamed over the name, so a file is
// either the artifact or as it was. A file already present with the
// artifact's sha256 is left alone; one with other bytes is replaced. Files
// in dir that are not artifacts of the version are left alone. An artifact
// name that would leave dir is refused before anything is written (dir is
// opened as an os.Root, so no symbolic link inside it leads out either).
//
// The first failure stops the pull (the files already in place stay);
// verification failures are an *IntegrityError (ErrIntegrity). The result
// lists every file with what was done to it, as far as the pull got.
func (c *Client) Pull(ctx context.Context, v VersionRef, dir string, opts PullOptions) (PullResult, error) {
	res := PullResult{Dir: dir, Dry: opts.Dry}
	version, err := c.GetVersion(ctx, v)
	if err != nil {
		return res, err
	}
	// A selector (@prod, @champion) is resolved once: the artifacts are
	// those of the version it named then.
	v = version.Ref()
	res.Version = version
	arts, err := c.AllArtifacts(ctx, v.Owner())
	if err != nil {
		return res, err
	}
	if err := checkPullNames(arts); err != nil {
		return res, err
	}
	if got := versionDigest(arts); got != version.Digest {
		return res, &IntegrityError{Artifact: v.path(), Expected: version.Digest, Actual: got, Size: -1,
			Reason: fmt.Sprintf("the %d artifacts listed make up digest %q, the version's is %q (did it change during the pull? try again)", len(arts), got, version.Digest)}
	}
	res.Files = make([]PulledFile, len(arts))
	for i, a := range arts {
		res.Files[i] = PulledFile{Name: a.Name, Size: a.Size, SHA256: a.SHA256}
	}

	root, err := openPullDir(dir, opts.Dry)
	if err != nil {
		return res, err
	}
	if root != nil {
		defer root.Close()
	}
	// What is there already.
	var total int64
	for i, a := range arts {
		action, err := localState(ctx, root, a)
		if err != nil {
			return res, fmt.Errorf("flymodel client: pull %s: %w", a.Name, err)
		}
		res.Files[i].Action = action
		if action != PullUnchanged {
			total += a.Size
		}
	}
	todo := 0
	for _, f := range res.Files {
		if f.Action == PullUnchanged {
			res.Unchanged++
		} else {
			todo++
		}
	}
	if opts.Dry {
		res.Downloaded, res.Bytes = todo, total
		return res, nil
	}
	if todo == 0 {
		return res, nil
	}

	progress := newPullProgress(opts.Progress, total)
	defer progress.stop()
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		slots = make(chan struct{}, parallel)
		mu    sync.Mutex
		first error
		done  = make([]bool, len(arts))
	)
	for i, a := range arts {
		if res.Files[i].Action == PullUnchanged {
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := c.pullFile(ctx, root, v.Owner(), a, progress)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				cancel(err)
				return
			}
			done[i] = true
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = context.Cause(ctx)
	}
	for i, f := range res.Files {
		switch {
		case f.Action == PullUnchanged:
		case done[i]:
			res.Downloaded++
			res.Bytes += f.Size
		default:
			res.Files[i].Action = PullFailed
			res.Failed++
		}
	}
	return res, first
}

// pullFile downloads a into root under its name, atomically.
func (c *Client) pullFile(ctx context.Context, root *os.Root, o Owner, a Artifact, progress *pullProgress) (err error) {
	name := filepath.FromSlash(a.Name)
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("flymodel client: pull %s: %w", a.Name, err)
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+"."+hex.EncodeToString(rnd[:])+".part")
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("flymodel client: pull %s: %w", a.Name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			_ = root.Remove(tmp)
		}
	}()
	info, err := c.DownloadArtifact(ctx, o, a.Name, progress.writer(f))
	if err != nil {
		return err
	}
	if info.SHA256 != a.SHA256 || info.Size != a.Size {
		return &IntegrityError{Artifact: o.artifactPath(a.Name), Expected: a.SHA256, Actual: info.SHA256, Received: info.Size, Size: a.Size,
			Reason: fmt.Sprintf("received %d bytes hashing to %s; the artifact's record says %d bytes, %s", info.Size, info.SHA256, a.Size, a.SHA256)}
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("flymodel client: pull %s: %w", a.Name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("flymodel client: pull %s: %w", a.Name, err)
	}
	if err = root.Rename(tmp, name); err != nil {
		return fmt.Errorf("flymodel client: pull %s: %w", a.Name, err)
	}
	if d, err := root.Open(filepath.Dir(name)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// openPullDir opens dir as a root, creating it unless dry (a dry run with
// no dir yet has nothing there: root nil).
func openPullDir(dir string, dry bool) (*os.Root, error) {
	if !dry {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("flymodel client: pull into %s: %w", dir, err)
		}
	}
	root, err := os.OpenRoot(dir)
	if dry && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("flymodel client: pull into %s: %w", dir, err)
	}
	return root, nil
}

// localState says what a pull does about a: PullUnchanged when root holds
// a file with its sha256, PullReplace when it holds one with other bytes,
// PullDownload when it holds none.
func localState(ctx context.Context, root *os.Root, a Artifact) (string, error) {
	if root == nil {
		return PullDownload, nil
	}
	f, err := root.Open(filepath.FromSlash(a.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return PullDownload, nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is in the way and is not a regular file", a.Name)
	}
	if st.Size() != a.Size {
		return PullReplace, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, contextReader{ctx: ctx, r: f}); err != nil {
		return "", err
	}
	if hex.EncodeToString(h.Sum(nil)) != a.SHA256 {
		return PullReplace, nil
	}
	return PullUnchanged, nil
}

// checkPullNames refuses artifact names that are not plain relative paths
// inside the destination, and names that would need a file to also be a
// folder ("a" and "a/b"). The server's naming rules refuse them too; a
// client does not take a server's word for what it writes to disk.
func checkPullNames(arts []Artifact) error {
	names := make(map[string]bool, len(arts))
	for _, a := range arts {
		names[a.Name] = true
	}
	for _, a := range arts {
		n := a.Name
		bad := n == "" || strings.ContainsAny(n, "\\\x00") || !filepath.IsLocal(filepath.FromSlash(n)) || path.Clean(n) != n
		for _, seg := range strings.Split(n, "/") {
			bad = bad || seg == "" || seg == "." || seg == ".."
		}
		if bad {
			return fmt.Errorf("flymodel client: pull: artifact name %q is not a safe relative path; nothing was written", n)
		}
		for d := path.Dir(n); d != "."; d = path.Dir(d) {
			if names[d] {
				return fmt.Errorf("flymodel client: pull: artifact %q is also the folder of %q: they cannot both be files; nothing was written", d, n)
			}
		}
	}
	return nil
}

// versionDigest is the content digest of a version holding arts, as the
// server computes it (api.VersionDigest).
func versionDigest(arts []Artifact) string {
	sums := make(map[string]string, len(arts))
	for _, a := range arts {
		sums[a.Name] = a.SHA256
	}
	return api.VersionDigest(sums)
}

// pullProgress adds up the bytes the downloads write and reports them one
// call at a time; stop ends the reports.
type pullProgress struct {
	mu      sync.Mutex
	fn      func(done, total int64)
	done    int64
	total   int64
	stopped bool
}

func newPullProgress(fn func(done, total int64), total int64) *pullProgress {
	return &pullProgress{fn: fn, total: total}
}

func (p *pullProgress) add(n int) {
	if p.fn == nil || n == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.done += int64(n)
	p.fn(p.done, p.total)
}

func (p *pullProgress) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
}

// writer counts what is written to w.
func (p *pullProgress) writer(w io.Writer) io.Writer { return progressWriter{w: w, p: p} }

type progressWriter struct {
	w io.Writer
	p *pullProgress
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.add(n)
	return n, err
}
