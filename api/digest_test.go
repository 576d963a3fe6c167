package api

import "testing"

// The digest is what sha256sum prints over the lines, sorted by name:
//
//	printf '%s  %s\n%s  %s\n' <sha256 of "a"> a <sha256 of "b"> b/c | sha256sum
func TestVersionDigest(t *testing.T) {
	if got := VersionDigest(nil); got != "" {
		t.Errorf("no artifacts: %q, want empty", got)
	}
	got := VersionDigest(map[string]string{
		"b/c": "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
		"a":   "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
	})
	const want = "sha256:98770cf8c0928e81ad16d0e0a060c4783403c867ae15265225e316718deeedc9"
	if got != want {
		t.Errorf("VersionDigest = %s, want %s", got, want)
	}
}
