package browser

import (
	"fmt"
	"os"
	"sync"
)

// Program is a T for a plain program (such as internal/cmd/screenshots):
// Logf and Errorf print to stderr, Fatalf and Skip print, run the
// cleanups and exit with status 1. Call Close (deferred) at the end of
// main to run the cleanups; Failed says whether Errorf was called.
type Program struct {
	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

// NewProgram returns a Program.
func NewProgram() *Program { return &Program{} }

func (p *Program) Helper() {}

func (p *Program) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func (p *Program) Errorf(format string, args ...any) {
	p.mu.Lock()
	p.failed = true
	p.mu.Unlock()
	p.Logf(format, args...)
}

func (p *Program) Fatalf(format string, args ...any) {
	p.Logf(format, args...)
	p.Close()
	os.Exit(1)
}

func (p *Program) Skip(args ...any) {
	fmt.Fprintln(os.Stderr, args...)
	p.Close()
	os.Exit(1)
}

func (p *Program) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

// Failed says whether Errorf was called.
func (p *Program) Failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// Close runs the cleanups, last registered first.
func (p *Program) Close() {
	p.mu.Lock()
	fs := p.cleanups
	p.cleanups = nil
	p.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
