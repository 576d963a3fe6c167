package main

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// hostileDigestCases are the hostile suite's uploads that declare digests
// the bytes do not have, or digests the server does not verify (issue 13,
// item 11): each is refused with 400 and stores nothing. v1 and e1 are a
// version's and an experiment's paths, versionID the version's id for the
// original flymodel's upload route.
func hostileDigestCases(v1, e1 string, versionID int64) []hostileCase {
	body := []byte("bytes whose declared digests lie")
	other := []byte("some other bytes")
	b64 := base64.StdEncoding.EncodeToString
	md5Other, sha512Other, sha256Other := md5.Sum(other), sha512.Sum512(other), sha256.Sum256(other)
	md5Body := md5.Sum(body)
	put := func(target string, header ...string) hostileReq {
		return hostileReq{method: "PUT", target: target, header: header, body: body}
	}
	mp := func(target string, fileFirst bool, meta string, header ...string) hostileReq {
		parts := []mpPart{mpArtifact(meta), mpFile("file", "f.bin", body), mpClose}
		if fileFirst {
			parts[0], parts[1] = parts[1], parts[0]
		}
		req := hostileMultipart(target, parts...)
		req.header = append(req.header, header...)
		return req
	}
	cases := []hostileCase{
		// Wrong digests of the algorithms verified.
		{name: "put-content-md5-wrong", req: put(v1+"/artifacts/d-cmd5.bin", "Content-MD5: "+b64(md5Other[:]))},
		{name: "put-digest-md5-wrong", req: put(v1+"/artifacts/d-md5.bin", "Digest: md5="+b64(md5Other[:]))},
		{name: "put-digest-MD5-upper-wrong", req: put(v1+"/artifacts/d-MD5.bin", "Digest: MD5="+b64(md5Other[:]))},
		{name: "put-repr-digest-md5-wrong", req: put(v1+"/artifacts/d-rmd5.bin", "Repr-Digest: md5=:"+b64(md5Other[:])+":")},
		{name: "put-repr-digest-sha-512-wrong", req: put(v1+"/artifacts/d-r512.bin", "Repr-Digest: sha-512=:"+b64(sha512Other[:])+":")},
		{name: "put-digest-sha-512-wrong", req: put(v1+"/artifacts/d-512.bin", "Digest: SHA-512="+b64(sha512Other[:]))},
		{name: "put-content-digest-sha-512-wrong", req: put(v1+"/artifacts/d-c512.bin", "Content-Digest: sha-512=:"+b64(sha512Other[:])+":")},
		{name: "put-right-sha-256-wrong-md5", req: put(v1+"/artifacts/d-mixed.bin", "Digest: sha256="+hex.EncodeToString(sha256Sum(body)), "Content-MD5: "+b64(md5Other[:]))},
		{name: "put-experiment-md5-wrong", req: put(e1+"/artifacts/d-exp.bin", "Content-MD5: "+b64(md5Other[:]))},
		// Algorithms the server does not verify, and values that are not digests.
		{name: "put-digest-sha-1", req: put(v1+"/artifacts/d-sha1.bin", "Digest: SHA="+b64(md5Body[:]))},
		{name: "put-digest-unixsum", req: put(v1+"/artifacts/d-unixsum.bin", "Digest: UNIXsum=3019")},
		{name: "put-digest-adler32", req: put(v1+"/artifacts/d-adler.bin", "Digest: ADLER32=0x9a3a0d1b")},
		{name: "put-repr-digest-crc32c", req: put(v1+"/artifacts/d-crc.bin", "Repr-Digest: crc32c=:AAAAAA==:")},
		{name: "put-repr-digest-id-sha-256", req: put(v1+"/artifacts/d-id.bin", "Repr-Digest: id-sha-256=:"+b64(sha256Other[:])+":")},
		{name: "put-digest-no-value", req: put(v1+"/artifacts/d-novalue.bin", "Digest: md5")},
		{name: "put-content-md5-hex", req: put(v1+"/artifacts/d-hex.bin", "Content-MD5: "+hex.EncodeToString(md5Body[:]))},
		{name: "put-content-md5-empty-base64", req: put(v1+"/artifacts/d-empty.bin", "Content-MD5: ====")},
		{name: "put-md5-of-sha-256-length", req: put(v1+"/artifacts/d-len.bin", "Repr-Digest: md5=:"+b64(sha256Other[:])+":")},
		{name: "put-two-md5-values", req: put(v1+"/artifacts/d-two.bin", "Content-MD5: "+b64(md5Body[:]), "Digest: md5="+b64(md5Other[:]))},
		{name: "put-two-sha-512-headers", req: put(v1+"/artifacts/d-two512.bin", "Repr-Digest: sha-512=:"+b64(sha512Other[:])+":", "Repr-Digest: sha-512=:AAAA:")},
		// Multipart uploads, both part orders, and the original's route.
		{name: "multipart-content-md5-wrong", req: mp(v1+"/artifacts", false, `{"name":"d-mp.bin"}`, "Content-MD5: "+b64(md5Other[:]))},
		{name: "multipart-file-first-content-md5-wrong", req: mp(v1+"/artifacts", true, `{"name":"d-mp-ff.bin"}`, "Content-MD5: "+b64(md5Other[:]))},
		{name: "multipart-repr-digest-sha-512-wrong", req: mp(v1+"/artifacts", false, `{"name":"d-mp512.bin"}`, "Repr-Digest: sha-512=:"+b64(sha512Other[:])+":")},
		{name: "multipart-content-digest", req: mp(v1+"/artifacts", false, `{"name":"d-mp-cd.bin"}`, "Content-Digest: sha-256=:"+b64(sha256Other[:])+":")},
		{name: "multipart-digest-unixsum", req: mp(v1+"/artifacts", true, `{"name":"d-mp-unix.bin"}`, "Digest: UNIXsum=3019")},
		{name: "compat-upload-md5-wrong", req: mp("/upload/model-version-artifact", true,
			fmt.Sprintf(`{"model_version":%d,"artifact_name":"d-compat.bin"}`, versionID), "Digest: MD5="+b64(md5Other[:]))},
	}
	for i := range cases {
		cases[i].name = "digests/" + cases[i].name
		cases[i].want = []int{400}
	}
	return cases
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
