package s3blob

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
)

// anonymousGet fetches u without credentials.
func anonymousGet(t *testing.T, u string) (int, http.Header, []byte) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return res.StatusCode, res.Header, body
}

func TestPresignGet(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	content := []byte("presigned bytes\n")
	info, err := s.Put(ctx, "objects/aa/presigned", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := blob.DirectOf(s); !ok {
		t.Fatal("the S3 store has no Direct capability")
	}

	u, err := s.PresignGet(ctx, info.Key, time.Minute, blob.PresignOptions{
		ContentType: "application/json", ContentDisposition: `attachment; filename="config.json"`})
	if err != nil {
		t.Fatal(err)
	}
	status, h, body := anonymousGet(t, u)
	if status != http.StatusOK || !bytes.Equal(body, content) {
		t.Fatalf("presigned GET: %d %q", status, body)
	}
	if h.Get("Content-Type") != "application/json" || h.Get("Content-Disposition") != `attachment; filename="config.json"` {
		t.Errorf("presigned GET headers: %v", h)
	}
	// The object itself stays private.
	if s.PublicURL(info.Key) != "" {
		t.Fatalf("a private store has a public URL")
	}
	plain, _, _ := strings.Cut(u, "?")
	if status, _, _ := anonymousGet(t, plain); status != http.StatusForbidden {
		t.Errorf("unsigned GET of a private object: %d, want 403", status)
	}

	t.Run("expires", func(t *testing.T) {
		u, err := s.PresignGet(ctx, info.Key, time.Second, blob.PresignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Valid at first (the signature's clock is the second it was made:
		// a slow machine may already be past it, so only its end is
		// required), refused within a bounded wait.
		deadline := time.Now().Add(15 * time.Second)
		for {
			status, _, body := anonymousGet(t, u)
			if status == http.StatusForbidden {
				if !bytes.Contains(body, []byte("xpired")) {
					t.Logf("refused without saying it expired: %s", body)
				}
				return
			}
			if status != http.StatusOK || !bytes.Equal(body, content) {
				t.Fatalf("presigned GET before expiry: %d %q", status, body)
			}
			if time.Now().After(deadline) {
				t.Fatal("a presigned URL valid for 1s still answers after 15s")
			}
			time.Sleep(100 * time.Millisecond) // polling for the server's clock to pass the expiry
		}
	})

	t.Run("invalid", func(t *testing.T) {
		for _, ttl := range []time.Duration{0, 500 * time.Millisecond, MaxPresignTTL + time.Second} {
			if _, err := s.PresignGet(ctx, info.Key, ttl, blob.PresignOptions{}); err == nil {
				t.Errorf("validity %s accepted", ttl)
			}
		}
		if _, err := s.PresignGet(ctx, "../x", time.Minute, blob.PresignOptions{}); err == nil {
			t.Error("invalid key accepted")
		}
	})
}

func TestPublicStore(t *testing.T) {
	cfg := serverConfig(t)
	cfg.Public = true
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeBucket(t, s) })
	ctx := context.Background()
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	// Someone else's statement, which must survive.
	other := `{"Version":"2012-10-17","Statement":[{"Sid":"Other","Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + cfg.Bucket + `/shared/*"]}]}`
	if err := s.client.SetBucketPolicy(ctx, cfg.Bucket, other); err != nil {
		t.Fatal(err)
	}
	content := []byte("public bytes")
	info, err := s.Put(ctx, "objects/bb/public", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	u := s.PublicURL(info.Key)
	if want := cfg.Endpoint + "/" + cfg.Bucket + "/objects/bb/public"; u != want {
		t.Fatalf("public URL %q, want %q", u, want)
	}
	if status, _, _ := anonymousGet(t, u); status != http.StatusForbidden {
		t.Fatalf("anonymous GET before EnsurePublic: %d, want 403", status)
	}

	changed, err := s.EnsurePublic(ctx)
	if err != nil || !changed {
		t.Fatalf("EnsurePublic: %v, %v", changed, err)
	}
	status, _, body := anonymousGet(t, u)
	if status != http.StatusOK || !bytes.Equal(body, content) {
		t.Fatalf("anonymous GET: %d %q", status, body)
	}
	// Listing stays private.
	if status, _, _ := anonymousGet(t, cfg.Endpoint+"/"+cfg.Bucket+"/"); status != http.StatusForbidden {
		t.Errorf("anonymous listing: %d, want 403", status)
	}
	// Idempotent, and the other statement is kept.
	if changed, err := s.EnsurePublic(ctx); err != nil || changed {
		t.Fatalf("EnsurePublic again: %v, %v", changed, err)
	}
	policy, err := s.client.GetBucketPolicy(ctx, cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Statement []struct{ Sid string } }
	if err := json.Unmarshal([]byte(policy), &doc); err != nil || len(doc.Statement) != 2 ||
		doc.Statement[0].Sid != "Other" || doc.Statement[1].Sid != publicReadSid {
		t.Fatalf("policy after EnsurePublic: %s (%v)", policy, err)
	}

	// A private store leaves its bucket alone.
	cfg.Public = false
	private, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := private.EnsurePublic(ctx); err != nil || changed || private.PublicURL(info.Key) != "" {
		t.Fatalf("private store: %v, %v, %q", changed, err, private.PublicURL(info.Key))
	}
}

func TestPublicURLForms(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Bucket: "ml-prod", Endpoint: "http://minio:9000", PathStyle: true, Public: true}, "http://minio:9000/ml-prod/objects/ab/cd"},
		{Config{Bucket: "ml-prod", Endpoint: "https://s3.example.com", Public: true}, "https://ml-prod.s3.example.com/objects/ab/cd"},
		{Config{Bucket: "ml-prod", Region: "eu-west-1", Public: true}, "https://ml-prod.s3.eu-west-1.amazonaws.com/objects/ab/cd"},
		{Config{Bucket: "ml-prod", Region: "us-east-1", Public: true}, "https://ml-prod.s3.amazonaws.com/objects/ab/cd"},
		{Config{Bucket: "ml-prod", Endpoint: "http://minio:9000", PathStyle: true}, ""},
	} {
		s, err := New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.PublicURL("objects/ab/cd"); got != c.want {
			t.Errorf("%+v: %q, want %q", c.cfg, got, c.want)
		}
	}
}

func TestWithPublicRead(t *testing.T) {
	for _, c := range []struct {
		name, policy string
		changed      bool
		statements   int
		fails        bool
	}{
		{"none", "", true, 1, false},
		{"present", `{"Version":"2012-10-17","Statement":[{"Sid":"FlymodelPublicRead","Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}`, false, 1, false},
		{"stale", `{"Version":"2012-10-17","Statement":[{"Sid":"FlymodelPublicRead","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`, true, 1, false},
		{"one statement", `{"Version":"2012-10-17","Statement":{"Sid":"A","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}}`, true, 2, false},
		{"other", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}]}`, true, 2, false},
		{"garbage", `{`, false, 0, true},
		{"bad statement", `{"Statement":"x"}`, false, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, changed, err := withPublicRead(c.policy, "b")
			if (err != nil) != c.fails {
				t.Fatalf("err %v", err)
			}
			if err != nil {
				return
			}
			var doc struct{ Statement []map[string]any }
			if jerr := json.Unmarshal([]byte(out), &doc); jerr != nil {
				t.Fatal(jerr)
			}
			if changed != c.changed || len(doc.Statement) != c.statements {
				t.Fatalf("changed %v, %d statements: %s", changed, len(doc.Statement), out)
			}
		})
	}
}
