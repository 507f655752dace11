// nacos-double: a strict double of the Nacos naming server's v1 Open API for grpc-registrar's
// tests. It models one standalone Nacos server: ephemeral instances kept alive by client beats,
// the health-check task that marks them unhealthy and removes them, and the auth plugin's login
// and token checks (see README.md for what is modelled, from which part of Nacos, and what is
// left out). Test-only controls live under /_double/ (faults.go).
//
// Usage:
//
//	nacos-double [--listen 127.0.0.1:0] [--time-scale F] [--auth-user NAME --auth-password-file FILE]
//	             [--token-ttl SECONDS]
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
	"sync/atomic"
	"syscall"
)

type server struct {
	state  *namingState
	auth   *authState // nil: auth disabled (nacos.core.auth.enabled=false, the default)
	faults *faults
	// TCP connections accepted, for the benchmark's keep-alive figures (/_double/stats).
	connections atomic.Uint64
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_double/") {
		s.serveControl(w, r)
		return
	}
	s.faults.serve(w, r, s.serveAPI)
}

func usageError(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "nacos-double: "+format+"\n", args...)
	os.Exit(64)
}

func main() {
	log.SetFlags(log.Ldate | log.Ltime | log.Lmicroseconds)
	log.SetPrefix("nacos-double: ")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	timeScale := flag.Float64("time-scale", 1.0,
		"multiplies every timing of the server: the 5 s beat interval it answers, the 15 s "+
			"unhealthy and 30 s removal timeouts (and their preserved.* metadata), the 5 s check period")
	user := flag.String("auth-user", "", "enable auth (nacos.core.auth.enabled=true) with this user")
	passwordFile := flag.String("auth-password-file", "", "the user's password, in a file")
	tokenTTL := flag.Int("token-ttl", 18000,
		"accessToken lifetime in seconds (nacos.core.auth.default.token.expire.seconds), not scaled")
	flag.Parse()
	if flag.NArg() > 0 {
		usageError("unexpected argument %q", flag.Arg(0))
	}
	if *timeScale <= 0 {
		usageError("--time-scale must be > 0")
	}
	if *tokenTTL <= 0 {
		usageError("--token-ttl must be > 0")
	}
	s := &server{state: newNamingState(*timeScale), faults: &faults{}}
	if *user != "" {
		if *passwordFile == "" {
			usageError("--auth-user needs --auth-password-file")
		}
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			usageError("--auth-password-file: %v", err)
		}
		password := strings.TrimRight(string(b), "\r\n")
		if password == "" {
			usageError("--auth-password-file %s is empty", *passwordFile)
		}
		s.auth = newAuthState(*user, password, *tokenTTL)
	}
	go s.state.healthCheckLoop()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nacos-double: listen %s: %v\n", *listen, err)
		os.Exit(69)
	}
	httpServer := &http.Server{Handler: s, ErrorLog: log.New(os.Stderr, "nacos-double: http: ", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.connections.Add(1)
			}
		}}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigs
		log.Printf("%s: exiting", sig)
		_ = httpServer.Close()
		os.Exit(0)
	}()
	authText := "auth disabled"
	if s.auth != nil {
		authText = fmt.Sprintf("auth enabled (user %s, token ttl %d s)", *user, *tokenTTL)
	}
	log.Printf("standalone, %s, time scale %g", authText, *timeScale)
	fmt.Printf("listening on %s\n", ln.Addr().String())
	_ = os.Stdout.Sync()
	if err := httpServer.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "nacos-double: serve: %v\n", err)
		os.Exit(70)
	}
}
