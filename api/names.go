package api

// The rules of the names and strings the API checks. The registry
// validates by these limits, the OpenAPI schemas of them (Name,
// ArtifactName, ArtifactFileName, Sha256, ContentType) are generated from
// them, and a test of the registry holds its validators to the patterns.
//
// The patterns are ECMA-262 regular expressions, the dialect of JSON
// Schema. Go's regexp cannot compile their lookaheads, so the registry
// checks their rules in code, one at a time, to say which one failed.
const (
	// MaxNameLen is the longest namespace, model, version, experiment, tag
	// or token name, in characters.
	MaxNameLen = 255
	// NamePattern: not `.` or `..`, no leading or trailing whitespace (as
	// unicode.IsSpace has it), no `/`, `\` or control characters.
	NamePattern = `^(?!\.\.?$)(?![ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])(?![\s\S]*[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$)[^/\\\u0000-\u001f\u007f-\u009f]+$`

	// MaxArtifactNameLen is the longest artifact name, in characters.
	MaxArtifactNameLen = 1024
	// ArtifactNamePattern: a relative path of segments separated by `/`,
	// none empty, `.` or `..`; no `\` or control characters.
	ArtifactNamePattern = `^(?!/)(?![\s\S]*//)(?![\s\S]*/$)(?!(?:[\s\S]*/)?\.\.?(?:/|$))[^\\\u0000-\u001f\u007f-\u009f]+$`

	// MaxFileNameLen is the longest file name of an artifact (the name a
	// download is saved under), in bytes.
	MaxFileNameLen = 255
	// FileNamePattern: not `.` or `..`, no `/`, `\`, `"` or control
	// characters.
	FileNamePattern = `^(?!\.\.?$)[^/\\"\u0000-\u001f\u007f-\u009f]+$`

	// SHA256Pattern: a sha256 digest, in lowercase hex.
	SHA256Pattern = `^[0-9a-f]{64}$`

	// MaxContentTypeLen is the longest content type of an artifact, in
	// bytes.
	MaxContentTypeLen = 255
)
