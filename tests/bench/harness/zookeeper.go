package main

// Figure 7: ZooKeeper (issue 14). A private ZooKeeper (Debian's server, started as
// tests/support/zookeeper_server.cpp does: 127.0.0.1, a free port, a temporary data directory)
// per implementation and N; the daemon (format gokit: one ephemeral node per service in one
// session) beside the go-kit-style peer (one session per service, as go-kit's sd/zk does).
// Everything is read from the server's side, through its four-letter word `mntr` (a plain TCP
// exchange, not a session; the server counts it as one packet received, which the window's
// figure leaves out): the number of ephemeral nodes (start-up, SIGTERM -> all gone) and the
// packets the server received (requests and pings) during the steady window.

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// zkJars: Debian's jars for ZooKeeperServerMain, without a logging back-end (slf4j-nop), as in
// tests/support/zookeeper_server.cpp.
var zkJars = []string{"zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-nop.jar", "netty-handler.jar",
	"netty-common.jar", "netty-buffer.jar", "netty-transport.jar", "netty-codec.jar", "netty-resolver.jar",
	"netty-transport-native-epoll.jar", "netty-transport-native-unix-common.jar", "metrics-core.jar",
	"snappy-java.jar", "commons-cli.jar"}

// zkSessionTimeout is every implementation's session timeout.
const zkSessionTimeout = 10 * time.Second

type ZooKeeper struct {
	proc     *Proc
	Endpoint string
	dir      string
}

func zkClasspath(dir string) (string, error) {
	var cp []string
	for i, j := range zkJars {
		p := filepath.Join(dir, j)
		if _, err := os.Stat(p); err != nil {
			if i == 0 {
				return "", fmt.Errorf("ZooKeeper is not installed (%s): apt-get install zookeeper", p)
			}
			continue
		}
		cp = append(cp, p)
	}
	return strings.Join(cp, ":"), nil
}

// startZooKeeper: a standalone server, tickTime 2 s (ZooKeeper's default: sessions of 4-40 s),
// data on dataBase, and only `mntr` and `srvr` among the four-letter words.
func startZooKeeper(cfg *Config, logDir, name string) (*ZooKeeper, error) {
	cp, err := zkClasspath(cfg.zkJarDir)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(cfg.dataBase, "registrar-bench-zk-")
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n"+
		"admin.enableServer=false\n4lw.commands.whitelist=mntr,srvr\nmaxClientCnxns=0\n", filepath.Join(dir, "data"), ports[0])
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(conf), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	z := &ZooKeeper{Endpoint: fmt.Sprintf("127.0.0.1:%d", ports[0]), dir: dir}
	// A bounded heap and the serial collector, as the tests use; the server JIT-compiles fully
	// (no TieredStopAtLevel) since it is measured.
	z.proc, err = startProc(name, logDir, cfg.java, "-Xmx256m", "-XX:+UseSerialGC",
		"-Dzookeeper.admin.enableServer=false", "-cp", cp, "org.apache.zookeeper.server.ZooKeeperServerMain",
		filepath.Join(dir, "zoo.cfg"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if out, err := z.fourLetter("srvr"); err == nil && strings.Contains(out, "Mode: ") {
			return z, nil
		}
		if z.proc.Exited() || time.Now().After(deadline) {
			z.Stop()
			return nil, fmt.Errorf("ZooKeeper on %s not serving within 60 s (log: %s)", z.Endpoint, logDir)
		}
		time.Sleep(50 * time.Millisecond) // poll interval of a bounded readiness loop
	}
}

func (z *ZooKeeper) Stop() {
	z.proc.Stop(10 * time.Second)
	os.RemoveAll(z.dir)
}

func (z *ZooKeeper) Pid() int { return z.proc.Pid() }

func (z *ZooKeeper) fourLetter(word string) (string, error) {
	c, err := net.DialTimeout("tcp", z.Endpoint, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(word)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// mntr: the server's monitoring counters by name.
func (z *ZooKeeper) mntr() (map[string]float64, error) {
	out, err := z.fourLetter("mntr")
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				m[f[0]] = v
			}
		}
	}
	if _, ok := m["zk_ephemerals_count"]; !ok {
		return nil, fmt.Errorf("mntr: no zk_ephemerals_count in %q", out)
	}
	return m, nil
}

// waitEphemerals polls mntr (every 2 ms) until the number of ephemeral nodes satisfies pred and
// returns when the answer that showed it arrived; it gives up early if p (when not nil) exits
// before.
func (z *ZooKeeper) waitEphemerals(pred func(int) bool, p *Proc, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	last := -1
	for {
		m, err := z.mntr()
		now := time.Now()
		if err == nil {
			last = int(m["zk_ephemerals_count"])
			if pred(last) {
				return now, nil
			}
		}
		if now.After(deadline) {
			return now, fmt.Errorf("%d ephemeral nodes after %v (%v)", last, timeout, err)
		}
		if p != nil && p.Exited() {
			return now, fmt.Errorf("%s exited, %d ephemeral nodes (log: %s.err)", p.Name, last, p.Name)
		}
		time.Sleep(2 * time.Millisecond) // poll interval of a bounded wait
	}
}

type ZkImpl struct {
	Key, Label string
	start      func(b *Bench, z *ZooKeeper, n int, name string) (*Proc, error)
}

func writeZkManifest(path, server, host string, port, n int) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, `registry:
  kind: zookeeper
  zookeeper:
    servers: [%s]
    base_path: /services
    session_timeout: %s
    format: gokit
defaults:
  probe: {mode: watch, interval: 1s, timeout: 1s, rise: 1, fall: 1}
services:
`, server, zkSessionTimeout)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - {name: svc-%d, address: %s, port: %d, probe: {service: svc-%d}}\n", i, host, port, i)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

func (b *Bench) zkImpls() []ZkImpl {
	out := []ZkImpl{{Key: "registrar", Label: "grpc-registrar", start: func(b *Bench, z *ZooKeeper, n int, name string) (*Proc, error) {
		manifest := filepath.Join(b.logDir, name+".yaml")
		if err := writeZkManifest(manifest, z.Endpoint, b.helloHost, b.helloPort, n); err != nil {
			return nil, err
		}
		return startProc(name, b.logDir, b.cfg.registrar, "run", "-c", manifest)
	}}}
	if b.cfg.gokitZk != "" {
		out = append(out, ZkImpl{Key: "gokit-zk", Label: "go-kit-style (session per service)",
			start: func(b *Bench, z *ZooKeeper, n int, name string) (*Proc, error) {
				return startProc(name, b.logDir, b.cfg.gokitZk, "--zk", z.Endpoint, "--services", strconv.Itoa(n),
					"--addr", b.helloAddr(), "--session-timeout", zkSessionTimeout.String())
			}})
	}
	return out
}

// zkStartAndWait starts im with n services and waits until the server holds n ephemeral nodes
// (and, for a peer, until it says its last create returned). Returns exec -> all registered.
func (b *Bench) zkStartAndWait(z *ZooKeeper, im ZkImpl, n int, name string, bound time.Duration) (*Proc, float64, error) {
	p, err := im.start(b, z, n, name)
	if err != nil {
		return nil, 0, err
	}
	t, err := z.waitEphemerals(eq(n), p, bound)
	if err != nil {
		return p, 0, fmt.Errorf("start-up: %v", err)
	}
	if im.Key != "registrar" {
		if _, err := p.WaitLine("registered ", bound); err != nil {
			return p, 0, err
		}
	}
	return p, ms(t.Sub(p.Started)), nil
}

// zkSigterm: SIGTERM -> the server holds no ephemeral node; the process must exit 0.
func zkSigterm(z *ZooKeeper, p *Proc, bound time.Duration) (float64, error) {
	t0 := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	t, err := z.waitEphemerals(eq(0), nil, bound)
	if err != nil {
		return 0, fmt.Errorf("deregistration: %v", err)
	}
	if code, ok := p.Wait(bound); !ok || code != 0 {
		return 0, fmt.Errorf("exit after SIGTERM: exited=%v code=%d", ok, code)
	}
	return ms(t.Sub(t0)), nil
}

// RegRow is one implementation at one N in figures 7 (ZooKeeper) and 8 (Eureka, Nacos).
type RegRow struct {
	Impl, Label    string
	N              int
	Startup, Dereg []float64 // ms, one per run
	// Footprint, from the first run's steady window.
	WindowS       float64
	RSS           []float64 // MiB, one sample a second
	CPUPerMin     float64   // the implementation's CPU seconds a minute
	ServerCPU     float64   // the server's (ZooKeeper or the double) CPU seconds a minute
	ReqPerMin     float64   // ZooKeeper: packets received; Eureka/Nacos: heartbeats
	OtherPerMin   float64   // Eureka/Nacos: requests other than heartbeats
	Conns         float64   // ZooKeeper: the server's client connections; Eureka/Nacos: connections used in the window
	NewConnPerMin float64   // Eureka/Nacos: connections opened a minute in the window
	Errs          []string
}

type ZkResults struct {
	Skipped string
	Rows    []*RegRow
}

func (b *Bench) zookeeper() *ZkResults {
	res := &ZkResults{}
	if _, err := zkClasspath(b.cfg.zkJarDir); err != nil {
		res.Skipped = err.Error()
		return res
	}
	for _, n := range b.cfg.zkSizes {
		for _, im := range b.zkImpls() {
			row := b.zkGroup(im, n)
			for _, e := range row.Errs {
				b.res.Errors = append(b.res.Errors, fmt.Sprintf("zookeeper %s N=%d: %s", im.Key, n, e))
			}
			res.Rows = append(res.Rows, row)
		}
	}
	return res
}

// zkGroup: --runs lifecycles of im with n services against one fresh server; the first one also
// measures the footprint.
func (b *Bench) zkGroup(im ZkImpl, n int) *RegRow {
	row := &RegRow{Impl: im.Key, Label: im.Label, N: n}
	z, err := startZooKeeper(b.cfg, b.logDir, fmt.Sprintf("zookeeper-%s-n%d", im.Key, n))
	if err != nil {
		row.Errs = append(row.Errs, err.Error())
		b.logf("zookeeper %s N=%d: %v", im.Key, n, err)
		return row
	}
	defer z.Stop()
	bound := 60*time.Second + time.Duration(n)*100*time.Millisecond
	for r := 0; r < b.cfg.runs; r++ {
		err := func() error {
			p, start, err := b.zkStartAndWait(z, im, n, fmt.Sprintf("zk-%s-n%d-r%d", im.Key, n, r), bound)
			if p != nil {
				defer p.Stop(30 * time.Second)
			}
			if err != nil {
				return err
			}
			if r == 0 {
				if err := b.zkFootprint(z, p, row); err != nil {
					return fmt.Errorf("footprint: %v", err)
				}
			}
			gone, err := zkSigterm(z, p, bound)
			if err != nil {
				return err
			}
			row.Startup = append(row.Startup, start)
			row.Dereg = append(row.Dereg, gone)
			b.logf("zookeeper %s N=%d run %d: start-up %.1f ms, SIGTERM -> all gone %.1f ms", im.Key, n, r, start, gone)
			return nil
		}()
		if err != nil {
			row.Errs = append(row.Errs, fmt.Sprintf("run %d: %v", r, err))
			b.logf("zookeeper %s N=%d run %d: %v", im.Key, n, r, err)
		}
	}
	return row
}

func (b *Bench) zkFootprint(z *ZooKeeper, p *Proc, row *RegRow) error {
	time.Sleep(b.cfg.warmup) // measurement design: let start-up transients settle
	m0, err := z.mntr()
	if err != nil {
		return err
	}
	cpu0, zcpu0, t0 := cpuSeconds(p.Pid(), false), cpuSeconds(z.Pid(), false), time.Now()
	tick := time.NewTicker(time.Second)
	for time.Since(t0) < b.cfg.steady {
		<-tick.C
		if p.Exited() {
			tick.Stop()
			return fmt.Errorf("%s exited during the steady window", p.Name)
		}
		rss, _ := rssMiB(p.Pid(), false)
		row.RSS = append(row.RSS, rss)
	}
	tick.Stop()
	m1, err := z.mntr()
	if err != nil {
		return err
	}
	cpu1, zcpu1, t1 := cpuSeconds(p.Pid(), false), cpuSeconds(z.Pid(), false), time.Now()
	perMin := 60 / t1.Sub(t0).Seconds()
	row.WindowS = t1.Sub(t0).Seconds()
	row.CPUPerMin = (cpu1 - cpu0) * perMin
	row.ServerCPU = (zcpu1 - zcpu0) * perMin
	// Less the one packet of the second mntr (the first one's is in m0).
	row.ReqPerMin = (m1["zk_packets_received"] - m0["zk_packets_received"] - 1) * perMin
	// The mntr exchange itself is one of the connections counted.
	row.Conns = m1["zk_num_alive_connections"] - 1
	if c := int(m1["zk_ephemerals_count"]); c != row.N {
		return fmt.Errorf("%d of %d ephemeral nodes left after the steady window", c, row.N)
	}
	return nil
}

// registryFlags declares the flags of figures 7 and 8; the function it returns checks them
// once flag.Parse has run.
func registryFlags(cfg *Config) func() error {
	flag.StringVar(&cfg.gokitZk, "gokit-zk", "", "gokit-zk-registrar peer binary (figure 7)")
	flag.StringVar(&cfg.hbClient, "heartbeat-client", "", "heartbeat-client peer binary (figure 8)")
	flag.StringVar(&cfg.eurekaDouble, "eureka-double", "", "eureka-double binary (figure 8)")
	flag.StringVar(&cfg.nacosDouble, "nacos-double", "", "nacos-double binary (figure 8)")
	flag.StringVar(&cfg.java, "java", "/usr/bin/java", "java, for ZooKeeper (figure 7)")
	flag.StringVar(&cfg.zkJarDir, "zookeeper-jars", "/usr/share/java", "directory of zookeeper.jar and its dependencies")
	zkSizes := flag.String("zk-sizes", "1,100,1000", "numbers of services N for figure 7 (ZooKeeper)")
	hbSizes := flag.String("hb-sizes", "1,100,1000", "numbers of services N for figure 8 (Eureka, Nacos)")
	return func() error {
		for _, l := range []struct {
			flag, text string
			out        *[]int
		}{{"--zk-sizes", *zkSizes, &cfg.zkSizes}, {"--hb-sizes", *hbSizes, &cfg.hbSizes}} {
			for _, s := range splitList(l.text) {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 {
					return fmt.Errorf("%s: bad size %q", l.flag, s)
				}
				*l.out = append(*l.out, n)
			}
		}
		return nil
	}
}
