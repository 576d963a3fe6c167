package main

import (
	"reflect"

	"github.com/flymodel/flymodel/api"
)

// schema is one generated schema of components/schemas: a wire type of
// package api, or one of its vocabularies (an enumeration).
type schema struct {
	name string
	// typ is the Go type; nil for an enumeration.
	typ reflect.Type
	// vocabulary names the api alias whose values the enumeration lists.
	vocabulary string
	// description overrides the type's doc comment: for the instances of
	// a generic type, and "-" for none.
	description string
	// extra is JSON merged into the schema: what the Go type cannot say.
	extra string
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// schemas are the generated schemas, in the document's order.
var schemas = []schema{
	{name: "Lifecycle", vocabulary: "Lifecycle"},
	{name: "ExperimentState", vocabulary: "ExperimentState"},
	{name: "PageInfo", typ: typeOf[api.PageInfo]()},
	{name: "Namespace", typ: typeOf[api.Namespace]()},
	{name: "Bucket", typ: typeOf[api.Bucket]()},
	{name: "Tag", typ: typeOf[api.Tag]()},
	{name: "Model", typ: typeOf[api.Model]()},
	{name: "Version", typ: typeOf[api.Version]()},
	{name: "StateChange", typ: typeOf[api.StateChange]()},
	{name: "Experiment", typ: typeOf[api.Experiment]()},
	{name: "NamespaceList", typ: typeOf[api.Page[api.Namespace]](), description: "A page of namespaces."},
	{name: "BucketList", typ: typeOf[api.Page[api.Bucket]](), description: "A page of buckets."},
	{name: "TagList", typ: typeOf[api.Page[api.Tag]](), description: "A page of tags."},
	{name: "ModelList", typ: typeOf[api.Page[api.Model]](), description: "A page of models."},
	{name: "VersionList", typ: typeOf[api.Page[api.Version]](), description: "A page of versions."},
	{name: "ExperimentList", typ: typeOf[api.Page[api.Experiment]](), description: "A page of experiments."},
	{name: "StateChangeData", typ: typeOf[api.List[api.StateChange]](), description: "A version's whole lifecycle history, oldest first (not paginated)."},
	{name: "TagData", typ: typeOf[api.List[api.Tag]](), description: "All tags attached to a resource (not paginated)."},
	{name: "NamespaceCreate", typ: typeOf[api.NamespaceCreate]()},
	{name: "NamespaceUpdate", typ: typeOf[api.NamespaceUpdate]()},
	{name: "BucketCreate", typ: typeOf[api.BucketCreate]()},
	{name: "TagCreate", typ: typeOf[api.TagCreate]()},
	{name: "ModelCreate", typ: typeOf[api.ModelCreate]()},
	{name: "ModelUpdate", typ: typeOf[api.ModelUpdate]()},
	{name: "VersionCreate", typ: typeOf[api.VersionCreate]()},
	{name: "VersionStateUpdate", typ: typeOf[api.VersionStateUpdate]()},
	{name: "ExperimentCreate", typ: typeOf[api.ExperimentCreate]()},
	{name: "ExperimentStateUpdate", typ: typeOf[api.ExperimentStateUpdate]()},
	{name: "ArtifactFormat", vocabulary: "Format"},
	{name: "ArtifactEncoding", vocabulary: "Encoding"},
	{name: "Artifact", typ: typeOf[api.Artifact](),
		extra: `{"oneOf": [{"required": ["version_id"]}, {"required": ["experiment_id"]}]}`},
	{name: "ArtifactList", typ: typeOf[api.Page[api.Artifact]](), description: "A page of artifacts, by name."},
	{name: "ArtifactUploadMetadata", typ: typeOf[api.ArtifactUploadMetadata]()},
	{name: "Role", vocabulary: "Role"},
	{name: "Token", typ: typeOf[api.Token]()},
	{name: "CreatedToken", typ: typeOf[api.CreatedToken]()},
	{name: "TokenList", typ: typeOf[api.TokenList]()},
	{name: "TokenCreate", typ: typeOf[api.TokenCreate]()},
	{name: "AuditRecord", typ: typeOf[api.AuditRecord]()},
	{name: "AuditPage", typ: typeOf[api.AuditPage]()},
	{name: "Health", typ: typeOf[api.Health](), description: "-"},
	{name: "Readiness", typ: typeOf[api.Readiness](), description: "-"},
	{name: "FieldError", typ: typeOf[api.FieldError](), description: "-"},
}

// vocabulary is the values of an api alias, and the schema that lists
// them ("" when fields list them inline).
type vocabulary struct {
	values []string
	schema string
	// def is the value an absent member means.
	def string
}

var vocabularies = map[string]vocabulary{
	"Lifecycle":       {values: api.Lifecycles, schema: "Lifecycle"},
	"ExperimentState": {values: api.ExperimentStates, schema: "ExperimentState"},
	"Role":            {values: api.Roles, schema: "Role"},
	"Format":          {values: api.Formats, schema: "ArtifactFormat"},
	"Encoding":        {values: api.Encodings, schema: "ArtifactEncoding", def: api.Uncompressed},
	"TokenStatus":     {values: api.TokenStatuses},
	"Outcome":         {values: api.Outcomes},
	"CheckResult":     {values: api.CheckResults},
}

// constants are the api constants an openapi tag may name as a value.
var constants = map[string]any{
	"MaxPageSize":       api.MaxPageSize,
	"Test":              api.Test,
	"BucketNamePattern": api.BucketNamePattern,
	"RegionPattern":     api.RegionPattern,
	"TagColorPattern":   api.TagColorPattern,
}
