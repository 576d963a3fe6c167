package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// operation is one kind of request the clients send.
type operation struct {
	name string
	want int // the expected status; any other counts as an error
	// request returns the n-th request of a worker: a method, the path
	// under …/namespaces/bench/models/, and a JSON body or nil.
	request func(reg seeded, worker, n int, rng *rand.Rand) (method, path string, body []byte)
}

var operationNames = []string{"create", "get", "list"}

var operations = map[string]operation{
	"create": {
		name: "create version",
		want: http.StatusCreated,
		request: func(reg seeded, worker, n int, rng *rand.Rand) (string, string, []byte) {
			model := reg.models[rng.IntN(len(reg.models))]
			body := fmt.Appendf(nil, `{"version":"bench-%d-%d"}`, worker, n)
			return http.MethodPost, model + "/versions", body
		},
	},
	"get": {
		name: "get version",
		want: http.StatusOK,
		request: func(reg seeded, _, _ int, rng *rand.Rand) (string, string, []byte) {
			i := rng.IntN(reg.versions)
			return http.MethodGet, reg.models[i%len(reg.models)] + "/versions/" + versionName(i), nil
		},
	},
	"list": {
		name: "list versions (state=qa)",
		want: http.StatusOK,
		request: func(reg seeded, _, _ int, rng *rand.Rand) (string, string, []byte) {
			m := rng.IntN(len(reg.models))
			page := 1 + rng.IntN(reg.qaPages[m])
			return http.MethodGet, fmt.Sprintf("%s/versions?state=qa&size=%d&page=%d", reg.models[m], listPageSize, page), nil
		},
	},
}

// load sends one operation's requests to the server of one engine.
type load struct {
	engine      string
	client      *http.Client
	base        string // URL of …/namespaces/bench/models/
	reg         seeded
	concurrency int
	duration    time.Duration
	maxRequests int
	stderr      io.Writer
	token       string // sent as a bearer token; "" sends none
}

// result is what one operation measured.
type result struct {
	operation     string
	requests      int
	errors        int
	elapsed       time.Duration
	p50, p99, max time.Duration
	// cpu is the process's CPU time (server and clients) over the run:
	// per request, it varies less than req/s on a machine shared with
	// other work.
	cpu time.Duration
}

// maxShownErrors bounds the failed answers printed per operation.
const maxShownErrors = 3

// newClient returns a keep-alive client with a connection per worker and
// no proxy: the traffic stays on loopback.
func newClient(concurrency int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        2 * concurrency,
			MaxIdleConnsPerHost: 2 * concurrency,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
		Timeout: 30 * time.Second,
	}
}

// run sends op's requests from l.concurrency workers until l.duration has
// passed or l.maxRequests were sent, and measures each request's latency.
func (l *load) run(ctx context.Context, op operation) (result, error) {
	var (
		sent      atomic.Int64
		mu        sync.Mutex
		shown     int
		latencies = make([][]time.Duration, l.concurrency)
		failures  = make([]int, l.concurrency)
		wg        sync.WaitGroup
	)
	fail := func(method, path string, status int, detail []byte) {
		mu.Lock()
		defer mu.Unlock()
		if shown++; shown <= maxShownErrors {
			fmt.Fprintf(l.stderr, "%s %s: %s %s: %d %s\n", l.engine, op.name, method, path, status, bytes.TrimSpace(detail))
		}
	}
	start, cpuStart := time.Now(), processCPU()
	deadline := start.Add(l.duration)
	for w := range l.concurrency {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for n := 0; sent.Add(1) <= int64(l.maxRequests) && time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				method, path, body := op.request(l.reg, w, n, rng)
				began := time.Now()
				status, detail, err := l.do(ctx, method, path, body, op.want)
				latencies[w] = append(latencies[w], time.Since(began))
				if err != nil || status != op.want {
					failures[w]++
					if err != nil {
						detail = []byte(err.Error())
					}
					fail(method, path, status, detail)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	r := result{operation: op.name, elapsed: time.Since(start), cpu: processCPU() - cpuStart}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	r.requests = len(all)
	for _, f := range failures {
		r.errors += f
	}
	if len(all) > 0 {
		r.p50, r.p99, r.max = percentile(all, 50), percentile(all, 99), all[len(all)-1]
	}
	return r, nil
}

// do sends one request and reads the whole answer, so that the connection
// is reused. The body of an unexpected answer is returned for the report.
func (l *load) do(ctx context.Context, method, path string, body []byte, want int) (status int, detail []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if l.token != "" {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		detail, _ = io.ReadAll(io.LimitReader(resp.Body, 1024))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, detail, err
}

// percentile is the nearest-rank percentile p of sorted latencies.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (len(sorted)*p + 99) / 100
	return sorted[max(rank, 1)-1]
}
