// registrar-bench measures grpc-registrar side by side with its peers (a go-kit-style
// registrar and an etcdctl sidecar script), all on 127.0.0.1 against private etcd processes,
// and writes a Markdown report. scripts/bench runs it; docs/benchmarks.md explains it.
//
// Every wait is bounded; the only sleeps are measurement design (random delays before health
// flips, the warm-up before a footprint window, the sampling ticker).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type Config struct {
	registrar, hello, gokit, sidecar, etcdBin, etcdctl, consulDouble string
	gokitZk, hbClient, eurekaDouble, nacosDouble, java, zkJarDir     string

	sizes         []int
	consulSizes   []int
	distinctSizes []int
	zkSizes       []int
	hbSizes       []int
	runs          int
	steady        time.Duration
	warmup        time.Duration
	slice         time.Duration
	detectRounds  int
	pollRounds    int
	sidecarMax    int
	peerMax       int
	peers         []string
	only          map[string]bool
	workDir       string
	dataBase      string
	doc           string
	jsonOut       string
	mdOut         string
	command       string
	buildType     string
	smoke         bool
}

type Bench struct {
	cfg       *Config
	logDir    string
	hello     *Proc
	helloHost string
	helloPort int
	res       *Results
}

func (b *Bench) helloAddr() string { return fmt.Sprintf("%s:%d", b.helloHost, b.helloPort) }

func (b *Bench) logf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

type Machine struct {
	NProc                        int
	CPUModel, Memory, Kernel, OS string
	LoadStart, LoadEnd           string
	Compiler, BuildType          string
	Registrar, GRPC, Etcd, Go    string
}

type Results struct {
	Command   string
	Started   time.Time
	Elapsed   string
	Machine   Machine
	Settings  string
	SliceText string
	Detection []Detection
	// Figure 1b: one name flipped among the daemon's N at the largest N of --sizes.
	FlipAmong *Detection
	Groups    []*Group
	Consul    *ConsulResults
	Distinct  []DistinctRow
	ZooKeeper *ZkResults
	Heartbeat []*HBResults
	Errors    []string
	// Every target with its verdict, as the Targets table prints it.
	Targets []Target
}

func main() {
	os.Exit(run())
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run() int {
	cfg := &Config{}
	var sizes, consulSizes, distinctSizes, peers, only string
	var large bool
	flag.StringVar(&cfg.registrar, "registrar", "", "grpc-registrar binary (required)")
	flag.StringVar(&cfg.hello, "hello", "", "hello-service binary (required)")
	flag.StringVar(&cfg.gokit, "gokit", "", "gokit-registrar peer binary")
	flag.StringVar(&cfg.sidecar, "sidecar", "", "etcdctl-sidecar.sh peer script")
	flag.StringVar(&cfg.etcdBin, "etcd", "/usr/bin/etcd", "etcd binary")
	flag.StringVar(&cfg.etcdctl, "etcdctl", "/usr/bin/etcdctl", "etcdctl binary (for the sidecar peer)")
	flag.StringVar(&cfg.consulDouble, "consul-double", "", "consul-double binary (figure 5)")
	parseRegistryFlags := registryFlags(cfg)
	flag.StringVar(&sizes, "sizes", "1,100,1000", "numbers of services N")
	flag.BoolVar(&large, "large", false, "add N = 10000 to --sizes: the etcd 10,000-service row, the daemon alone (peers run up to --peer-max)")
	flag.StringVar(&consulSizes, "consul-sizes", "100,1000,10000", "numbers of services N for figure 5 (Consul)")
	flag.StringVar(&distinctSizes, "distinct-sizes", "100,1000", "numbers of services N for figure 6 (each on a port of its own)")
	flag.IntVar(&cfg.runs, "runs", 3, "start-up/deregistration runs per implementation and N")
	flag.DurationVar(&cfg.steady, "steady", 60*time.Second, "footprint: length of the steady-state window")
	flag.DurationVar(&cfg.warmup, "warmup", 5*time.Second, "footprint: wait after start-up before the window")
	flag.DurationVar(&cfg.slice, "slice", 10*time.Second, "footprint: CPU and request rates are taken per slice (--steady when that is shorter and --slice is not given)")
	flag.IntVar(&cfg.detectRounds, "detect-rounds", 20, "detection: flips each way in watch mode")
	flag.IntVar(&cfg.pollRounds, "poll-rounds", 10, "detection: flips each way in poll mode")
	flag.IntVar(&cfg.peerMax, "peer-max", 1000, "largest N for the go-kit-style peers (a client, a lease and a KeepAlive stream per service)")
	flag.IntVar(&cfg.sidecarMax, "sidecar-max", 100, "largest N for the etcdctl sidecar (two processes per service start-up, one per service resident)")
	flag.StringVar(&peers, "peers", "gokit,sidecar", "peers to run: gokit, gokit-shared, sidecar")
	flag.StringVar(&only, "only", "detection,lifecycle,footprint,consul,distinct,zookeeper,eureka,nacos", "figures to measure")
	flag.StringVar(&cfg.workDir, "work-dir", "", "logs and manifests go here (default: a new temporary directory)")
	flag.StringVar(&cfg.dataBase, "etcd-data", "/dev/shm", "parent directory of etcd's data directories (tmpfs keeps fsync out of the figures)")
	flag.StringVar(&cfg.doc, "doc", "", "splice the report into this Markdown file between its markers")
	flag.StringVar(&cfg.mdOut, "md", "", "also write the report to this file")
	flag.StringVar(&cfg.jsonOut, "json", "", "write the raw results as JSON to this file")
	flag.StringVar(&cfg.command, "command", "registrar-bench", "the command line quoted in the report")
	flag.StringVar(&cfg.buildType, "build-type", "", "build type of the binaries, for the report")
	flag.BoolVar(&cfg.smoke, "smoke", false, "quick functional check (no timing): every implementation registers and deregisters")
	flag.Parse()
	if flag.NArg() != 0 || cfg.registrar == "" || cfg.hello == "" {
		fmt.Fprintln(os.Stderr, "usage: registrar-bench --registrar BIN --hello BIN [--gokit BIN] [--sidecar SCRIPT] [flags]")
		return 2
	}
	for _, s := range splitList(sizes) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "--sizes: bad size %q\n", s)
			return 2
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	if large && cfg.sizes[len(cfg.sizes)-1] != 10000 {
		cfg.sizes = append(cfg.sizes, 10000)
	}
	for _, s := range splitList(consulSizes) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "--consul-sizes: bad size %q\n", s)
			return 2
		}
		cfg.consulSizes = append(cfg.consulSizes, n)
	}
	if err := parseRegistryFlags(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for _, s := range splitList(distinctSizes) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10001 {
			fmt.Fprintf(os.Stderr, "--distinct-sizes: bad size %q\n", s)
			return 2
		}
		cfg.distinctSizes = append(cfg.distinctSizes, n)
	}
	cfg.peers = splitList(peers)
	cfg.only = map[string]bool{}
	for _, o := range splitList(only) {
		cfg.only[o] = true
	}
	sliceSet := false
	flag.Visit(func(f *flag.Flag) { sliceSet = sliceSet || f.Name == "slice" })
	if !sliceSet && cfg.steady < cfg.slice {
		cfg.slice = cfg.steady // a short look (--steady 5s): one slice, the whole window
	}
	if cfg.runs < 1 || cfg.steady < cfg.slice || cfg.slice < time.Second {
		fmt.Fprintln(os.Stderr, "--runs must be >= 1, --slice >= 1s, --steady >= --slice")
		return 2
	}
	if st, err := os.Stat(cfg.dataBase); err != nil || !st.IsDir() {
		cfg.dataBase = os.TempDir()
	}
	if cfg.workDir == "" {
		d, err := os.MkdirTemp("", "registrar-bench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cfg.workDir = d
	} else if err := os.MkdirAll(cfg.workDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b := &Bench{cfg: cfg, logDir: cfg.workDir}
	b.logf("logs in %s", cfg.workDir)
	if cfg.smoke {
		return b.smoke()
	}
	return b.full()
}

func (b *Bench) full() int {
	cfg := b.cfg
	r := &Results{Command: cfg.command, Started: time.Now()}
	b.res = r
	r.Machine = machine(cfg)
	r.SliceText = cfg.slice.String()
	r.Settings = fmt.Sprintf("N = %s; %d start-up/deregistration runs each; footprint window %v after a %v warm-up, "+
		"in %v slices; detection %d flips each way (watch), %d (poll, interval 1s); etcd lease TTL 10s for all; "+
		"etcd data on %s; go-kit-style peers up to N = %d, etcdctl sidecar up to N = %d (the daemon alone above)",
		joinInts(cfg.sizes), cfg.runs, cfg.steady, cfg.warmup, cfg.slice, cfg.detectRounds, cfg.pollRounds,
		cfg.dataBase, cfg.peerMax, cfg.sidecarMax)

	if cfg.only["detection"] {
		r.Detection = append(r.Detection, b.detection("watch", cfg.detectRounds))
		r.Detection = append(r.Detection, b.detection("poll", cfg.pollRounds))
		for _, d := range r.Detection {
			if d.Err != "" {
				r.Errors = append(r.Errors, "detection "+d.Mode+": "+d.Err)
			}
		}
	}
	newRows := cfg.only["zookeeper"] || cfg.only["eureka"] || cfg.only["nacos"]
	if cfg.only["lifecycle"] || cfg.only["footprint"] || cfg.only["consul"] || newRows {
		max := cfg.helloServices(newRows)
		// One hello-service hosts svc-0 .. svc-(max-1) for every run.
		hello, err := startProc("hello-many", b.logDir, cfg.hello, "--services", strconv.Itoa(max))
		if err != nil {
			b.logf("hello-service: %v", err)
			return 1
		}
		b.hello = hello
		defer hello.Stop(5 * time.Second)
		if b.helloHost, b.helloPort, err = listeningOn(hello); err != nil {
			b.logf("hello-service: %v", err)
			return 1
		}
		runs := cfg.runs
		if !cfg.only["lifecycle"] {
			runs = 1
		}
		for _, n := range cfg.sizes {
			if !cfg.only["lifecycle"] && !cfg.only["footprint"] {
				break // the hello-service was started for figures 5, 7 and 8 only
			}
			for _, im := range b.impls() {
				if im.MaxN > 0 && n > im.MaxN {
					continue
				}
				flips := 0
				if im.Key == "registrar" && n == cfg.largest() && cfg.only["detection"] {
					flips = cfg.detectRounds // figure 1b, in the daemon's first run at the largest N
				}
				g := b.group(im, n, runs, cfg.only["footprint"], flips, &r.FlipAmong)
				for _, e := range g.Errs {
					r.Errors = append(r.Errors, fmt.Sprintf("%s N=%d: %s", im.Label, n, e))
				}
				r.Groups = append(r.Groups, g)
			}
		}
	}
	if cfg.only["consul"] {
		r.Consul = b.consul()
	}
	if cfg.only["distinct"] {
		r.Distinct = b.distinct()
	}
	if cfg.only["zookeeper"] {
		r.ZooKeeper = b.zookeeper()
	}
	r.Heartbeat = b.heartbeats()
	if r.FlipAmong != nil && r.FlipAmong.Err != "" {
		r.Errors = append(r.Errors, fmt.Sprintf("detection among N=%d: %s", r.FlipAmong.N, r.FlipAmong.Err))
	}
	r.Machine.LoadEnd = loadavg()
	r.Elapsed = time.Since(r.Started).Round(time.Second).String()

	r.Targets = r.targets()
	md := r.Markdown()
	fmt.Println(md)
	code := 0
	if cfg.mdOut != "" {
		if err := os.WriteFile(cfg.mdOut, []byte(md), 0o644); err != nil {
			b.logf("%v", err)
			code = 1
		}
	}
	if cfg.doc != "" {
		if err := splice(cfg.doc, md); err != nil {
			b.logf("%v", err)
			code = 1
		} else {
			b.logf("results written into %s", cfg.doc)
		}
	}
	if cfg.jsonOut != "" {
		j, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(cfg.jsonOut, j, 0o644); err != nil {
			b.logf("%v", err)
			code = 1
		}
	}
	if len(r.Errors) > 0 {
		code = 1
	}
	return code
}

// largest: the largest N of --sizes.
func (cfg *Config) largest() int {
	max := 0
	for _, n := range cfg.sizes {
		if n > max {
			max = n
		}
	}
	return max
}

// helloServices: how many names the shared hello-service hosts, the largest N of the figures run.
func (cfg *Config) helloServices(newRows bool) int {
	all := append([]int{}, cfg.sizes...)
	if cfg.only["consul"] {
		all = append(all, cfg.consulSizes...)
	}
	if newRows {
		all = append(append(all, cfg.zkSizes...), cfg.hbSizes...)
	}
	max := 0
	for _, n := range all {
		if n > max {
			max = n
		}
	}
	return max
}

func joinInts(xs []int) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ", ")
}

func firstLine(path string, args ...string) string {
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "unknown"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func machine(cfg *Config) Machine {
	m := Machine{NProc: runtime.NumCPU(), CPUModel: "unknown", Memory: "unknown", OS: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.IndexByte(l, ':'); i >= 0 {
					m.CPUModel = strings.TrimSpace(l[i+1:])
				}
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		if len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			m.Memory = fmt.Sprintf("%.1f GiB", kb/1024/1024)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "PRETTY_NAME=") {
				m.OS = strings.Trim(strings.TrimPrefix(l, "PRETTY_NAME="), `"`)
			}
		}
	}
	if b, err := os.ReadFile("/etc/debian_version"); err == nil {
		m.OS += " (" + strings.TrimSpace(string(b)) + ")"
	}
	m.LoadStart = loadavg()
	m.Compiler = firstLine("g++", "--version")
	m.BuildType = cfg.buildType
	m.Registrar = strings.TrimPrefix(firstLine(cfg.registrar, "--version"), "grpc-registrar ")
	m.GRPC = firstLine("dpkg-query", "-W", "-f=${Version}", "libgrpc++-dev")
	m.Etcd = strings.TrimPrefix(firstLine(cfg.etcdBin, "--version"), "etcd Version: ")
	m.Go = runtime.Version()
	return m
}

// smoke: a functional check with tiny N, no timing asserted: each implementation registers its
// services and removes them on SIGTERM; one flipped name leaves the daemon's set.
func (b *Bench) smoke() int {
	cfg := b.cfg
	fail := func(format string, a ...interface{}) int {
		fmt.Fprintf(os.Stderr, "smoke: FAILED: "+format+"\n", a...)
		return 1
	}
	zk := b.startZkAsync()
	defer zk.stop()
	e, err := startEtcd(cfg.etcdBin, cfg.dataBase, b.logDir, "etcd-smoke")
	if err != nil {
		return fail("etcd: %v", err)
	}
	defer e.Stop()
	hello, err := startProc("hello-smoke", b.logDir, cfg.hello, "--services", "3")
	if err != nil {
		return fail("hello-service: %v", err)
	}
	defer hello.Stop(5 * time.Second)
	if b.helloHost, b.helloPort, err = listeningOn(hello); err != nil {
		return fail("hello-service: %v", err)
	}
	for _, im := range b.impls() {
		n := 3
		if im.Key != "registrar" {
			n = 2
		}
		p, err := im.start(b, e, n, "smoke-"+im.Key)
		if err != nil {
			return fail("%s: %v", im.Key, err)
		}
		defer p.Kill()
		if _, err := e.Tracker.WaitFor(p.Started, eq(n), 30*time.Second); err != nil {
			return fail("%s: registration of %d services: %v", im.Key, n, err)
		}
		if im.Key != "registrar" {
			if _, err := p.WaitLine("registered ", 30*time.Second); err != nil {
				return fail("%s: %v", im.Key, err)
			}
		}
		if im.Key == "registrar" {
			// Figure 1b's path: each name in turn NOT_SERVING through the harness's HealthControl
			// client, its key goes and the others stay; SERVING again, its key comes back (the
			// other registries' parts register all three).
			if err := b.smokeFlips(e, n); err != nil {
				return fail("registrar: %v", err)
			}
		}
		t0 := time.Now()
		if err := p.Signal(15); err != nil {
			return fail("%s: SIGTERM: %v", im.Key, err)
		}
		if _, err := e.Tracker.WaitFor(t0, eq(0), 30*time.Second); err != nil {
			return fail("%s: deregistration: %v", im.Key, err)
		}
		code, ok := p.Wait(30 * time.Second)
		if !ok || code != 0 {
			return fail("%s: exit after SIGTERM: exited=%v code=%d", im.Key, ok, code)
		}
		b.logf("smoke: %s registered %d services and removed them on SIGTERM", im.Key, n)
	}
	if err := b.smokeRegistries(zk); err != nil {
		return fail("%v", err)
	}
	b.logf("smoke: ok")
	return 0
}
