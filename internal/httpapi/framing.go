package httpapi

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// A request with both Content-Length and Transfer-Encoding is how HTTP
// request smuggling starts: a proxy in front that frames the body by one
// and a server that frames it by the other disagree on where the next
// request begins. RFC 9112 (section 6.1) lets a server refuse such a
// request, and requires it to close the connection after answering.
// net/http instead drops the Content-Length, frames the body as chunked
// and keeps the connection open, and it leaves handlers no trace of the
// header. So the server's connections are wrapped (Listener): each
// connection follows the framing of the requests it carries as net/http
// reads them, noting for each request head whether it held both headers,
// and the edge guard refuses such a request with 400 and closes the
// connection.

// Listener wraps ln so that the server can refuse requests framed by
// both Content-Length and Transfer-Encoding; the http.Server must have
// ConnContext as its ConnContext. Wrap the listener as the server reads
// it (a TLS listener, not the TCP one below it).
func Listener(ln net.Listener) net.Listener { return framingListener{ln} }

// ConnContext is the http.Server's ConnContext for a Listener's
// connections: it makes the connection known to the requests it carries.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*framedConn); ok {
		return context.WithValue(ctx, framedConnKey{}, fc)
	}
	return ctx
}

type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framedConn{Conn: c, firstLine: true}, nil
}

type framedConnKey struct{}

// framedHead is what a connection noted of one request head.
type framedHead struct {
	method, target string
	// smuggling: the head has both Content-Length and Transfer-Encoding.
	smuggling bool
}

// Parser states of a framedConn.
const (
	inHead = iota
	inBody
	inChunkSize
	inChunkData
	inChunkEnd
	inTrailer
	// lost: the bytes are not a request net/http goes on with (it answers
	// 4xx or 5xx and closes the connection): nothing more is noted.
	lost
)

// Limits of the parser, above those of net/http (64 KiB of headers plus
// its read buffer; 4 KiB chunk-size lines), which closes the connection
// first.
const (
	maxFramedHead = 1 << 20
	maxChunkLine  = 64 << 10
	// maxUnclaimed bounds the heads noted and not yet claimed by a handler
	// (pipelined requests).
	maxUnclaimed = 64
)

// framedConn is a connection that follows the framing of the requests it
// carries (RFC 9112: a head, then a body of Content-Length bytes or of
// chunks) as net/http reads them, and notes every head. Only Read (which
// net/http never calls concurrently) touches the parser; handlers claim
// the notes under mu.
type framedConn struct {
	net.Conn

	state     int
	line      []byte // the line being read (head, chunk size, trailer)
	headLen   int
	remaining int64 // of the body, or of the chunk
	chunkEnd  int   // bytes of the CRLF after a chunk seen
	head      framedHead
	proto11   bool
	lengths   []string // Content-Length values
	encodings []string // Transfer-Encoding values
	firstLine bool

	mu    sync.Mutex
	heads []framedHead
}

func (c *framedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.state != lost {
		c.feed(p[:n])
	}
	return n, err
}

// CloseWrite half-closes the connection, as net/http does before closing
// one it refused a request on.
func (c *framedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the connection's own ReadFrom (sendfile, splice) on the
// way of response bytes.
func (c *framedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// claim returns whether the head of the request method target held both
// Content-Length and Transfer-Encoding: the first noted head of that
// request line, dropping the heads before it (of requests net/http
// answered itself). Unknown is false.
func (c *framedConn) claim(method, target string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, h := range c.heads {
		if h.method == method && h.target == target {
			c.heads = c.heads[i+1:]
			return h.smuggling
		}
	}
	return false
}

func (c *framedConn) note(h framedHead) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.heads) >= maxUnclaimed {
		c.heads = c.heads[1:]
	}
	c.heads = append(c.heads, h)
}

// feed advances the parser over b, bytes net/http is about to read.
func (c *framedConn) feed(b []byte) {
	for len(b) > 0 && c.state != lost {
		switch c.state {
		case inBody, inChunkData:
			n := int64(len(b))
			if n > c.remaining {
				n = c.remaining
			}
			b = b[n:]
			if c.remaining -= n; c.remaining == 0 {
				if c.state == inBody {
					c.startHead()
				} else {
					c.state, c.chunkEnd = inChunkEnd, 0
				}
			}
		case inChunkEnd:
			if want := "\r\n"[c.chunkEnd]; b[0] != want {
				c.state = lost
				return
			}
			b = b[1:]
			if c.chunkEnd++; c.chunkEnd == 2 {
				c.state = inChunkSize
			}
		default: // lines: inHead, inChunkSize, inTrailer
			i := bytes.IndexByte(b, '\n')
			part, consumed := b, len(b)
			if i >= 0 {
				part, consumed = b[:i], i+1
			}
			c.line = append(c.line, part...)
			b = b[consumed:]
			if c.state != inChunkSize {
				c.headLen += consumed
			}
			if c.headLen > maxFramedHead || (c.state == inChunkSize && len(c.line) > maxChunkLine) {
				c.state = lost
				return
			}
			if i < 0 {
				return
			}
			line := bytes.TrimSuffix(c.line, []byte("\r"))
			c.line = c.line[:0]
			c.endLine(line)
		}
	}
}

// startHead begins the next request head.
func (c *framedConn) startHead() {
	c.state, c.headLen, c.firstLine = inHead, 0, true
	c.head, c.proto11, c.lengths, c.encodings = framedHead{}, false, c.lengths[:0], c.encodings[:0]
}

// endLine takes one whole line (without its CRLF) of a head, a chunk size
// or a trailer.
func (c *framedConn) endLine(line []byte) {
	switch c.state {
	case inChunkSize:
		size := line
		if i := bytes.IndexByte(size, ';'); i >= 0 {
			size = size[:i]
		}
		n, err := strconv.ParseUint(string(bytes.TrimRight(size, " \t")), 16, 63)
		switch {
		case err != nil:
			c.state = lost
		case n == 0:
			c.state, c.headLen = inTrailer, 0
		default:
			c.state, c.remaining = inChunkData, int64(n)
		}
		return
	case inTrailer:
		if len(line) == 0 {
			c.startHead()
		}
		return
	}
	if c.firstLine {
		c.firstLine = false
		method, rest, ok1 := bytes.Cut(line, []byte(" "))
		target, proto, ok2 := bytes.Cut(rest, []byte(" "))
		if !ok1 || !ok2 {
			c.state = lost // net/http refuses it and closes
			return
		}
		c.head = framedHead{method: string(method), target: string(target)}
		major, minor, ok := http.ParseHTTPVersion(string(proto))
		if !ok {
			c.state = lost
			return
		}
		c.proto11 = major > 1 || (major == 1 && minor >= 1)
		return
	}
	if len(line) > 0 {
		if line[0] == ' ' || line[0] == '\t' {
			return // a folded continuation line: net/http refuses the head
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			c.lengths = append(c.lengths, string(value))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			c.encodings = append(c.encodings, string(value))
		}
		return
	}
	// The blank line: the head is whole. Frame its body as net/http does
	// (transfer.go): chunked when HTTP/1.1 says so, else by
	// Content-Length; anything it refuses ends the connection.
	c.head.smuggling = len(c.lengths) > 0 && len(c.encodings) > 0
	c.note(c.head)
	if c.proto11 && len(c.encodings) > 0 {
		if len(c.encodings) != 1 || !bytes.EqualFold([]byte(c.encodings[0]), []byte("chunked")) {
			c.state = lost
			return
		}
		c.state = inChunkSize
		return
	}
	if len(c.lengths) == 0 {
		c.startHead()
		return
	}
	for _, l := range c.lengths[1:] {
		if l != c.lengths[0] {
			c.state = lost
			return
		}
	}
	n, err := strconv.ParseUint(c.lengths[0], 10, 63)
	if err != nil {
		c.state = lost
		return
	}
	if n == 0 {
		c.startHead()
		return
	}
	c.state, c.remaining = inBody, int64(n)
}

// refuseSmuggling answers a request whose head held both Content-Length
// and Transfer-Encoding: 400, and the connection closed after it.
func refuseSmuggling(w http.ResponseWriter, r *http.Request) bool {
	fc, ok := r.Context().Value(framedConnKey{}).(*framedConn)
	if !ok || !fc.claim(r.Method, r.RequestURI) {
		return false
	}
	w.Header().Set("Connection", "close")
	writeProblem(w, r, newProblem(kindMalformed,
		"the request has both Content-Length and Transfer-Encoding, which RFC 9112 (section 6.1) lets a server refuse: send one of them"))
	return true
}
