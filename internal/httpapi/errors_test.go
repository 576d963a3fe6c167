package httpapi

import (
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// TestProblemTypesHaveClasses: the problem types the document names (by
// TestOpenAPIProblemTypes, those the server emits) are the types of
// package api, so each has a class, hence a status and a client sentinel.
func TestProblemTypesHaveClasses(t *testing.T) {
	var documented []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			if slug, ok := strings.CutPrefix(v, problemTypeBase); ok && slug != "" && !slices.Contains(documented, slug) {
				documented = append(documented, slug)
			}
		}
	}
	walk(loadOpenAPI(t)["components"])
	slices.Sort(documented)
	if want := api.ProblemTypes(); !slices.Equal(documented, want) {
		t.Fatalf("documented problem types %v, api.ProblemTypes %v", documented, want)
	}
}

// TestRegistryErrorClasses: each of the registry's errors becomes a
// problem whose type is of the error's class, with that class's status.
func TestRegistryErrorClasses(t *testing.T) {
	stalled := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	errs := []error{
		&registry.ValidationError{},
		&registry.NotFoundError{Kind: "model", Path: "/namespaces/canada/models/llm.sm"},
		&registry.ConflictError{Kind: "model", Path: "/namespaces/canada/models/llm.sm"},
		&registry.StateError{Kind: "experiment", Path: "/e", From: "passed", To: "running"},
		&registry.GateError{Path: "/v", To: "prod", NoExperiments: true},
		&registry.DigestMismatchError{Expected: "a", Actual: "b"},
		&registry.TooLargeError{Limit: 1},
		registry.ErrEmptyUpload,
		&registry.ImmutableError{Path: "/a"},
		&registry.SealedError{Path: "/v"},
		&registry.BodyError{Err: io.ErrUnexpectedEOF},
		&registry.BodyError{Err: stalled},
		&registry.MissingBlobError{Artifact: "/a", Store: "fs:/x"},
		&registry.StoreError{Store: "main", Reason: "failed", Err: io.ErrClosedPipe},
		&registry.BusyError{Err: io.ErrClosedPipe},
	}
	for _, err := range errs {
		err = fmt.Errorf("context: %w", err)
		class := api.ClassOf(err)
		p := registryProblem(err)
		if class == nil || p == nil {
			t.Errorf("%v: class %v, problem %v", err, class, p)
			continue
		}
		if typeClass := api.ProblemClass(strings.TrimPrefix(p.Type, problemTypeBase)); typeClass != class || p.Status != api.Status(class) {
			t.Errorf("%v: class %v, problem %s (class %v) %d", err, class, p.Type, typeClass, p.Status)
		}
		// Its members are the api type of its problem type.
		if kind, _ := api.ProblemKindOf(strings.TrimPrefix(p.Type, problemTypeBase)); p.Extensions != nil &&
			reflect.TypeOf(p.Extensions) != reflect.TypeOf(kind.Members) {
			t.Errorf("%v: problem %s with members %T, want %T", err, p.Type, p.Extensions, kind.Members)
		}
	}
	if api.ClassOf(auth.ErrInvalidToken) != api.ProblemClass(kindUnauthorized.slug) {
		t.Errorf("auth.ErrInvalidToken is of class %v", api.ClassOf(auth.ErrInvalidToken))
	}
}
