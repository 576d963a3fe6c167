package redact_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/redact"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://user:s3cret@db:5432/fm?sslmode=disable":                 "postgres://user:xxxxx@db:5432/fm?sslmode=disable",
		"postgres://user@db/fm?sslmode=disable&password=s3cret":             "postgres://user@db/fm?sslmode=disable&password=xxxxx",
		"postgres://user@db/fm?password=s3cret&sslmode=disable":             "postgres://user@db/fm?password=xxxxx&sslmode=disable",
		"postgresql://u:p%40ss@db/fm?PassWord=x&sslpassword=y":              "postgresql://u:xxxxx@db/fm?PassWord=xxxxx&sslpassword=xxxxx",
		"postgres://u:p@ss@db/fm":                                           "postgres://u:xxxxx@db/fm",
		"http://AKIA:wJalr/x@minio:9000":                                    "http://AKIA:xxxxx@minio:9000",
		"http://AKIA:wJalr@minio:9000/bucket":                               "http://AKIA:xxxxx@minio:9000/bucket",
		"https://user:1234@host":                                            "https://user:xxxxx@host",
		"https://user:pw@host":                                              "https://user:xxxxx@host",
		"https://s3/b/k?X-Amz-Credential=AKIA%2F2024&X-Amz-Signature=abc&a": "https://s3/b/k?X-Amz-Credential=xxxxx&X-Amz-Signature=xxxxx&a",
		"https://h/cb?token=t&code=1":                                       "https://h/cb?token=xxxxx&code=1",
		"host=db user=fm password=s3cret dbname=fm":                         "host=db user=fm password=xxxxx dbname=fm",
		"sqlite:flymodel-data/flymodel.db":                                  "sqlite:flymodel-data/flymodel.db",
		"postgres://user@db/fm":                                             "postgres://user@db/fm",
		"http://localhost:9009":                                             "http://localhost:9009",
		"localhost:9009":                                                    "localhost:9009",
		"user@example.com: a mail address, not a URL":                       "user@example.com: a mail address, not a URL",
		"http://localhost:9009/api/v1/namespaces/a@b":                       "http://localhost:9009/api/v1/namespaces/a@b",
		"http://localhost:9009 answered: x@y":                               "http://localhost:9009 answered: x@y",
		// In text: every URL of it.
		`Get "http://u:pw@h:1/api": dial tcp: refused; retry http://v:pw2@g/` + "\n" + `x`: `Get "http://u:xxxxx@h:1/api": dial tcp: refused; retry http://v:xxxxx@g/` + "\n" + `x`,
		`parse "http://user:password@bad host:9009": invalid character " " in host name`:   `parse "http://user:xxxxx@bad host:9009": invalid character " " in host name`,
	} {
		if got := redact.URL(in); got != want {
			t.Errorf("URL(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

// TestURLHidesEveryPassword: whatever the password, and whatever Go makes
// of the URL in its errors, the password does not show.
func TestURLHidesEveryPassword(t *testing.T) {
	for _, pw := range []string{"s3cret", "p@ss", "with space", "ends-with:colon", "ümlaut", "semi;colon", "a%2Fb", "&amp"} {
		for _, raw := range []string{
			"postgres://fm:" + pw + "@db/fm",
			"postgres://fm:" + url.QueryEscape(pw) + "@db/fm",
			"postgres://fm@db/fm?password=" + url.QueryEscape(pw),
			"http://key:" + url.PathEscape(pw) + "@minio:9000",
			"http://key:" + url.PathEscape(pw) + "@bad host:9000",
		} {
			texts := []string{raw}
			if _, err := url.Parse(raw); err != nil {
				texts = append(texts, err.Error())
			}
			if _, err := http.Get(raw); err != nil {
				texts = append(texts, err.Error())
			}
			for _, text := range texts {
				got := redact.URL(text)
				for _, form := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw)} {
					if len(form) > 3 && strings.Contains(got, form) {
						t.Errorf("URL(%q) = %q: shows %q", text, got, form)
					}
				}
			}
		}
	}
}

func TestError(t *testing.T) {
	if redact.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
	plain := errors.New("no URL here")
	if redact.Error(plain) != plain {
		t.Error("an error with nothing to mask was wrapped")
	}
	err := fmt.Errorf("open postgres://fm:s3cret@db/fm: %w", fs.ErrNotExist)
	masked := redact.Error(err)
	if masked.Error() != "open postgres://fm:xxxxx@db/fm: file does not exist" {
		t.Errorf("masked = %q", masked)
	}
	if !errors.Is(masked, fs.ErrNotExist) {
		t.Error("errors.Is does not see through the mask")
	}
	var ue *url.Error
	_, perr := http.Get("http://fm:s3cret@127.0.0.1:1/?token=t0k")
	if !errors.As(redact.Error(perr), &ue) || strings.Contains(redact.Error(perr).Error(), "t0k") {
		t.Errorf("url.Error through the mask: %v", redact.Error(perr))
	}
}
