package main

// A private etcd per scenario, its request counters, and a watcher that timestamps every change
// under the key prefix the registrars write to.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/pkg/logutil"
	"go.uber.org/zap"
)

const keyPrefix = "/services/"

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func quietLogConfig() *zap.Config {
	lc := logutil.DefaultZapLoggerConfig
	lc.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	return &lc
}

type Etcd struct {
	proc       *Proc
	Endpoint   string // host:port
	metricsURL string
	dataDir    string
	cli        *clientv3.Client
	Tracker    *Tracker
	stopWatch  context.CancelFunc
}

// startEtcd starts a single-member etcd with its data in dataBase (tmpfs by default, so that
// disk fsync latency stays out of the figures) and a watcher on keyPrefix.
func startEtcd(bin, dataBase, logDir, name string) (*Etcd, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(dataBase, "registrar-bench-etcd-")
	if err != nil {
		return nil, err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	e := &Etcd{
		Endpoint:   fmt.Sprintf("127.0.0.1:%d", ports[0]),
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[2]),
		dataDir:    dir,
	}
	e.proc, err = startProc(name, logDir, bin,
		"--name=bench", "--data-dir="+filepath.Join(dir, "data"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=bench="+peer, "--initial-cluster-state=new",
		"--listen-metrics-urls="+fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
		"--heartbeat-interval=50", "--election-timeout=300",
		"--logger=zap", "--log-outputs=stderr", "--log-level=warn")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	e.cli, err = clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 5 * time.Second,
		LogConfig: quietLogConfig()})
	if err != nil {
		e.Stop()
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err = e.cli.Get(ctx, "health")
		cancel()
		if err == nil {
			break
		}
		if e.proc.Exited() || time.Now().After(deadline) {
			e.Stop()
			return nil, fmt.Errorf("etcd on %s not ready: %v", e.Endpoint, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval of a bounded readiness loop
	}
	if _, err := e.scrape(); err != nil {
		e.Stop()
		return nil, fmt.Errorf("etcd metrics on %s: %v", e.metricsURL, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stopWatch = cancel
	e.Tracker, err = newTracker(ctx, e.cli, keyPrefix)
	if err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

func (e *Etcd) Stop() {
	if e.stopWatch != nil {
		e.stopWatch()
	}
	if e.cli != nil {
		e.cli.Close()
	}
	e.proc.Stop(10 * time.Second)
	os.RemoveAll(e.dataDir)
}

func (e *Etcd) Pid() int { return e.proc.Pid() }

// DeletePrefix removes whatever a failed run left behind.
func (e *Etcd) DeletePrefix() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := e.cli.Delete(ctx, keyPrefix, clientv3.WithPrefix())
	return err
}

// Counters holds etcd's grpc_server_msg_received_total by method: one per unary call, one per
// message received on a stream (so each LeaseKeepAlive request counts once).
type Counters map[string]float64

func (e *Etcd) scrape() (Counters, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(e.metricsURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	out := Counters{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	const metric = "grpc_server_msg_received_total{"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			continue
		}
		method := ""
		for _, kv := range strings.Split(line[len(metric):end], ",") {
			if strings.HasPrefix(kv, "grpc_method=") {
				method = strings.Trim(strings.TrimPrefix(kv, "grpc_method="), `"`)
			}
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err == nil && method != "" {
			out[method] += v
		}
	}
	return out, sc.Err()
}

// keepalive and other requests between two scrapes; the harness's own Watch is left out.
func requestDelta(a, b Counters) (keepalive, other float64) {
	for m, v := range b {
		d := v - a[m]
		switch m {
		case "LeaseKeepAlive":
			keepalive += d
		case "Watch":
		default:
			other += d
		}
	}
	return
}

// --- Tracker -------------------------------------------------------------------------------

type point struct {
	t time.Time
	n int
}

// Tracker follows the set of keys under a prefix through an etcd Watch and records, for every
// watch response, when it arrived and how many keys there were after it.
type Tracker struct {
	mu      sync.Mutex
	keys    map[string]bool
	hist    []point
	err     error
	changed chan struct{}
}

func newTracker(ctx context.Context, cli *clientv3.Client, prefix string) (*Tracker, error) {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := cli.Get(gctx, prefix, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return nil, err
	}
	t := &Tracker{keys: map[string]bool{}, changed: make(chan struct{})}
	for _, kv := range resp.Kvs {
		t.keys[string(kv.Key)] = true
	}
	t.hist = append(t.hist, point{time.Now(), len(t.keys)})
	wch := cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(),
		clientv3.WithRev(resp.Header.Revision+1))
	go func() {
		for wr := range wch {
			now := time.Now()
			t.mu.Lock()
			if err := wr.Err(); err != nil {
				t.err = err
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					delete(t.keys, string(ev.Kv.Key))
				} else {
					t.keys[string(ev.Kv.Key)] = true
				}
			}
			if len(wr.Events) > 0 {
				t.hist = append(t.hist, point{now, len(t.keys)})
			}
			close(t.changed)
			t.changed = make(chan struct{})
			t.mu.Unlock()
		}
		t.mu.Lock()
		if t.err == nil && ctx.Err() == nil {
			t.err = fmt.Errorf("watch on %s ended", prefix)
		}
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
	}()
	return t, nil
}

// Has: whether key is present now.
func (t *Tracker) Has(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keys[key]
}

func (t *Tracker) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

// WaitFor returns the arrival time of the first watch response at or after `since` after which
// the key count satisfied pred. If the count already satisfied pred at `since` and nothing
// changed, it returns `since`.
func (t *Tracker) WaitFor(since time.Time, pred func(int) bool, timeout time.Duration) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		if t.err != nil {
			err := t.err
			t.mu.Unlock()
			return time.Time{}, err
		}
		// The state in force at `since`, then every change after it.
		start := 0
		for i, p := range t.hist {
			if p.t.Before(since) {
				start = i
			}
		}
		for i := start; i < len(t.hist); i++ {
			if pred(t.hist[i].n) {
				at := t.hist[i].t
				if at.Before(since) {
					at = since
				}
				t.mu.Unlock()
				return at, nil
			}
		}
		n := len(t.keys)
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("key count %d did not reach the expected value within %v", n, timeout)
		}
	}
}
