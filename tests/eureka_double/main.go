// eureka-double: a strict double of a standalone Eureka server's REST API (the Jersey resources
// under /eureka/apps of Netflix's eureka-core, as Spring Cloud Netflix serves them) for
// grpc-registrar's tests. See README.md for what is modelled, from which part of Eureka, and what
// is left out. Test-only controls live under /_double/ (faults.go).
//
// Usage:
//
//	eureka-double [--listen 127.0.0.1:0] [--context /eureka]
//	              [--response-cache-update-interval 30s] [--eviction-interval 60s]
//	              [--renews-window 60s] [--self-preservation=true]
//	              [--renewal-percent-threshold 0.85] [--expected-client-renewal-interval 30s]
//	              [--user NAME --password-file FILE]
//
// Prints exactly one line "listening on HOST:PORT" on stdout once it accepts connections; logs
// state changes on stderr. SIGTERM or SIGINT: exit 0.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type server struct {
	reg     *registry
	cache   *responseCache
	faults  *faults
	context string // "/eureka": the servlet context the API is under
	user    string // HTTP basic auth when not empty (Spring Security in front of the server)
	pass    string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_double/") {
		s.serveControl(w, r)
		return
	}
	s.serveAPI(w, r)
}

func usageError(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "eureka-double: "+format+"\n", args...)
	os.Exit(64)
}

func main() {
	log.SetFlags(log.Ldate | log.Ltime | log.Lmicroseconds)
	log.SetPrefix("eureka-double: ")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	context := flag.String("context", "/eureka", "path prefix of the API (/eureka or /eureka/v2)")
	cacheInterval := flag.Duration("response-cache-update-interval", 30*time.Second,
		"eureka.server.responseCacheUpdateIntervalMs: how often GET /apps is refreshed")
	evictionInterval := flag.Duration("eviction-interval", 60*time.Second,
		"eureka.server.evictionIntervalTimerInMs: period of the eviction task")
	renewsWindow := flag.Duration("renews-window", 60*time.Second,
		"the bucket of MeasuredRate renewsLastMin (one minute in Eureka), for self-preservation")
	selfPreservation := flag.Bool("self-preservation", true,
		"eureka.server.enableSelfPreservation")
	percent := flag.Float64("renewal-percent-threshold", 0.85,
		"eureka.server.renewalPercentThreshold")
	expectedInterval := flag.Duration("expected-client-renewal-interval", 30*time.Second,
		"eureka.server.expectedClientRenewalIntervalSeconds")
	user := flag.String("user", "", "require HTTP basic auth with this user")
	passFile := flag.String("password-file", "", "the basic auth password (with --user)")
	flag.Parse()
	if flag.NArg() != 0 {
		usageError("unexpected argument %q", flag.Arg(0))
	}
	if *cacheInterval <= 0 || *evictionInterval <= 0 || *renewsWindow <= 0 || *expectedInterval <= 0 {
		usageError("every interval must be positive")
	}
	s := &server{context: strings.TrimRight(*context, "/"), faults: &faults{}, user: *user}
	if *user != "" {
		b, err := os.ReadFile(*passFile)
		if err != nil {
			usageError("--user needs --password-file: %v", err)
		}
		s.pass = strings.TrimRight(string(b), "\r\n")
	}
	s.reg = newRegistry(registryConfig{
		evictionInterval: *evictionInterval, renewsWindow: *renewsWindow,
		selfPreservation: *selfPreservation, percentThreshold: *percent,
		expectedRenewalInterval: *expectedInterval,
	})
	s.cache = newResponseCache(s.reg, *cacheInterval)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		usageError("listen %s: %v", *listen, err)
	}
	go s.reg.runEviction()
	go s.cache.run()
	srv := &http.Server{Handler: s}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Fatalf("serve: %v", err)
		}
	}()
	fmt.Printf("listening on %s\n", ln.Addr().String())
	os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	_ = srv.Close()
	os.Exit(0)
}
