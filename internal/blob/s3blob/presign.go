package s3blob

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
)

// This file is the store's blob.Direct capability: downloads that go from
// the bucket to the client without the flymodel server in the path.

// directConfig is what the direct URLs are made of.
type directConfig struct {
	public    bool
	pathStyle bool
	host      string // as minio got it: host[:port]
	secure    bool
}

var _ blob.Direct = (*Store)(nil)

// MaxPresignTTL is the longest a presigned URL may stay valid (signature
// version 4 allows seven days).
const MaxPresignTTL = 7 * 24 * time.Hour

// PresignGet returns a presigned GET URL of key, valid for ttl (at least a
// second, at most MaxPresignTTL). With opts, the store answers it with that
// Content-Type and Content-Disposition (response-content-* parameters),
// and it fetches the version opts.Version (versionId).
// Signing needs no request, unless the store has no region configured: then
// the bucket's region is asked once.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration, opts blob.PresignOptions) (string, error) {
	if err := blob.ValidateKey(key); err != nil {
		return "", fmt.Errorf("presign %q: %w", key, err)
	}
	if ttl < time.Second || ttl > MaxPresignTTL {
		return "", fmt.Errorf("presign %s/%s: validity %s is out of range (1s to %s)", s, key, ttl, MaxPresignTTL)
	}
	params := url.Values{}
	if opts.ContentType != "" {
		params.Set("response-content-type", opts.ContentType)
	}
	if opts.ContentDisposition != "" {
		params.Set("response-content-disposition", opts.ContentDisposition)
	}
	if opts.Version != "" {
		params.Set("versionId", opts.Version)
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", s.fail(ctx, "presign", key, err)
	}
	return u.String(), nil
}

// PublicURL returns the anonymous URL of key when the store is public:
// endpoint/bucket/key path-style, else bucket.endpoint/key (on AWS, the
// regional endpoint). EnsurePublic makes it answer.
func (s *Store) PublicURL(key string) string {
	d := s.direct
	if !d.public || blob.ValidateKey(key) != nil {
		return ""
	}
	scheme := "https"
	if !d.secure {
		scheme = "http"
	}
	// Keys hold only letters, digits, '.', '_', '-' and '/': nothing to
	// escape.
	if d.pathStyle {
		return scheme + "://" + d.host + "/" + s.bucket + "/" + key
	}
	host := d.host
	if host == "s3.amazonaws.com" && s.region != "" && s.region != "us-east-1" {
		host = "s3." + s.region + ".amazonaws.com"
	}
	return scheme + "://" + s.bucket + "." + host + "/" + key
}

// publicReadSid names the statement of the bucket policy that EnsurePublic
// adds.
const publicReadSid = "FlymodelPublicRead"

// EnsurePublic adds to the bucket's policy a statement that lets anyone
// GET its objects (s3:GetObject on bucket/*; listing stays private, so an
// object is only reachable by its URL), unless it is there already. The
// policy's other statements are kept. A store not configured public is
// left alone.
func (s *Store) EnsurePublic(ctx context.Context) (bool, error) {
	if !s.direct.public {
		return false, nil
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	current, err := s.client.GetBucketPolicy(ctx, s.bucket)
	if err != nil {
		return false, s.fail(ctx, "get bucket policy", "", err)
	}
	policy, changed, err := withPublicRead(current, s.bucket)
	if err != nil {
		return false, fmt.Errorf("bucket policy of %s: %w", s, err)
	}
	if !changed {
		return false, nil
	}
	if err := s.client.SetBucketPolicy(ctx, s.bucket, policy); err != nil {
		return false, s.fail(ctx, "set bucket policy (anonymous read for public = true)", "", err)
	}
	return true, nil
}

// publicReadStatement is the statement EnsurePublic adds.
func publicReadStatement(bucket string) map[string]any {
	return map[string]any{
		"Sid":       publicReadSid,
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": []any{"*"}},
		"Action":    []any{"s3:GetObject"},
		"Resource":  []any{"arn:aws:s3:::" + bucket + "/*"},
	}
}

// withPublicRead returns policy (a bucket policy document, "" for none)
// with the public-read statement in it, and whether that changed it. A
// statement with the same Sid and other content is replaced.
func withPublicRead(policy, bucket string) (string, bool, error) {
	want := publicReadStatement(bucket)
	doc := map[string]any{}
	if policy != "" {
		if err := json.Unmarshal([]byte(policy), &doc); err != nil {
			return "", false, fmt.Errorf("the current policy is not JSON: %v", err)
		}
	}
	var statements []any
	switch st := doc["Statement"].(type) {
	case nil:
	case []any:
		statements = st
	case map[string]any: // the grammar allows one statement without a list
		statements = []any{st}
	default:
		return "", false, fmt.Errorf("the current policy's Statement is neither a list nor an object")
	}
	kept := statements[:0:0]
	for _, st := range statements {
		if m, ok := st.(map[string]any); ok && m["Sid"] == publicReadSid {
			if reflect.DeepEqual(m, want) {
				return policy, false, nil
			}
			continue // replaced below
		}
		kept = append(kept, st)
	}
	doc["Statement"] = append(kept, want)
	if _, ok := doc["Version"]; !ok {
		doc["Version"] = "2012-10-17"
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return "", false, err
	}
	return string(out), true, nil
}
