package httpapi

import (
	"errors"
	"strings"

	"github.com/flymodel/flymodel/internal/registry"
)

// registryProblem maps the registry's typed errors to problems, with the
// members a client needs to explain them; it returns nil for any other
// error (which becomes a 500). The problem's status is that of its
// type's class, which is the class of the error.
func registryProblem(err error) *Problem {
	var (
		mismatch   *registry.DigestMismatchError
		tooLarge   *registry.TooLargeError
		immutable  *registry.ImmutableError
		sealed     *registry.SealedError
		missing    *registry.MissingBlobError
		store      *registry.StoreError
		body       *registry.BodyError
		validation *registry.ValidationError
		notFound   *registry.NotFoundError
		conflict   *registry.ConflictError
		transition *registry.StateError
		gate       *registry.GateError
	)
	switch {
	case errors.As(err, &mismatch):
		return newProblem(kindDigestMismatch, mismatch.Error()).
			with("expected_sha256", mismatch.Expected).with("actual_sha256", mismatch.Actual)
	case errors.As(err, &tooLarge):
		return newProblem(kindTooLarge, tooLarge.Error()).with("limit", tooLarge.Limit)
	case errors.Is(err, registry.ErrEmptyUpload):
		return newProblem(kindEmptyUpload, err.Error())
	case errors.As(err, &immutable):
		return newProblem(kindImmutable, immutable.Error()).
			with("existing", apiBase+immutable.Path).
			with("existing_sha256", immutable.Existing).with("actual_sha256", immutable.Actual)
	case errors.As(err, &sealed):
		return newProblem(kindSealed, sealed.Error()).with("version", apiBase+sealed.Path)
	case errors.As(err, &missing):
		return newProblem(kindBlobMissing, missing.Error())
	case isTimeout(err):
		return newProblem(kindRequestTimeout, "the request body stalled; nothing was stored")
	case errors.As(err, &body):
		return newProblem(kindMalformed, body.Error()+"; nothing was stored")
	case errors.As(err, &store):
		// The store's own error goes to the log (writeError), not to the client.
		return newProblem(kindStore, "a storage location is not available; retry later (the log has the details under the request id)")
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
