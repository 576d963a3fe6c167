package httpapi

import "sync/atomic"

// Metrics are the server's counters. (The Prometheus exposition of the
// operations issue will publish them.)
type Metrics struct {
	// IntegrityFailures counts downloads aborted because the stored bytes
	// did not hash to the recorded sha256.
	IntegrityFailures atomic.Int64
}
