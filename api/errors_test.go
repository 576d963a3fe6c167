package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/flymodel/flymodel/api"
)

// TestClassStatus: every class answers with one error status, and an
// answer known only by that status is of that class again (but for
// ErrIntegrity, a 500 that only its problem type tells apart).
func TestClassStatus(t *testing.T) {
	seen := map[error]bool{}
	for _, class := range api.Classes() {
		if seen[class] {
			t.Errorf("class %v listed twice", class)
		}
		seen[class] = true
		status := api.Status(class)
		if status < 400 || status > 599 || http.StatusText(status) == "" {
			t.Errorf("Status(%v) = %d, not an error status", class, status)
		}
		want := class
		if class == api.ErrIntegrity {
			want = api.ErrInternal
		}
		if got := api.ClassOfStatus(status); got != want {
			t.Errorf("ClassOfStatus(%d) = %v, want %v", status, got, want)
		}
		if got := api.ClassOf(fmt.Errorf("wrapped: %w", class)); got != class {
			t.Errorf("ClassOf(wrapped %v) = %v", class, got)
		}
	}
	for _, status := range []int{http.StatusBadGateway, http.StatusGatewayTimeout} {
		if got := api.ClassOfStatus(status); got != api.ErrUnavailable {
			t.Errorf("ClassOfStatus(%d) = %v, want ErrUnavailable", status, got)
		}
	}
	for _, status := range []int{0, 200, 302, 418, 501} {
		if got := api.ClassOfStatus(status); got != nil {
			t.Errorf("ClassOfStatus(%d) = %v, want nil", status, got)
		}
	}
	if api.ClassOf(errors.New("other")) != nil || api.ClassOf(nil) != nil {
		t.Error("an error of no class has a class")
	}
	if api.Status(nil) != http.StatusInternalServerError {
		t.Errorf("Status(nil) = %d, want 500", api.Status(nil))
	}
}

// TestProblemClasses: every problem type has a class, and every class
// has a problem type.
func TestProblemClasses(t *testing.T) {
	types := api.ProblemTypes()
	if !slices.IsSorted(types) || len(types) == 0 {
		t.Fatalf("ProblemTypes() = %v", types)
	}
	used := map[error]bool{}
	for _, slug := range types {
		class := api.ProblemClass(slug)
		if !slices.Contains(api.Classes(), class) {
			t.Errorf("problem type %s: class %v is not one of Classes", slug, class)
		}
		used[class] = true
	}
	for _, class := range api.Classes() {
		if !used[class] {
			t.Errorf("class %v has no problem type", class)
		}
	}
	if api.ProblemClass("no-such-type") != nil || api.ProblemClass("") != nil {
		t.Error("an unknown problem type has a class")
	}
}

func TestNewError(t *testing.T) {
	err := api.NewError(api.ErrConflict, "conflict with what the registry holds")
	wrapped := fmt.Errorf("upsert: %w", err)
	if err.Error() != "conflict with what the registry holds" || !errors.Is(wrapped, err) ||
		!errors.Is(wrapped, api.ErrConflict) || errors.Is(wrapped, api.ErrNotFound) || api.ClassOf(wrapped) != api.ErrConflict {
		t.Fatalf("NewError: %v", err)
	}
}
