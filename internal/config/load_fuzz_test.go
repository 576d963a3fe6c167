package config

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzLoad writes data as dir/name and loads it: it never panics, and
// either fails or returns a Config that Validate accepts.
func fuzzLoad(t *testing.T, name string, data []byte) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Dir: dir})
	if err != nil {
		if cfg != nil {
			t.Fatalf("Load returned a Config with its error %v", err)
		}
		return
	}
	if cfg == nil {
		t.Fatal("Load returned neither a Config nor an error")
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Load accepted a Config that Validate refuses: %v\n%q", err, data)
	}
}

func FuzzLoadTOML(f *testing.F) {
	if b, err := os.ReadFile("../../conf/flymodel.toml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"data_dir = \"data\"\n[server]\nport = 8080\nbind = \"0.0.0.0\"\n",
		"[log]\nlevel = \"trace\"\n[retention.test]\nmodels = 30\nruns = 7\n",
		"[[storage.s3]]\nbucket = \"ml-prod\"\nrole = \"prod\"\n[[storage.fs]]\npath = \"/blobs\"\nrole = \"*\"\n",
		"[server]\nport = -1\nshutdown_timeout = \"forever\"\n",
		"[promotion.staging]\nrequire = [\"eval\"]\nrequire_all_passed = true\n",
		"unknown = 1\n[server\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLoad(t, "flymodel.toml", data) })
}

func FuzzLoadYAML(f *testing.F) {
	if b, err := os.ReadFile("../../conf/flymodel.yaml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"data_dir: data\nserver:\n  port: 8080\n  bind: 0.0.0.0\n",
		"log: {level: debug, format: json}\nretention:\n  test: {models: 30, runs: 7}\n",
		"storage:\n  s3:\n    - bucket: ml-prod\n      role: prod\n  fs:\n    - path: /blobs\n",
		"server:\n  port: 70000\n  max_upload_bytes: -5\n",
		"a: &a [*a]\n",
		"server: [1, 2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLoad(t, filepath.Join("config", "flymodel.yaml"), data) })
}
