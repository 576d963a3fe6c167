package client

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// errBodyDetached fails the transport's reads of an upload body after the
// attempt it belonged to has ended.
var errBodyDetached = errors.New("flymodel client: upload body read after its request ended")

// streamBody is an upload's body across the attempts of one request. The
// caller's reader is only ever read through the current attempt's guard,
// and never after that attempt has ended (detach): the transport may keep
// sending a body after the server has answered, and a retry must not race
// the previous attempt's reads.
type streamBody struct {
	r        io.Reader
	seeker   io.Seeker // r as a seeker when it can be replayed, else nil
	offset   int64     // the seeker's offset when the upload began
	size     int64     // -1: unknown
	progress func(done int64)
	current  *bodyGuard
}

// newStreamBody wraps r; size <= 0 means unknown (then found by seeking
// when r can seek).
func newStreamBody(r io.Reader, size int64, progress func(int64)) *streamBody {
	b := &streamBody{r: r, size: size, progress: progress}
	if size <= 0 {
		b.size = -1
	}
	if s, ok := r.(io.Seeker); ok {
		if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
			b.seeker, b.offset = s, pos
			if b.size < 0 {
				if end, err := s.Seek(0, io.SeekEnd); err == nil && end > pos {
					b.size = end - pos
				}
				if _, err := s.Seek(pos, io.SeekStart); err != nil {
					b.seeker, b.size = nil, -1
				}
			}
		}
	}
	return b
}

// length is the Content-Length to declare: -1 when unknown.
func (b *streamBody) length() int64 { return b.size }

// start returns the reader of a new attempt, whose context ends with done.
func (b *streamBody) start(timer *attemptTimer, done <-chan struct{}) io.ReadCloser {
	b.current = &bodyGuard{r: b.r, async: b.seeker == nil, ctxDone: done, stop: make(chan struct{}),
		timer: timer, progress: b.progress}
	return b.current
}

// detach ends the current attempt's access to the caller's reader. For a
// reader that can be replayed it waits for a read in progress, which is
// never long (a file, memory) and must end before a rewind. Any other
// reader is never read again by the client, and may be a pipe whose writer
// stalls: waiting for its read would defeat a cancellation.
func (b *streamBody) detach() {
	if b.current != nil {
		b.current.detach(b.seeker != nil)
	}
}

// canResend reports whether the body can be sent again: it can be
// replayed, or it was never read.
func (b *streamBody) canResend() bool {
	return b.seeker != nil || b.current == nil || !b.current.touched.Load()
}

// rewind prepares the body for another attempt.
func (b *streamBody) rewind() error {
	b.detach()
	if b.current == nil || !b.current.touched.Load() {
		return nil
	}
	if b.seeker == nil {
		return errors.New("flymodel client: the upload body cannot be replayed")
	}
	_, err := b.seeker.Seek(b.offset, io.SeekStart)
	return err
}

// bodyGuard is one attempt's view of an upload body. It pauses the
// attempt's timer while the body streams, reports progress, and refuses
// every read once detached. It never closes the caller's reader.
//
// The transport does not give up on a request until its body read returns,
// even once the request is cancelled. A reader that can be replayed (a
// file, memory) is read directly; any other one may be a pipe whose writer
// stalls, so it is read in a goroutine that the guard stops waiting for
// when the attempt ends.
type bodyGuard struct {
	mu         sync.Mutex // held during a read
	progressMu sync.Mutex // held during a progress report
	r          io.Reader
	async      bool
	ctxDone    <-chan struct{} // the attempt's context
	stop       chan struct{}   // closed when detached
	stopOnce   sync.Once
	buf        []byte // the asynchronous reads' buffer
	timer      *attemptTimer
	progress   func(int64)
	read       atomic.Int64
	touched    atomic.Bool // a read has begun
	detached   atomic.Bool
}

func (g *bodyGuard) Read(p []byte) (int, error) {
	if g.detached.Load() {
		return 0, errBodyDetached
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.detached.Load() {
		return 0, errBodyDetached
	}
	if !g.touched.Load() {
		g.touched.Store(true)
		g.timer.pause()
	}
	var (
		n   int
		err error
	)
	if g.async {
		n, err = g.readAsync(p)
	} else {
		n, err = g.r.Read(p)
	}
	if n > 0 {
		g.report(g.read.Add(int64(n)))
	}
	if err == io.EOF {
		g.timer.resume() // now waiting for the server's answer
	}
	return n, err
}

// readAsync reads into p in a goroutine, giving up when the attempt ends.
// An abandoned read keeps its buffer: nothing reads the body again.
func (g *bodyGuard) readAsync(p []byte) (int, error) {
	if cap(g.buf) < len(p) {
		g.buf = make([]byte, len(p))
	}
	buf := g.buf[:len(p)]
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := g.r.Read(buf)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return copy(p, buf[:r.n]), r.err
	case <-g.stop:
	case <-g.ctxDone:
	}
	g.buf = nil
	return 0, errBodyDetached
}

// report calls the progress callback, unless the guard is detached: a read
// that ends after its upload has returned reports nothing.
func (g *bodyGuard) report(done int64) {
	if g.progress == nil {
		return
	}
	g.progressMu.Lock()
	defer g.progressMu.Unlock()
	if !g.detached.Load() {
		g.progress(done)
	}
}

// Close is the transport's: it may come while a read is in progress, so it
// only marks the guard (detach waits for the read).
func (g *bodyGuard) Close() error {
	g.markDetached()
	return nil
}

func (g *bodyGuard) markDetached() {
	g.detached.Store(true)
	g.stopOnce.Do(func() { close(g.stop) })
}

// detach refuses further reads and progress reports and, with wait, waits
// for a read in progress to return.
func (g *bodyGuard) detach(wait bool) {
	g.markDetached()
	// Taking the lock waits for a report in progress; none starts after.
	g.progressMu.Lock()
	g.progressMu.Unlock()
	if wait {
		g.mu.Lock()
		defer g.mu.Unlock()
	}
}
