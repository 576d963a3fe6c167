package db

import (
	"errors"
	"fmt"
	"strings"
)

// Errors every engine maps its driver errors to. Test with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrConflict   = errors.New("conflict")
	ErrForeignKey = errors.New("referenced row missing or still referenced")
	ErrInvalid    = errors.New("value rejected by a database check")
	// ErrBusy: the database stayed locked by another connection (another
	// process holding SQLite's write lock) past the wait the engine allows;
	// nothing was changed, and the same request may succeed later.
	ErrBusy = errors.New("database busy: locked by another connection")
)

// ConflictError is a uniqueness violation. Table and Columns name what
// conflicted, the same on every engine (e.g. "models", ["namespace_id", "name"]).
type ConflictError struct {
	Table   string
	Columns []string
}

func (e *ConflictError) Error() string {
	if e.Table == "" {
		return "conflict: already exists"
	}
	return fmt.Sprintf("conflict: %s (%s) already exists", e.Table, strings.Join(e.Columns, ", "))
}

// Is makes errors.Is(err, ErrConflict) true for a *ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
