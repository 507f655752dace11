// consul-double: a strict double of the Consul agent HTTP API for grpc-registrar's tests.
// It models one client agent on one node in one datacenter, with the agent's local state and the
// catalog kept equal (see README.md for what is modelled, from which part of Consul, and what is
// left out). Test-only controls live under /_double/ (faults.go).
//
// Usage:
//
//	consul-double [--listen 127.0.0.1:0] [--acl-token-file FILE] [--time-scale F]
//	              [--node NAME] [--datacenter NAME] [--node-address ADDR] [--legacy-agent]
//	              [--tls-cert FILE --tls-key FILE [--tls-ca FILE]]
//
// With --tls-cert/--tls-key it serves HTTPS instead of HTTP on --listen, as a Consul agent's
// HTTPS listener (ports.https) does; --tls-ca adds verify_incoming: a client certificate signed
// by that CA is required (tls.go).
//
// Prints exactly one line "listening on HOST:PORT" on stdout once it accepts connections; logs
// state changes on stderr. SIGTERM or SIGINT: exit 0.
package main

import (
	"crypto/rand"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const doubleVersion = "1.17.0"

type server struct {
	state    *agentState
	faults   *faults
	routes   []endpoint
	aclToken string // empty: ACLs disabled
	legacy   bool   // answer as an agent before Consul 1.11 where those differ (api_agent.go)
	nodeName string
	nodeID   string
	nodeAddr string
	dc       string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_double/") {
		s.serveControl(w, r)
		return
	}
	s.serveAPI(w, r)
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func usageError(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "consul-double: "+format+"\n", args...)
	os.Exit(64)
}

func main() {
	log.SetFlags(log.Ldate | log.Ltime | log.Lmicroseconds)
	log.SetPrefix("consul-double: ")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	tokenFile := flag.String("acl-token-file", "",
		"enable ACLs (default deny); the file holds the only valid token")
	timeScale := flag.Float64("time-scale", 1.0,
		"multiplies DeregisterCriticalServiceAfter (after the 1m clamp) and the 30s reaper period")
	node := flag.String("node", "node1", "node name")
	dc := flag.String("datacenter", "dc1", "datacenter")
	nodeAddr := flag.String("node-address", "127.0.0.1", "node address in health answers")
	legacy := flag.Bool("legacy-agent", false,
		"answer unknown check updates and service deregistrations as agents before 1.11 did")
	tlsCert := flag.String("tls-cert", "",
		"serve HTTPS with this PEM certificate (tls.https.cert_file); needs --tls-key")
	tlsKey := flag.String("tls-key", "", "the certificate's PEM private key (tls.https.key_file)")
	tlsCA := flag.String("tls-ca", "",
		"require client certificates signed by this PEM CA (tls.https.ca_file + verify_incoming)")
	flag.Parse()
	if flag.NArg() > 0 {
		usageError("unexpected argument %q", flag.Arg(0))
	}
	var tlsConfig *tls.Config
	if *tlsCert != "" || *tlsKey != "" || *tlsCA != "" {
		var err error
		if tlsConfig, err = httpsConfig(*tlsCert, *tlsKey, *tlsCA); err != nil {
			usageError("%v", err)
		}
	}
	if *timeScale <= 0 {
		usageError("--time-scale must be > 0")
	}
	token := ""
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			usageError("--acl-token-file: %v", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			usageError("--acl-token-file %s is empty", *tokenFile)
		}
	}

	s := &server{
		state:    newAgentState(*timeScale),
		faults:   &faults{},
		aclToken: token,
		legacy:   *legacy,
		nodeName: *node,
		nodeID:   randomUUID(),
		nodeAddr: *nodeAddr,
		dc:       *dc,
	}
	s.routes = s.endpoints()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "consul-double: listen %s: %v\n", *listen, err)
		os.Exit(69)
	}
	httpServer := &http.Server{Handler: s, ErrorLog: log.New(os.Stderr, "consul-double: http: ", 0),
		TLSConfig: tlsConfig}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigs
		log.Printf("%s: exiting", sig)
		_ = httpServer.Close()
		os.Exit(0)
	}()

	acl := "ACLs disabled"
	if token != "" {
		acl = "ACLs enabled (default deny)"
	}
	agent := "current agent (1.11+)"
	if *legacy {
		agent = "legacy agent (before 1.11)"
	}
	log.Printf("node %s in %s, %s, time scale %g, %s, %s", *node, *dc, acl, *timeScale, agent,
		describeTLS(tlsConfig))
	fmt.Printf("listening on %s\n", ln.Addr().String())
	_ = os.Stdout.Sync()
	serve := func() error { return httpServer.Serve(ln) }
	if tlsConfig != nil {
		// ServeTLS: the certificate comes from TLSConfig; HTTP/2 is offered by ALPN, as an agent's
		// HTTPS listener does.
		serve = func() error { return httpServer.ServeTLS(ln, "", "") }
	}
	if err := serve(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "consul-double: serve: %v\n", err)
		os.Exit(70)
	}
}
