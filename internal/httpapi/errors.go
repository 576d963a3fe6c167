package httpapi

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/flymodel/flymodel/api"
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
		noStore    *registry.NoStoreError
		placement  *registry.PlacementError
		altered    *registry.AlteredBlobError
		body       *registry.BodyError
		validation *registry.ValidationError
		notFound   *registry.NotFoundError
		conflict   *registry.ConflictError
		transition *registry.StateError
		gate       *registry.GateError
		busy       *registry.BusyError
		aliasRole  *registry.AliasForbiddenError
		protected  *registry.AliasProtectedError
		query      *registry.QueryError
	)
	switch {
	case errors.As(err, &mismatch):
		p := api.DigestMismatchProblem{Algorithm: mismatch.Alg(), Expected: mismatch.Expected, Actual: mismatch.Actual}
		if p.Algorithm == registry.DigestSHA256 {
			p.ExpectedSHA256, p.ActualSHA256 = mismatch.Expected, mismatch.Actual
		}
		return newProblem(kindDigestMismatch, mismatch.Error()).with(p)
	case errors.As(err, &tooLarge):
		return newProblem(kindTooLarge, tooLarge.Error()).with(api.TooLargeProblem{Limit: tooLarge.Limit})
	case errors.Is(err, registry.ErrEmptyUpload):
		return newProblem(kindEmptyUpload, err.Error())
	case errors.As(err, &immutable):
		return newProblem(kindImmutable, immutable.Error()).
			with(api.ImmutableProblem{Existing: apiBase + immutable.Path,
				ExistingSHA256: immutable.Existing, ActualSHA256: immutable.Actual})
	case errors.As(err, &sealed):
		return newProblem(kindSealed, sealed.Error()).with(api.SealedProblem{Version: apiBase + sealed.Path})
	case errors.As(err, &missing):
		return newProblem(kindBlobMissing, missing.Error())
	case isTimeout(err):
		return newProblem(kindRequestTimeout, "the request body stalled; nothing was stored")
	case errors.As(err, &body):
		var pathErr *fs.PathError
		if errors.As(body.Err, &pathErr) {
			// A staged copy of the body failed: its path stays in the log.
			return newProblem(kindMalformed, "the upload body could not be read; nothing was stored")
		}
		return newProblem(kindMalformed, body.Error()+"; nothing was stored")
	case errors.As(err, &noStore):
		return newProblem(kindNoStore, noStore.Error()).with(api.NoStoreProblem{
			Namespace: noStore.Namespace, Lifecycle: noStore.Lifecycle, Bucket: noStore.Bucket, ConfigKey: noStore.ConfigKey()})
	case errors.As(err, &altered):
		return newProblem(kindBlobAltered, fmt.Sprintf("the stored bytes of artifact %s in blob store %s are missing or altered: they were not placed, and the version's state is unchanged", altered.Artifact, altered.Store)).
			with(api.PlacementProblem{Artifact: apiBase + altered.Artifact, Store: altered.Store})
	case errors.As(err, &placement):
		// The store's own error goes to the log (writeError), not to the client.
		p := newProblem(kindPlacement, fmt.Sprintf("placing artifact %s in blob store %s failed; the version's state is unchanged; retry later (the log has the details under the request id)", placement.Artifact, placement.Store)).
			with(api.PlacementProblem{Artifact: apiBase + placement.Artifact, Store: placement.Store})
		p.retryAfter = placementRetryAfter
		return p
	case errors.As(err, &store):
		// The store's own error goes to the log (writeError), not to the client.
		p := newProblem(kindStore, "a storage location is not available; retry later (the log has the details under the request id)")
		p.retryAfter = placementRetryAfter
		return p
	case errors.As(err, &busy):
		// The driver's text goes to the log (writeError), not to the client.
		p := newProblem(kindBusy, "the database is locked by another process; nothing changed; retry later")
		p.retryAfter = busyRetryAfter
		return p
	case errors.As(err, &aliasRole):
		return newProblem(kindForbidden, aliasRole.Error())
	case errors.As(err, &protected):
		return newProblem(kindAliasProtected, protected.Error()).with(api.AliasProtectedProblem{
			Alias: protected.Rule.Name, Rule: protected.Rule.String(), Lifecycle: protected.Rule.Lifecycle})
	case errors.As(err, &query):
		return newProblem(kindInvalidFilter, query.Error()).with(api.InvalidFilterProblem{
			Field: query.Param, Position: query.Position, Expected: query.Expected, Found: query.Found})
	case errors.As(err, &validation):
		return newProblem(kindValidation, validation.Error()).with(api.ValidationProblem{Errors: validation.Fields})
	case errors.As(err, &notFound):
		p := newProblem(kindNotFound, notFound.Error())
		if strings.HasPrefix(notFound.Path, "/") {
			p.with(api.NotFoundProblem{Resource: apiBase + notFound.Path})
		}
		return p
	case errors.As(err, &conflict):
		return newProblem(kindConflict, conflict.Error()).with(api.ConflictProblem{Existing: apiBase + conflict.Path})
	case errors.As(err, &transition):
		return newProblem(kindTransition, transition.Error()).
			with(api.TransitionProblem{From: transition.From, To: transition.To})
	case errors.As(err, &gate):
		return newProblem(kindGate, gate.Error()).with(api.GateProblem{
			To:            gate.To,
			Missing:       nonNil(gate.Missing),
			NotPassed:     nonNil(gate.NotPassed),
			NoExperiments: gate.NoExperiments,
		})
	}
	return nil
}

// ProblemOf is the problem details the API answers a registry error
// with (registryProblem), for the web UI's error pages; ok is false for
// any other error, which is a 500 whose text stays in the log.
func ProblemOf(err error) (p api.Problem, ok bool) {
	if rp := registryProblem(err); rp != nil {
		return rp.Problem, true
	}
	return api.Problem{}, false
}

// placementRetryAfter is the Retry-After of a failed placement, and of a
// store that failed or timed out, in seconds.
const placementRetryAfter = "5"

// busyRetryAfter is the Retry-After of a write the database's lock
// refused, in seconds.
const busyRetryAfter = "2"

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
