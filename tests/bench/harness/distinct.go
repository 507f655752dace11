package main

// Figure 6: services on distinct servers. N services, each on a port of its own (one
// hello-service process listening on N ports, --extra-ports), so the daemon opens N channels and
// sends a liveness Check per channel (once its server has been silent for the liveness interval)
// instead of sharing one. Daemon only (the peers do not probe: their cost does not depend on where the services listen); the same run's
// figure 4 row for N names on one server is the reference.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type DistinctRow struct {
	N         int
	StartMs   float64
	CPUPerMin float64
	RSS       []float64
	Err       string
}

func writeDistinctManifest(path, endpoint, host string, ports []int) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, `registry:
  kind: etcd
  etcd:
    endpoints: [%s]
    prefix: /services
    format: gokit
    lease_ttl: 10s
defaults:
  probe: {mode: watch, interval: 1s, timeout: 1s, rise: 1, fall: 1}
services:
`, endpoint)
	for i, p := range ports {
		fmt.Fprintf(&sb, "  - {name: svc-%d, address: %s, port: %d, probe: {service: svc-0}}\n", i, host, p)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

func (b *Bench) distinct() []DistinctRow {
	var rows []DistinctRow
	for _, n := range b.cfg.distinctSizes {
		row := b.distinctRow(n)
		if row.Err != "" {
			b.res.Errors = append(b.res.Errors, fmt.Sprintf("distinct servers N=%d: %s", n, row.Err))
		}
		rows = append(rows, row)
	}
	return rows
}

func (b *Bench) distinctRow(n int) DistinctRow {
	row := DistinctRow{N: n}
	fail := func(err error) DistinctRow { row.Err = err.Error(); b.logf("distinct N=%d: %v", n, err); return row }
	hello, err := startProc(fmt.Sprintf("hello-ports-n%d", n), b.logDir, b.cfg.hello, "--services", "1", "--extra-ports", strconv.Itoa(n-1))
	if err != nil {
		return fail(err)
	}
	defer hello.Stop(5 * time.Second)
	host, port, err := listeningOn(hello)
	if err != nil {
		return fail(err)
	}
	ports := []int{port}
	if n > 1 {
		line, err := hello.WaitLine("also listening on ports ", 5*time.Second)
		if err != nil {
			return fail(err)
		}
		for _, f := range strings.Split(strings.TrimPrefix(line, "also listening on ports "), ",") {
			p, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fail(fmt.Errorf("hello-service ports: %q", line))
			}
			ports = append(ports, p)
		}
	}
	if len(ports) != n {
		return fail(fmt.Errorf("hello-service listens on %d ports, want %d", len(ports), n))
	}
	e, err := startEtcd(b.cfg.etcdBin, b.cfg.dataBase, b.logDir, fmt.Sprintf("etcd-distinct-n%d", n))
	if err != nil {
		return fail(err)
	}
	defer e.Stop()
	manifest := filepath.Join(b.logDir, fmt.Sprintf("distinct-n%d.yaml", n))
	if err := writeDistinctManifest(manifest, e.Endpoint, host, ports); err != nil {
		return fail(err)
	}
	p, err := startProc(fmt.Sprintf("registrar-distinct-n%d", n), b.logDir, b.cfg.registrar, "run", "-c", manifest)
	if err != nil {
		return fail(err)
	}
	defer p.Stop(30 * time.Second)
	t, err := e.Tracker.WaitFor(p.Started, eq(n), 60*time.Second+time.Duration(n)*20*time.Millisecond)
	if err != nil {
		return fail(err)
	}
	row.StartMs = ms(t.Sub(p.Started))
	time.Sleep(b.cfg.warmup) // measurement design: let start-up transients settle
	cpu0, t0 := cpuSeconds(p.Pid(), false), time.Now()
	tick := time.NewTicker(time.Second)
	for time.Since(t0) < b.cfg.steady {
		<-tick.C
		rss, _ := rssMiB(p.Pid(), false)
		row.RSS = append(row.RSS, rss)
	}
	tick.Stop()
	row.CPUPerMin = (cpuSeconds(p.Pid(), false) - cpu0) * 60 / time.Since(t0).Seconds()
	_ = p.Signal(syscall.SIGTERM)
	if code, ok := p.Wait(60 * time.Second); !ok || code != 0 {
		row.Err = fmt.Sprintf("exit after SIGTERM: exited=%v code=%d", ok, code)
	}
	b.logf("distinct N=%d: start %.0f ms, CPU %.2f s/min, RSS %s MiB", n, row.StartMs, row.CPUPerMin, mmm(row.RSS))
	return row
}
