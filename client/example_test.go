package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flymodel/flymodel/client"
)

// Each example runs against a real flymodel server in a temporary folder
// (exampleServer); in real use, pass the address of yours, e.g.
// "http://localhost:9009".

func ExampleNew() {
	serverURL, stop := exampleServer()
	defer stop()

	c, err := client.New(serverURL,
		client.WithTimeout(30*time.Second),            // per attempt, not per transfer
		client.WithRetry(5, 200*time.Millisecond),     // only where retrying is safe
		client.WithUserAgent("training-pipeline/1.0"), // shows in the server's log
	)
	if err != nil {
		panic(err)
	}
	if err := c.Ready(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("server ready")
	// Output: server ready
}

func ExampleClient_CreateVersion() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(serverURL)

	if _, err := c.CreateNamespace(ctx, "canada", "models served in Canada"); err != nil {
		panic(err)
	}
	if _, err := c.CreateModel(ctx, "canada", "llm.sm"); err != nil {
		panic(err)
	}
	v, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v0.1.0"})
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Namespace, v.Model, v.Version, v.State, v.Sealed)

	// A version's name is taken once: a second create is a conflict.
	_, err = c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v0.1.0"})
	fmt.Println(errors.Is(err, client.ErrConflict))
	// Output:
	// canada llm.sm v0.1.0 test false
	// true
}

func ExampleClient_UploadFile() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(serverURL)
	c.CreateNamespace(ctx, "canada", "")
	c.CreateModel(ctx, "canada", "llm.sm")
	v, _ := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v0.1.0"})

	dir, _ := os.MkdirTemp("", "weights-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	os.WriteFile(path, []byte("not really a model"), 0o644)

	// The file is hashed first, then sent with its digest: the server checks
	// every byte, and answers at once if it already holds them.
	a, created, err := c.UploadFile(ctx, v.Ref().Owner(), "weights/model.safetensors", path, client.UploadOptions{
		Extra: []byte(`{"framework": "torch"}`),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Name, a.Size, a.SHA256[:12], created)

	// Idempotent: the same bytes again change nothing.
	_, created, _ = c.UploadFile(ctx, v.Ref().Owner(), "weights/model.safetensors", path, client.UploadOptions{})
	fmt.Println("created again:", created)

	// Immutable: other bytes under the same name are refused.
	os.WriteFile(path, []byte("a retrained model"), 0o644)
	_, _, err = c.UploadFile(ctx, v.Ref().Owner(), "weights/model.safetensors", path, client.UploadOptions{})
	fmt.Println(errors.Is(err, client.ErrImmutable))
	// Output:
	// weights/model.safetensors 18 29a6a9f19463 true
	// created again: false
	// true
}

func ExampleClient_UploadArtifact() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(serverURL)
	c.CreateNamespace(ctx, "canada", "")
	c.CreateModel(ctx, "canada", "llm.sm")
	v, _ := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v0.1.0"})

	// Any io.Reader; a strings.Reader, bytes.Reader or *os.File can be
	// replayed, so the upload is retried if the server is briefly unavailable.
	a, created, err := c.UploadArtifact(ctx, v.Ref().Owner(), "config.json", strings.NewReader(`{"layers": 12}`),
		client.UploadOptions{Format: "json"})
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Name, a.ContentType, a.Encoding, created)
	// Output: config.json application/json uncompressed true
}

func ExampleClient_DownloadFile() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(serverURL)
	c.CreateNamespace(ctx, "canada", "")
	c.CreateModel(ctx, "canada", "llm.sm")
	v, _ := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v0.1.0"})
	c.UploadArtifact(ctx, v.Ref().Owner(), "weights/model.bin", strings.NewReader("model bytes"), client.UploadOptions{})

	dir, _ := os.MkdirTemp("", "download-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.bin")
	// The file appears only once its bytes are verified against the
	// server's sha256.
	info, err := c.DownloadFile(ctx, v.Ref().Owner(), "weights/model.bin", path)
	if err != nil {
		panic(err)
	}
	content, _ := os.ReadFile(path)
	fmt.Println(string(content), info.Size, info.SHA256[:12])
	// Output: model bytes 11 9cb7487000bc
}

func ExampleClient_FinishExperiment() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(serverURL)
	c.CreateNamespace(ctx, "canada", "")
	c.CreateModel(ctx, "canada", "llm.sm")
	v, _ := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v0.1.0"})

	if _, err := c.CreateExperiment(ctx, v.Ref(), "eval", map[string]any{"dataset": "holdout-2024"}); err != nil {
		panic(err)
	}
	if _, err := c.StartExperiment(ctx, v.Ref(), "eval"); err != nil {
		panic(err)
	}
	e, err := c.FinishExperiment(ctx, v.Ref(), "eval", true, client.Result{
		Duration: 90 * time.Second,
		Metrics:  map[string]float64{"accuracy": 0.93},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Name, e.State, *e.DurationMs, string(e.Metrics))

	// The result is written once.
	_, err = c.FinishExperiment(ctx, v.Ref(), "eval", false, client.Result{})
	fmt.Println(errors.Is(err, client.ErrTransition))
	// Output:
	// eval passed 90000 {"accuracy":0.93}
	// true
}

func ExampleClient_SetVersionState() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(serverURL)
	c.CreateNamespace(ctx, "canada", "")
	c.CreateModel(ctx, "canada", "llm.sm")
	v, _ := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v0.1.0"})

	for _, state := range []string{"qa", "prod"} {
		if _, err := c.SetVersionState(ctx, v.Ref(), state); err != nil {
			panic(err)
		}
	}
	// Leaving test sealed the version: no new artifacts.
	_, _, err := c.UploadArtifact(ctx, v.Ref().Owner(), "late.txt", strings.NewReader("too late"), client.UploadOptions{})
	fmt.Println(errors.Is(err, client.ErrSealed))

	history, _ := c.VersionHistory(ctx, v.Ref())
	for _, h := range history {
		from := "(created)"
		if h.From != nil {
			from = *h.From
		}
		fmt.Println(from, "->", h.To)
	}
	// Output:
	// true
	// (created) -> test
	// test -> qa
	// qa -> prod
}

func ExampleError() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(serverURL)
	c.CreateNamespace(ctx, "canada", "")

	_, err := c.CreateModel(ctx, "canada", "..")
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Slug(), errors.Is(err, client.ErrValidation))
		for _, f := range apiErr.FieldErrors() {
			fmt.Println(f.Field)
		}
	}
	_, err = c.GetModel(ctx, "canada", "missing")
	fmt.Println(errors.Is(err, client.ErrNotFound))
	// Output:
	// 422 validation true
	// name
	// true
}

func ExampleAll() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(serverURL)
	c.CreateNamespace(ctx, "canada", "")
	for _, name := range []string{"llm.sm", "llm.lg", "vision"} {
		c.CreateModel(ctx, "canada", name)
	}

	// Every model whose name contains "llm", however many pages that takes.
	for m, err := range client.All(ctx, func(ctx context.Context, p client.ListOptions) (client.Page[client.Model], error) {
		return c.ListModels(ctx, "canada", client.ModelFilter{Name: "llm"}, p)
	}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(m.Name)
	}
	// Output:
	// llm.lg
	// llm.sm
}

func ExampleClient_CreateToken() {
	serverURL, adminToken, stop := adminExampleServer()
	defer stop()
	ctx := context.Background()
	// Tokens and the audit log need an unscoped admin token.
	admin, _ := client.New(serverURL, client.WithToken(adminToken))
	admin.CreateNamespace(ctx, "canada", "")
	admin.CreateNamespace(ctx, "yukon", "")

	// A token for a CI job: it writes in canada only, for 90 days. The
	// secret is shown this once.
	tok, err := admin.CreateToken(ctx, client.NewToken{Name: "ci-canada", Role: "write", Namespaces: []string{"canada"}, ExpiresIn: "90d"})
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Name, tok.Role, tok.Namespaces, tok.Status, strings.HasPrefix(tok.Secret, "fm_"))

	ci, _ := client.New(serverURL, client.WithToken(tok.Secret))
	_, err = ci.CreateModel(ctx, "canada", "llm.sm")
	fmt.Println("canada:", err)
	_, err = ci.CreateModel(ctx, "yukon", "llm.sm")
	fmt.Println("yukon forbidden:", errors.Is(err, client.ErrForbidden))

	if err := admin.RevokeToken(ctx, "ci-canada"); err != nil {
		panic(err)
	}
	_, err = ci.CreateModel(ctx, "canada", "llm.lg")
	fmt.Println("after revoke unauthorized:", errors.Is(err, client.ErrUnauthorized))

	// What the token did, and what it was refused, oldest first.
	records, err := admin.AllAudit(ctx, client.AuditFilter{Actor: "ci-canada"})
	if err != nil {
		panic(err)
	}
	for _, r := range records {
		fmt.Println(r.Action, r.Target, r.Outcome)
	}
	// Output:
	// ci-canada write [canada] active true
	// canada: <nil>
	// yukon forbidden: true
	// after revoke unauthorized: true
	// model.create /namespaces/canada/models/llm.sm ok
	// request.post /namespaces/yukon/models denied
}

func ExampleClient_Pull() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(serverURL)
	c.CreateNamespace(ctx, "canada", "")
	c.CreateModel(ctx, "canada", "llm.sm")
	v, _ := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v0.1.0"})
	c.UploadArtifact(ctx, v.Ref().Owner(), "weights/model.bin", strings.NewReader("model bytes"), client.UploadOptions{})
	c.UploadArtifact(ctx, v.Ref().Owner(), "config.json", strings.NewReader(`{"layers": 12}`), client.UploadOptions{})
	c.SetVersionState(ctx, v.Ref(), "prod")

	dir, _ := os.MkdirTemp("", "pull-")
	defer os.RemoveAll(dir)
	// "@prod": the newest version now in prod.
	prod, err := c.ResolveVersion(ctx, "canada", "llm.sm", "@prod")
	if err != nil {
		panic(err)
	}
	// Every file of the version, verified, each written atomically; a
	// second pull finds them all in place.
	res, err := c.Pull(ctx, prod.Ref(), filepath.Join(dir, "llm.sm"), client.PullOptions{})
	if err != nil {
		panic(err)
	}
	for _, f := range res.Files {
		fmt.Println(f.Action, f.Name, f.Size)
	}
	again, _ := c.Pull(ctx, prod.Ref(), filepath.Join(dir, "llm.sm"), client.PullOptions{})
	fmt.Println(again.Downloaded, "downloaded,", again.Unchanged, "unchanged")
	// Output:
	// download config.json 14
	// download weights/model.bin 11
	// 0 downloaded, 2 unchanged
}
