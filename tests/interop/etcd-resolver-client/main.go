// etcd-resolver-client proves that the daemon's `grpc-go` key format is
// readable by etcd's own gRPC-Go naming resolver
// (go.etcd.io/etcd/clientv3/naming/resolver, etcd 3.4), the resolver that Go
// services already use with `grpc.Dial("etcd:///<name>")`.
//
// Default mode: dial --target through the etcd resolver and call
// grpc.health.v1.Health/Check until it answers SERVING or --timeout passes.
// On success it prints exactly one line to stdout:
//
//	reached <peer address> status SERVING
//
// and exits 0; otherwise it exits 1 (the reason goes to stderr).
//
// --list mode: print the addresses the resolver currently resolves for
// --target, sorted, one per line, and exit 0 (nothing printed when none).
// With --expect N it instead waits (up to --timeout) until the resolver
// reports exactly N addresses, prints them and exits 0, or exits 1 after
// printing the last set it saw.
//
// Exit codes: 0 success, 1 not reached / not as expected, 2 usage error.
//
// Built by tests/interop/CMakeLists.txt with Debian's Go packages in GOPATH
// mode; see tests/interop/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/naming/endpoints"
	etcdresolver "go.etcd.io/etcd/clientv3/naming/resolver"
	"go.etcd.io/etcd/pkg/logutil"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	gresolver "google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"
)

const targetScheme = "etcd:///"

func main() {
	os.Exit(run())
}

func run() int {
	var (
		etcdFlag      = flag.String("etcd", "127.0.0.1:2379", "etcd client endpoints, host:port, comma separated")
		targetFlag    = flag.String("target", "", "gRPC target, etcd:///<name>")
		healthService = flag.String("health-service", "", "grpc.health.v1 service name to check (\"\" = whole server)")
		timeout       = flag.Duration("timeout", 10*time.Second, "overall deadline")
		listMode      = flag.Bool("list", false, "print the addresses the resolver resolves (sorted, one per line) and exit")
		expect        = flag.Int("expect", -1, "with --list: wait until exactly this many addresses are resolved")
		lb            = flag.String("lb", "pick_first", "load-balancing policy for the dial: pick_first or round_robin")
		verbose       = flag.Bool("v", false, "etcd client logs at info level (default: warnings and errors, to stderr)")
	)
	flag.Parse()

	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %v\n", flag.Args())
		return 2
	}
	if !strings.HasPrefix(*targetFlag, targetScheme) || len(*targetFlag) == len(targetScheme) {
		fmt.Fprintf(os.Stderr, "--target must look like %s<name>, got %q\n", targetScheme, *targetFlag)
		return 2
	}
	if *lb != "pick_first" && *lb != "round_robin" {
		fmt.Fprintf(os.Stderr, "--lb must be pick_first or round_robin, got %q\n", *lb)
		return 2
	}
	if *expect >= 0 && !*listMode {
		fmt.Fprintln(os.Stderr, "--expect only applies to --list")
		return 2
	}
	name := strings.TrimPrefix(*targetFlag, targetScheme)
	// Hard stop shortly after --timeout. Some library calls do not take our
	// context: e.g. the etcd resolver's Build runs its initial Get with
	// context.Background() and so blocks for as long as etcd is unreachable.
	time.AfterFunc(*timeout+500*time.Millisecond, func() {
		fmt.Fprintf(os.Stderr, "timed out after %s (etcd unreachable?)\n", *timeout)
		os.Exit(1)
	})

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	cli, err := newEtcdClient(*etcdFlag, *timeout, *verbose)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd client: %v\n", err)
		return 1
	}
	defer cli.Close()

	builder, err := etcdresolver.NewBuilder(cli)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd resolver: %v\n", err)
		return 1
	}

	if *listMode {
		return list(ctx, cli, builder, name, *expect)
	}
	return check(ctx, builder, *targetFlag, *healthService, *lb)
}

func newEtcdClient(endpointList string, timeout time.Duration, verbose bool) (*clientv3.Client, error) {
	var eps []string
	for _, e := range strings.Split(endpointList, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return nil, errors.New("--etcd is empty")
	}
	cfg := clientv3.Config{Endpoints: eps, DialTimeout: timeout}
	cfg.LogConfig = logConfig(verbose)
	return clientv3.New(cfg)
}

// check dials the target through the etcd resolver and calls Health/Check
// until SERVING or the deadline.
func check(ctx context.Context, builder gresolver.Builder, target, service, lb string) int {
	conn, err := grpc.DialContext(ctx, target,
		grpc.WithInsecure(),
		grpc.WithResolvers(builder),
		grpc.WithDefaultServiceConfig(fmt.Sprintf(`{"loadBalancingConfig":[{%q:{}}]}`, lb)),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dial %s: %v\n", target, err)
		return 1
	}
	defer conn.Close()

	hc := healthpb.NewHealthClient(conn)
	lastErr := "no attempt made"
	for attempt := 1; ; attempt++ {
		actx, acancel := context.WithTimeout(ctx, time.Second)
		var p peer.Peer
		resp, err := hc.Check(actx, &healthpb.HealthCheckRequest{Service: service}, grpc.Peer(&p))
		acancel()
		switch {
		case err != nil:
			lastErr = err.Error()
		case resp.GetStatus() == healthpb.HealthCheckResponse_SERVING:
			addr := "<unknown>"
			if p.Addr != nil {
				addr = p.Addr.String()
			}
			fmt.Printf("reached %s status %s\n", addr, resp.GetStatus())
			return 0
		default:
			peerAddr := "<unknown>"
			if p.Addr != nil {
				peerAddr = p.Addr.String()
			}
			lastErr = fmt.Sprintf("%s answered %s", peerAddr, resp.GetStatus())
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(os.Stderr, "not SERVING after %d attempts: %s\n", attempt, lastErr)
			return 1
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// list runs the real etcd resolver against a recording ClientConn and
// prints the addresses it reports.
func list(ctx context.Context, cli *clientv3.Client, builder gresolver.Builder, name string, expect int) int {
	cc := newRecordingCC()
	r, err := builder.Build(gresolver.Target{Scheme: "etcd", Endpoint: name}, cc, gresolver.BuildOptions{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "build resolver: %v\n", err)
		return 1
	}
	defer r.Close()

	if expect >= 0 {
		for {
			addrs, seen := cc.current()
			if (seen && len(addrs) == expect) || (!seen && expect == 0 && noEndpoints(ctx, cli, name)) {
				printLines(addrs)
				return 0
			}
			select {
			case <-ctx.Done():
				printLines(addrs)
				fmt.Fprintf(os.Stderr, "resolver reports %d address(es), expected %d\n", len(addrs), expect)
				return 1
			case <-cc.changed():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	// The resolver pushes the initial set from inside Build when etcd holds
	// at least one parsable endpoint, and pushes nothing at all otherwise.
	// The endpoints Manager's List runs the same prefix query and JSON
	// decoding, so use it to tell "empty" from "not pushed yet".
	if noEndpoints(ctx, cli, name) {
		// Give a racing registration a moment to show up, then report what we have.
		select {
		case <-cc.changed():
		case <-time.After(200 * time.Millisecond):
		}
		addrs, _ := cc.current()
		printLines(addrs)
		return 0
	}
	for {
		if addrs, seen := cc.current(); seen {
			printLines(addrs)
			return 0
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "resolver pushed no state before the timeout")
			return 1
		case <-cc.changed():
		}
	}
}

func noEndpoints(ctx context.Context, cli *clientv3.Client, name string) bool {
	em, err := endpoints.NewManager(cli, name)
	if err != nil {
		return false
	}
	eps, err := em.List(ctx)
	return err == nil && len(eps) == 0
}

func printLines(addrs []string) {
	for _, a := range addrs {
		fmt.Println(a)
	}
}

// recordingCC is a resolver.ClientConn that keeps the last state the
// resolver pushed.
type recordingCC struct {
	mu     sync.Mutex
	seen   bool
	addrs  []string
	notify chan struct{}
}

func newRecordingCC() *recordingCC { return &recordingCC{notify: make(chan struct{}, 1)} }

func (c *recordingCC) UpdateState(s gresolver.State) {
	addrs := make([]string, 0, len(s.Addresses))
	for _, a := range s.Addresses {
		addrs = append(addrs, a.Addr)
	}
	sort.Strings(addrs)
	c.mu.Lock()
	c.seen, c.addrs = true, addrs
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *recordingCC) current() ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.addrs...), c.seen
}

func (c *recordingCC) changed() <-chan struct{} { return c.notify }

func (c *recordingCC) ReportError(err error) {
	fmt.Fprintf(os.Stderr, "resolver error: %v\n", err)
}

func (c *recordingCC) NewAddress(addrs []gresolver.Address) {
	c.UpdateState(gresolver.State{Addresses: addrs})
}

func (c *recordingCC) NewServiceConfig(string) {}

func (c *recordingCC) ParseServiceConfig(string) *serviceconfig.ParseResult {
	return &serviceconfig.ParseResult{}
}

// logConfig keeps the etcd client's zap logger on stderr at warn level, so a
// value the library cannot parse ("unmarshal endpoint update failed") is
// visible without flooding the output.
func logConfig(verbose bool) *zap.Config {
	lc := logutil.DefaultZapLoggerConfig
	if verbose {
		lc.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	} else {
		lc.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	}
	return &lc
}
