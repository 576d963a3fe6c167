package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
)

// patternLen is the period of the generated stream: 1 MiB of
// pseudo-random bytes, repeated. Nothing in the server compresses or
// deduplicates, so the period is invisible to it, and a block this size
// keeps the generator to a memcpy (or no copy at all for the raw upload).
const patternLen = 1 << 20

// pattern is the deterministic content of the benchmark's artifact.
type pattern struct{ block []byte }

func newPattern() pattern {
	b := make([]byte, patternLen)
	var seed [32]byte
	copy(seed[:], "flymodel benchblob artifact seed")
	_, _ = rand.NewChaCha8(seed).Read(b)
	return pattern{block: b}
}

// at returns the bytes of the stream from off on, at most n of them, as a
// slice of the block (not a copy).
func (p pattern) at(off int64, n int) []byte {
	i := int(off % patternLen)
	return p.block[i:min(patternLen, i+n)]
}

// reader returns the stream of size bytes.
func (p pattern) reader(size int64) *patternReader {
	return &patternReader{p: p, size: size}
}

// sha256 hashes the stream of size bytes (before the clock starts).
func (p pattern) sha256(size int64) string {
	h := sha256.New()
	_, _ = io.Copy(h, p.reader(size))
	return hex.EncodeToString(h.Sum(nil))
}

// patternReader reads the stream. WriteTo hands the block to the writer
// directly.
type patternReader struct {
	p         pattern
	off, size int64
}

func (r *patternReader) Read(b []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), r.size-r.off)]
	n := 0
	for n < len(b) {
		n += copy(b[n:], r.p.at(r.off+int64(n), len(b)-n))
	}
	r.off += int64(n)
	return n, nil
}

func (r *patternReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.off < r.size {
		chunk := r.p.at(r.off, int(min(patternLen, r.size-r.off)))
		n, err := w.Write(chunk)
		r.off += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if n < len(chunk) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// errContent reports downloaded bytes that differ from the stream.
var errContent = errors.New("downloaded bytes differ from the uploaded ones")

// verifier is a writer that checks what it is given against the stream,
// in order, and counts it.
type verifier struct {
	p pattern
	n int64
}

func (v *verifier) Write(b []byte) (int, error) {
	for done := 0; done < len(b); {
		want := v.p.at(v.n, len(b)-done)
		if !bytes.Equal(b[done:done+len(want)], want) {
			return done, fmt.Errorf("%w (in the MiB at offset %d)", errContent, v.n/patternLen*patternLen)
		}
		done += len(want)
		v.n += int64(len(want))
	}
	return len(b), nil
}
