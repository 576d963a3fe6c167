package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/flymodel/flymodel/internal/config"
)

// serverTLS builds the server's TLS configuration from server.tls, checking
// the certificate against now. It returns nil when no certificate is
// configured (plain HTTP). Every error names the file at fault.
func serverTLS(c config.TLS, now time.Time) (*tls.Config, error) {
	if !c.Certs.IsSet() {
		return nil, nil
	}
	cert, err := loadKeyPair(c.Certs, now)
	if err != nil {
		return nil, fmt.Errorf("server.tls.certs: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if c.CASource != "" {
		pool, err := loadCAPool(c.CASource)
		if err != nil {
			return nil, fmt.Errorf("server.tls.ca_source: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// loadKeyPair reads a certificate chain and its private key, either from
// cert_file and key_file or from one PEM file holding the chain then the key.
func loadKeyPair(c config.TLSCerts, now time.Time) (tls.Certificate, error) {
	certFile, keyFile := c.CertFile, c.KeyFile
	if c.PEMFile != "" {
		certFile, keyFile = c.PEMFile, c.PEMFile
	}
	certData, err := readTLSFile(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyData := certData
	if keyFile != certFile {
		if keyData, err = readTLSFile(keyFile); err != nil {
			return tls.Certificate{}, err
		}
	}

	certBlocks, _ := pemBlocks(certData)
	if len(certBlocks) == 0 {
		return tls.Certificate{}, fmt.Errorf("no PEM certificate in %s", certFile)
	}
	_, keyBlocks := pemBlocks(keyData)
	switch {
	case len(keyBlocks) == 0:
		return tls.Certificate{}, fmt.Errorf("no PEM private key in %s", keyFile)
	case len(keyBlocks) > 1:
		return tls.Certificate{}, fmt.Errorf("more than one private key in %s", keyFile)
	}

	leaf, err := x509.ParseCertificate(certBlocks[0].Bytes)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate in %s: %w", certFile, err)
	}
	for i, b := range certBlocks[1:] {
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return tls.Certificate{}, fmt.Errorf("certificate %d of the chain in %s: %w", i+2, certFile, err)
		}
	}
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("the certificate in %s expired on %s", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, fmt.Errorf("the certificate in %s is not valid before %s", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}

	var chainPEM []byte
	for _, b := range certBlocks {
		chainPEM = append(chainPEM, pem.EncodeToMemory(b)...)
	}
	cert, err := tls.X509KeyPair(chainPEM, pem.EncodeToMemory(keyBlocks[0]))
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			if keyFile == certFile {
				return tls.Certificate{}, fmt.Errorf("the private key in %s does not match its certificate", keyFile)
			}
			return tls.Certificate{}, fmt.Errorf("the private key in %s does not match the certificate in %s", keyFile, certFile)
		}
		return tls.Certificate{}, fmt.Errorf("private key in %s: %w", keyFile, err)
	}
	cert.Leaf = leaf
	return cert, nil
}

// loadCAPool reads a PEM bundle of CA certificates.
func loadCAPool(file string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	return pool, addCAs(pool, file)
}

// addCAs adds the CA certificates of a PEM bundle to pool.
func addCAs(pool *x509.CertPool, file string) error {
	data, err := readTLSFile(file)
	if err != nil {
		return err
	}
	certs, _ := pemBlocks(data)
	if len(certs) == 0 {
		return fmt.Errorf("no PEM certificate in %s", file)
	}
	for _, b := range certs {
		ca, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return fmt.Errorf("certificate in %s: %w", file, err)
		}
		pool.AddCert(ca)
	}
	return nil
}

// readTLSFile reads a certificate or key file; the error names it once.
func readTLSFile(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return data, nil
}

// pemBlocks splits PEM data into its certificate blocks and its private key
// blocks, in order; other blocks (parameters, …) are skipped.
func pemBlocks(data []byte) (certs, keys []*pem.Block) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return certs, keys
		}
		switch {
		case b.Type == "CERTIFICATE":
			certs = append(certs, b)
		case b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY"):
			keys = append(keys, b)
		}
	}
}
