// gokit-instancer-client proves that the daemon's `gokit` key format is
// readable the way go-kit's sd/etcdv3 Instancer reads it.
//
// Debian ships go-kit 0.10.0 (golang-github-go-kit-kit-dev) WITHOUT the
// sd/etcdv3 package (it is in the package's DH_GOLANG_EXCLUDES together with
// the other discovery backends), so the real etcdv3.Client/Instancer cannot be
// imported here. This program therefore reimplements, line for line in
// behaviour, what go-kit v0.10.0's sd/etcdv3 does, on the same etcd client
// package go-kit 0.10.0 imports (go.etcd.io/etcd/clientv3), and hands the
// result out through go-kit's real sd.Instancer / sd.Event types (from
// Debian's go-kit package):
//
//   - client.GetEntries(prefix): Get(prefix, WithPrefix()) and return every
//     value verbatim, in key order. Keys are not looked at; values are the
//     instance strings.
//   - client.WatchPrefix(prefix, ch): Watch(prefix, WithPrefix(), WithRev(0)),
//     signal once at start and once per watch response.
//   - Instancer: initial GetEntries, then GetEntries on every watch signal,
//     pushed through a cache that sorts the instances, drops an update
//     identical to the previous one, and sends the current state to a
//     channel as soon as it is registered (sd/internal/instance.Cache).
//
// Default: register a channel, take the first event (the current state),
// print its instances sorted, one per line, exit 0. With --expect N: keep
// taking events until there are exactly N instances (exit 0) or --timeout
// passes (print the last state, exit 1). An event carrying an error exits 1.
//
// Exit codes: 0 success, 1 error / not as expected, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/kit/sd"
	clientv3 "go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/pkg/logutil"
	"go.uber.org/zap"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		etcdFlag = flag.String("etcd", "127.0.0.1:2379", "etcd client endpoints, host:port, comma separated")
		prefix   = flag.String("prefix", "", "etcd key prefix the Instancer watches, e.g. /services/hello/")
		timeout  = flag.Duration("timeout", 10*time.Second, "overall deadline")
		expect   = flag.Int("expect", -1, "wait until exactly this many instances are reported")
		verbose  = flag.Bool("v", false, "etcd client logs at info level (default: warnings and errors, to stderr)")
	)
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %v\n", flag.Args())
		return 2
	}
	if *prefix == "" {
		fmt.Fprintln(os.Stderr, "--prefix is required")
		return 2
	}
	var machines []string
	for _, e := range strings.Split(*etcdFlag, ",") {
		if e = strings.TrimSpace(e); e != "" {
			machines = append(machines, e)
		}
	}
	if len(machines) == 0 {
		fmt.Fprintln(os.Stderr, "--etcd is empty")
		return 2
	}

	// Hard stop shortly after --timeout. Some library calls do not take our
	// context: e.g. the etcd resolver's Build runs its initial Get with
	// context.Background() and so blocks for as long as etcd is unreachable.
	time.AfterFunc(*timeout+500*time.Millisecond, func() {
		fmt.Fprintf(os.Stderr, "timed out after %s (etcd unreachable?)\n", *timeout)
		os.Exit(1)
	})
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	c, err := newClient(ctx, machines, *timeout, *verbose)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd client: %v\n", err)
		return 1
	}
	defer c.close()

	var instancer sd.Instancer = newInstancer(c, *prefix)
	defer instancer.Stop()

	// Like any go-kit subscriber, keep draining the channel: the cache sends
	// with a blocking send while holding its lock. On exit the process ends,
	// so there is no Deregister (it could wait on a blocked send).
	events := make(chan sd.Event, 16)
	instancer.Register(events)

	var last []string
	for {
		// Events already queued win over the deadline, so the first state
		// (pushed synchronously by Register) is always looked at.
		var ev sd.Event
		select {
		case ev = <-events:
		default:
			select {
			case ev = <-events:
			case <-ctx.Done():
				for _, i := range last {
					fmt.Println(i)
				}
				if *expect >= 0 {
					fmt.Fprintf(os.Stderr, "instancer reports %d instance(s), expected %d\n", len(last), *expect)
				} else {
					fmt.Fprintln(os.Stderr, "no instancer event before the timeout")
				}
				return 1
			}
		}
		if ev.Err != nil {
			fmt.Fprintf(os.Stderr, "instancer error: %v\n", ev.Err)
			if *expect < 0 {
				return 1
			}
			continue // go-kit: the Instancer pushes a fresh state once it recovers
		}
		last = append([]string(nil), ev.Instances...)
		sort.Strings(last)
		if *expect < 0 || len(last) == *expect {
			for _, i := range last {
				fmt.Println(i)
			}
			return 0
		}
	}
}

// client mirrors go-kit v0.10.0 sd/etcdv3 client (the read-only half).
type client struct {
	cli *clientv3.Client
	ctx context.Context
	kv  clientv3.KV

	watcher clientv3.Watcher
	wctx    context.Context
	wcf     context.CancelFunc
}

func newClient(ctx context.Context, machines []string, dialTimeout time.Duration, verbose bool) (*client, error) {
	cfg := clientv3.Config{
		Context:           ctx,
		Endpoints:         machines,
		DialTimeout:       dialTimeout,
		DialKeepAliveTime: 3 * time.Second, // go-kit's default
	}
	cfg.LogConfig = logConfig(verbose)
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, err
	}
	return &client{cli: cli, ctx: ctx, kv: clientv3.NewKV(cli)}, nil
}

// GetEntries: exactly go-kit's etcdv3 client.GetEntries.
func (c *client) GetEntries(key string) ([]string, error) {
	resp, err := c.kv.Get(c.ctx, key, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	entries := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		entries[i] = string(kv.Value)
	}
	return entries, nil
}

// WatchPrefix: exactly go-kit's etcdv3 client.WatchPrefix.
func (c *client) WatchPrefix(prefix string, ch chan struct{}) {
	c.wctx, c.wcf = context.WithCancel(c.ctx)
	c.watcher = clientv3.NewWatcher(c.cli)

	wch := c.watcher.Watch(c.wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(0))
	ch <- struct{}{}
	for wr := range wch {
		if wr.Canceled {
			return
		}
		ch <- struct{}{}
	}
}

func (c *client) close() {
	if c.watcher != nil {
		c.watcher.Close()
	}
	if c.wcf != nil {
		c.wcf()
	}
	c.cli.Close()
}

// instancer mirrors go-kit v0.10.0 sd/etcdv3 Instancer.
type instancer struct {
	cache  *cache
	client *client
	prefix string
	quitc  chan struct{}
}

func newInstancer(c *client, prefix string) *instancer {
	s := &instancer{client: c, prefix: prefix, cache: newCache(), quitc: make(chan struct{})}
	instances, err := s.client.GetEntries(s.prefix)
	s.cache.Update(sd.Event{Instances: instances, Err: err})
	go s.loop()
	return s
}

func (s *instancer) loop() {
	ch := make(chan struct{})
	go s.client.WatchPrefix(s.prefix, ch)
	for {
		select {
		case <-ch:
			instances, err := s.client.GetEntries(s.prefix)
			if err != nil {
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					continue
				}
				s.cache.Update(sd.Event{Err: err})
				continue
			}
			s.cache.Update(sd.Event{Instances: instances})
		case <-s.quitc:
			return
		}
	}
}

func (s *instancer) Stop()                         { close(s.quitc) }
func (s *instancer) Register(ch chan<- sd.Event)   { s.cache.Register(ch) }
func (s *instancer) Deregister(ch chan<- sd.Event) { s.cache.Deregister(ch) }

// cache mirrors go-kit's sd/internal/instance.Cache (internal packages of
// another project cannot be imported).
type cache struct {
	mtx   sync.Mutex
	state sd.Event
	reg   map[chan<- sd.Event]struct{}
}

func newCache() *cache { return &cache{reg: map[chan<- sd.Event]struct{}{}} }

func (c *cache) Update(event sd.Event) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	sort.Strings(event.Instances)
	if reflect.DeepEqual(c.state, event) {
		return
	}
	c.state = event
	for ch := range c.reg {
		ch <- copyEvent(event)
	}
}

func (c *cache) Register(ch chan<- sd.Event) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	c.reg[ch] = struct{}{}
	ch <- copyEvent(c.state)
}

func (c *cache) Deregister(ch chan<- sd.Event) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	delete(c.reg, ch)
}

func copyEvent(e sd.Event) sd.Event {
	if e.Instances == nil {
		return e
	}
	e.Instances = append([]string(nil), e.Instances...)
	return e
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
