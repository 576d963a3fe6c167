package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/registry"
)

var ctx = context.Background()

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// seed creates namespace canada, model llm.sm and version v1.
func seed(t *testing.T, c *client.Client) client.VersionRef {
	t.Helper()
	_, err := c.CreateNamespace(ctx, "canada", "")
	check(t, err)
	_, err = c.CreateModel(ctx, "canada", "llm.sm")
	check(t, err)
	v, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v1"})
	check(t, err)
	return v.Ref()
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "localhost:9009", "ftp://host", "http://", "http://u:p@host", "http://host/?q=1", "://x"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("New(%q) succeeded", bad)
		}
	}
	for _, opt := range []client.Option{client.WithRetry(0, time.Second), client.WithRetry(2, -1), client.WithTimeout(-1), client.WithHTTPClient(nil)} {
		if _, err := client.New("http://localhost", opt); err == nil {
			t.Error("New accepted an invalid option")
		}
	}
	for in, want := range map[string]string{
		"http://localhost:9009":                  "http://localhost:9009",
		"http://localhost:9009/":                 "http://localhost:9009",
		"http://localhost:9009/api/v1/":          "http://localhost:9009",
		"https://example.com/flymodel/":          "https://example.com/flymodel",
		"https://example.com/fly%20model/api/v1": "https://example.com/fly%20model",
	} {
		c, err := client.New(in)
		check(t, err)
		if c.BaseURL() != want {
			t.Errorf("New(%q).BaseURL() = %q, want %q", in, c.BaseURL(), want)
		}
	}
}

func TestNamespacesBucketsTags(t *testing.T) {
	c, _ := newServer(t, serverConfig{}, client.WithUserAgent("client-test"))
	check(t, c.Ready(ctx))

	ns, err := c.CreateNamespace(ctx, "canada", "the north")
	check(t, err)
	if ns.Name != "canada" || ns.Description != "the north" || ns.ID == 0 || ns.CreatedAt.IsZero() || ns.CreatedAt.Location() != time.UTC {
		t.Fatalf("created %+v", ns)
	}
	_, err = c.CreateNamespace(ctx, "zz", "")
	check(t, err)
	got, err := c.GetNamespace(ctx, "canada")
	check(t, err)
	if got != ns {
		t.Fatalf("get %+v, want %+v", got, ns)
	}
	page, err := c.ListNamespaces(ctx, client.ListOptions{Size: 1})
	check(t, err)
	if len(page.Data) != 1 || page.Data[0].Name != "canada" || page.TotalItems != 2 || page.TotalPages != 2 || page.Page != (client.PageInfo{Page: 1, Size: 1}) {
		t.Fatalf("page %+v", page)
	}
	next, ok := page.Next()
	if !ok || next != (client.ListOptions{Page: 2, Size: 1}) {
		t.Fatalf("next %+v %v", next, ok)
	}
	page, err = c.ListNamespaces(ctx, next)
	check(t, err)
	if len(page.Data) != 1 || page.Data[0].Name != "zz" {
		t.Fatalf("page 2 %+v", page)
	}
	if _, ok := page.Next(); ok {
		t.Fatal("page 2 of 2 has a next page")
	}
	var all []string
	for n, err := range client.All(ctx, c.ListNamespaces) {
		check(t, err)
		all = append(all, n.Name)
	}
	if !slices.Equal(all, []string{"canada", "zz"}) {
		t.Fatalf("all %v", all)
	}

	desc, name := "renamed", "yukon"
	ns, err = c.UpdateNamespace(ctx, "zz", client.NamespaceUpdate{Name: &name, Description: &desc})
	check(t, err)
	if ns.Name != "yukon" || ns.Description != "renamed" {
		t.Fatalf("updated %+v", ns)
	}

	b, err := c.CreateBucket(ctx, "canada", client.NewBucket{Name: "ml-prod", Region: "ca-central-1", Role: "prod"})
	check(t, err)
	if b.ID == 0 || b.Namespace != "canada" || b.Role != "prod" || b.Region != "ca-central-1" {
		t.Fatalf("bucket %+v", b)
	}
	buckets, err := c.ListBuckets(ctx, "canada", client.ListOptions{})
	check(t, err)
	if len(buckets.Data) != 1 || buckets.Data[0] != b {
		t.Fatalf("buckets %+v", buckets)
	}
	check(t, c.DeleteBucket(ctx, "canada", b.ID))
	if err := c.DeleteBucket(ctx, "canada", b.ID); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("second bucket delete: %v", err)
	}

	tag, err := c.CreateTag(ctx, "canada", "gold", "#ffd700")
	check(t, err)
	if tag.Tag != "gold" || tag.Color != "#ffd700" || tag.Namespace != "canada" {
		t.Fatalf("tag %+v", tag)
	}
	_, err = c.CreateTag(ctx, "canada", "old tag", "#000000")
	check(t, err)
	tags, err := c.ListTags(ctx, "canada", client.ListOptions{})
	check(t, err)
	if tags.TotalItems != 2 || tags.Data[0].Tag != "gold" || tags.Data[1].Tag != "old tag" {
		t.Fatalf("tags %+v", tags)
	}
	check(t, c.DeleteTag(ctx, "canada", "old tag"))

	// A namespace with content goes only with cascade.
	if err := c.DeleteNamespace(ctx, "canada", false); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("delete of a namespace with tags: %v", err)
	}
	check(t, c.DeleteNamespace(ctx, "canada", true))
	check(t, c.DeleteNamespace(ctx, "yukon", false))
	if _, err := c.GetNamespace(ctx, "canada"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestModels(t *testing.T) {
	c, _ := newServer(t, serverConfig{})
	_, err := c.CreateNamespace(ctx, "canada", "")
	check(t, err)
	for _, name := range []string{"llm.sm", "llm.lg", "vision"} {
		_, err := c.CreateModel(ctx, "canada", name)
		check(t, err)
	}
	_, err = c.CreateTag(ctx, "canada", "gold", "#ffd700")
	check(t, err)
	check(t, c.TagModel(ctx, "canada", "llm.sm", "gold"))
	check(t, c.TagModel(ctx, "canada", "llm.sm", "gold")) // idempotent

	m, err := c.GetModel(ctx, "canada", "llm.sm")
	check(t, err)
	if m.Name != "llm.sm" || m.Namespace != "canada" || !slices.Equal(m.Tags, []string{"gold"}) {
		t.Fatalf("model %+v", m)
	}
	names := func(f client.ModelFilter) []string {
		t.Helper()
		p, err := c.ListModels(ctx, "canada", f, client.ListOptions{})
		check(t, err)
		var out []string
		for _, m := range p.Data {
			out = append(out, m.Name)
		}
		return out
	}
	if got := names(client.ModelFilter{}); !slices.Equal(got, []string{"llm.lg", "llm.sm", "vision"}) {
		t.Fatalf("all models %v", got)
	}
	if got := names(client.ModelFilter{Name: "LLM"}); !slices.Equal(got, []string{"llm.lg", "llm.sm"}) {
		t.Fatalf("name filter %v", got)
	}
	if got := names(client.ModelFilter{Tag: "gold"}); !slices.Equal(got, []string{"llm.sm"}) {
		t.Fatalf("tag filter %v", got)
	}
	check(t, c.UntagModel(ctx, "canada", "llm.sm", "gold"))
	if got := names(client.ModelFilter{Tag: "gold"}); len(got) != 0 {
		t.Fatalf("after untag %v", got)
	}

	m, err = c.RenameModel(ctx, "canada", "vision", "vision.v2")
	check(t, err)
	if m.Name != "vision.v2" {
		t.Fatalf("renamed %+v", m)
	}
	if _, err := c.GetModel(ctx, "canada", "vision"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("old name: %v", err)
	}

	_, err = c.CreateVersion(ctx, "canada", "llm.lg", client.NewVersion{Version: "v1"})
	check(t, err)
	if err := c.DeleteModel(ctx, "canada", "llm.lg", false); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("delete of a model with versions: %v", err)
	}
	check(t, c.DeleteModel(ctx, "canada", "llm.lg", true))
	check(t, c.DeleteModel(ctx, "canada", "vision.v2", false))
	if got := names(client.ModelFilter{}); !slices.Equal(got, []string{"llm.sm"}) {
		t.Fatalf("after deletes %v", got)
	}
}

func TestVersions(t *testing.T) {
	c, _ := newServer(t, serverConfig{})
	v1 := seed(t, c)
	v2, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v 2·β", State: "qa"})
	check(t, err)
	if v2.State != "qa" || !v2.Sealed || v2.SealedAt == nil || v2.Version != "v 2·β" {
		t.Fatalf("created in qa: %+v", v2)
	}
	got, err := c.GetVersion(ctx, v2.Ref())
	check(t, err)
	if got.ID != v2.ID || got.State != "qa" {
		t.Fatalf("get %+v", got)
	}

	_, err = c.CreateTag(ctx, "canada", "gold", "#ffd700")
	check(t, err)
	check(t, c.TagVersion(ctx, v1, "gold"))
	tags, err := c.VersionTags(ctx, v1)
	check(t, err)
	if len(tags) != 1 || tags[0].Tag != "gold" {
		t.Fatalf("version tags %+v", tags)
	}
	list := func(f client.VersionFilter) []string {
		t.Helper()
		p, err := c.ListVersions(ctx, "canada", "llm.sm", f, client.ListOptions{})
		check(t, err)
		var out []string
		for _, v := range p.Data {
			out = append(out, v.Version)
		}
		return out
	}
	if got := list(client.VersionFilter{}); !slices.Equal(got, []string{"v 2·β", "v1"}) {
		t.Fatalf("versions (newest first) %v", got)
	}
	if got := list(client.VersionFilter{State: "qa"}); !slices.Equal(got, []string{"v 2·β"}) {
		t.Fatalf("state filter %v", got)
	}
	if got := list(client.VersionFilter{Tag: "gold"}); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("tag filter %v", got)
	}
	check(t, c.UntagVersion(ctx, v1, "gold"))
	if tags, err := c.VersionTags(ctx, v1); err != nil || len(tags) != 0 {
		t.Fatalf("after untag %v %v", tags, err)
	}

	v, err := c.SetVersionState(ctx, v1, "stage")
	check(t, err)
	if v.State != "stage" || !v.Sealed {
		t.Fatalf("promoted %+v", v)
	}
	_, err = c.SetVersionState(ctx, v1, "stage") // no change, no history
	check(t, err)
	_, err = c.SetVersionState(ctx, v1, "test") // a rollback
	check(t, err)
	history, err := c.VersionHistory(ctx, v1)
	check(t, err)
	var moves []string
	for _, h := range history {
		from := "-"
		if h.From != nil {
			from = *h.From
		}
		moves = append(moves, from+">"+h.To+" by "+h.Actor)
	}
	if !slices.Equal(moves, []string{"->test by test-admin", "test>stage by test-admin", "stage>test by test-admin"}) {
		t.Fatalf("history %v", moves)
	}

	check(t, c.DeleteVersion(ctx, v1, false))
	if _, err := c.GetVersion(ctx, v1); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("get after soft delete: %v", err)
	}
	if _, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v1"}); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("a soft-deleted version keeps its name: %v", err)
	}
	check(t, c.DeleteVersion(ctx, v1, true))
	_, err = c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v1"})
	check(t, err)
}

func TestExperiments(t *testing.T) {
	c, _ := newServer(t, serverConfig{})
	v := seed(t, c)
	e, err := c.CreateExperiment(ctx, v, "eval", map[string]any{"lr": 0.01, "epochs": 3})
	check(t, err)
	if e.State != client.StateCreated || e.Name != "eval" || e.Ref() != v || string(e.Params) != `{"epochs":3,"lr":0.01}` {
		t.Fatalf("created %+v params %s", e, e.Params)
	}
	_, err = c.CreateExperiment(ctx, v, "smoke", nil)
	check(t, err)
	if _, err := c.CreateExperiment(ctx, v, "eval", nil); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("second create: %v", err)
	}

	e, err = c.StartExperiment(ctx, v, "eval")
	check(t, err)
	if e.State != client.StateRunning || e.StartedAt == nil || e.Retries != 0 {
		t.Fatalf("started %+v", e)
	}
	e, err = c.StartExperiment(ctx, v, "eval")
	check(t, err)
	if e.Retries != 1 {
		t.Fatalf("restart: retries %d", e.Retries)
	}
	e, err = c.FinishExperiment(ctx, v, "eval", true, client.Result{Duration: 1500 * time.Millisecond, Metrics: json.RawMessage(`{"acc": 0.93}`)})
	check(t, err)
	if e.State != client.StatePassed || e.DurationMs == nil || *e.DurationMs != 1500 || string(e.Metrics) != `{"acc":0.93}` || e.FinishedAt == nil {
		t.Fatalf("finished %+v metrics %s", e, e.Metrics)
	}
	_, err = c.StartExperiment(ctx, v, "smoke")
	check(t, err)
	e, err = c.FinishExperiment(ctx, v, "smoke", false, client.Result{})
	check(t, err)
	if e.State != client.StateFailed || e.DurationMs == nil {
		t.Fatalf("failed without a duration: %+v", e)
	}

	got, err := c.GetExperiment(ctx, v, "eval")
	check(t, err)
	if got.State != client.StatePassed || got.ID == 0 {
		t.Fatalf("get %+v", got)
	}
	page, err := c.ListExperiments(ctx, v, "", client.ListOptions{})
	check(t, err)
	if page.TotalItems != 2 || page.Data[0].Name != "eval" || page.Data[1].Name != "smoke" {
		t.Fatalf("list %+v", page)
	}
	page, err = c.ListExperiments(ctx, v, client.StateFailed, client.ListOptions{})
	check(t, err)
	if page.TotalItems != 1 || page.Data[0].Name != "smoke" {
		t.Fatalf("failed list %+v", page)
	}

	_, err = c.CreateTag(ctx, "canada", "gold", "#ffd700")
	check(t, err)
	check(t, c.TagExperiment(ctx, v, "eval", "gold"))
	tags, err := c.ExperimentTags(ctx, v, "eval")
	check(t, err)
	if len(tags) != 1 || tags[0].Tag != "gold" {
		t.Fatalf("experiment tags %+v", tags)
	}
	check(t, c.UntagExperiment(ctx, v, "eval", "gold"))
	if tags, err := c.ExperimentTags(ctx, v, "eval"); err != nil || len(tags) != 0 {
		t.Fatalf("after untag %v %v", tags, err)
	}

	check(t, c.DeleteExperiment(ctx, v, "smoke", false))
	if _, err := c.GetExperiment(ctx, v, "smoke"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	check(t, c.DeleteExperiment(ctx, v, "smoke", true))
	_, err = c.CreateExperiment(ctx, v, "smoke", nil)
	check(t, err)
}

// TestErrorSentinels provokes each error class on the real server and
// checks the sentinels it matches, and the ones it must not.
func TestErrorSentinels(t *testing.T) {
	gates := map[string]registry.Gate{"prod": {Require: []string{"eval"}}}
	c, _ := newServer(t, serverConfig{gates: gates, maxUpload: 1024})
	v := seed(t, c)
	_, _, err := c.UploadArtifact(ctx, v.Owner(), "a.txt", strings.NewReader("first bytes"), client.UploadOptions{})
	check(t, err)
	sealed, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "sealed", State: "qa"})
	check(t, err)
	_, err = c.CreateExperiment(ctx, v, "eval", nil)
	check(t, err)

	all := []error{client.ErrBadRequest, client.ErrDigestMismatch, client.ErrNotFound, client.ErrConflict,
		client.ErrImmutable, client.ErrSealed, client.ErrGate, client.ErrTransition, client.ErrTooLarge,
		client.ErrValidation, client.ErrUnavailable, client.ErrIntegrity, client.ErrUnauthorized, client.ErrForbidden}
	cases := []struct {
		name   string
		call   func() error
		status int
		slug   string
		is     []error
	}{
		{"not found", func() error { _, err := c.GetModel(ctx, "canada", "nope"); return err },
			404, "not-found", []error{client.ErrNotFound}},
		{"not found (HEAD)", func() error { _, err := c.StatArtifact(ctx, v.Owner(), "nope.bin"); return err },
			404, "", []error{client.ErrNotFound}},
		{"not found (list lookup)", func() error { _, err := c.GetArtifact(ctx, v.Owner(), "nope.bin"); return err },
			404, "not-found", []error{client.ErrNotFound}},
		{"conflict", func() error { _, err := c.CreateModel(ctx, "canada", "llm.sm"); return err },
			409, "conflict", []error{client.ErrConflict}},
		{"immutable", func() error {
			_, _, err := c.UploadArtifact(ctx, v.Owner(), "a.txt", strings.NewReader("other bytes"), client.UploadOptions{})
			return err
		}, 409, "immutable", []error{client.ErrConflict, client.ErrImmutable}},
		{"sealed", func() error {
			_, _, err := c.UploadArtifact(ctx, sealed.Ref().Owner(), "a.txt", strings.NewReader("bytes"), client.UploadOptions{})
			return err
		}, 409, "sealed", []error{client.ErrConflict, client.ErrSealed}},
		{"gate", func() error { _, err := c.SetVersionState(ctx, v, "prod"); return err },
			409, "promotion-gate", []error{client.ErrConflict, client.ErrGate}},
		{"transition", func() error { _, err := c.FinishExperiment(ctx, v, "eval", true, client.Result{}); return err },
			409, "invalid-transition", []error{client.ErrConflict, client.ErrTransition}},
		{"validation", func() error { _, err := c.CreateTag(ctx, "canada", "red", "red"); return err },
			422, "validation", []error{client.ErrValidation}},
		{"invalid name", func() error { _, err := c.GetModel(ctx, "canada", ".."); return err },
			400, "invalid-name", []error{client.ErrBadRequest}},
		{"digest mismatch", func() error {
			_, _, err := c.UploadArtifact(ctx, v.Owner(), "b.txt", strings.NewReader("bytes"), client.UploadOptions{SHA256: sha([]byte("other"))})
			return err
		}, 400, "digest-mismatch", []error{client.ErrBadRequest, client.ErrDigestMismatch}},
		{"too large (declared)", func() error {
			_, _, err := c.UploadArtifact(ctx, v.Owner(), "big.bin", bytes.NewReader(make([]byte, 2048)), client.UploadOptions{})
			return err
		}, 413, "too-large", []error{client.ErrTooLarge}},
		{"too large (streamed)", func() error {
			_, _, err := c.UploadArtifact(ctx, v.Owner(), "big.bin", io.MultiReader(bytes.NewReader(make([]byte, 2048))), client.UploadOptions{})
			return err
		}, 413, "too-large", []error{client.ErrTooLarge}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var apiErr *client.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T) is not a *client.Error", err, err)
			}
			if apiErr.Status != tc.status || apiErr.Slug() != tc.slug {
				t.Fatalf("status %d slug %q, want %d %q: %v", apiErr.Status, apiErr.Slug(), tc.status, tc.slug, err)
			}
			if tc.slug != "" && (apiErr.Title == "" || apiErr.Detail == "" || apiErr.Instance == "") {
				t.Fatalf("problem members missing: %+v", apiErr)
			}
			for _, sentinel := range all {
				if want := slices.Contains(tc.is, sentinel); errors.Is(err, sentinel) != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v (%v)", sentinel, !want, want, err)
				}
			}
		})
	}

	// The extensions carry what a caller needs to explain the refusal.
	_, _, err = c.UploadArtifact(ctx, v.Owner(), "a.txt", strings.NewReader("other bytes"), client.UploadOptions{})
	var apiErr *client.Error
	errors.As(err, &apiErr)
	if apiErr.ExtensionString("existing_sha256") != sha([]byte("first bytes")) || apiErr.ExtensionString("actual_sha256") != sha([]byte("other bytes")) {
		t.Fatalf("immutable extensions %+v", apiErr.Extensions)
	}
	var immutable api.ImmutableProblem // the members, as the api type of the problem type
	if err := apiErr.Members(&immutable); err != nil || immutable.ExistingSHA256 != sha([]byte("first bytes")) ||
		immutable.ActualSHA256 != sha([]byte("other bytes")) || !strings.HasSuffix(immutable.Existing, "/artifacts/a.txt") {
		t.Fatalf("immutable members %+v, %v", immutable, err)
	}
	_, err = c.CreateTag(ctx, "canada", "", "red")
	errors.As(err, &apiErr)
	fields := apiErr.FieldErrors()
	if len(fields) != 2 || fields[0].Field != "tag" || fields[1].Field != "color" || fields[0].Message == "" {
		t.Fatalf("field errors %+v", fields)
	}
	_, err = c.SetVersionState(ctx, v, "prod")
	errors.As(err, &apiErr)
	if missing, _ := apiErr.Extensions["not_passed"].([]any); len(missing) != 1 || missing[0] != "eval" {
		t.Fatalf("gate extensions %+v", apiErr.Extensions)
	}
	if !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "eval") {
		t.Fatalf("message %q", err)
	}
}

func TestUploads(t *testing.T) {
	c, _ := newServer(t, serverConfig{})
	v := seed(t, c)
	o := v.Owner()
	content := bytes.Repeat([]byte("weights!"), 10000)

	t.Run("known digest", func(t *testing.T) {
		var progress []int64
		a, created, err := c.UploadArtifact(ctx, o, "weights/model.bin", bytes.NewReader(content), client.UploadOptions{
			SHA256: strings.ToUpper(sha(content)), Format: "json", Encoding: "gzip", FileName: "model.json.gz",
			ContentType: "application/x-test", Extra: json.RawMessage(`{"framework": "torch"}`),
			Progress: func(done int64) { progress = append(progress, done) },
		})
		check(t, err)
		if !created || a.Name != "weights/model.bin" || a.SHA256 != sha(content) || a.Size != int64(len(content)) ||
			a.Format != "json" || a.Encoding != "gzip" || a.FileName != "model.json.gz" || a.ContentType != "application/x-test" ||
			string(a.Extra) != `{"framework":"torch"}` || a.VersionID == 0 || a.ExperimentID != 0 {
			t.Fatalf("created %v %+v extra %s", created, a, a.Extra)
		}
		if len(progress) == 0 || progress[len(progress)-1] != int64(len(content)) {
			t.Fatalf("progress %v", progress)
		}
	})
	t.Run("unknown digest and length", func(t *testing.T) {
		a, created, err := c.UploadArtifact(ctx, o, "data/ünïcode name.txt", io.MultiReader(strings.NewReader("hello "), strings.NewReader("world")), client.UploadOptions{Size: -1})
		check(t, err)
		if !created || a.SHA256 != sha([]byte("hello world")) || a.Size != 11 || a.FileName != "ünïcode name.txt" || a.Format != "txt" || a.Encoding != "uncompressed" {
			t.Fatalf("created %v %+v", created, a)
		}
	})
	t.Run("idempotent re-upload", func(t *testing.T) {
		for _, opts := range []client.UploadOptions{{}, {SHA256: sha(content)}} {
			a, created, err := c.UploadArtifact(ctx, o, "weights/model.bin", bytes.NewReader(content), opts)
			check(t, err)
			if created || a.SHA256 != sha(content) {
				t.Fatalf("re-upload: created %v %+v", created, a)
			}
		}
	})
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.json")
		check(t, os.WriteFile(path, []byte(`{"layers": 12}`), 0o644))
		a, created, err := c.UploadFile(ctx, o, "config.json", path, client.UploadOptions{Format: "json"})
		check(t, err)
		if !created || a.SHA256 != sha([]byte(`{"layers": 12}`)) || a.ContentType != "application/json" {
			t.Fatalf("file upload: %v %+v", created, a)
		}
		_, created, err = c.UploadFile(ctx, o, "config.json", path, client.UploadOptions{})
		check(t, err)
		if created {
			t.Fatal("file re-upload created")
		}
		digest, size, err := client.HashFile(ctx, path)
		check(t, err)
		if digest != a.SHA256 || size != a.Size {
			t.Fatalf("HashFile %s %d", digest, size)
		}
		if _, _, err := c.UploadFile(ctx, o, "dir", t.TempDir(), client.UploadOptions{}); err == nil {
			t.Fatal("uploaded a folder")
		}
	})
	t.Run("experiment", func(t *testing.T) {
		e, err := c.CreateExperiment(ctx, v, "eval", nil)
		check(t, err)
		a, created, err := c.UploadArtifact(ctx, e.Owner(), "report.md", strings.NewReader("# report"), client.UploadOptions{Format: "md"})
		check(t, err)
		if !created || a.ExperimentID != e.ID || a.VersionID != 0 || a.ContentType != "text/markdown" {
			t.Fatalf("experiment artifact %+v", a)
		}
		list, err := c.AllArtifacts(ctx, e.Owner())
		check(t, err)
		if len(list) != 1 || list[0].Name != "report.md" {
			t.Fatalf("experiment artifacts %+v", list)
		}
	})
	t.Run("lookups", func(t *testing.T) {
		list, err := c.AllArtifacts(ctx, o)
		check(t, err)
		var names []string
		for _, a := range list {
			names = append(names, a.Name)
		}
		if !slices.Equal(names, []string{"config.json", "data/ünïcode name.txt", "weights/model.bin"}) {
			t.Fatalf("artifacts %v", names)
		}
		page, err := c.ListArtifacts(ctx, o, client.ListOptions{Page: 2, Size: 2})
		check(t, err)
		if page.TotalItems != 3 || len(page.Data) != 1 || page.Data[0].Name != "weights/model.bin" {
			t.Fatalf("page 2 %+v", page)
		}
		a, err := c.GetArtifact(ctx, o, "weights/model.bin")
		check(t, err)
		if a.FileName != "model.json.gz" || string(a.Extra) != `{"framework":"torch"}` {
			t.Fatalf("get %+v", a)
		}
		info, err := c.StatArtifact(ctx, o, "data/ünïcode name.txt")
		check(t, err)
		if info.SHA256 != sha([]byte("hello world")) || info.Size != 11 || info.FileName != "ünïcode name.txt" ||
			info.ContentType != "text/plain" || info.CreatedAt.IsZero() {
			t.Fatalf("stat %+v", info)
		}
		got, err := c.GetVersion(ctx, v)
		check(t, err)
		if !strings.HasPrefix(got.Digest, "sha256:") {
			t.Fatalf("version digest %q", got.Digest)
		}
	})
}

// nonSeeking hides every method of a reader but Read, so that the client
// cannot learn its length or replay it.
type nonSeeking struct{ r io.Reader }

func (n nonSeeking) Read(p []byte) (int, error) { return n.r.Read(p) }

// TestUploadAnsweredEarly re-uploads a large body the server already holds:
// with the digest declared, the server answers without reading the body,
// and the client takes that answer whether or not the transport waits for
// "100 Continue" before sending.
func TestUploadAnsweredEarly(t *testing.T) {
	noExpect := http.DefaultTransport.(*http.Transport).Clone()
	noExpect.ExpectContinueTimeout = 0 // send the body at once, whatever the server says
	clients := map[string]*http.Client{
		"expect-continue":   {},
		"body-at-once":      {Transport: noExpect},
		"unknown transport": {Transport: &countingTransport{}},
	}
	for name, hc := range clients {
		t.Run(name, func(t *testing.T) {
			c, _ := newServer(t, serverConfig{}, client.WithHTTPClient(hc))
			v := seed(t, c)
			content := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16) // 4 MiB: more than the server drains
			_, created, err := c.UploadArtifact(ctx, v.Owner(), "big.bin", bytes.NewReader(content), client.UploadOptions{SHA256: sha(content)})
			check(t, err)
			if !created {
				t.Fatal("first upload not created")
			}
			for range 3 {
				var read int64
				a, created, err := c.UploadArtifact(ctx, v.Owner(), "big.bin", nonSeeking{bytes.NewReader(content)}, client.UploadOptions{
					SHA256: sha(content), Progress: func(done int64) { read = done },
				})
				check(t, err)
				if created || a.SHA256 != sha(content) {
					t.Fatalf("re-upload: created %v %+v", created, a)
				}
				t.Logf("body bytes read before the answer: %d of %d", read, len(content))
			}
			// A refusal before the body arrives the same way.
			sealed, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v2", State: "qa"})
			check(t, err)
			_, _, err = c.UploadArtifact(ctx, sealed.Ref().Owner(), "big.bin", nonSeeking{bytes.NewReader(content)}, client.UploadOptions{SHA256: sha(content)})
			if !errors.Is(err, client.ErrSealed) {
				t.Fatalf("upload to a sealed version: %v", err)
			}
		})
	}
}

func TestDownloads(t *testing.T) {
	c, srv := newServer(t, serverConfig{})
	v := seed(t, c)
	o := v.Owner()
	content := bytes.Repeat([]byte("model bytes "), 50000)
	_, _, err := c.UploadArtifact(ctx, o, "weights/model.bin", bytes.NewReader(content), client.UploadOptions{FileName: "model.bin", Format: "txt"})
	check(t, err)

	var buf bytes.Buffer
	info, err := c.DownloadArtifact(ctx, o, "weights/model.bin", &buf)
	check(t, err)
	if !bytes.Equal(buf.Bytes(), content) || info.SHA256 != sha(content) || info.Size != int64(len(content)) ||
		info.FileName != "model.bin" || info.ContentType != "text/plain" || info.Name != "weights/model.bin" {
		t.Fatalf("download %+v (%d bytes)", info, buf.Len())
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.bin")
	_, err = c.DownloadFile(ctx, o, "weights/model.bin", path)
	check(t, err)
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("downloaded file: %v", err)
	}
	if _, err := c.DownloadFile(ctx, o, "missing.bin", filepath.Join(dir, "missing.bin")); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("download of a missing artifact: %v", err)
	}

	// Alter the stored bytes on disk: the download must fail, and the file
	// must not appear (nor any temporary file).
	altered := bytes.Clone(content)
	altered[len(altered)-1] ^= 1
	check(t, srv.alterBlob(content, altered))
	buf.Reset()
	_, err = c.DownloadArtifact(ctx, o, "weights/model.bin", &buf)
	var integrity *client.IntegrityError
	if !errors.Is(err, client.ErrIntegrity) || !errors.As(err, &integrity) {
		t.Fatalf("download of altered bytes: %v", err)
	}
	if integrity.Expected != sha(content) || integrity.Received >= int64(len(content)) || integrity.Artifact == "" {
		t.Fatalf("integrity error %+v", integrity)
	}
	fresh := t.TempDir()
	_, err = c.DownloadFile(ctx, o, "weights/model.bin", filepath.Join(fresh, "model.bin"))
	if !errors.Is(err, client.ErrIntegrity) {
		t.Fatalf("DownloadFile of altered bytes: %v", err)
	}
	if entries, _ := os.ReadDir(fresh); len(entries) != 0 {
		t.Fatalf("DownloadFile left %v", entries)
	}
	// An existing file is left as it was.
	_, err = c.DownloadFile(ctx, o, "weights/model.bin", path)
	if !errors.Is(err, client.ErrIntegrity) {
		t.Fatalf("DownloadFile over a file: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Fatal("a failed download changed the existing file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("DownloadFile left %v", entries)
	}
}

// TestDownloadVerification serves wrong answers the real server never
// gives: complete bytes that do not match the digest, no digest, fewer
// bytes than announced.
func TestDownloadVerification(t *testing.T) {
	content := []byte("the real bytes")
	cases := map[string]func(w http.ResponseWriter){
		"wrong bytes": func(w http.ResponseWriter) {
			w.Header().Set("Digest", "sha256="+sha(content))
			w.Write([]byte("other bytes!!!"))
		},
		"two digests": func(w http.ResponseWriter) {
			w.Header().Set("Digest", "sha256="+sha(content))
			w.Header().Set("Repr-Digest", "sha-256=:"+"YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="+":")
			w.Write(content)
		},
		"no digest": func(w http.ResponseWriter) { w.Write(content) },
		"truncated": func(w http.ResponseWriter) {
			w.Header().Set("Digest", "sha256="+sha(content))
			w.Header().Set("Content-Length", "100")
			w.Write(content)
		},
	}
	for name, serve := range cases {
		t.Run(name, func(t *testing.T) {
			c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { serve(w) })
			var buf bytes.Buffer
			_, err := c.DownloadArtifact(ctx, client.Owner{Namespace: "n", Model: "m", Version: "v"}, "a.bin", &buf)
			if !errors.Is(err, client.ErrIntegrity) {
				t.Fatalf("got %v, want ErrIntegrity", err)
			}
		})
	}
	t.Run("repr-digest only", func(t *testing.T) {
		c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			sum := sha256.Sum256(content)
			w.Header().Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
			w.Write(content)
		})
		var buf bytes.Buffer
		info, err := c.DownloadArtifact(ctx, client.Owner{Namespace: "n", Model: "m", Version: "v"}, "a.bin", &buf)
		check(t, err)
		if info.SHA256 != sha(content) || buf.String() != string(content) {
			t.Fatalf("info %+v", info)
		}
	})
}
