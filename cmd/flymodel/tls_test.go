package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/config"
)

// testPKI is a set of certificate files written for one test: a CA, a server
// certificate and a client certificate signed by it, and the bad cases.
type testPKI struct {
	dir    string
	caPool *x509.CertPool

	caFile                  string // the CA certificate
	serverCert, serverKey   string // the two-file form (key as EC PRIVATE KEY)
	serverPEM               string // one file: server certificate, CA, then the key (PKCS #8)
	clientCert              tls.Certificate
	rogueClientCert         tls.Certificate // self-signed: not signed by the CA
	expiredCert, expiredKey string          // a server certificate that expired yesterday
	otherKey                string          // a key that matches no certificate
	keyOnly                 string          // a PEM file holding only a key
	certOnly                string          // a PEM file holding only a certificate
	notPEM                  string          // a file with no PEM block at all
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{dir: dir, caPool: x509.NewCertPool()}
	now := time.Now()

	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "flymodel test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, ca := signCert(t, caTmpl, nil, caKey, caKey)
	p.caPool.AddCert(ca)
	caBlock := &pem.Block{Type: "CERTIFICATE", Bytes: caDER}
	p.caFile = writePEM(t, dir, "ca.crt", caBlock)

	serverTmpl := func(notBefore, notAfter time.Time) *x509.Certificate {
		return &x509.Certificate{
			Subject:     pkix.Name{CommonName: "localhost"},
			DNSNames:    []string{"localhost"},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			NotBefore:   notBefore,
			NotAfter:    notAfter,
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
	}
	serverKey := newKey(t)
	serverDER, _ := signCert(t, serverTmpl(now.Add(-time.Hour), now.Add(24*time.Hour)), ca, caKey, serverKey)
	serverBlock := &pem.Block{Type: "CERTIFICATE", Bytes: serverDER}
	p.serverCert = writePEM(t, dir, "server.crt", serverBlock)
	p.serverKey = writePEM(t, dir, "server.key", ecKeyBlock(t, serverKey))
	p.serverPEM = writePEM(t, dir, "server.pem", serverBlock, caBlock, pkcs8Block(t, serverKey))

	expKey := newKey(t)
	expiredDER, _ := signCert(t, serverTmpl(now.Add(-48*time.Hour), now.Add(-24*time.Hour)), ca, caKey, expKey)
	p.expiredCert = writePEM(t, dir, "expired.crt", &pem.Block{Type: "CERTIFICATE", Bytes: expiredDER})
	p.expiredKey = writePEM(t, dir, "expired.key", ecKeyBlock(t, expKey))

	p.otherKey = writePEM(t, dir, "other.key", pkcs8Block(t, newKey(t)))
	p.keyOnly = p.serverKey
	p.certOnly = p.serverCert
	p.notPEM = filepath.Join(dir, "not.pem")
	if err := os.WriteFile(p.notPEM, []byte("not a PEM file\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	clientTmpl := func(cn string) *x509.Certificate {
		return &x509.Certificate{
			Subject:     pkix.Name{CommonName: cn},
			NotBefore:   now.Add(-time.Hour),
			NotAfter:    now.Add(24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
	}
	clientKey := newKey(t)
	clientDER, _ := signCert(t, clientTmpl("signed client"), ca, caKey, clientKey)
	p.clientCert = tls.Certificate{Certificate: [][]byte{clientDER}, PrivateKey: clientKey}
	rogueKey := newKey(t)
	rogueDER, _ := signCert(t, clientTmpl("rogue client"), nil, rogueKey, rogueKey)
	p.rogueClientCert = tls.Certificate{Certificate: [][]byte{rogueDER}, PrivateKey: rogueKey}
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// signCert signs tmpl for key with parent's key; a nil parent self-signs.
func signCert(t *testing.T, tmpl, parent *x509.Certificate, parentKey, key *ecdsa.PrivateKey) ([]byte, *x509.Certificate) {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return der, cert
}

func ecKeyBlock(t *testing.T, key *ecdsa.PrivateKey) *pem.Block {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
}

func pkcs8Block(t *testing.T, key *ecdsa.PrivateKey) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

func writePEM(t *testing.T, dir, name string, blocks ...*pem.Block) string {
	t.Helper()
	var data []byte
	for _, b := range blocks {
		data = append(data, pem.EncodeToMemory(b)...)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func twoFiles(cert, key string) config.TLSCerts { return config.TLSCerts{CertFile: cert, KeyFile: key} }
func onePEM(file string) config.TLSCerts        { return config.TLSCerts{PEMFile: file} }

func TestServerTLSGood(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()

	if cfg, err := serverTLS(config.TLS{}, now); cfg != nil || err != nil {
		t.Fatalf("no certs: want no TLS config, got %v, %v", cfg, err)
	}

	tests := []struct {
		name      string
		tls       config.TLS
		chainLen  int
		verifyCli bool
	}{
		{name: "cert_file and key_file", tls: config.TLS{Certs: twoFiles(p.serverCert, p.serverKey)}, chainLen: 1},
		{name: "one PEM file", tls: config.TLS{Certs: onePEM(p.serverPEM)}, chainLen: 2},
		{name: "mTLS", tls: config.TLS{Certs: onePEM(p.serverPEM), CASource: p.caFile}, chainLen: 2, verifyCli: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := serverTLS(tt.tls, now)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion %x, want TLS 1.2", cfg.MinVersion)
			}
			if len(cfg.Certificates) != 1 || len(cfg.Certificates[0].Certificate) != tt.chainLen {
				t.Fatalf("want one certificate with a chain of %d, got %+v", tt.chainLen, cfg.Certificates)
			}
			if leaf := cfg.Certificates[0].Leaf; leaf == nil || leaf.Subject.CommonName != "localhost" {
				t.Errorf("leaf certificate: %v", leaf)
			}
			if tt.verifyCli {
				if cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.ClientCAs == nil {
					t.Errorf("ca_source: client auth %v, client CAs %v", cfg.ClientAuth, cfg.ClientCAs)
				}
			} else if cfg.ClientAuth != tls.NoClientCert || cfg.ClientCAs != nil {
				t.Errorf("no ca_source: client auth %v", cfg.ClientAuth)
			}
		})
	}
}

func TestServerTLSErrors(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()
	missing := filepath.Join(p.dir, "missing.pem")

	tests := []struct {
		name  string
		tls   config.TLS
		now   time.Time // zero: now
		file  string    // named in the error
		want  string    // also in the error
		file2 string    // also named, when not ""
	}{
		{name: "missing cert_file", tls: config.TLS{Certs: twoFiles(missing, p.serverKey)}, file: missing, want: "no such file"},
		{name: "missing key_file", tls: config.TLS{Certs: twoFiles(p.serverCert, missing)}, file: missing, want: "no such file"},
		{name: "missing PEM file", tls: config.TLS{Certs: onePEM(missing)}, file: missing, want: "no such file"},
		{name: "unreadable cert_file", tls: config.TLS{Certs: twoFiles(p.dir, p.serverKey)}, file: p.dir, want: "read"},
		{name: "no certificate in cert_file", tls: config.TLS{Certs: twoFiles(p.keyOnly, p.serverKey)}, file: p.keyOnly, want: "no PEM certificate"},
		{name: "not PEM", tls: config.TLS{Certs: twoFiles(p.notPEM, p.serverKey)}, file: p.notPEM, want: "no PEM certificate"},
		{name: "no key in key_file", tls: config.TLS{Certs: twoFiles(p.serverCert, p.certOnly)}, file: p.certOnly, want: "no PEM private key"},
		{name: "no key in PEM file", tls: config.TLS{Certs: onePEM(p.certOnly)}, file: p.certOnly, want: "no PEM private key"},
		{name: "no certificate in PEM file", tls: config.TLS{Certs: onePEM(p.keyOnly)}, file: p.keyOnly, want: "no PEM certificate"},
		{name: "key does not match", tls: config.TLS{Certs: twoFiles(p.serverCert, p.otherKey)}, file: p.otherKey, file2: p.serverCert, want: "does not match"},
		{name: "expired", tls: config.TLS{Certs: twoFiles(p.expiredCert, p.expiredKey)}, file: p.expiredCert, want: "expired"},
		{name: "not yet valid", tls: config.TLS{Certs: onePEM(p.serverPEM)}, now: now.Add(-48 * time.Hour), file: p.serverPEM, want: "not valid before"},
		{name: "missing ca_source", tls: config.TLS{Certs: onePEM(p.serverPEM), CASource: missing}, file: missing, want: "server.tls.ca_source"},
		{name: "no certificate in ca_source", tls: config.TLS{Certs: onePEM(p.serverPEM), CASource: p.keyOnly}, file: p.keyOnly, want: "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.now
			if at.IsZero() {
				at = now
			}
			cfg, err := serverTLS(tt.tls, at)
			if err == nil {
				t.Fatalf("want an error, got a config %+v", cfg)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.file) || !strings.Contains(msg, tt.want) || (tt.file2 != "" && !strings.Contains(msg, tt.file2)) {
				t.Errorf("error %q: want it to name %s %s and say %q", msg, tt.file, tt.file2, tt.want)
			}
			if !strings.HasPrefix(msg, "server.tls.") {
				t.Errorf("error %q does not name the configuration key", msg)
			}
		})
	}
}

// writeTLSConfig writes flymodel.toml in dir with a [server.tls] section.
// certs is either one path or a cert_file and a key_file.
func writeTLSConfig(t *testing.T, dir, caSource string, certs ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("[server.tls]\n")
	switch len(certs) {
	case 1:
		fmt.Fprintf(&b, "certs = %s\n", strconv.Quote(certs[0]))
	case 2:
		fmt.Fprintf(&b, "certs = { cert_file = %s, key_file = %s }\n", strconv.Quote(certs[0]), strconv.Quote(certs[1]))
	default:
		t.Fatalf("writeTLSConfig: %d certs", len(certs))
	}
	if caSource != "" {
		fmt.Fprintf(&b, "ca_source = %s\n", strconv.Quote(caSource))
	}
	if err := os.WriteFile(filepath.Join(dir, "flymodel.toml"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// httpsGet fetches /healthz from s over HTTPS, trusting the test CA and
// presenting clientCert when it is not nil. It returns the status or the
// error of the request.
func httpsGet(s *server, p *testPKI, clientCert *tls.Certificate) (int, error) {
	cfg := &tls.Config{RootCAs: p.caPool}
	if clientCert != nil {
		// Always present it: with Certificates, the client would leave out a
		// certificate the server's CA list does not cover, and the server would
		// never see the unsigned one.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return clientCert, nil
		}
	}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := client.Get("https://" + s.addr + "/healthz")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func TestServeTLS(t *testing.T) {
	p := newTestPKI(t)
	signed, rogue := &p.clientCert, &p.rogueClientCert

	type request struct {
		name   string
		cert   *tls.Certificate
		status int // 0: the request must fail
	}
	tests := []struct {
		name     string
		caSource string
		certs    []string
		requests []request
	}{
		{
			name:     "cert_file and key_file",
			certs:    []string{p.serverCert, p.serverKey},
			requests: []request{{name: "no client certificate", status: http.StatusOK}},
		},
		{
			name:     "one PEM file",
			certs:    []string{p.serverPEM},
			requests: []request{{name: "no client certificate", status: http.StatusOK}},
		},
		{
			name:     "mTLS",
			caSource: p.caFile,
			certs:    []string{p.serverCert, p.serverKey},
			requests: []request{
				{name: "signed client", cert: signed, status: http.StatusOK},
				{name: "unsigned client", cert: rogue},
				{name: "no client certificate"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTLSConfig(t, dir, tt.caSource, tt.certs...)
			s := startServe(t, dir, nil, "-p", "0", "-d", "sqlite:"+filepath.Join(dir, "flymodel.db"))
			if logs := s.drainLogs(); !strings.Contains(logs, `"scheme":"https"`) {
				t.Errorf("the listening line has no scheme=https:\n%s", logs)
			}
			for _, r := range tt.requests {
				status, err := httpsGet(s, p, r.cert)
				switch {
				case r.status == 0 && err == nil:
					t.Errorf("%s: GET /healthz succeeded with status %d, want a refused handshake", r.name, status)
				case r.status == 0 && !strings.Contains(err.Error(), "tls: "):
					t.Errorf("%s: GET /healthz failed, but not in the TLS handshake: %v", r.name, err)
				case r.status == 0:
					t.Logf("%s: refused: %v", r.name, err)
				case r.status != 0 && err != nil:
					t.Errorf("%s: GET /healthz: %v", r.name, err)
				case r.status != 0 && status != r.status:
					t.Errorf("%s: GET /healthz: status %d, want %d", r.name, status, r.status)
				}
			}
			// Plain HTTP on the TLS port is no way around it.
			if resp, err := http.Get("http://" + s.addr + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Errorf("plain HTTP GET /healthz on the TLS port: status 200")
				}
			}
			s.stop(t, syscall.SIGTERM)
		})
	}
}

func TestServeTLSBadConfig(t *testing.T) {
	p := newTestPKI(t)
	missing := filepath.Join(p.dir, "missing.crt")
	tests := []struct {
		name     string
		caSource string
		certs    []string
		file     string // named in the error
	}{
		{name: "missing cert_file", certs: []string{missing, p.serverKey}, file: missing},
		{name: "missing PEM file", certs: []string{missing}, file: missing},
		{name: "key does not match", certs: []string{p.serverCert, p.otherKey}, file: p.otherKey},
		{name: "expired certificate", certs: []string{p.expiredCert, p.expiredKey}, file: p.expiredCert},
		{name: "missing ca_source", caSource: missing, certs: []string{p.serverPEM}, file: missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTLSConfig(t, dir, tt.caSource, tt.certs...)
			res := flymodel(t, dir, nil, "serve", "-p", "0", "-d", "sqlite:"+filepath.Join(dir, "flymodel.db"))
			res.expectCode(t, 1)
			lines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "flymodel: ") || !strings.Contains(lines[0], tt.file) {
				t.Errorf("want one line on stderr naming %s, got:\n%s", tt.file, res)
			}
			if _, err := os.Stat(filepath.Join(dir, "flymodel.db")); err == nil {
				t.Errorf("the database was opened before the TLS configuration was checked")
			}
		})
	}
}
