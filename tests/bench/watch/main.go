// watch-bench measures `grpc-registrar watch` (issue 16): the time from a registry write that
// changes a service's healthy set to the line `watch` prints with the new set, over a number of
// health flips, for etcd and ZooKeeper (Debian's servers) and Consul (the agent double), beside
// a peer that reads the same registry the usual way in the same run (`etcdctl watch --prefix`; a
// blocking-query loop; a go-kit-style children watch). scripts/bench --watch runs it;
// docs/benchmarks.md (figure 9) explains it. Every wait is bounded; the only sleeps are the
// pauses between flips and retry paces.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type Config struct {
	registrar, consulDouble, etcdBin, etcdctl string
	java, zkJarDir                            string
	flips, warm                               int
	only                                      map[string]bool
	workDir, dataBase                         string
	doc, mdOut, jsonOut, command              string
	smoke                                     bool
}

type Bench struct{ cfg *Config }

func logf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "%s watch-bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "consul-peer" {
		os.Exit(consulPeer(os.Args[2], os.Args[3]))
	}
	if len(os.Args) == 4 && os.Args[1] == "zk-peer" {
		os.Exit(zkPeer(os.Args[2], os.Args[3]))
	}
	os.Exit(run())
}

func run() int {
	cfg := &Config{only: map[string]bool{}}
	var only string
	flag.StringVar(&cfg.registrar, "registrar", "", "grpc-registrar binary (required)")
	flag.StringVar(&cfg.consulDouble, "consul-double", "", "consul-double binary (the Consul row)")
	flag.StringVar(&cfg.etcdBin, "etcd", "/usr/bin/etcd", "etcd binary")
	flag.StringVar(&cfg.etcdctl, "etcdctl", "/usr/bin/etcdctl", "etcdctl binary (the etcd row's peer)")
	flag.StringVar(&cfg.java, "java", "/usr/bin/java", "java, for ZooKeeper")
	flag.StringVar(&cfg.zkJarDir, "zookeeper-jars", "/usr/share/java", "directory of zookeeper.jar and its dependencies")
	flag.IntVar(&cfg.flips, "flips", 20, "measured health flips per registry")
	flag.IntVar(&cfg.warm, "warm", 2, "unmeasured flips before them")
	flag.StringVar(&only, "only", "etcd,consul,zookeeper", "registries to measure")
	flag.StringVar(&cfg.workDir, "work-dir", "", "logs and manifests (default: a new temporary directory)")
	flag.StringVar(&cfg.dataBase, "etcd-data", "/dev/shm", "parent of etcd's data directory (tmpfs keeps fsync out)")
	flag.StringVar(&cfg.doc, "doc", "", "splice the report into this Markdown file between its watch-bench markers")
	flag.StringVar(&cfg.mdOut, "md", "", "also write the report to this file")
	flag.StringVar(&cfg.jsonOut, "json", "", "write the raw results as JSON to this file")
	flag.StringVar(&cfg.command, "command", "watch-bench", "the command line quoted in the report")
	flag.BoolVar(&cfg.smoke, "smoke", false, "functional check (no timing): 3 flips each, every set printed")
	flag.Parse()
	if flag.NArg() != 0 || cfg.registrar == "" || cfg.flips < 1 || cfg.warm < 0 {
		fmt.Fprintln(os.Stderr, "usage: watch-bench --registrar BIN [--consul-double BIN] [--flips N] [flags]")
		return 2
	}
	for _, o := range strings.Split(only, ",") {
		cfg.only[strings.TrimSpace(o)] = true
	}
	if cfg.smoke {
		cfg.flips, cfg.warm = 3, 1
	}
	if st, err := os.Stat(cfg.dataBase); err != nil || !st.IsDir() {
		cfg.dataBase = os.TempDir()
	}
	if cfg.workDir == "" {
		d, err := os.MkdirTemp("", "watch-bench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cfg.workDir = d
	} else if err := os.MkdirAll(cfg.workDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logf("logs in %s", cfg.workDir)
	return (&Bench{cfg}).measure()
}

// missing: a registry whose server or double is not there is skipped, except under CI=true,
// where it fails (as tests/support/require.hpp's need() does).
func missing(what string) Row {
	r := Row{Err: what + " not found"}
	if os.Getenv("CI") != "true" {
		r.Err = ""
		r.Skipped = what + " not found: skipped"
	}
	return r
}

func (b *Bench) measure() int {
	cfg := b.cfg
	res := Results{Command: cfg.command, Started: time.Now(), LoadStart: loadavg(), NProc: runtime.NumCPU(),
		Flips: cfg.flips, Warm: cfg.warm}
	if cfg.only["etcd"] {
		row := missing("etcd (" + cfg.etcdBin + ")")
		if exists(cfg.etcdBin) && exists(cfg.etcdctl) {
			row = b.etcdRow()
		}
		row.Registry = "etcd"
		res.Rows = append(res.Rows, row)
	}
	if cfg.only["consul"] {
		row := missing("the Consul double (--consul-double)")
		if exists(cfg.consulDouble) {
			row = b.consulRow()
		}
		row.Registry = "Consul (agent double)"
		res.Rows = append(res.Rows, row)
	}
	if cfg.only["zookeeper"] {
		row := missing("ZooKeeper (" + cfg.zkJarDir + "/zookeeper.jar, " + cfg.java + ")")
		if zkInstalled(cfg) {
			row = b.zookeeperRow()
		}
		row.Registry = "ZooKeeper"
		res.Rows = append(res.Rows, row)
	}
	res.LoadEnd = loadavg()
	code := 0
	for _, r := range res.Rows {
		switch {
		case r.Err != "":
			logf("%s: FAILED: %s", r.Registry, r.Err)
			code = 1
		case r.Skipped != "":
			logf("%s: %s", r.Registry, r.Skipped)
		default:
			logf("%s: %d flips, every set printed by watch and by the peer", r.Registry, len(r.WatchMs))
		}
	}
	if cfg.smoke {
		return code
	}
	md := res.Markdown()
	fmt.Println(md)
	if cfg.mdOut != "" {
		code = orFail(code, os.WriteFile(cfg.mdOut, []byte(md), 0o644))
	}
	if cfg.doc != "" {
		code = orFail(code, splice(cfg.doc, md))
	}
	if cfg.jsonOut != "" {
		j, _ := json.MarshalIndent(res, "", "  ")
		code = orFail(code, os.WriteFile(cfg.jsonOut, j, 0o644))
	}
	return code
}

func orFail(code int, err error) int {
	if err != nil {
		logf("%v", err)
		return 1
	}
	return code
}

func exists(path string) bool {
	st, err := os.Stat(path)
	return path != "" && err == nil && !st.IsDir()
}

// runScenario starts `watch NAME -c manifest -o json`, waits for the initial set (both
// instances), and runs the flips.
func (b *Bench) runScenario(sc *Scenario, manifest string) Row {
	name := "watch-" + strings.TrimSuffix(filepath.Base(manifest), ".yaml")
	w, err := startChild(name, b.cfg.workDir, b.cfg.registrar, "watch", serviceName, "-c", manifest, "-o", "json")
	if err != nil {
		return Row{Registry: sc.Registry, Peer: sc.Peer, Err: err.Error()}
	}
	defer w.Stop()
	if _, err := w.Next(watchSet(2), 15*time.Second); err != nil {
		return Row{Registry: sc.Registry, Peer: sc.Peer, Err: "initial set: " + err.Error()}
	}
	sc.Watch = w
	logf("%s: %d flips (+%d unmeasured)", sc.Registry, b.cfg.flips, b.cfg.warm)
	return sc.run(b.cfg.warm, b.cfg.flips)
}
