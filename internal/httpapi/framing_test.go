package httpapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// framingServer serves, on a Listener, a handler that refuses smuggling
// requests and otherwise answers "<method> <target> <body length>".
func framingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		ConnContext: ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuseSmuggling(w, r) {
				return
			}
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%s %s %d", r.Method, r.RequestURI, n)
		}),
	}
	go srv.Serve(Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// exchange writes raw on one connection, in pieces of at most split
// bytes, and reads responses until the server closes it or want have
// come.
func exchange(t *testing.T, addr string, raw []byte, split, want int) []*http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		for rest := raw; len(rest) > 0; {
			n := min(len(rest), split)
			if _, err := conn.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
	}()
	br := bufio.NewReader(conn)
	var out []*http.Response
	for len(out) < want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		out = append(out, resp)
	}
	return out
}

func chunked(body string, size int) string {
	var b strings.Builder
	for rest := body; len(rest) > 0; {
		n := min(len(rest), size)
		fmt.Fprintf(&b, "%x;ext=1\r\n%s\r\n", n, rest[:n])
		rest = rest[n:]
	}
	b.WriteString("0\r\nX-Trailer: t\r\n\r\n")
	return b.String()
}

// TestFramingRefusesSmuggling: on a keep-alive connection, requests
// framed by Content-Length, by chunks (with extensions and a trailer),
// and without a body are let through, even when their bodies hold what
// looks like a smuggling head; a request with both Content-Length and
// Transfer-Encoding, wherever it comes, is answered 400 problem+json and
// the connection closed; net/http alone would have served it.
func TestFramingRefusesSmuggling(t *testing.T) {
	addr := framingServer(t)
	decoy := "POST /decoy HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
	benign := []string{
		"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: " + fmt.Sprint(len(decoy)) + "\r\n\r\n" + decoy,
		"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(decoy+decoy, 7),
		"POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"GET /e HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\nab",
	}
	smuggle := "POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	after := "GET /after HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, split := range []int{1, 3, 64, 1 << 20} {
		t.Run(fmt.Sprintf("split %d", split), func(t *testing.T) {
			raw := strings.Join(benign, "") + smuggle + after
			resps := exchange(t, addr, []byte(raw), split, len(benign)+2)
			if len(resps) != len(benign)+1 {
				t.Fatalf("%d responses, want %d (the connection closed after the refusal)", len(resps), len(benign)+1)
			}
			for i, resp := range resps[:len(benign)] {
				if resp.StatusCode != http.StatusOK {
					body, _ := io.ReadAll(resp.Body)
					t.Errorf("request %d: %d %s", i, resp.StatusCode, body)
				}
			}
			last := resps[len(benign)]
			body, _ := io.ReadAll(last.Body)
			if last.StatusCode != http.StatusBadRequest || last.Header.Get("Content-Type") != problemContentType || !last.Close ||
				!strings.Contains(string(body), "Content-Length and Transfer-Encoding") {
				t.Errorf("smuggling request: %d %s close=%v %s", last.StatusCode, last.Header.Get("Content-Type"), last.Close, body)
			}
		})
	}
	for _, tt := range []struct{ name, raw string }{
		{"TE first", "POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"},
		{"TE other case", "POST /s HTTP/1.1\r\nHost: x\r\ntransfer-encoding: Chunked\r\nCONTENT-LENGTH: 0\r\n\r\n0\r\n\r\n"},
		{"HTTP/1.0", "POST /s HTTP/1.0\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"GET", "GET /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resps := exchange(t, addr, []byte(tt.raw), 1<<20, 2)
			if len(resps) != 1 || resps[0].StatusCode != http.StatusBadRequest || !resps[0].Close {
				for _, r := range resps {
					t.Logf("%d close=%v", r.StatusCode, r.Close)
				}
				t.Fatalf("want one 400 and the connection closed")
			}
		})
	}
}

// TestFramingFollowsRandomTraffic: whatever the mix of bodies (random
// lengths and bytes, chunk sizes, pieces the connection delivers them
// in), the connection's notes stay in step with net/http: every request
// is served, and a smuggling request at the end is refused.
func TestFramingFollowsRandomTraffic(t *testing.T) {
	addr := framingServer(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		var raw strings.Builder
		n := 1 + rng.IntN(8)
		for i := range n {
			body := make([]byte, rng.IntN(3000))
			for j := range body {
				body[j] = "ab\r\n: 0;"[rng.IntN(8)]
			}
			target := fmt.Sprintf("/r%d/%d", round, i)
			switch rng.IntN(3) {
			case 0:
				fmt.Fprintf(&raw, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target)
			case 1:
				fmt.Fprintf(&raw, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", target, len(body), body)
			default:
				if len(body) == 0 {
					body = []byte("x")
				}
				fmt.Fprintf(&raw, "PUT %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s", target, chunked(string(body), 1+rng.IntN(500)))
			}
		}
		raw.WriteString("POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
		resps := exchange(t, addr, []byte(raw.String()), 1+rng.IntN(2000), n+1)
		if len(resps) != n+1 {
			t.Fatalf("round %d: %d responses, want %d", round, len(resps), n+1)
		}
		for i, resp := range resps[:n] {
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("round %d request %d: status %d", round, i, resp.StatusCode)
			}
		}
		if resps[n].StatusCode != http.StatusBadRequest {
			t.Fatalf("round %d: the smuggling request got %d", round, resps[n].StatusCode)
		}
	}
}
