package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/flymodel/flymodel/client"
	"github.com/flymodel/flymodel/internal/config"
)

// addClientTLSFlags adds the TLS flags of a command that talks to a server;
// each overrides its client.tls key.
func (a *app) addClientTLSFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.clientTLS.CAFile, "ca-file", "", "PEM bundle of CAs to trust besides the system's, for a server with a private CA (config client.tls.ca_file)")
	f.StringVar(&a.clientTLS.CertFile, "cert-file", "", "client certificate (PEM) for a server that asks for one (mTLS; config client.tls.cert_file)")
	f.StringVar(&a.clientTLS.KeyFile, "key-file", "", "private key (PEM) of --cert-file (config client.tls.key_file)")
}

// clientTLSOptions are the client options that carry c (client.tls) with
// the flags given over it; none when nothing is set, so that the client
// keeps Go's default transport.
func (a *app) clientTLSOptions(cmd *cobra.Command, c config.ClientTLS) ([]client.Option, error) {
	for _, f := range []struct {
		flag string
		to   *string
		v    string
	}{{"ca-file", &c.CAFile, a.clientTLS.CAFile}, {"cert-file", &c.CertFile, a.clientTLS.CertFile}, {"key-file", &c.KeyFile, a.clientTLS.KeyFile}} {
		if cmd.Flags().Changed(f.flag) {
			*f.to = f.v
		}
	}
	if c == (config.ClientTLS{}) {
		return nil, nil
	}
	cfg, err := clientTLSConfig(c, time.Now())
	if err != nil {
		return nil, usageErrorf(cmd, "%v", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return []client.Option{client.WithHTTPClient(&http.Client{Transport: tr})}, nil
}

// clientTLSConfig builds the TLS configuration of a client command. The CA
// file adds to the system's roots rather than replace them, so that a
// download redirected to a public S3 endpoint still verifies.
func clientTLSConfig(c config.ClientTLS, now time.Time) (*tls.Config, error) {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, fmt.Errorf("client.tls: cert_file (--cert-file) and key_file (--key-file) go together")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if err := addCAs(pool, c.CAFile); err != nil {
			return nil, fmt.Errorf("client.tls.ca_file: %w", err)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := loadKeyPair(config.TLSCerts{CertFile: c.CertFile, KeyFile: c.KeyFile}, now)
		if err != nil {
			return nil, fmt.Errorf("client.tls: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
