package main

// Figure 5: the daemon's Consul backend against the agent double (tests/consul_double): TTL
// check refreshes per minute and the interval between two refreshes of one check, whether any
// check went critical (the double counts TTL expiries), other agent requests, CPU and RSS,
// start -> all registered and SIGTERM -> all gone, at the sizes of --consul-sizes. No peer: the
// figure is the ratio to N and the targets of issue 21.

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
	// Intervals between two refreshes of one check in the window (ms): largest, median, and the
	// share within TTL/3 +- 10 %.
	GapMaxMs, GapMedianMs, GapWithin10 float64
	// Checks that expired in the window (the double's TTL expiry counter), and the most checks
	// not passing in one sample (one a second).
	TTLMissed, NotPassingMax int
	StartMs, GoneMs          float64 // exec -> all N in the agent; SIGTERM -> none left
	Err                      string
}

// consulTTL is the manifest's check_ttl: refreshes are due every TTL/3.
const consulTTL = 10 * time.Second

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
	TimeMs int64  `json:"time_ms"`
}

// doubleState is GET /_double/state (test-only diagnostics of the double).
type doubleState struct {
	Services       int            `json:"services"`
	Checks         int            `json:"checks"`
	ChecksByStatus map[string]int `json:"checks_by_status"`
	TTLMissed      int            `json:"ttl_missed"`
}

func fetchDoubleState(base string) (doubleState, error) {
	var st doubleState
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/_double/state")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return st, fmt.Errorf("GET /_double/state: HTTP %d", resp.StatusCode)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// refreshGaps: the intervals (ms) between two refreshes of the same check in the log.
func refreshGaps(log []doubleRequest) []float64 {
	last := map[string]int64{}
	var gaps []float64
	for _, r := range log {
		if !isRefresh(r) {
			continue
		}
		if t, ok := last[r.Path]; ok {
			gaps = append(gaps, float64(r.TimeMs-t))
		}
		last[r.Path] = r.TimeMs
	}
	return gaps
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
		res.Skipped = "no hello-service was started"
		return res
	}
	for _, n := range b.cfg.consulSizes {
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
		// The double's own counters: not a Consul request, so not in the request log.
		st, err := fetchDoubleState(base)
		if err == nil && st.Services == n {
			row.StartMs = float64(time.Since(p.Started).Microseconds()) / 1000
			break
		}
		if p.Exited() || time.Now().After(deadline) {
			return fail(fmt.Errorf("%d of %d services registered in the double (%v)", st.Services, n, err))
		}
		time.Sleep(20 * time.Millisecond) // poll interval of a bounded wait
	}
	time.Sleep(b.cfg.warmup) // measurement design: let start-up transients settle
	// The window's requests are the log's contents at its end, once it is cleared at its start.
	if err := clearDoubleLog(base); err != nil {
		return fail(err)
	}
	st0, err := fetchDoubleState(base)
	if err != nil {
		return fail(err)
	}
	cpu0, t0 := cpuSeconds(p.Pid(), false), time.Now()
	tick := time.NewTicker(time.Second)
	for time.Since(t0) < b.cfg.steady {
		<-tick.C
		rss, _ := rssMiB(p.Pid(), false)
		row.RSS = append(row.RSS, rss)
		if st, err := fetchDoubleState(base); err == nil {
			if np := st.Checks - st.ChecksByStatus["passing"]; np > row.NotPassingMax {
				row.NotPassingMax = np
			}
		}
	}
	tick.Stop()
	cpu1, t1 := cpuSeconds(p.Pid(), false), time.Now()
	st1, err := fetchDoubleState(base)
	if err != nil {
		return fail(err)
	}
	row.TTLMissed = st1.TTLMissed - st0.TTLMissed
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
	if gaps := refreshGaps(log); len(gaps) > 0 {
		_, row.GapMedianMs, row.GapMaxMs, _ = stats(gaps)
		third := float64(consulTTL.Milliseconds()) / 3
		within := 0
		for _, g := range gaps {
			if g >= third*0.9 && g <= third*1.1 {
				within++
			}
		}
		row.GapWithin10 = float64(within) / float64(len(gaps))
	}
	sigterm := time.Now()
	_ = p.Signal(syscall.SIGTERM)
	for deadline := sigterm.Add(60 * time.Second); time.Now().Before(deadline); {
		if st, err := fetchDoubleState(base); err == nil && st.Services == 0 {
			row.GoneMs = float64(time.Since(sigterm).Microseconds()) / 1000
			break
		}
		time.Sleep(5 * time.Millisecond) // poll interval of a bounded wait
	}
	if row.GoneMs == 0 {
		row.Err = "services still in the agent 60 s after SIGTERM"
	}
	if code, ok := p.Wait(60 * time.Second); !ok || code != 0 {
		row.Err = fmt.Sprintf("exit after SIGTERM: exited=%v code=%d", ok, code)
	}
	b.logf("consul N=%d: %.0f refreshes/min, largest gap %.0f ms, %d TTL expiries, %.0f other requests/min, CPU %.2f s/min", n, row.RefreshPerMin, row.GapMaxMs, row.TTLMissed, row.OtherPerMin, row.CPUPerMin)
	return row
}
