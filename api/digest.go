package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
)

// VersionDigest is a version's content digest from its artifacts' sha256s
// by name: "sha256:" and the hex sha256 of the lines "<sha256>  <name>\n"
// sorted by name (what `sha256sum` prints for the files, sorted); "" for
// a version without artifacts. The server records it on the version; a
// client recomputes it to check what it downloaded.
func VersionDigest(sha256ByName map[string]string) string {
	if len(sha256ByName) == 0 {
		return ""
	}
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(sha256ByName)) {
		fmt.Fprintf(h, "%s  %s\n", sha256ByName[name], name)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
