package api

import (
	"slices"
	"strings"
	"time"
)

// Lifecycle is the lifecycle state of a version; also a bucket's role.
type Lifecycle = string

// The lifecycles, in promotion order.
const (
	Test  Lifecycle = "test"
	QA    Lifecycle = "qa"
	Stage Lifecycle = "stage"
	Prod  Lifecycle = "prod"
)

// Lifecycles are the lifecycle states, in promotion order.
var Lifecycles = []Lifecycle{Test, QA, Stage, Prod}

// Staging is the original flymodel's name of Stage (and MLflow's), accepted
// everywhere a lifecycle is given — configuration, command line, the API's
// version states and filters — and answered as Stage.
const Staging = "staging"

// CanonicalLifecycle returns Stage for Staging and any other s unchanged.
func CanonicalLifecycle(s string) Lifecycle {
	if s == Staging {
		return Stage
	}
	return s
}

// Seals reports whether a version entering lifecycle l is sealed: leaving
// Test seals a version for good, so that its artifacts never change again.
func Seals(l Lifecycle) bool { return l != Test }

// ExperimentState is the run state of an experiment.
type ExperimentState = string

// The experiment states: created → running → passed or failed.
const (
	ExperimentCreated ExperimentState = "created"
	ExperimentRunning ExperimentState = "running"
	ExperimentPassed  ExperimentState = "passed"
	ExperimentFailed  ExperimentState = "failed"
)

// ExperimentStates are the experiment states, in the order of a run.
var ExperimentStates = []ExperimentState{ExperimentCreated, ExperimentRunning, ExperimentPassed, ExperimentFailed}

// Finished reports whether an experiment in state s has its result
// recorded (passed or failed).
func Finished(s ExperimentState) bool { return s == ExperimentPassed || s == ExperimentFailed }

// Role is a role: `read` reads; `write` also creates, uploads and changes
// states; `admin` also deletes and manages buckets, tags and namespaces
// (and, unscoped, tokens and the audit log).
type Role = string

// The roles of API tokens and OIDC grants, weakest first.
const (
	RoleRead  Role = "read"
	RoleWrite Role = "write"
	RoleAdmin Role = "admin"
)

// Roles are the roles, weakest first.
var Roles = []Role{RoleRead, RoleWrite, RoleAdmin}

// Format is a known artifact format; it gives the content type when none
// is declared. An upload that declares none takes the format its name's
// extension names.
type Format = string

// Formats are the known artifact formats (DESIGN.md), each with the
// content type an upload of that format gets when it declares none.
// The first seventeen are the original flymodel's; the model and array
// formats after them (schema migration 00008) name what ML files are.
var Formats = []Format{"json", "jsonl", "arrow", "parquet", "msgpack", "xml", "csv", "xls", "jpeg",
	"png", "wav", "mov", "mp4", "pdf", "html", "txt", "md",
	"safetensors", "gguf", "onnx", "pt", "pkl", "npy", "npz", "h5", "yaml"}

var formatTypes = map[Format]string{
	"json": "application/json", "jsonl": "application/jsonl", "arrow": "application/vnd.apache.arrow.file",
	"parquet": "application/vnd.apache.parquet", "msgpack": "application/msgpack", "xml": "application/xml",
	"csv": "text/csv", "xls": "application/vnd.ms-excel", "jpeg": "image/jpeg", "png": "image/png",
	"wav": "audio/wav", "mov": "video/quicktime", "mp4": "video/mp4", "pdf": "application/pdf",
	"html": "text/html", "txt": "text/plain", "md": "text/markdown",
	// Model and array files have no registered media type: their bytes
	// are opaque to HTTP, their format says what they are.
	"safetensors": "application/octet-stream", "gguf": "application/octet-stream",
	"onnx": "application/octet-stream", "pt": "application/octet-stream", "pkl": "application/octet-stream",
	"npy": "application/octet-stream", "npz": "application/octet-stream", "h5": "application/x-hdf5",
	"yaml": "application/yaml",
}

// FormatContentType returns the content type of a known format, and
// false for any other.
func FormatContentType(f Format) (string, bool) {
	t, ok := formatTypes[f]
	return t, ok
}

// Encoding is how the bytes are packed. Metadata only: the bytes are
// stored and served as uploaded, never with a `Content-Encoding`.
type Encoding = string

// Uncompressed is the default encoding.
const Uncompressed Encoding = "uncompressed"

// Encodings are the known artifact encodings.
var Encodings = []Encoding{Uncompressed, "zip", "gzip", "tar", "tgz", "snappy", "lz4", "zstd"}

// TokenStatus says whether the server accepts a token now.
type TokenStatus = string

// The token statuses.
const (
	TokenActive  TokenStatus = "active"
	TokenExpired TokenStatus = "expired"
	TokenRevoked TokenStatus = "revoked"
)

// TokenStatuses are the token statuses.
var TokenStatuses = []TokenStatus{TokenActive, TokenExpired, TokenRevoked}

// Outcome is what became of the change an audit record describes.
type Outcome = string

// The audit outcomes.
const (
	// OutcomeOK is a change committed with its record.
	OutcomeOK Outcome = "ok"
	// OutcomeDenied is a change refused for want of a role; nothing
	// changed.
	OutcomeDenied Outcome = "denied"
)

// Outcomes are the audit outcomes.
var Outcomes = []Outcome{OutcomeOK, OutcomeDenied}

// Actors the audit log names, besides tokens (by their name).
const (
	// ActorAnonymous makes the requests that carry no credentials.
	ActorAnonymous = "anonymous"
	// ActorSystem is the server's own work outside a request (such as
	// retention).
	ActorSystem = "system"
	// ActorSweeper is the server's background sweeper.
	ActorSweeper = "sweeper"
	// ActorLocalPrefix prefixes the user running a command on the
	// server's host: "local:<user>".
	ActorLocalPrefix = "local:"
	// ActorOIDCPrefix prefixes the subject of an OIDC token:
	// "oidc:<subject>".
	ActorOIDCPrefix = "oidc:"
)

// ReservedActors are the actor names no token may take. Token names must
// not hold ':' either, the separator of ActorLocalPrefix and
// ActorOIDCPrefix.
var ReservedActors = []string{ActorAnonymous, ActorSystem, ActorSweeper}

// IsReservedActor reports whether name is an actor name no token may take:
// one of ReservedActors, or any name with a ':'.
func IsReservedActor(name string) bool {
	return slices.Contains(ReservedActors, name) || strings.Contains(name, ":")
}

// Timestamp returns t as the API shows times and both database engines
// store them: in UTC, truncated to microseconds.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Page sizes of the lists, and the last page number a list takes: far
// beyond any list, and low enough that (page-1)*size never overflows an
// int64 offset in the database (nor exceeds the integers every JSON
// reader holds exactly).
const (
	DefaultPageSize = 25
	MaxPageSize     = 1000
	MaxPage         = 1_000_000_000
)

// Relation is how a version was made from a parent (lineage).
type Relation = string

// The relations of a version to its parents.
const (
	RelationFineTuned Relation = "fine-tuned"
	RelationDistilled Relation = "distilled"
	RelationDerived   Relation = "derived"
	RelationQuantized Relation = "quantized"
	RelationMerged    Relation = "merged"
)

// Relations are the relations of a version to its parents.
var Relations = []Relation{RelationFineTuned, RelationDistilled, RelationDerived, RelationQuantized, RelationMerged}
