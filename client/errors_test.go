package client_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/client"
)

// classSentinels are the client's sentinels that are error classes.
var classSentinels = []error{
	client.ErrBadRequest, client.ErrUnauthorized, client.ErrForbidden, client.ErrNotFound,
	client.ErrMethodNotAllowed, client.ErrRequestTimeout, client.ErrConflict, client.ErrTooLarge,
	client.ErrUnsupportedMediaType, client.ErrValidation, client.ErrTooManyRequests,
	client.ErrInternal, client.ErrIntegrity, client.ErrUnavailable,
	client.ErrMisdirected, client.ErrRangeNotSatisfiable,
}

// typeSentinels are the client's sentinels of one problem type each.
var typeSentinels = map[string]error{
	api.ProblemDigestMismatch:    client.ErrDigestMismatch,
	api.ProblemImmutable:         client.ErrImmutable,
	api.ProblemSealed:            client.ErrSealed,
	api.ProblemPromotionGate:     client.ErrGate,
	api.ProblemInvalidTransition: client.ErrTransition,
}

// TestProblemTypeSentinels: an answer of every problem type the server
// emits, at the status of its class, matches the client sentinel of that
// class and no other, plus the sentinel of its type where there is one.
func TestProblemTypeSentinels(t *testing.T) {
	if len(classSentinels) != len(api.Classes()) {
		t.Fatalf("%d class sentinels for %d classes", len(classSentinels), len(api.Classes()))
	}
	for _, class := range api.Classes() {
		if !slices.Contains(classSentinels, class) {
			t.Errorf("class %v has no client sentinel", class)
		}
	}
	all := append(slices.Clone(classSentinels), client.ErrDigestMismatch, client.ErrImmutable,
		client.ErrSealed, client.ErrGate, client.ErrTransition)
	for _, slug := range api.ProblemTypes() {
		class := api.ProblemClass(slug)
		err := &client.Error{Status: api.Status(class), Type: client.ProblemTypeBase + slug}
		want := []error{class}
		if s, ok := typeSentinels[slug]; ok {
			want = append(want, s)
		}
		for _, sentinel := range all {
			if got := errors.Is(err, sentinel); got != slices.Contains(want, sentinel) {
				t.Errorf("%d %s: errors.Is(err, %v) = %v", err.Status, slug, sentinel, got)
			}
		}
	}
}

// TestStatusSentinels: an answer without a problem type (from a proxy,
// say) matches the class of its status.
func TestStatusSentinels(t *testing.T) {
	cases := map[int]error{
		400: client.ErrBadRequest, 401: client.ErrUnauthorized, 403: client.ErrForbidden,
		404: client.ErrNotFound, 405: client.ErrMethodNotAllowed, 408: client.ErrRequestTimeout,
		409: client.ErrConflict, 413: client.ErrTooLarge, 415: client.ErrUnsupportedMediaType,
		422: client.ErrValidation, 429: client.ErrTooManyRequests, 500: client.ErrInternal,
		502: client.ErrUnavailable, 503: client.ErrUnavailable, 504: client.ErrUnavailable,
		416: client.ErrRangeNotSatisfiable, 421: client.ErrMisdirected,
		418: nil, 501: nil,
	}
	for status, want := range cases {
		for _, typ := range []string{"", "about:blank", client.ProblemTypeBase + "no-such-type"} {
			err := &client.Error{Status: status, Type: typ, Title: http.StatusText(status)}
			for _, sentinel := range classSentinels {
				if got := errors.Is(err, sentinel); got != (sentinel == want) {
					t.Errorf("%d %q: errors.Is(err, %v) = %v", status, typ, sentinel, got)
				}
			}
		}
	}
	// A known type at a status its class never has counts by the status.
	err := &client.Error{Status: http.StatusBadRequest, Type: client.ProblemTypeBase + api.ProblemImmutable}
	if errors.Is(err, client.ErrConflict) || errors.Is(err, client.ErrImmutable) || !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("400 immutable: matches %v", err)
	}
}
