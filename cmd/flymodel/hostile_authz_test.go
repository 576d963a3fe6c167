package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHostileAuthz is the hostile suite's part about who may do what,
// over raw TCP to a live `flymodel serve` (SQLite, the defaults of
// server.max_concurrent_uploads and server.max_uploads_per_principal):
//
//   - upload slots: 64 stalled uploads from a read token to the original
//     flymodel's upload route (which learns its target from the body) take
//     no slot, so a writer is not refused 429; one caller holds at most
//     server.max_uploads_per_principal slots, and another caller still
//     uploads;
//   - token scopes by namespace id: no namespaces is refused (422, as are
//     "*" beside names and a namespace that does not exist); renaming a to
//     ghost does not hand it to the tokens of a deleted ghost, a's tokens
//     follow it, and a namespace made again under a deleted one's name is
//     not its tokens';
//   - the audit log counts repeated refusals on one record (repeats).
func TestHostileAuthz(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "flymodel-data", "flymodel.db")
	admin := createToken(t, dir, dbURL, "hostile-admin", "admin")
	s := startServe(t, dir, nil, "-p", "0")
	h := &hostileClient{addr: s.addr, token: admin}

	const (
		ns    = "/api/v1/namespaces/authz"
		model = ns + "/models/m"
		v1    = model + "/versions/v1"
	)
	h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"authz"}`, http.StatusCreated)
	h.mustJSON(t, "POST", ns+"/models", `{"name":"m"}`, http.StatusCreated)
	version := h.mustJSON(t, "POST", model+"/versions", `{"version":"v1"}`, http.StatusCreated)
	versionID := int64(version["id"].(float64))
	reader := &hostileClient{addr: s.addr, token: createToken(t, dir, dbURL, "reader", "read")}
	writer := &hostileClient{addr: s.addr, token: createToken(t, dir, dbURL, "writer", "write", "--namespace", "authz")}
	writer2 := &hostileClient{addr: s.addr, token: createToken(t, dir, dbURL, "writer2", "write")}
	inFlight := func() int {
		t.Helper()
		res := h.do(hostileReq{method: "GET", target: "/metrics"})
		for line := range strings.SplitSeq(string(res.body), "\n") {
			if v, ok := strings.CutPrefix(line, "flymodel_uploads_in_flight "); ok {
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				return int(n)
			}
		}
		t.Fatalf("no flymodel_uploads_in_flight in /metrics: %d %s", res.status, hostileTrim(res.body))
		return 0
	}
	// await polls until cond holds (the server's state is only seen
	// through /metrics), failing after 15 s.
	await := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (%d uploads in flight)", what, inFlight())
			}
		}
	}
	upload := func(c *hostileClient, name string) hostileResult {
		return c.do(hostileReq{method: "PUT", target: v1 + "/artifacts/" + name, body: []byte("bytes of " + name)})
	}

	t.Run("slots/read-token-uploads-hold-no-slot", func(t *testing.T) {
		// The file part first, as the original's clients send it, then
		// nothing more of the megabyte declared.
		stalled := hostileMultipart("/upload/model-version-artifact",
			mpFile("file", "f.bin", []byte("the start of a large file")))
		stalled.length = strconv.Itoa(1 << 20)
		var (
			mu      sync.Mutex
			answers []hostileResult
		)
		conns := make([]net.Conn, 64)
		for i := range conns {
			conn, results := reader.stall(t, stalled)
			conns[i] = conn
			go func() {
				res := <-results
				mu.Lock()
				answers = append(answers, res)
				mu.Unlock()
			}()
		}
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		// Each stalled upload is answered, or holds a slot.
		await("the read token's uploads to be answered or in flight", func() bool {
			mu.Lock()
			n := len(answers)
			mu.Unlock()
			return n+inFlight() >= len(conns)
		})
		if res := upload(writer, "beside-readers.txt"); res.status != http.StatusCreated {
			t.Errorf("a writer beside 64 stalled read-token uploads: %d %s", res.status, hostileTrim(res.body))
		}
		mu.Lock()
		defer mu.Unlock()
		if len(answers) != len(conns) {
			t.Fatalf("%d of %d read-token uploads hold a slot", len(conns)-len(answers), len(conns))
		}
		for _, res := range answers {
			checkRefusal(t, hostileCase{req: stalled, want: []int{403}}, res)
		}
	})

	t.Run("slots/per-principal", func(t *testing.T) {
		stalled := hostileReq{method: "PUT", body: []byte("a slow start"), length: strconv.Itoa(1 << 20)}
		var conns []net.Conn
		for i := range 16 { // server.max_uploads_per_principal's default
			req := stalled
			req.target = fmt.Sprintf("%s/artifacts/slow-%d.bin", v1, i)
			conn, _ := writer.stall(t, req)
			conns = append(conns, conn)
		}
		await("16 uploads in flight", func() bool { return inFlight() == 16 })
		res := upload(writer, "seventeenth.txt")
		checkRefusal(t, hostileCase{req: hostileReq{target: v1 + "/artifacts/seventeenth.txt"}, want: []int{429}}, res)
		if res.header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		if res := upload(writer2, "another-caller.txt"); res.status != http.StatusCreated {
			t.Errorf("another caller beside one at its cap: %d %s", res.status, hostileTrim(res.body))
		}
		for _, c := range conns {
			c.Close()
		}
		await("the stalled uploads to end", func() bool { return inFlight() == 0 })
		if res := upload(writer, "after-the-stall.txt"); res.status != http.StatusCreated {
			t.Errorf("the writer once its uploads ended: %d %s", res.status, hostileTrim(res.body))
		}
	})

	t.Run("tokens/no-namespaces-refused", func(t *testing.T) {
		before := h.mustJSON(t, "GET", "/api/v1/tokens", "", http.StatusOK)
		for _, body := range []string{
			`{"name":"none","role":"read","namespaces":[]}`,
			`{"name":"none","role":"read"}`,
			`{"name":"none","role":"read","namespaces":null}`,
			`{"name":"none","role":"admin","namespaces":["*","authz"]}`,
			`{"name":"none","role":"admin","namespaces":["nowhere"]}`,
		} {
			req := hostileJSON("POST", "/api/v1/tokens", body)
			res := h.do(req)
			checkRefusal(t, hostileCase{req: req, want: []int{422}}, res)
			if !strings.Contains(string(res.body), `"namespaces"`) {
				t.Errorf("%s: the 422 does not name namespaces: %s", body, hostileTrim(res.body))
			}
		}
		if after := h.mustJSON(t, "GET", "/api/v1/tokens", "", http.StatusOK); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("refused tokens were made:\n%v\nbefore\n%v", after, before)
		}
		global := h.mustJSON(t, "POST", "/api/v1/tokens", `{"name":"global-reader","role":"read","namespaces":["*"]}`, http.StatusCreated)
		if fmt.Sprint(global["namespaces"]) != "[*]" {
			t.Errorf("a global token shows namespaces %v", global["namespaces"])
		}
	})

	t.Run("tokens/scoped-by-id", func(t *testing.T) {
		h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"a"}`, http.StatusCreated)
		h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"ghost"}`, http.StatusCreated)
		token := func(name, ns string) *hostileClient {
			tk := h.mustJSON(t, "POST", "/api/v1/tokens", fmt.Sprintf(`{"name":%q,"role":"admin","namespaces":[%q]}`, name, ns), http.StatusCreated)
			return &hostileClient{addr: s.addr, token: tk["secret"].(string)}
		}
		ofGhost, ofA := token("of-ghost", "ghost"), token("of-a", "a")
		if res := h.do(hostileReq{method: "DELETE", target: "/api/v1/namespaces/ghost"}); res.status != http.StatusNoContent {
			t.Fatalf("delete ghost: %d %s", res.status, hostileTrim(res.body))
		}
		h.mustJSON(t, "PATCH", "/api/v1/namespaces/a", `{"name":"ghost"}`, http.StatusOK)
		for _, req := range []hostileReq{
			{method: "GET", target: "/api/v1/namespaces/ghost"},
			hostileJSON("POST", "/api/v1/namespaces/ghost/models", `{"name":"planted"}`),
			{method: "DELETE", target: "/api/v1/namespaces/ghost"},
		} {
			checkRefusal(t, hostileCase{req: req, want: []int{403}}, ofGhost.do(req))
		}
		ofA.mustJSON(t, "POST", "/api/v1/namespaces/ghost/models", `{"name":"by-a"}`, http.StatusCreated)
		scopes := map[string]string{}
		for _, tk := range h.mustJSON(t, "GET", "/api/v1/tokens", "", http.StatusOK)["items"].([]any) {
			m := tk.(map[string]any)
			scopes[m["name"].(string)] = fmt.Sprint(m["namespaces"])
		}
		if scopes["of-ghost"] != "[]" || scopes["of-a"] != "[ghost]" || scopes["hostile-admin"] != "[*]" || scopes["writer"] != "[authz]" {
			t.Errorf("token scopes after the rename: %v", scopes)
		}
		// A namespace made again under a deleted one's name is not its
		// tokens'.
		h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"a"}`, http.StatusCreated)
		for _, req := range []hostileReq{
			{method: "GET", target: "/api/v1/namespaces/a"},
			hostileJSON("POST", "/api/v1/namespaces/a/models", `{"name":"planted"}`),
		} {
			checkRefusal(t, hostileCase{req: req, want: []int{403}}, ofGhost.do(req))
		}
		if res := h.do(hostileReq{method: "DELETE", target: "/api/v1/namespaces/ghost?cascade=true"}); res.status != http.StatusNoContent {
			t.Fatalf("delete ghost (formerly a): %d %s", res.status, hostileTrim(res.body))
		}
		h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"ghost"}`, http.StatusCreated)
		req := hostileJSON("POST", "/api/v1/namespaces/ghost/models", `{"name":"planted"}`)
		checkRefusal(t, hostileCase{req: req, want: []int{403}}, ofA.do(req))
	})

	t.Run("audit/repeated-refusals-counted", func(t *testing.T) {
		req := hostileJSON("POST", ns+"/models", `{"name":"by-reader"}`)
		var first string
		for i := range 30 {
			res := reader.do(req)
			checkRefusal(t, hostileCase{req: req, want: []int{403}}, res)
			if i == 0 {
				first = res.header.Get("X-Request-Id")
			}
		}
		page := h.mustJSON(t, "GET", "/api/v1/audit?actor=reader&outcome=denied", "", http.StatusOK)
		var got []string
		for _, it := range page["items"].([]any) {
			r := it.(map[string]any)
			got = append(got, fmt.Sprintf("%s %s repeats=%v last_at=%v", r["action"], r["target"], r["repeats"], r["last_at"] != nil))
			if r["target"] == "/namespaces/authz/models" && r["request_id"] != first {
				t.Errorf("the record is not the first refusal's: request id %v, want %s", r["request_id"], first)
			}
		}
		want := []string{
			"request.post /upload/model-version-artifact repeats=63 last_at=true",
			"request.post /namespaces/authz/models repeats=29 last_at=true",
		}
		if !slices.Equal(got, want) {
			t.Errorf("the reader's denied records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		_ = versionID
	})

	t.Run("after/no-server-errors-logged", func(t *testing.T) {
		for line := range strings.SplitSeq(s.drainLogs(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "panic") {
				t.Errorf("server logged: %.500s", line)
			}
		}
	})
}

// stall writes req's headers and the bytes of its body it has, then
// nothing more (its Content-Length says more is coming): an upload that
// hangs. The answer, if the server gives one before the caller closes the
// connection, arrives on the channel.
func (h *hostileClient) stall(t *testing.T, req hostileReq) (net.Conn, <-chan hostileResult) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	req.header = append([]string{"Authorization: Bearer " + h.token}, req.header...)
	if _, err := conn.Write(req.bytes(h.addr)); err != nil {
		conn.Close()
		t.Fatal(err)
	}
	out := make(chan hostileResult, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: req.method})
		if err != nil {
			close(out)
			return
		}
		defer resp.Body.Close()
		var body json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&body)
		out <- hostileResult{status: resp.StatusCode, header: resp.Header, body: body}
	}()
	return conn, out
}
