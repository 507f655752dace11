// HTTPS, as a Consul agent serves it on its HTTPS listener (ports.https, typically 8501), after
// tlsutil/config.go (Configurator.IncomingHTTPSConfig, commonTLSConfig, validateConfig,
// loadKeyPair) and the agent TLS reference (developer.hashicorp.com/consul/docs/reference/agent/
// configuration-file/tls):
//   - the agent's certificate and key are tls.https.cert_file/key_file (or tls.defaults);
//   - the minimum version is tls_min_version, whose default is TLSv1_2;
//   - ALPN offers h2 and http/1.1;
//   - verify_incoming (tls.https.verify_incoming or tls.defaults.verify_incoming) sets
//     ClientAuth to RequireAndVerifyClientCert against the ca_file's CAs; without it no client
//     certificate is asked for. verify_incoming without a CA is a configuration error.
//
// The listener serves HTTPS only: a plain HTTP request to it gets net/http's 400 "Client sent an
// HTTP request to an HTTPS server.", as from a real agent (both are Go's net/http).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

func httpsConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together (and --tls-ca needs both)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		// Consul's loadKeyPair wording.
		return nil, fmt.Errorf("Failed to load cert/key pair: %v", err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("Error loading from %s: %v", caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("VerifyIncoming set but no CA certificates were provided (%s holds none)", caFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// tlsVersion names the connection's TLS version for the request log; "" over plain HTTP.
func tlsVersion(st *tls.ConnectionState) string {
	switch {
	case st == nil:
		return ""
	case st.Version == tls.VersionTLS13:
		return "TLS 1.3"
	case st.Version == tls.VersionTLS12:
		return "TLS 1.2"
	default:
		return fmt.Sprintf("0x%04x", st.Version)
	}
}

func describeTLS(cfg *tls.Config) string {
	switch {
	case cfg == nil:
		return "HTTP"
	case cfg.ClientAuth == tls.RequireAndVerifyClientCert:
		return "HTTPS with verify_incoming (client certificates required)"
	default:
		return "HTTPS"
	}
}
