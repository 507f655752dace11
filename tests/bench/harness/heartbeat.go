package main

// Figure 8: Eureka and Nacos (issue 15), registries kept by one heartbeat per instance and
// interval, against the project's doubles (tests/eureka_double, tests/nacos_double: the daemon
// cannot tell them from the servers). A fresh double per implementation and N; the daemon beside
// a minimal client per instance (tests/bench/peers/heartbeat-client, what a go-kit-style program
// does), with keep-alive connections and without. The double's own counters and request log
// give the heartbeats, the other requests and the connections; its instance count gives
// start-up and SIGTERM -> all gone (polled every 5 ms).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// eurekaRenewal is the renewal interval every Eureka implementation uses here (the default is
// 30 s; 10 s gives three heartbeats per instance in a 30 s window). Nacos's interval is the
// server's clientBeatInterval, 5 s.
const eurekaRenewal = 10 * time.Second

type hbKind struct {
	Name     string // eureka | nacos
	Interval time.Duration
	double   string
}

type HBResults struct {
	Kind     string
	Interval time.Duration
	Skipped  string
	Rows     []*RegRow
}

type hbImpl struct {
	Key, Label string
	args       []string // heartbeat-client flags; nil: the daemon
}

func (b *Bench) hbImpls() []hbImpl {
	out := []hbImpl{{Key: "registrar", Label: "grpc-registrar"}}
	if b.cfg.hbClient != "" {
		out = append(out, hbImpl{Key: "client", Label: "client per instance, keep-alive", args: []string{}},
			hbImpl{Key: "client-nokeepalive", Label: "client per instance, connection per request", args: []string{"--no-keepalive"}})
	}
	return out
}

// hbDouble is one running double and how to read it.
type hbDouble struct {
	kind hbKind
	proc *Proc
	base string // http://host:port
}

func getJSON(url string, v interface{}) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (d *hbDouble) instances() (int, error) {
	if d.kind.Name == "eureka" {
		var st struct {
			Instances int `json:"instances"`
		}
		err := getJSON(d.base+"/_double/state", &st)
		return st.Instances, err
	}
	var st map[string]uint64
	err := getJSON(d.base+"/_double/stats", &st)
	return int(st["instances"]), err
}

// waitInstances polls the double until its number of instances satisfies pred; it gives up
// early if p (when not nil) exits before.
func (d *hbDouble) waitInstances(pred func(int) bool, p *Proc, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	last := -1
	for {
		n, err := d.instances()
		now := time.Now()
		if err == nil {
			if last = n; pred(n) {
				return now, nil
			}
		}
		if now.After(deadline) {
			return now, fmt.Errorf("%d instances in the double after %v (%v)", last, timeout, err)
		}
		if p != nil && p.Exited() {
			return now, fmt.Errorf("%s exited, %d instances in the double (log: %s.err)", p.Name, last, p.Name)
		}
		time.Sleep(5 * time.Millisecond) // poll interval of a bounded wait
	}
}

// hbCounters: heartbeats, other requests and connections so far.
type hbCounters struct {
	seq                 uint64
	beats, other, conns float64
	remotes             map[string]bool // Eureka: the client ends seen so far
}

type eurekaRecord struct {
	Seq    uint64 `json:"seq"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Remote string `json:"remote"`
}

// isRenew: PUT /eureka/apps/APP/ID (a status change ends in /status).
func isRenew(r eurekaRecord) bool {
	f := strings.Split(strings.Trim(r.Path, "/"), "/")
	return r.Method == "PUT" && len(f) == 4 && f[1] == "apps"
}

// counters reads the double. Eureka has no counters: its request log (since the last read)
// gives them, a connection is a client end (host:port) not seen before, and the client ends of
// the requests read are added to used (when not nil).
func (d *hbDouble) counters(prev *hbCounters, used map[string]bool) (*hbCounters, error) {
	if d.kind.Name == "nacos" {
		var st map[string]uint64
		if err := getJSON(d.base+"/_double/stats", &st); err != nil {
			return nil, err
		}
		return &hbCounters{beats: float64(st["beats"]), other: float64(st["requests"] - st["beats"]),
			conns: float64(st["connections"])}, nil
	}
	c := &hbCounters{remotes: map[string]bool{}}
	if prev != nil {
		*c = *prev
		c.remotes = map[string]bool{}
		for k := range prev.remotes {
			c.remotes[k] = true
		}
	}
	var log []eurekaRecord
	if err := getJSON(fmt.Sprintf("%s/_double/requests?since=%d", d.base, c.seq), &log); err != nil {
		return nil, err
	}
	for _, r := range log {
		c.seq = r.Seq
		if used != nil {
			used[r.Remote] = true
		}
		if isRenew(r) {
			c.beats++
		} else {
			c.other++
		}
		if !c.remotes[r.Remote] {
			c.remotes[r.Remote] = true
			c.conns++
		}
	}
	return c, nil
}

func (b *Bench) startDouble(k hbKind, name string) (*hbDouble, error) {
	args := []string{"--listen", "127.0.0.1:0"}
	p, err := startProc(name, b.logDir, k.double, args...)
	if err != nil {
		return nil, err
	}
	line, err := p.WaitLine("listening on ", 15*time.Second)
	if err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	return &hbDouble{kind: k, proc: p, base: "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening on "))}, nil
}

func writeHBManifest(path string, d *hbDouble, host string, port, n int) error {
	var sb strings.Builder
	addr := strings.TrimPrefix(d.base, "http://")
	if d.kind.Name == "eureka" {
		fmt.Fprintf(&sb, "registry:\n  kind: eureka\n  eureka:\n    urls: [%s/eureka]\n    renewal_interval: %s\n    lease_duration: %s\n",
			d.base, eurekaRenewal, 3*eurekaRenewal)
	} else {
		fmt.Fprintf(&sb, "registry:\n  kind: nacos\n  nacos:\n    servers: [\"%s\"]\n", addr)
	}
	sb.WriteString("defaults:\n  probe: {mode: watch, interval: 1s, timeout: 1s, rise: 1, fall: 1}\nservices:\n")
	for i := 0; i < n; i++ {
		id := "" // Nacos names an instance by ip#port#cluster#group@@name itself
		if d.kind.Name == "eureka" {
			id = fmt.Sprintf("id: svc-%d, ", i) // the peer's ids
		}
		fmt.Fprintf(&sb, "  - {name: svc-%d, %saddress: %s, port: %d, probe: {service: svc-%d}}\n", i, id, host, port, i)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

func (b *Bench) hbStart(d *hbDouble, im hbImpl, n int, name string) (*Proc, error) {
	if im.args == nil {
		manifest := filepath.Join(b.logDir, name+".yaml")
		if err := writeHBManifest(manifest, d, b.helloHost, b.helloPort, n); err != nil {
			return nil, err
		}
		return startProc(name, b.logDir, b.cfg.registrar, "run", "-c", manifest)
	}
	url := d.base
	if d.kind.Name == "eureka" {
		url += "/eureka"
	}
	args := append([]string{"--kind", d.kind.Name, "--url", url, "--services", strconv.Itoa(n),
		"--addr", b.helloAddr(), "--interval", eurekaRenewal.String()}, im.args...)
	return startProc(name, b.logDir, b.cfg.hbClient, args...)
}

func (b *Bench) heartbeats() []*HBResults {
	var out []*HBResults
	for _, k := range []hbKind{{"eureka", eurekaRenewal, b.cfg.eurekaDouble}, {"nacos", 5 * time.Second, b.cfg.nacosDouble}} {
		if !b.cfg.only[k.Name] {
			continue
		}
		res := &HBResults{Kind: k.Name, Interval: k.Interval}
		out = append(out, res)
		if k.double == "" {
			res.Skipped = fmt.Sprintf("no %s-double binary was given (--%s-double)", k.Name, k.Name)
			continue
		}
		for _, n := range b.cfg.hbSizes {
			for _, im := range b.hbImpls() {
				row := b.hbGroup(k, im, n)
				for _, e := range row.Errs {
					b.res.Errors = append(b.res.Errors, fmt.Sprintf("%s %s N=%d: %s", k.Name, im.Key, n, e))
				}
				res.Rows = append(res.Rows, row)
			}
		}
	}
	return out
}

func (b *Bench) hbGroup(k hbKind, im hbImpl, n int) *RegRow {
	row := &RegRow{Impl: im.Key, Label: im.Label, N: n}
	d, err := b.startDouble(k, fmt.Sprintf("%s-double-%s-n%d", k.Name, im.Key, n))
	if err != nil {
		row.Errs = append(row.Errs, err.Error())
		return row
	}
	defer d.proc.Stop(5 * time.Second)
	bound := 60*time.Second + time.Duration(n)*100*time.Millisecond
	for r := 0; r < b.cfg.runs; r++ {
		err := func() error {
			p, err := b.hbStart(d, im, n, fmt.Sprintf("%s-%s-n%d-r%d", k.Name, im.Key, n, r))
			if err != nil {
				return err
			}
			defer p.Stop(30 * time.Second)
			t, err := d.waitInstances(eq(n), p, bound)
			if err != nil {
				return fmt.Errorf("start-up: %v", err)
			}
			start := ms(t.Sub(p.Started))
			if im.args != nil {
				if _, err := p.WaitLine("registered ", bound); err != nil {
					return err
				}
			}
			if r == 0 {
				if err := b.hbFootprint(d, p, row); err != nil {
					return fmt.Errorf("footprint: %v", err)
				}
			}
			t0 := time.Now()
			if err := p.Signal(syscall.SIGTERM); err != nil {
				return err
			}
			t, err = d.waitInstances(eq(0), nil, bound)
			if err != nil {
				return fmt.Errorf("deregistration: %v", err)
			}
			if code, ok := p.Wait(bound); !ok || code != 0 {
				return fmt.Errorf("exit after SIGTERM: exited=%v code=%d", ok, code)
			}
			row.Startup = append(row.Startup, start)
			row.Dereg = append(row.Dereg, ms(t.Sub(t0)))
			b.logf("%s %s N=%d run %d: start-up %.1f ms, SIGTERM -> all gone %.1f ms", k.Name, im.Key, n, r, start, ms(t.Sub(t0)))
			return nil
		}()
		if err != nil {
			row.Errs = append(row.Errs, fmt.Sprintf("run %d: %v", r, err))
			b.logf("%s %s N=%d run %d: %v", k.Name, im.Key, n, r, err)
		}
	}
	return row
}

func (b *Bench) hbFootprint(d *hbDouble, p *Proc, row *RegRow) error {
	time.Sleep(b.cfg.warmup) // measurement design: let start-up transients settle
	c0, err := d.counters(nil, nil)
	if err != nil {
		return err
	}
	cpu0, dcpu0, t0 := cpuSeconds(p.Pid(), false), cpuSeconds(d.proc.Pid(), false), time.Now()
	used := map[string]bool{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	c := c0
	for time.Since(t0) < b.cfg.steady {
		<-tick.C
		if p.Exited() {
			return fmt.Errorf("%s exited during the steady window", p.Name)
		}
		rss, _ := rssMiB(p.Pid(), false)
		row.RSS = append(row.RSS, rss)
		if d.kind.Name == "eureka" { // read the log as it grows, so that every client end is seen
			if c, err = d.counters(c, used); err != nil {
				return err
			}
		}
	}
	c1, err := d.counters(c, used)
	if err != nil {
		return err
	}
	if d.kind.Name == "eureka" {
		row.Conns = float64(len(used))
	}
	cpu1, dcpu1, t1 := cpuSeconds(p.Pid(), false), cpuSeconds(d.proc.Pid(), false), time.Now()
	perMin := 60 / t1.Sub(t0).Seconds()
	row.WindowS = t1.Sub(t0).Seconds()
	row.CPUPerMin = (cpu1 - cpu0) * perMin
	row.ServerCPU = (dcpu1 - dcpu0) * perMin
	row.ReqPerMin = (c1.beats - c0.beats) * perMin
	row.OtherPerMin = (c1.other - c0.other) * perMin
	row.NewConnPerMin = (c1.conns - c0.conns) * perMin
	if got, err := d.instances(); err != nil || got != row.N {
		return fmt.Errorf("%d of %d instances left after the steady window (%v)", got, row.N, err)
	}
	return nil
}
