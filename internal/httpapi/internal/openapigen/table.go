package main

import (
	"fmt"
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
	// problems are the problem type slugs whose members typ is (see
	// problemSchemas): its schema is Problem and those members.
	problems []string
	// str is the rule of a string schema (typ nil).
	str *stringRule
	// form names the schema of the metadata part of a multipart form
	// schema (typ nil).
	form string
}

// stringRule is a string schema: limits and pattern from package api.
type stringRule struct {
	minLength, maxLength int
	pattern              string
	examples             []string
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// schemas are the generated schemas, in the document's order.
var schemas = append([]schema{
	{name: "Name", str: &stringRule{minLength: 1, maxLength: api.MaxNameLen, pattern: api.NamePattern, examples: []string{"llm.sm"}},
		description: fmt.Sprintf("A name: 1 to %d characters of UTF-8, no `/`, `\\`, `?`, `#`, `%%` or control characters, not `.`, `..` or `%s` (a token's every namespace), no leading or trailing whitespace. (Names stored before `?`, `#`, `%%` and `%s` were refused are still found by them in paths.)", api.MaxNameLen, api.AllNamespaces, api.AllNamespaces)},
	{name: "ArtifactName", str: &stringRule{minLength: 1, maxLength: api.MaxArtifactNameLen, pattern: api.ArtifactNamePattern, examples: []string{"model.safetensors", "eval/confusion.png"}},
		description: fmt.Sprintf("An artifact name: 1 to %d characters of valid UTF-8, a relative path whose segments are separated by `/`: no leading or trailing `/`, no empty, `.` or `..` segment, not starting like a drive letter (`C:`), no `\\`, `?`, `#`, `%%` or control characters. (Artifacts stored before the last two rules are still found by their names.)", api.MaxArtifactNameLen)},
	{name: "ArtifactFileName", str: &stringRule{minLength: 1, maxLength: api.MaxFileNameLen, pattern: api.FileNamePattern},
		description: fmt.Sprintf("The file name a download is saved under: 1 to %d bytes, no `/`, `\\`, `\"`, control characters or bidirectional overrides and isolates (U+202A to U+202E, U+2066 to U+2069), not `.` or `..`.", api.MaxFileNameLen)},
	{name: "Sha256", str: &stringRule{pattern: api.SHA256Pattern},
		description: "A sha256 digest: 64 lowercase hexadecimal digits."},
	{name: "ContentType", str: &stringRule{maxLength: api.MaxContentTypeLen, examples: []string{"application/json"}},
		description: "A media type, such as `application/json`."},
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
	{name: "ModelSearchPage", typ: typeOf[api.SearchPage[api.Model]](), description: "A page of models a search selected, and the next page's cursor."},
	{name: "VersionSearchPage", typ: typeOf[api.SearchPage[api.Version]](), description: "A page of versions a search selected, and the next page's cursor."},
	{name: "ExperimentSearchPage", typ: typeOf[api.SearchPage[api.Experiment]](), description: "A page of experiments a search selected, and the next page's cursor."},
	{name: "StateChangeData", typ: typeOf[api.List[api.StateChange]](), description: "A version's whole lifecycle history, oldest first (not paginated)."},
	{name: "TagData", typ: typeOf[api.List[api.Tag]](), description: "All tags attached to a resource (not paginated)."},
	{name: "NamespaceCreate", typ: typeOf[api.NamespaceCreate]()},
	{name: "NamespaceUpdate", typ: typeOf[api.NamespaceUpdate]()},
	{name: "BucketCreate", typ: typeOf[api.BucketCreate]()},
	{name: "TagCreate", typ: typeOf[api.TagCreate]()},
	{name: "ModelCreate", typ: typeOf[api.ModelCreate]()},
	{name: "ModelUpdate", typ: typeOf[api.ModelUpdate]()},
	{name: "VersionCreate", typ: typeOf[api.VersionCreate]()},
	{name: "VersionUpdate", typ: typeOf[api.VersionUpdate]()},
	{name: "VersionStateUpdate", typ: typeOf[api.VersionStateUpdate]()},
	{name: "ExperimentCreate", typ: typeOf[api.ExperimentCreate]()},
	{name: "ExperimentStateUpdate", typ: typeOf[api.ExperimentStateUpdate]()},
	{name: "ArtifactFormat", vocabulary: "Format"},
	{name: "ArtifactEncoding", vocabulary: "Encoding"},
	{name: "Artifact", typ: typeOf[api.Artifact](),
		extra: `{"oneOf": [{"required": ["version_id"]}, {"required": ["experiment_id"]}]}`},
	{name: "ArtifactList", typ: typeOf[api.Page[api.Artifact]](), description: "A page of artifacts, by name."},
	{name: "ArtifactUploadMetadata", typ: typeOf[api.ArtifactUploadMetadata]()},
	{name: "ExperimentArtifactUploadMetadata", typ: typeOf[api.ExperimentArtifactUploadMetadata]()},
	{name: "ArtifactUploadForm", form: "ArtifactUploadMetadata",
		description: "The parts of a multipart upload, in this order: `artifact` (JSON metadata) first, then `file`. Parts after `file` are ignored."},
	{name: "ExperimentArtifactUploadForm", form: "ExperimentArtifactUploadMetadata",
		description: "The parts of a multipart upload to an experiment, in this order: `artifact` (JSON metadata) first, then `file`. Parts after `file` are ignored."},
	{name: "CompatVersionUploadMetadata", typ: typeOf[api.CompatVersionUploadMetadata]()},
	{name: "CompatExperimentUploadMetadata", typ: typeOf[api.CompatExperimentUploadMetadata]()},
	{name: "CompatVersionUploadForm", form: "CompatVersionUploadMetadata",
		description: "The parts, in this order: `artifact` (JSON metadata) first, then `file`."},
	{name: "CompatExperimentUploadForm", form: "CompatExperimentUploadMetadata",
		description: "The parts, in this order: `artifact` (JSON metadata) first, then `file`."},
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
	{name: "Problem", typ: typeOf[api.Problem](), extra: `{"additionalProperties": true}`},
	// Model cards, lineage and diff (issue 17).
	{name: "Relation", vocabulary: "Relation"},
	{name: "ModelMetadata", typ: typeOf[api.ModelMetadata](), extra: `{"additionalProperties": true}`},
	{name: "DatasetRef", typ: typeOf[api.DatasetRef]()},
	{name: "CodeRef", typ: typeOf[api.CodeRef]()},
	{name: "ParentRef", typ: typeOf[api.ParentRef]()},
	{name: "ParentsUpdate", typ: typeOf[api.ParentsUpdate]()},
	{name: "Parent", typ: typeOf[api.Parent]()},
	{name: "ParentData", typ: typeOf[api.List[api.Parent]](), description: "A version's parents, by namespace, model and version (not paginated)."},
	{name: "LineageNode", typ: typeOf[api.LineageNode]()},
	{name: "LineageEdge", typ: typeOf[api.LineageEdge]()},
	{name: "Lineage", typ: typeOf[api.Lineage]()},
	{name: "Diff", typ: typeOf[api.Diff]()},
	{name: "ArtifactsDiff", typ: typeOf[api.ArtifactsDiff]()},
	{name: "ArtifactChange", typ: typeOf[api.ArtifactChange]()},
	{name: "DescriptionDiff", typ: typeOf[api.DescriptionDiff]()},
	{name: "ValueDiff", typ: typeOf[api.ValueDiff]()},
	{name: "ExperimentDiff", typ: typeOf[api.ExperimentDiff]()},
	{name: "Alias", typ: typeOf[api.Alias]()},
	{name: "AliasChange", typ: typeOf[api.AliasChange]()},
	{name: "AliasData", typ: typeOf[api.List[api.Alias]](), description: "All aliases of a model, by name (not paginated)."},
	{name: "AliasChangeList", typ: typeOf[api.Page[api.AliasChange]](), description: "A page of an alias's changes, newest first."},
	{name: "SetAliasRequest", typ: typeOf[api.SetAliasRequest]()},
}, problemSchemas()...)

// problemSchemas are the schemas of the members the problem types add to
// Problem: one per struct of package api that is the Members of a problem
// type, named after it, in the order of api.ProblemKinds.
func problemSchemas() []schema {
	var out []schema
	index := map[reflect.Type]int{}
	for _, k := range api.ProblemKinds() {
		t := reflect.TypeOf(k.Members)
		i, ok := index[t]
		if !ok {
			i = len(out)
			index[t] = i
			out = append(out, schema{name: t.Name(), typ: t})
		}
		out[i].problems = append(out[i].problems, k.Slug)
	}
	return out
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
	"ReadinessStatus": {values: api.ReadinessStatuses},
	"Relation":        {values: api.Relations, schema: "Relation"},
}

// constants are the api constants an openapi tag may name as a value.
var constants = map[string]any{
	"MaxPageSize":       api.MaxPageSize,
	"MaxPage":           api.MaxPage,
	"Test":              api.Test,
	"BucketNamePattern": api.BucketNamePattern,
	"RegionPattern":     api.RegionPattern,
	"TagColorPattern":   api.TagColorPattern,
}
