package httpapi

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/registry"
)

// metricsNamespace prefixes every metric of flymodel's own.
const metricsNamespace = "flymodel"

// durationBuckets are the request latency buckets: Prometheus' defaults
// (5 ms to 10 s) and a few large ones for uploads and downloads of big
// artifacts.
var durationBuckets = append(append([]float64(nil), prometheus.DefBuckets...), 30, 60, 120, 300, 600, 1800)

// Refusal reasons of flymodel_uploads_refused_total.
const (
	refusedDigestMismatch = "digest_mismatch"
	refusedTooLarge       = "too_large"
	refusedEmpty          = "empty"
	refusedImmutable      = "immutable"
	refusedSealed         = "sealed"
	refusedNotFound       = "not_found"
	refusedInvalid        = "invalid"
	refusedStorage        = "storage"
	refusedBusy           = "busy"
	refusedForbidden      = "forbidden"
)

var refusalReasons = []string{
	refusedDigestMismatch, refusedTooLarge, refusedEmpty, refusedImmutable,
	refusedSealed, refusedNotFound, refusedInvalid, refusedStorage, refusedBusy, refusedForbidden,
}

// Metrics are the server's Prometheus metrics, on a registry of their own
// that GET /metrics exposes. Build them with NewMetrics; the zero value is
// also ready to use (it initialises itself on first use). One Metrics may
// be shared by several servers, which then add to the same counters.
type Metrics struct {
	once     sync.Once
	registry *prometheus.Registry
	handler  http.Handler

	requests       *prometheus.CounterVec   // method, route, status
	duration       *prometheus.HistogramVec // method, route
	requestBytes   *prometheus.CounterVec   // route
	responseBytes  *prometheus.CounterVec   // route
	uploadsRefused *prometheus.CounterVec   // reason
	uploading      prometheus.Gauge
	blobErrors     *prometheus.CounterVec // store

	// integrity counts downloads aborted because the stored bytes did not
	// hash to the recorded sha256 (flymodel_integrity_failures_total).
	integrity atomic.Int64

	dbMu sync.Mutex
	db   bool // a database pool collector is registered
}

// NewMetrics returns metrics on a new registry holding flymodel's metrics
// and the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{}
	m.init()
	return m
}

func (m *Metrics) init() {
	m.once.Do(func() {
		reg := prometheus.NewRegistry()
		m.registry = reg
		m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by method, route template and status.",
		}, []string{"method", "route", "status"})
		m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "http_request_duration_seconds",
			Help:    "Time from receiving a request to the end of its response, by method and route template.",
			Buckets: durationBuckets,
		}, []string{"method", "route"})
		m.requestBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "http_request_bytes_total",
			Help: "Bytes read from request bodies, by route template.",
		}, []string{"route"})
		m.responseBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "http_response_bytes_total",
			Help: "Bytes written in response bodies, by route template.",
		}, []string{"route"})
		m.uploadsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "uploads_refused_total",
			Help: "Artifact uploads refused, by reason (" + strings.Join(refusalReasons, ", ") + ").",
		}, []string{"reason"})
		for _, reason := range refusalReasons {
			m.uploadsRefused.WithLabelValues(reason) // present from the start, at 0
		}
		m.uploading = prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "uploads_in_flight",
			Help: "Artifact uploads being received (each holds one of server.max_concurrent_uploads).",
		})
		m.blobErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "blob_store_errors_total",
			Help: "Requests failed by a blob store that is unavailable, failing, or missing an artifact's bytes, by store.",
		}, []string{"store"})
		integrity := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "integrity_failures_total",
			Help: "Downloads aborted because the stored bytes did not match the recorded size or sha256.",
		}, func() float64 { return float64(m.integrity.Load()) })
		reg.MustRegister(
			m.requests, m.duration, m.requestBytes, m.responseBytes,
			m.uploadsRefused, m.uploading, m.blobErrors, integrity,
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
		m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			// Collection errors are reported in the scrape; the
			// metrics that could be gathered are still served.
			ErrorHandling: promhttp.ContinueOnError,
			Registry:      reg,
		})
	})
}

// Registerer is the registry GET /metrics exposes, for other packages'
// metrics (retention, garbage collection) to be published beside the
// server's.
func (m *Metrics) Registerer() prometheus.Registerer {
	m.init()
	return m.registry
}

// Gatherer reads the registry, for tests and for serving it elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	m.init()
	return m.registry
}

// Handler serves the registry in the Prometheus exposition formats (GET
// /metrics uses it; a separate listener may too).
func (m *Metrics) Handler() http.Handler {
	m.init()
	return m.handler
}

// IntegrityFailures is the number of downloads aborted because the stored
// bytes did not match their record.
func (m *Metrics) IntegrityFailures() int64 {
	if m == nil {
		return 0
	}
	return m.integrity.Load()
}

// The recording methods below accept a nil *Metrics (a server built
// without NewServer, in tests) and record nothing.

func (m *Metrics) integrityFailure() {
	if m == nil {
		return
	}
	m.integrity.Add(1)
}

// metricMethods bound the method label: anything else counts as "other".
var metricMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	http.MethodConnect: true, http.MethodTrace: true,
}

// observeRequest records one answered request. route is the template the
// router matched ("" when none did), never the raw path, so that the
// number of series stays bounded.
func (m *Metrics) observeRequest(method, route string, status int, in, out int64, d time.Duration) {
	if m == nil {
		return
	}
	m.init()
	if !metricMethods[method] {
		method = "other"
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
	m.requestBytes.WithLabelValues(route).Add(float64(in))
	m.responseBytes.WithLabelValues(route).Add(float64(out))
}

// uploadRefused counts a refused upload by the reason its error gives.
func (m *Metrics) uploadRefused(err error) {
	if m == nil {
		return
	}
	m.init()
	if reason := refusalReason(err); reason != "" {
		m.uploadsRefused.WithLabelValues(reason).Inc()
	}
}

// refusalReason classifies an upload's error; "" for errors that are the
// server's own failure (a 500), not a refusal.
func refusalReason(err error) string {
	var (
		p         *Problem
		mismatch  *registry.DigestMismatchError
		tooLarge  *registry.TooLargeError
		immutable *registry.ImmutableError
		sealed    *registry.SealedError
		missing   *registry.MissingBlobError
		store     *registry.StoreError
		notFound  *registry.NotFoundError
		invalid   *registry.ValidationError
		conflict  *registry.ConflictError
	)
	switch {
	case errors.As(err, &mismatch):
		return refusedDigestMismatch
	case errors.As(err, &tooLarge):
		return refusedTooLarge
	case errors.Is(err, registry.ErrEmptyUpload):
		return refusedEmpty
	case errors.As(err, &immutable):
		return refusedImmutable
	case errors.As(err, &sealed):
		return refusedSealed
	case errors.As(err, &store), errors.As(err, &missing):
		return refusedStorage
	case errors.As(err, &notFound):
		return refusedNotFound
	case errors.As(err, &invalid), errors.As(err, &conflict):
		return refusedInvalid
	case errors.As(err, &p):
		switch {
		case isKind(p, kindTooLarge):
			return refusedTooLarge
		case isKind(p, kindDigestMismatch):
			return refusedDigestMismatch
		case isKind(p, kindEmptyUpload):
			return refusedEmpty
		case isKind(p, kindNotFound):
			return refusedNotFound
		case isKind(p, kindTooManyUploads):
			return refusedBusy
		case isKind(p, kindForbidden), isKind(p, kindUnauthorized):
			return refusedForbidden
		case p.Status >= 400 && p.Status < 500:
			return refusedInvalid
		case isKind(p, kindStore):
			return refusedStorage
		}
	}
	return ""
}

// upload runs an upload handler in one of the server's upload slots,
// counting its refusals; with every slot taken, or the caller's share of
// them (server.max_uploads_per_principal), it answers 429 at once (the
// client retries after a second) instead of queueing bodies. A caller
// without write access anywhere takes no slot: the original flymodel's
// routes learn their target only from the body, and check the exact role
// as soon as they do; a read token must not hold slots meanwhile.
func (s *server) upload(h handlerFunc) handlerFunc {
	return s.countRefusals(func(w http.ResponseWriter, r *http.Request) error {
		p := principalFrom(r.Context())
		if p.Strongest() < auth.Write {
			return s.refuse(w, r, p, "", auth.Write)
		}
		if !s.slots.take(p.Name) {
			w.Header().Set("Retry-After", "1")
			return newProblem(kindTooManyUploads, fmt.Sprintf("this caller is sending %d uploads already; retry shortly", s.slots.perPrincipal))
		}
		defer s.slots.release(p.Name)
		select {
		case s.uploads <- struct{}{}:
			s.metrics.uploading.Inc()
			defer func() {
				s.metrics.uploading.Dec()
				<-s.uploads
			}()
			return h(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			return newProblem(kindTooManyUploads, fmt.Sprintf("the server is receiving %d uploads already; retry shortly", cap(s.uploads)))
		}
	})
}

// principalSlots counts the uploads in flight of each principal (by name:
// a token, an OIDC subject, or every anonymous request together).
type principalSlots struct {
	perPrincipal int
	mu           sync.Mutex
	inFlight     map[string]int
}

// take takes one of name's slots, if it has one left.
func (ps *principalSlots) take(name string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.inFlight[name] >= ps.perPrincipal {
		return false
	}
	ps.inFlight[name]++
	return true
}

func (ps *principalSlots) release(name string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.inFlight[name]--; ps.inFlight[name] <= 0 {
		delete(ps.inFlight, name)
	}
}

// isKind reports whether p is a problem of that kind.
func isKind(p *Problem, kind problemKind) bool {
	return p.Type == problemTypeBase+kind.slug
}

// blobStoreError counts a request that failed on a blob store, labelled
// with the store's configured name.
func (m *Metrics) blobStoreError(store string) {
	if m == nil {
		return
	}
	m.init()
	m.blobErrors.WithLabelValues(store).Inc()
}

// blobStoreLabel names the blob store a request failed on (by its
// configured name), or "" when err is not a blob store's failure.
func (s *server) blobStoreLabel(err error) string {
	var (
		missing *registry.MissingBlobError
		store   *registry.StoreError
	)
	switch {
	case errors.As(err, &store):
		return store.Store
	case errors.As(err, &missing):
		return missing.Store
	}
	return ""
}

// dbStatser is a database that reports its connection pool (both engines
// of internal/db do): NewServer publishes its flymodel_db_pool_* metrics.
type dbStatser interface {
	Stats() sql.DBStats
}

// observeDB publishes the pool statistics of a database; only the first
// database given to a Metrics is published.
func (m *Metrics) observeDB(db dbStatser) error {
	m.init()
	m.dbMu.Lock()
	defer m.dbMu.Unlock()
	if m.db {
		return nil
	}
	if err := m.registry.Register(dbPoolCollector{db}); err != nil {
		return err
	}
	m.db = true
	return nil
}

// dbPoolCollector reads sql.DBStats at each scrape.
type dbPoolCollector struct{ db dbStatser }

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, "db_pool", name), help, nil, nil)
}

var (
	poolMaxOpen          = poolDesc("max_open_connections", "Maximum number of open connections to the database.")
	poolOpen             = poolDesc("open_connections", "Established connections, in use or idle.")
	poolInUse            = poolDesc("in_use_connections", "Connections currently in use.")
	poolIdle             = poolDesc("idle_connections", "Idle connections.")
	poolWaitCount        = poolDesc("wait_count_total", "Connections waited for.")
	poolWaitDuration     = poolDesc("wait_duration_seconds_total", "Time spent waiting for a connection.")
	poolMaxIdleClosed    = poolDesc("max_idle_closed_total", "Connections closed for the idle-connection limit.")
	poolMaxIdleTimeClose = poolDesc("max_idle_time_closed_total", "Connections closed for their idle time.")
	poolMaxLifetimeClose = poolDesc("max_lifetime_closed_total", "Connections closed for their lifetime.")
)

func (c dbPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxOpen, poolOpen, poolInUse, poolIdle, poolWaitCount,
		poolWaitDuration, poolMaxIdleClosed, poolMaxIdleTimeClose, poolMaxLifetimeClose} {
		ch <- d
	}
}

func (c dbPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolMaxOpen, float64(s.MaxOpenConnections))
	gauge(poolOpen, float64(s.OpenConnections))
	gauge(poolInUse, float64(s.InUse))
	gauge(poolIdle, float64(s.Idle))
	counter(poolWaitCount, float64(s.WaitCount))
	counter(poolWaitDuration, s.WaitDuration.Seconds())
	counter(poolMaxIdleClosed, float64(s.MaxIdleClosed))
	counter(poolMaxIdleTimeClose, float64(s.MaxIdleTimeClosed))
	counter(poolMaxLifetimeClose, float64(s.MaxLifetimeClosed))
}

// handleMetrics serves the metrics in the Prometheus exposition format.
func (s *server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.Handler().ServeHTTP(w, r)
	return nil
}

// countRefusals wraps an upload handler: an upload that fails is counted
// in flymodel_uploads_refused_total by its reason.
func (s *server) countRefusals(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := h(w, r)
		if err != nil {
			s.metrics.uploadRefused(err)
		}
		return err
	}
}
