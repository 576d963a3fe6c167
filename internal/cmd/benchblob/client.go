package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

const (
	namespace    = "bench"
	model        = "blob"
	version      = "1"
	artifactsURL = "/api/v1/namespaces/" + namespace + "/models/" + model + "/versions/" + version + "/artifacts/"
)

// apiClient talks to the benchmark's server over loopback.
type apiClient struct {
	addr string
	http *http.Client
}

func newAPIClient(addr string) *apiClient {
	return &apiClient{addr: addr, http: &http.Client{Transport: &http.Transport{
		Proxy:               nil, // loopback only, whatever HTTP_PROXY says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     time.Minute,
	}}}
}

func (c *apiClient) url(path string) string { return "http://" + c.addr + path }

// createVersion creates the namespace, model and version the artifact
// goes to.
func (c *apiClient) createVersion(ctx context.Context) error {
	steps := []struct{ path, body string }{
		{"/api/v1/namespaces", `{"name":"` + namespace + `"}`},
		{"/api/v1/namespaces/" + namespace + "/models", `{"name":"` + model + `"}`},
		{"/api/v1/namespaces/" + namespace + "/models/" + model + "/versions", `{"version":"` + version + `"}`},
	}
	for _, s := range steps {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.url(s.path), bytes.NewReader([]byte(s.body)))
		if err != nil {
			cancel()
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			cancel()
			return fmt.Errorf("POST %s: %w", s.path, err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST %s: %s: %s", s.path, resp.Status, bytes.TrimSpace(b))
		}
	}
	return nil
}

// transfer is what one upload or download measured.
type transfer struct {
	bytes     int64
	elapsed   time.Duration
	serverCPU time.Duration
	clientCPU time.Duration
	// Upload only: the server's memory.
	rssBefore  int64 // VmRSS before the request
	rssSampled int64 // the largest VmRSS sampled during the request
	samples    int
	peak       int64 // VmHWM at the end of the request
	peakReset  bool  // whether VmHWM was reset before the request
}

func (t transfer) mbps() float64 { return float64(t.bytes) / 1e6 / t.elapsed.Seconds() }

// cpuMeter measures the CPU time of the server and of this process over
// a request.
type cpuMeter struct {
	pid            int
	server, client time.Duration
}

func startCPU(pid int) (*cpuMeter, error) {
	s, err := cpuTime(pid)
	if err != nil {
		return nil, fmt.Errorf("server CPU time: %w", err)
	}
	return &cpuMeter{pid: pid, server: s, client: selfCPU()}, nil
}

func (m *cpuMeter) stop(t *transfer) error {
	s, err := cpuTime(m.pid)
	if err != nil {
		return fmt.Errorf("server CPU time: %w", err)
	}
	t.serverCPU, t.clientCPU = s-m.server, selfCPU()-m.client
	return nil
}

// artifactRecord is the part of the server's answer to an upload that the
// benchmark checks.
type artifactRecord struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// upload PUTs the stream and watches the server's memory while it runs.
func (c *apiClient) upload(ctx context.Context, cfg config, srv *server, name string, gen pattern, digest string) (transfer, error) {
	t := transfer{bytes: cfg.size}
	artifactPath := artifactsURL + name
	pid := srv.pid()
	t.peakReset = resetPeakRSS(pid) == nil
	st, err := procStatus(pid, "VmRSS")
	if err != nil {
		return t, fmt.Errorf("server memory: %w", err)
	}
	t.rssBefore = st["VmRSS"]
	cpu, err := startCPU(pid)
	if err != nil {
		return t, err
	}
	sampler := sampleRSS(pid, cfg.interval)

	start := time.Now()
	var (
		status int
		body   []byte
	)
	if cfg.client == "raw" {
		status, body, err = c.putRaw(ctx, artifactPath, cfg.size, digest, gen.reader(cfg.size))
	} else {
		status, body, err = c.putNetHTTP(ctx, artifactPath, cfg.size, digest, gen.reader(cfg.size))
	}
	t.elapsed = time.Since(start)

	var serr error
	t.rssSampled, t.samples, serr = sampler.stop()
	if err != nil {
		return t, fmt.Errorf("PUT %s: %w", artifactPath, err)
	}
	if status != http.StatusCreated {
		return t, fmt.Errorf("PUT %s: status %d: %s", artifactPath, status, bytes.TrimSpace(body))
	}
	if serr != nil {
		return t, fmt.Errorf("server memory: %w", serr)
	}
	if st, err = procStatus(pid, "VmHWM"); err != nil {
		return t, fmt.Errorf("server memory: %w", err)
	}
	t.peak = st["VmHWM"]
	if err := cpu.stop(&t); err != nil {
		return t, err
	}
	var rec artifactRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return t, fmt.Errorf("PUT %s: answer: %w: %s", artifactPath, err, body)
	}
	if rec.Size != cfg.size || rec.SHA256 != digest {
		return t, fmt.Errorf("PUT %s: the server recorded %d bytes with sha256 %s, sent %d bytes with sha256 %s",
			artifactPath, rec.Size, rec.SHA256, cfg.size, digest)
	}
	return t, nil
}

// putRaw writes the PUT by hand on a new connection: the header, then the
// body straight from the generator's block in 1 MiB writes, so that the
// client costs one memcpy into the kernel per byte.
func (c *apiClient) putRaw(ctx context.Context, artifactPath string, size int64, digest string, body io.WriterTo) (int, []byte, error) {
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })()
	head := fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: benchblob\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Length: %d\r\nDigest: sha256=%s\r\nConnection: close\r\n\r\n",
		artifactPath, c.addr, size, digest)
	_, werr := io.WriteString(conn, head)
	if werr == nil {
		_, werr = body.WriteTo(conn)
	}
	// Read the answer even after a failed write: the server may have
	// refused the upload early and closed the connection.
	resp, rerr := http.ReadResponse(bufio.NewReader(conn), nil)
	if rerr != nil {
		return 0, nil, errors.Join(werr, rerr)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if werr != nil && resp.StatusCode < 300 {
		return 0, nil, fmt.Errorf("status %d after a failed write: %w", resp.StatusCode, werr)
	}
	return resp.StatusCode, b, err
}

// putNetHTTP sends the PUT through net/http's client.
func (c *apiClient) putNetHTTP(ctx context.Context, artifactPath string, size int64, digest string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url(artifactPath), body)
	if err != nil {
		return 0, nil, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Digest", "sha256="+digest)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// download GETs the artifact and checks every byte against the generator.
func (c *apiClient) download(ctx context.Context, srv *server, name string, gen pattern, size int64, digest string) (transfer, error) {
	var t transfer
	artifactPath := artifactsURL + name
	cpu, err := startCPU(srv.pid())
	if err != nil {
		return t, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(artifactPath), nil)
	if err != nil {
		return t, err
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return t, fmt.Errorf("GET %s: %w", artifactPath, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return t, fmt.Errorf("GET %s: %s: %s", artifactPath, resp.Status, bytes.TrimSpace(b))
	}
	if resp.ContentLength != size {
		return t, fmt.Errorf("GET %s: Content-Length %d, want %d", artifactPath, resp.ContentLength, size)
	}
	if got := resp.Header.Get("Digest"); got != "sha256="+digest {
		return t, fmt.Errorf("GET %s: Digest %q, want sha256=%s", artifactPath, got, digest)
	}
	v := &verifier{p: gen}
	n, err := io.CopyBuffer(v, resp.Body, make([]byte, 1<<20))
	t.elapsed = time.Since(start)
	t.bytes = n
	if err != nil {
		return t, fmt.Errorf("GET %s: after %d bytes: %w", artifactPath, n, err)
	}
	if n != size {
		return t, fmt.Errorf("GET %s: %d bytes, want %d", artifactPath, n, size)
	}
	return t, cpu.stop(&t)
}
