package main

// Figure 5: the daemon's Consul backend against the agent double (tests/consul_double): TTL
// check refreshes per minute, other agent requests, CPU and RSS, at N = 100 and 1000 (the sizes
// above 1 of --sizes). No peer: the figure is the ratio to N.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type ConsulRow struct {
	N             int
	WindowS       float64
	RefreshPerMin float64
	OtherPerMin   float64
	CPUPerMin     float64
	RSS           []float64
	Err           string
}

type ConsulResults struct {
	Skipped string
	Rows    []ConsulRow
}

func writeConsulManifest(path, agent, host string, port, n int) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, `registry:
  kind: consul
  consul:
    address: %s
    check_ttl: 10s
defaults:
  probe: {mode: watch, interval: 1s, timeout: 1s, rise: 1, fall: 1}
services:
`, agent)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - {name: svc-%d, address: %s, port: %d, probe: {service: svc-%d}}\n", i, host, port, i)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

// consulSupported asks the daemon whether it accepts a Consul manifest.
func (b *Bench) consulSupported() error {
	manifest := filepath.Join(b.logDir, "consul-check.yaml")
	if err := writeConsulManifest(manifest, "127.0.0.1:8500", "127.0.0.1", 1, 1); err != nil {
		return err
	}
	out, err := exec.Command(b.cfg.registrar, "check", "-c", manifest).CombinedOutput()
	if err != nil {
		return fmt.Errorf("this grpc-registrar refuses registry.kind consul: %s", strings.TrimSpace(lastLine(string(out))))
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// doubleRequest is one entry of the double's GET /_double/requests log (a JSON array); only the
// method and the path are used.
type doubleRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

func fetchDoubleLog(base string) ([]doubleRequest, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/_double/requests")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET /_double/requests: HTTP %d", resp.StatusCode)
	}
	var list []doubleRequest
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET /_double/requests: %v", err)
	}
	return list, nil
}

func clearDoubleLog(base string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(base+"/_double/requests/clear", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("POST /_double/requests/clear: HTTP %d", resp.StatusCode)
	}
	return nil
}

func isRefresh(r doubleRequest) bool {
	if !strings.EqualFold(r.Method, "PUT") {
		return false
	}
	for _, p := range []string{"/v1/agent/check/pass/", "/v1/agent/check/warn/", "/v1/agent/check/fail/", "/v1/agent/check/update/"} {
		if strings.HasPrefix(r.Path, p) {
			return true
		}
	}
	return false
}

// countServices: GET /v1/agent/services, the number of services the agent holds.
func countServices(base string) (int, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/v1/agent/services")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var m map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return 0, err
	}
	return len(m), nil
}

func (b *Bench) consul() *ConsulResults {
	res := &ConsulResults{}
	if b.cfg.consulDouble == "" {
		res.Skipped = "no consul-double binary was given (--consul-double)"
		return res
	}
	if err := b.consulSupported(); err != nil {
		res.Skipped = err.Error()
		return res
	}
	if b.hello == nil {
		res.Skipped = "needs the lifecycle or footprint figures (their hello-service)"
		return res
	}
	for _, n := range b.cfg.sizes {
		if n < 100 {
			continue
		}
		row := b.consulRow(n)
		if row.Err != "" {
			b.res.Errors = append(b.res.Errors, fmt.Sprintf("consul N=%d: %s", n, row.Err))
		}
		res.Rows = append(res.Rows, row)
	}
	return res
}

func (b *Bench) consulRow(n int) ConsulRow {
	row := ConsulRow{N: n}
	fail := func(err error) ConsulRow { row.Err = err.Error(); b.logf("consul N=%d: %v", n, err); return row }
	double, err := startProc(fmt.Sprintf("consul-double-n%d", n), b.logDir, b.cfg.consulDouble, "--listen", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	defer double.Stop(5 * time.Second)
	line, err := double.WaitLine("listening on ", 15*time.Second)
	if err != nil {
		return fail(err)
	}
	agent := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	base := "http://" + agent
	manifest := filepath.Join(b.logDir, fmt.Sprintf("consul-n%d.yaml", n))
	if err := writeConsulManifest(manifest, agent, b.helloHost, b.helloPort, n); err != nil {
		return fail(err)
	}
	p, err := startProc(fmt.Sprintf("registrar-consul-n%d", n), b.logDir, b.cfg.registrar, "run", "-c", manifest)
	if err != nil {
		return fail(err)
	}
	defer p.Stop(30 * time.Second)
	deadline := time.Now().Add(60*time.Second + time.Duration(n)*20*time.Millisecond)
	for {
		c, err := countServices(base)
		if err == nil && c == n {
			break
		}
		if p.Exited() || time.Now().After(deadline) {
			return fail(fmt.Errorf("%d of %d services registered in the double (%v)", c, n, err))
		}
		time.Sleep(200 * time.Millisecond) // poll interval of a bounded wait
	}
	time.Sleep(b.cfg.warmup) // measurement design: let start-up transients settle
	// The window's requests are the log's contents at its end, once it is cleared at its start.
	if err := clearDoubleLog(base); err != nil {
		return fail(err)
	}
	cpu0, t0 := cpuSeconds(p.Pid(), false), time.Now()
	tick := time.NewTicker(time.Second)
	for time.Since(t0) < b.cfg.steady {
		<-tick.C
		rss, _ := rssMiB(p.Pid(), false)
		row.RSS = append(row.RSS, rss)
	}
	tick.Stop()
	cpu1, t1 := cpuSeconds(p.Pid(), false), time.Now()
	log, err := fetchDoubleLog(base)
	if err != nil {
		return fail(err)
	}
	perMin := 60 / t1.Sub(t0).Seconds()
	row.WindowS = t1.Sub(t0).Seconds()
	var refresh, other int
	for _, r := range log {
		switch {
		case isRefresh(r):
			refresh++
		case strings.HasPrefix(r.Path, "/_double/"):
		default:
			other++
		}
	}
	row.RefreshPerMin = float64(refresh) * perMin
	row.OtherPerMin = float64(other) * perMin
	row.CPUPerMin = (cpu1 - cpu0) * perMin
	_ = p.Signal(syscall.SIGTERM)
	if code, ok := p.Wait(60 * time.Second); !ok || code != 0 {
		row.Err = fmt.Sprintf("exit after SIGTERM: exited=%v code=%d", ok, code)
	}
	b.logf("consul N=%d: %.0f refreshes/min, %.0f other requests/min, CPU %.2f s/min", n, row.RefreshPerMin, row.OtherPerMin, row.CPUPerMin)
	return row
}
