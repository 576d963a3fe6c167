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
	// NameReserved are the characters no new name (of a namespace, model,
	// version, experiment, tag, token or artifact) may hold, because a URL
	// or a second decoding reads them as something else: `?` starts a
	// query, `#` a fragment and `%` an escape. Refusing them makes every
	// name the same in a URL, a file system and a log. Names stored before
	// the rule stay addressable: lookups by name do not apply it.
	NameReserved = "?#%"
	// AllNamespaces is the namespace list of a token for every namespace
	// (`["*"]`), so no new namespace, model, version, experiment, tag or
	// token is named it: a namespace `*` would read as every namespace.
	// Names stored before the rule stay addressable, as for NameReserved.
	AllNamespaces = "*"
	// NamePattern: not `.`, `..` or AllNamespaces, no leading or trailing
	// whitespace (as unicode.IsSpace has it), no `/`, `\`, NameReserved or
	// control characters.
	NamePattern = `^(?!\.\.?$)(?!\*$)(?![ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])(?![\s\S]*[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$)[^/\\` + NameReserved + `\u0000-\u001f\u007f-\u009f]+$`

	// MaxArtifactNameLen is the longest artifact name, in characters.
	MaxArtifactNameLen = 1024
	// ArtifactNamePattern: a relative path of segments separated by `/`,
	// none empty, `.` or `..`; the first not like a drive letter (`C:`);
	// no `\`, NameReserved or control characters.
	ArtifactNamePattern = `^(?!/)(?![A-Za-z]:)(?![\s\S]*//)(?![\s\S]*/$)(?!(?:[\s\S]*/)?\.\.?(?:/|$))[^\\` + NameReserved + `\u0000-\u001f\u007f-\u009f]+$`

	// MaxFileNameLen is the longest file name of an artifact (the name a
	// download is saved under), in bytes.
	MaxFileNameLen = 255
	// FileNamePattern: not `.` or `..`, no `/`, `\`, `"`, control
	// characters or the bidirectional overrides and isolates (U+202A to
	// U+202E, U+2066 to U+2069), which make a name show as another
	// (`evil\u202Etxt.exe` reads as `evilexe.txt`).
	FileNamePattern = `^(?!\.\.?$)[^/\\"\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]+$`

	// SHA256Pattern: a sha256 digest, in lowercase hex.
	SHA256Pattern = `^[0-9a-f]{64}$`

	// MaxContentTypeLen is the longest content type of an artifact, in
	// bytes.
	MaxContentTypeLen = 255
)
