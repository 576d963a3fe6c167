package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/upsert"
)

// TestClassExitCode: every error class has one exit code, 3 for a
// conflict with the registry and 1 for every other.
func TestClassExitCode(t *testing.T) {
	for _, class := range api.Classes() {
		want := exitError
		if class == api.ErrConflict {
			want = exitConflict
		}
		if got := classExitCode(class); got != want {
			t.Errorf("classExitCode(%v) = %d, want %d", class, got, want)
		}
	}
	if got := classExitCode(nil); got != exitError {
		t.Errorf("classExitCode(nil) = %d, want %d", got, exitError)
	}
}

// TestConflictExitCode: the conflicts of the registry, of upsert and of
// the server's answers exit 3, however wrapped; other refusals exit 1.
func TestConflictExitCode(t *testing.T) {
	conflicts := []error{
		&registry.ConflictError{Kind: "model", Path: "/namespaces/canada/models/llm.sm"},
		&registry.ImmutableError{Path: "/a"},
		&registry.SealedError{Path: "/v"},
		&registry.GateError{Path: "/v", To: "prod", Missing: []string{"eval"}},
		&registry.StateError{Kind: "experiment", Path: "/e", From: "passed", To: "running"},
		fmt.Errorf("%w: 2 conflicting item(s); nothing was written", upsert.ErrConflict),
		&client.Error{Status: http.StatusConflict, Type: client.ProblemTypeBase + api.ProblemSealed},
		&client.Error{Status: http.StatusConflict},
	}
	others := []error{
		errors.New("boom"),
		&registry.NotFoundError{Kind: "model", Path: "/m"},
		&registry.ValidationError{},
		&registry.StoreError{Store: "main", Reason: "failed"},
		&client.Error{Status: http.StatusNotFound},
		&client.Error{Status: http.StatusInternalServerError},
	}
	for _, err := range conflicts {
		if got := exitCode(io.Discard, fmt.Errorf("context: %w", err)); got != exitConflict {
			t.Errorf("exit code of %v (%T) = %d, want %d", err, err, got, exitConflict)
		}
	}
	for _, err := range others {
		if got := exitCode(io.Discard, fmt.Errorf("context: %w", err)); got != exitError {
			t.Errorf("exit code of %v (%T) = %d, want %d", err, err, got, exitError)
		}
	}
}
