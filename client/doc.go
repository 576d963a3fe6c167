// Package client is the Go client of flymodel's HTTP API: namespaces,
// buckets, tags, models, versions with their lifecycle, experiments with
// their results, the artifacts (files) of versions and experiments, and,
// for an unscoped admin token, API tokens and the audit log.
//
// # Overview
//
// A Client is made once with New and the server's address, and is safe for
// concurrent use:
//
//	c, err := client.New("http://localhost:9009", client.WithToken(token))
//	…
//	v, err := c.CreateVersion(ctx, "canada", "llm.sm", client.NewVersion{Version: "v0.1.0"})
//	…
//	a, created, err := c.UploadFile(ctx, v.Ref().Owner(), "weights/model.safetensors", "out/model.safetensors", client.UploadOptions{})
//	…
//	info, err := c.DownloadFile(ctx, v.Ref().Owner(), "weights/model.safetensors", "model.safetensors")
//
// Every method takes a context first; cancelling it stops the request,
// its retries and any transfer in progress. Resources are named as in the
// API's paths: a model by namespace and name, a version by a VersionRef,
// the artifacts of a version or of an experiment by an Owner. Names are
// path-escaped segment by segment; an artifact name keeps its "/"
// separators.
//
// # Errors
//
// An error answer of the server (application/problem+json, RFC 9457)
// becomes an *Error carrying the status, the problem type and its extension
// members. Compare with the sentinel errors rather than with status codes:
//
//	if errors.Is(err, client.ErrNotFound) { … }      // 404
//	if errors.Is(err, client.ErrConflict) { … }      // any 409
//	if errors.Is(err, client.ErrImmutable) { … }     // 409: the name holds other bytes
//
// A download whose bytes do not hash to the server's digest, or that ends
// early, fails with an *IntegrityError, which matches ErrIntegrity.
//
// # Retries
//
// A request is retried with exponential backoff and jitter (by default 3
// attempts, 100 ms doubling; see WithRetry) only when that is safe:
//
//   - a connection that could not be made (connection refused, DNS
//     failure): nothing reached the server, whatever the method;
//   - an idempotent request (GET, HEAD, PUT, DELETE) that failed in
//     transit or timed out, or was answered 502, 503 or 504. A
//     Retry-After header is honoured, up to 30 seconds.
//
// A POST or PATCH is never sent twice, nor is the PUT that moves an
// experiment (a second "running" would count a retry of the experiment).
// An artifact upload is a PUT and idempotent by design (the same bytes under
// the same name are stored once), but its body is only sent again when it
// can be replayed: an io.Seeker such as *os.File, *bytes.Reader or
// *strings.Reader, rewound to where it started.
//
// # Timeouts
//
// WithTimeout (default 60 seconds) bounds each attempt up to the start of
// its streams, not the streams themselves, so that a large transfer is never
// cut off by a timeout meant for a slow server:
//
//   - a JSON request is bounded as a whole: connect, send, answer, body;
//   - an upload is bounded until the server starts reading its body, and
//     again from the body's last byte to the server's answer;
//   - a download is bounded until the answer's headers arrive.
//
// To bound a whole transfer, give its context a deadline. A timeout is an
// error that matches context.DeadlineExceeded.
//
// # Integrity
//
// Uploads send the sha256 of their bytes ahead when it is known
// (UploadOptions.SHA256; UploadFile computes it), and the server refuses
// bytes that do not match (ErrDigestMismatch). Downloads hash the bytes as
// they stream and compare them with the server's digest at the end; since
// the destination has received the bytes by then, write to a temporary file
// and keep it only on success — which DownloadFile does.
package client
