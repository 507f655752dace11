package main

// The measurements: detection latency, start-up and deregistration (lifecycle), footprint at
// steady state, and Consul TTL refresh traffic.

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// An Impl is one way of keeping N services registered: the daemon or a peer.
type Impl struct {
	Key   string // registrar | gokit | gokit-shared | sidecar
	Label string
	Tree  bool // its footprint is a process tree, not one process
	MaxN  int  // 0: no limit
	start func(b *Bench, e *Etcd, n int, name string) (*Proc, error)
}

func (b *Bench) impls() []Impl {
	all := map[string]Impl{
		"registrar": {Key: "registrar", Label: "grpc-registrar", start: func(b *Bench, e *Etcd, n int, name string) (*Proc, error) {
			manifest := filepath.Join(b.logDir, name+".yaml")
			if err := writeEtcdManifest(manifest, e.Endpoint, b.helloHost, b.helloPort, n, "watch"); err != nil {
				return nil, err
			}
			return startProc(name, b.logDir, b.cfg.registrar, "run", "-c", manifest)
		}},
		"gokit": {Key: "gokit", Label: "go-kit-style", MaxN: b.cfg.peerMax, start: func(b *Bench, e *Etcd, n int, name string) (*Proc, error) {
			return startProc(name, b.logDir, b.cfg.gokit, "--etcd", e.Endpoint, "--services", strconv.Itoa(n),
				"--addr", b.helloAddr(), "--ttl", "10s")
		}},
		"gokit-shared": {Key: "gokit-shared", Label: "go-kit-style, one shared client", MaxN: b.cfg.peerMax, start: func(b *Bench, e *Etcd, n int, name string) (*Proc, error) {
			return startProc(name, b.logDir, b.cfg.gokit, "--etcd", e.Endpoint, "--services", strconv.Itoa(n),
				"--addr", b.helloAddr(), "--ttl", "10s", "--shared-client")
		}},
		"sidecar": {Key: "sidecar", Label: "etcdctl sidecar", Tree: true, MaxN: b.cfg.sidecarMax,
			start: func(b *Bench, e *Etcd, n int, name string) (*Proc, error) {
				return startProc(name, b.logDir, "/bin/bash", b.cfg.sidecar, "--etcd", e.Endpoint,
					"--services", strconv.Itoa(n), "--addr", b.helloAddr(), "--ttl", "10",
					"--etcdctl", b.cfg.etcdctl)
			}},
	}
	out := []Impl{all["registrar"]}
	for _, k := range b.cfg.peers {
		if im, ok := all[k]; ok && k != "registrar" {
			out = append(out, im)
		}
	}
	return out
}

// The daemon's manifest for n services svc-0..svc-(n-1), all hosted by one hello-service, with
// go-kit's key layout so that every implementation writes the same keys and values.
func writeEtcdManifest(path, endpoint, host string, port, n int, mode string) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, `registry:
  kind: etcd
  etcd:
    endpoints: [%s]
    prefix: /services
    format: gokit
    lease_ttl: 10s
defaults:
  probe: {mode: %s, interval: 1s, timeout: 1s, rise: 1, fall: 1}
services:
`, endpoint, mode)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - {name: svc-%d, address: %s, port: %d, probe: {service: svc-%d}}\n", i, host, port, i)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

func eq(n int) func(int) bool { return func(c int) bool { return c == n } }

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// --- 1. Detection latency -------------------------------------------------------------------

type Detection struct {
	Mode     string
	N        int       // figure 1: 1 (a server of its own); figure 1b: the daemon's N, one name flipped
	Down, Up []float64 // ms
	Call     []float64 // figure 1b: ms the SetStatus call itself took, both ways
	Err      string
}

// detection: one service hosted by its own hello-service (--services 1); SIGUSR1 turns every
// name NOT_SERVING, SIGUSR2 SERVING again. Latency = signal sent -> the watcher sees the key go
// (come back). Each flip waits a random delay first, so that poll mode's phase varies.
func (b *Bench) detection(mode string, rounds int) Detection {
	d := Detection{Mode: mode, N: 1}
	fail := func(err error) Detection { d.Err = err.Error(); b.logf("detection %s: %v", mode, err); return d }
	e, err := startEtcd(b.cfg.etcdBin, b.cfg.dataBase, b.logDir, "etcd-detect-"+mode)
	if err != nil {
		return fail(err)
	}
	defer e.Stop()
	hello, err := startProc("hello-detect-"+mode, b.logDir, b.cfg.hello, "--services", "1")
	if err != nil {
		return fail(err)
	}
	defer hello.Stop(5 * time.Second)
	host, port, err := listeningOn(hello)
	if err != nil {
		return fail(err)
	}
	manifest := filepath.Join(b.logDir, "detect-"+mode+".yaml")
	if err := writeEtcdManifest(manifest, e.Endpoint, host, port, 1, mode); err != nil {
		return fail(err)
	}
	daemon, err := startProc("registrar-detect-"+mode, b.logDir, b.cfg.registrar, "run", "-c", manifest)
	if err != nil {
		return fail(err)
	}
	defer daemon.Stop(10 * time.Second)
	if _, err := e.Tracker.WaitFor(daemon.Started, eq(1), 30*time.Second); err != nil {
		return fail(fmt.Errorf("initial registration: %v", err))
	}
	delay := func() time.Duration {
		if mode == "poll" {
			return 50*time.Millisecond + time.Duration(rand.Int63n(int64(time.Second)))
		}
		return 50*time.Millisecond + time.Duration(rand.Int63n(int64(100*time.Millisecond)))
	}
	flip := func(sig syscall.Signal, want int) (float64, error) {
		time.Sleep(delay()) // measurement design: decorrelate from the probe's timers
		t0 := time.Now()
		if err := hello.Signal(sig); err != nil {
			return 0, err
		}
		t, err := e.Tracker.WaitFor(t0, eq(want), 10*time.Second)
		if err != nil {
			return 0, err
		}
		return ms(t.Sub(t0)), nil
	}
	for r := 0; r < rounds; r++ {
		down, err := flip(syscall.SIGUSR1, 0)
		if err != nil {
			return fail(fmt.Errorf("round %d, NOT_SERVING: %v", r, err))
		}
		up, err := flip(syscall.SIGUSR2, 1)
		if err != nil {
			return fail(fmt.Errorf("round %d, SERVING: %v", r, err))
		}
		d.Down = append(d.Down, down)
		d.Up = append(d.Up, up)
	}
	b.logf("detection %s: down %s ms, up %s ms", mode, mmm(d.Down), mmm(d.Up))
	return d
}

func listeningOn(p *Proc) (string, int, error) {
	line, err := p.WaitLine("listening on ", 15*time.Second)
	if err != nil {
		return "", 0, err
	}
	addr := strings.TrimPrefix(line, "listening on ")
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("bad listening line %q", line)
	}
	port, err := strconv.Atoi(addr[i+1:])
	return addr[:i], port, err
}

// --- 2.-4. Lifecycle and footprint ----------------------------------------------------------

type LifeSample struct {
	Startup, Dereg float64 // ms
	ExitCode       int
}

type Footprint struct {
	WindowS float64
	RSS     []float64 // MiB, one sample a second
	RSSAnon []float64 // MiB, the anonymous part of each RSS sample
	CPU     []float64 // CPU seconds per minute, one per slice
	KA      []float64 // keepalive requests per minute, per slice
	Other   []float64 // other etcd requests per minute, per slice
	EtcdCPU []float64 // etcd's own CPU seconds per minute, per slice
	// Over the whole window.
	CPUAll, KAAll, OtherAll, EtcdCPUAll float64
}

type Group struct {
	Impl    string
	Label   string
	N       int
	Samples []LifeSample
	Foot    *Footprint
	Errs    []string
}

// group runs `runs` lifecycles of impl with n services against one fresh etcd; the first one
// also measures the footprint when withFootprint, and then, when flips > 0, figure 1b (one
// name flipped among the n, `flips` times each way) into *flipOut.
func (b *Bench) group(im Impl, n, runs int, withFootprint bool, flips int, flipOut **Detection) *Group {
	g := &Group{Impl: im.Key, Label: im.Label, N: n}
	e, err := startEtcd(b.cfg.etcdBin, b.cfg.dataBase, b.logDir, fmt.Sprintf("etcd-%s-n%d", im.Key, n))
	if err != nil {
		g.Errs = append(g.Errs, err.Error())
		b.logf("%s N=%d: %v", im.Key, n, err)
		return g
	}
	defer e.Stop()
	for r := 0; r < runs; r++ {
		first := r == 0
		s, fp, err := b.lifecycle(e, im, n, r, withFootprint && first, func() {
			if first && flips > 0 {
				*flipOut = b.flipAmong(e, n, flips)
			}
		})
		if err != nil {
			g.Errs = append(g.Errs, fmt.Sprintf("run %d: %v", r, err))
			b.logf("%s N=%d run %d: %v", im.Key, n, r, err)
			continue
		}
		g.Samples = append(g.Samples, s)
		if fp != nil {
			g.Foot = fp
		}
		b.logf("%s N=%d run %d: start-up %.1f ms, deregistration %.1f ms", im.Key, n, r, s.Startup, s.Dereg)
	}
	return g
}

// lifecycle: exec -> all n registered, the footprint window (when withFootprint), then steady
// (called with all n registered, before SIGTERM), then SIGTERM -> all gone.
func (b *Bench) lifecycle(e *Etcd, im Impl, n, run int, withFootprint bool, steady func()) (LifeSample, *Footprint, error) {
	var s LifeSample
	if e.Tracker.Count() != 0 {
		if err := e.DeletePrefix(); err != nil {
			return s, nil, err
		}
		if _, err := e.Tracker.WaitFor(time.Now(), eq(0), 10*time.Second); err != nil {
			return s, nil, err
		}
	}
	name := fmt.Sprintf("%s-n%d-r%d", im.Key, n, run)
	p, err := im.start(b, e, n, name)
	if err != nil {
		return s, nil, err
	}
	defer p.Stop(30 * time.Second)
	bound := 60*time.Second + time.Duration(n)*100*time.Millisecond
	t, err := e.Tracker.WaitFor(p.Started, eq(n), bound)
	if err != nil {
		return s, nil, fmt.Errorf("start-up: %v", err)
	}
	s.Startup = ms(t.Sub(p.Started))
	if im.Key != "registrar" {
		// A peer has returned from its last put once it says so; the daemon needs no such
		// line (it keeps every key it has written in its state from the start).
		if _, err := p.WaitLine("registered ", bound); err != nil {
			return s, nil, err
		}
	}

	var fp *Footprint
	if withFootprint {
		fp, err = b.footprint(e, p, im.Tree)
		if err != nil {
			return s, nil, fmt.Errorf("footprint: %v", err)
		}
		if c := e.Tracker.Count(); c != n {
			return s, nil, fmt.Errorf("%d of %d keys left after the steady window", c, n)
		}
	}
	steady()
	if _, err := e.Tracker.WaitFor(time.Now(), eq(n), 10*time.Second); err != nil {
		return s, nil, fmt.Errorf("before SIGTERM: %v", err)
	}

	t0 := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return s, nil, err
	}
	t, err = e.Tracker.WaitFor(t0, eq(0), bound)
	if err != nil {
		return s, nil, fmt.Errorf("deregistration: %v", err)
	}
	s.Dereg = ms(t.Sub(t0))
	code, ok := p.Wait(bound)
	if !ok {
		return s, nil, fmt.Errorf("no exit within %v of SIGTERM", bound)
	}
	s.ExitCode = code
	if code != 0 {
		return s, nil, fmt.Errorf("exit code %d after SIGTERM", code)
	}
	return s, fp, nil
}

// footprint: after the warm-up, samples RSS every second and CPU and etcd's request counters at
// the end of every slice of the window.
func (b *Bench) footprint(e *Etcd, p *Proc, tree bool) (*Footprint, error) {
	time.Sleep(b.cfg.warmup) // measurement design: let start-up transients settle
	pid := p.Pid()
	fp := &Footprint{}
	type snap struct {
		t       time.Time
		cpu     float64
		etcdCPU float64
		m       Counters
	}
	take := func() (snap, error) {
		m, err := e.scrape()
		return snap{time.Now(), cpuSeconds(pid, tree), cpuSeconds(e.Pid(), false), m}, err
	}
	first, err := take()
	if err != nil {
		return nil, err
	}
	prev := first
	end := first.t.Add(b.cfg.steady)
	nextSlice := first.t.Add(b.cfg.slice)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		<-tick.C
		if p.Exited() {
			return nil, fmt.Errorf("%s exited during the steady window", p.Name)
		}
		rss, anon := rssMiB(pid, tree)
		fp.RSS = append(fp.RSS, rss)
		fp.RSSAnon = append(fp.RSSAnon, anon)
		now := time.Now()
		if now.Before(nextSlice) && now.Before(end) {
			continue
		}
		cur, err := take()
		if err != nil {
			return nil, err
		}
		perMin := 60 / cur.t.Sub(prev.t).Seconds()
		ka, other := requestDelta(prev.m, cur.m)
		fp.CPU = append(fp.CPU, (cur.cpu-prev.cpu)*perMin)
		fp.EtcdCPU = append(fp.EtcdCPU, (cur.etcdCPU-prev.etcdCPU)*perMin)
		fp.KA = append(fp.KA, ka*perMin)
		fp.Other = append(fp.Other, other*perMin)
		prev = cur
		nextSlice = cur.t.Add(b.cfg.slice)
		if !cur.t.Before(end) {
			break
		}
	}
	window := prev.t.Sub(first.t).Seconds()
	fp.WindowS = window
	perMin := 60 / window
	ka, other := requestDelta(first.m, prev.m)
	fp.CPUAll = (prev.cpu - first.cpu) * perMin
	fp.EtcdCPUAll = (prev.etcdCPU - first.etcdCPU) * perMin
	fp.KAAll = ka * perMin
	fp.OtherAll = other * perMin
	return fp, nil
}
