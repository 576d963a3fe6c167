package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/auth"
)

// TestSessionDownloadsThroughTheAPI: a signed-in browser follows a page's
// download link to the API with its session cookie alone (GET and HEAD),
// but the cookie never authorizes a change through the API (no CSRF
// token there), and it stops working at sign-out.
func TestSessionDownloadsThroughTheAPI(t *testing.T) {
	a := newAccessSite(t, nil, false)
	bearer := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, a.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.root)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
		return resp
	}
	bearer("POST", "/api/v1/namespaces", `{"name":"canada"}`)
	bearer("POST", "/api/v1/namespaces/canada/models", `{"name":"llm.sm"}`)
	bearer("POST", "/api/v1/namespaces/canada/models/llm.sm/versions", `{"version":"v1"}`)
	bearer("PUT", "/api/v1/namespaces/canada/models/llm.sm/versions/v1/artifacts/weights.bin", "the weights")
	const artifact = "/api/v1/namespaces/canada/models/llm.sm/versions/v1/artifacts/weights.bin"

	c := a.browser()
	a.get(c, artifact).want(t, http.StatusUnauthorized) // no session yet
	a.signIn(c, a.root, "/").want(t, http.StatusSeeOther)

	got := a.get(c, artifact).want(t, http.StatusOK)
	if got.body != "the weights" {
		t.Errorf("download with the session: %q", got.body)
	}
	head, _ := http.NewRequest(http.MethodHead, a.url+artifact, nil)
	if resp, err := c.Do(head); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD with the session: %v %v", resp, err)
	}

	// A change through the API with the cookie alone is anonymous: 401,
	// and nothing is created.
	req, _ := http.NewRequest(http.MethodPost, a.url+"/api/v1/namespaces", strings.NewReader(`{"name":"forged"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", a.url)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST with the session cookie alone: %d, want 401", resp.StatusCode)
	}
	if _, err := a.reg.GetNamespace(t.Context(), "forged"); err == nil {
		t.Error("a namespace was created with the session cookie alone")
	}

	// Signed out, the old cookie (kept by a thief, say) downloads nothing:
	// the session ended on the server.
	u, _ := url.Parse(a.url)
	var old *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == auth.SessionCookieName {
			old = ck
		}
	}
	if old == nil {
		t.Fatal("no session cookie in the jar")
	}
	home := a.get(c, "/").want(t, http.StatusOK)
	a.post(c, "/ui/signout", url.Values{"csrf": {csrf(t, home.body)}}).want(t, http.StatusSeeOther)
	stale, _ := http.NewRequest(http.MethodGet, a.url+artifact, nil)
	stale.AddCookie(old)
	resp, err = http.DefaultClient.Do(stale)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET with the signed-out cookie: %d, want 401", resp.StatusCode)
	}
}
