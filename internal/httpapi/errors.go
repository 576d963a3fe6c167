package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/flymodel/flymodel/internal/registry"
)

var (
	kindValidation = problemKind{"validation", "Validation Failed", http.StatusUnprocessableEntity}
	kindConflict   = problemKind{"conflict", "Conflict", http.StatusConflict}
	kindTransition = problemKind{"invalid-transition", "Invalid State Transition", http.StatusConflict}
	kindGate       = problemKind{"promotion-gate", "Promotion Gate Not Met", http.StatusConflict}
)

// registryProblem maps the registry's typed errors to problems; it returns
// nil for any other error (which becomes a 500).
func registryProblem(err error) *Problem {
	var (
		validation *registry.ValidationError
		notFound   *registry.NotFoundError
		conflict   *registry.ConflictError
		transition *registry.StateError
		gate       *registry.GateError
	)
	switch {
	case errors.As(err, &validation):
		return newProblem(kindValidation, validation.Error()).with("errors", validation.Fields)
	case errors.As(err, &notFound):
		p := newProblem(kindNotFound, notFound.Error())
		if strings.HasPrefix(notFound.Path, "/") {
			p.with("resource", apiBase+notFound.Path)
		}
		return p
	case errors.As(err, &conflict):
		return newProblem(kindConflict, conflict.Error()).with("existing", apiBase+conflict.Path)
	case errors.As(err, &transition):
		return newProblem(kindTransition, transition.Error()).
			with("from", transition.From).with("to", transition.To)
	case errors.As(err, &gate):
		return newProblem(kindGate, gate.Error()).
			with("to", gate.To).
			with("missing", nonNil(gate.Missing)).
			with("not_passed", nonNil(gate.NotPassed)).
			with("no_experiments", gate.NoExperiments)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
