package fsblob

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flymodel/flymodel/internal/blob"
)

// Folders are filesystem stores named by one path segment, each in a
// folder of one root: the store named "ml-test" is rooted at
// <root>/ml-test. They give every bucket a namespace records a store on
// the local disk when no storage is configured (the laptop default).
type Folders struct {
	dir string // absolute
}

// NewFolders returns the folders below root; nothing needs to exist yet.
func NewFolders(root string) (*Folders, error) {
	if root == "" {
		return nil, errors.New("fsblob: empty folders root")
	}
	dir, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fsblob: folders root %s: %w", root, err)
	}
	return &Folders{dir: dir}, nil
}

// String names the folders: "fs:" and the absolute root.
func (f *Folders) String() string { return "fs:" + f.dir }

// Store returns the store named name: a single valid key segment (a
// bucket name is one).
func (f *Folders) Store(name string) (blob.Store, error) {
	if err := checkKey(name); err != nil || strings.Contains(name, "/") {
		return nil, fmt.Errorf("fsblob: folder store %q: %w", name, blob.ErrInvalidKey)
	}
	return &Store{dir: filepath.Join(f.dir, name)}, nil
}

// Names lists the stores that exist (their folders), sorted.
func (f *Folders) Names() ([]string, error) {
	entries, err := os.ReadDir(f.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list folder stores in %s: %w", f, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && checkKey(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}
