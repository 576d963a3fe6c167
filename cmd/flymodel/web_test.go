package main

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
)

// TestServeWebUI: `flymodel serve` serves the web UI at / by default, and
// server.ui = false leaves the API alone (/ is its JSON 404).
func TestServeWebUI(t *testing.T) {
	for _, c := range []struct {
		name, env   string
		status      int
		contentType string
	}{
		{"default", "", http.StatusOK, "text/html; charset=utf-8"},
		{"off", "FLYMODEL_SERVER_UI=false", http.StatusNotFound, "application/problem+json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var env []string
			if c.env != "" {
				env = append(env, c.env)
			}
			s := startServe(t, dir, env, "-p", "0")
			resp, err := http.Get("http://" + s.addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.contentType {
				t.Errorf("GET /: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if c.status == http.StatusOK && (!strings.Contains(string(body), "No namespaces yet.") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'")) {
				t.Errorf("GET /: not the home page\n%s", body)
			}
			s.get(t, "/api/v1/nope", http.StatusNotFound)
			s.stop(t, syscall.SIGTERM)
		})
	}
}
