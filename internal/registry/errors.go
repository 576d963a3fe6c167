package registry

import (
	"fmt"
	"strings"

	"github.com/flymodel/flymodel/api"
)

// FieldError is one invalid input field.
type FieldError = api.FieldError

// ValidationError lists every invalid field of a request (HTTP 422).
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, api.ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == api.ErrInvalid }

// validation collects field errors; err returns nil when there are none.
type validation struct{ fields []FieldError }

func (v *validation) add(field string, err error) {
	if err != nil {
		v.fields = append(v.fields, FieldError{Field: field, Message: err.Error()})
	}
}

func (v *validation) addf(field, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validation) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields}
}

// NotFoundError names a resource that does not exist (HTTP 404).
type NotFoundError struct {
	Kind string // "namespace", "model", …
	Path string // its API path, e.g. /namespaces/canada/models/llm.sm
	// Detail, when set, says what is missing instead (a version selector
	// that names nothing: "no version of ns/model is in prod").
	Detail string
}

func (e *NotFoundError) Error() string {
	if e.Detail != "" {
		return e.Detail
	}
	return fmt.Sprintf("%s %s not found", e.Kind, e.Path)
}

// Is makes errors.Is(err, api.ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == api.ErrNotFound }

// ConflictError is a create that collides with an existing resource, or a
// delete refused because something still depends on it (HTTP 409).
type ConflictError struct {
	Kind   string
	Path   string // the existing resource
	Reason string
}

func (e *ConflictError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s %s: %s", e.Kind, e.Path, e.Reason)
	}
	return fmt.Sprintf("%s %s already exists", e.Kind, e.Path)
}

// Is makes errors.Is(err, api.ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == api.ErrConflict }

// StateError is a lifecycle or experiment transition that the rules forbid
// (HTTP 409); nothing changed.
type StateError struct {
	Kind     string
	Path     string
	From, To string
	Reason   string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("%s %s: cannot move from %s to %s: %s", e.Kind, e.Path, e.From, e.To, e.Reason)
}

// Is makes errors.Is(err, api.ErrConflict) true.
func (e *StateError) Is(target error) bool { return target == api.ErrConflict }

// GateError is a promotion refused by a promotion gate (HTTP 409): the
// experiments that are required and missing, or present and not passed.
type GateError struct {
	Path      string
	To        string
	Missing   []string
	NotPassed []string
	// NoExperiments is set when every experiment must pass and there are none.
	NoExperiments bool
}

func (e *GateError) Error() string {
	var why []string
	if len(e.Missing) > 0 {
		why = append(why, "missing experiments "+strings.Join(e.Missing, ", "))
	}
	if len(e.NotPassed) > 0 {
		why = append(why, "experiments not passed "+strings.Join(e.NotPassed, ", "))
	}
	if e.NoExperiments {
		why = append(why, "no experiments recorded")
	}
	return fmt.Sprintf("version %s cannot enter %s: %s", e.Path, e.To, strings.Join(why, "; "))
}

// Is makes errors.Is(err, api.ErrConflict) true.
func (e *GateError) Is(target error) bool { return target == api.ErrConflict }

// BusyError is a change refused because the database stayed locked by
// another process (a SQLite writer outside this server) past the wait it
// allows (HTTP 503, retry later); nothing changed.
type BusyError struct{ Err error }

func (e *BusyError) Error() string {
	return "the database is locked by another process; nothing changed, retry later: " + e.Err.Error()
}

func (e *BusyError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, api.ErrUnavailable) true.
func (e *BusyError) Is(target error) bool { return target == api.ErrUnavailable }
