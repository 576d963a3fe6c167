package main

import (
	"crypto/ecdsa"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Every client command reaches a server with a private CA that asks for a
// client certificate (the mTLS server of TestServeTLS), through flags or
// client.tls.
func TestClientTLS(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	writeTLSConfig(t, dir, p.caFile, p.serverCert, p.serverKey)
	s := startServe(t, dir, nil, "-p", "0", "-d", "sqlite:"+filepath.Join(dir, "flymodel.db"))
	defer s.stop(t, syscall.SIGTERM)
	url := "https://" + s.addr

	certFile := writePEM(t, p.dir, "client.crt", &pem.Block{Type: "CERTIFICATE", Bytes: p.clientCert.Certificate[0]})
	keyFile := writePEM(t, p.dir, "client.key", ecKeyBlock(t, p.clientCert.PrivateKey.(*ecdsa.PrivateKey)))

	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "weights.bin"), []byte("weights"), 0o600); err != nil {
		t.Fatal(err)
	}
	upsert := []string{"upsert", "--server", url, "--namespace", "canada", "--model", "llm.sm", "--version", "v1", "--artifact", "weights=weights.bin"}
	tlsFlags := []string{"--ca-file", p.caFile, "--cert-file", certFile, "--key-file", keyFile}

	// Without the CA, the server's certificate is unknown; without a
	// client certificate, the server refuses the handshake.
	noCA := flymodel(t, work, nil, upsert...)
	if noCA.code == 0 || !strings.Contains(noCA.stderr, "certificate") {
		t.Errorf("upsert without --ca-file: want a certificate error\n%s", noCA)
	}
	noCert := flymodel(t, work, nil, append(upsert, "--ca-file", p.caFile)...)
	if noCert.code == 0 || !strings.Contains(noCert.stderr, "tls") {
		t.Errorf("upsert without --cert-file: want a refused handshake\n%s", noCert)
	}
	half := flymodel(t, work, nil, append(upsert, "--ca-file", p.caFile, "--cert-file", certFile)...)
	half.expectCode(t, exitUsage)
	if !strings.Contains(half.stderr, "go together") {
		t.Errorf("--cert-file without --key-file: %s", half)
	}

	ok := flymodel(t, work, nil, append(upsert, tlsFlags...)...)
	ok.expectCode(t, 0)

	// pull, with client.tls from the environment (and so from a file).
	env := []string{"FLYMODEL_CLIENT_TLS_CA_FILE=" + p.caFile, "FLYMODEL_CLIENT_TLS_CERT_FILE=" + certFile, "FLYMODEL_CLIENT_TLS_KEY_FILE=" + keyFile}
	pull := flymodel(t, work, env, "pull", "--server", url, "canada/llm.sm", "v1", "dest")
	pull.expectCode(t, 0)
	if got, err := os.ReadFile(filepath.Join(work, "dest", "weights")); err != nil || string(got) != "weights" {
		t.Errorf("pulled weights: %q, %v\n%s", got, err, pull)
	}
	// Completion of names from the server goes through the same TLS.
	comp := flymodel(t, work, nil, append([]string{"__complete", "pull", "--server", url}, append(tlsFlags, "can")...)...)
	if comp.code != 0 || !strings.Contains(comp.stdout, "canada/") {
		t.Errorf("completion over mTLS: want canada/\n%s", comp)
	}
	// A flag beats its key: a wrong CA file named by --ca-file is used.
	bad := flymodel(t, work, env, "pull", "--server", url, "--ca-file", p.notPEM, "canada/llm.sm", "v1", "dest2")
	bad.expectCode(t, exitUsage)
	if !strings.Contains(bad.stderr, "no PEM certificate in "+p.notPEM) {
		t.Errorf("--ca-file not.pem: %s", bad)
	}
}
