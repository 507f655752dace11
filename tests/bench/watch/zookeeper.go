package main

// ZooKeeper: Debian's server, started as tests/support/zookeeper_server.cpp and the harness's
// figure 7 do (127.0.0.1, a free port, a temporary data directory). The instances are go-kit
// style children of /services/hello (data "host:port"); a flip creates or deletes hello-b with
// the Go client go-kit's sd/zk uses. The peer is this program run as
// `watch-bench zk-peer SERVER PATH`: go-kit's sd/zk Instancer loop (read the children with a
// watch and each child's data, read them again when the watch fires).

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/samuel/go-zookeeper/zk"
)

// zkJars: Debian's jars for ZooKeeperServerMain without a logging back-end, as the tests use.
var zkJars = []string{"zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-nop.jar", "netty-handler.jar",
	"netty-common.jar", "netty-buffer.jar", "netty-transport.jar", "netty-codec.jar", "netty-resolver.jar",
	"netty-transport-native-epoll.jar", "netty-transport-native-unix-common.jar", "metrics-core.jar",
	"snappy-java.jar", "commons-cli.jar"}

const zkService = "/services/" + serviceName

type quiet struct{}

func (quiet) Printf(string, ...interface{}) {}

type ZooKeeper struct {
	proc     *Child
	Endpoint string
	dir      string
}

func zkInstalled(cfg *Config) bool {
	return exists(cfg.java) && exists(filepath.Join(cfg.zkJarDir, zkJars[0]))
}

func startZooKeeper(cfg *Config) (*ZooKeeper, error) {
	var cp []string
	for _, j := range zkJars {
		if p := filepath.Join(cfg.zkJarDir, j); exists(p) {
			cp = append(cp, p)
		}
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(cfg.dataBase, "watch-bench-zk-")
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n"+
		"admin.enableServer=false\n4lw.commands.whitelist=srvr\n", filepath.Join(dir, "data"), ports[0])
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(conf), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	z := &ZooKeeper{Endpoint: fmt.Sprintf("127.0.0.1:%d", ports[0]), dir: dir}
	z.proc, err = startChild("zookeeper", cfg.workDir, cfg.java, "-Xmx256m", "-XX:+UseSerialGC",
		"-Dzookeeper.admin.enableServer=false", "-cp", strings.Join(cp, ":"),
		"org.apache.zookeeper.server.ZooKeeperServerMain", filepath.Join(dir, "zoo.cfg"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if z.serving() {
			return z, nil
		}
		if z.proc.Exited() || time.Now().After(deadline) {
			z.Stop()
			return nil, fmt.Errorf("ZooKeeper on %s not serving within 60 s", z.Endpoint)
		}
		time.Sleep(100 * time.Millisecond) // poll interval of a bounded readiness loop
	}
}

// serving asks the four-letter word srvr (a plain TCP exchange).
func (z *ZooKeeper) serving() bool {
	c, err := net.DialTimeout("tcp", z.Endpoint, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return false
	}
	b, _ := io.ReadAll(c)
	return strings.Contains(string(b), "Mode: ")
}

func (z *ZooKeeper) Stop() {
	z.proc.Stop()
	os.RemoveAll(z.dir)
}

func zkConnect(server string) (*zk.Conn, error) {
	conn, events, err := zk.Connect([]string{server}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		return nil, err
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn, nil
			}
		case <-deadline:
			conn.Close()
			return nil, fmt.Errorf("no ZooKeeper session with %s within 15 s", server)
		}
	}
}

func writeZkManifest(path, server string) error {
	return os.WriteFile(path, []byte(fmt.Sprintf(`registry:
  kind: zookeeper
  zookeeper:
    servers: "%s"
    base_path: /services
    format: gokit
services:
  - {name: %s, address: 127.0.0.1, port: 50051}
`, server, serviceName)), 0o644)
}

// zookeeperRow measures ZooKeeper: hello-a stays, hello-b is created and deleted.
func (b *Bench) zookeeperRow() Row {
	row := Row{Registry: "ZooKeeper", Peer: "go-kit sd/zk-style loop: children, each child's data (Go)"}
	z, err := startZooKeeper(b.cfg)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer z.Stop()
	conn, err := zkConnect(z.Endpoint)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer conn.Close()
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/services", zkService} {
		if _, err := conn.Create(p, nil, 0, acl); err != nil && err != zk.ErrNodeExists {
			row.Err = err.Error()
			return row
		}
	}
	create := func(id string, port int) error {
		_, err := conn.Create(zkService+"/"+id, []byte(fmt.Sprintf("127.0.0.1:%d", port)), 0, acl)
		return err
	}
	err = create("hello-a", 50051)
	if err == nil {
		err = create("hello-b", 50052)
	}
	manifest := filepath.Join(b.cfg.workDir, "zookeeper.yaml")
	if err == nil {
		err = writeZkManifest(manifest, z.Endpoint)
	}
	self, serr := os.Executable()
	if err == nil {
		err = serr
	}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	peer, err := startChild("zk-peer", b.cfg.workDir, self, "zk-peer", z.Endpoint, zkService)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer peer.Stop()
	if _, err := peer.Next(startsWith("set 2 "), 20*time.Second); err != nil {
		row.Err = err.Error()
		return row
	}
	sc := &Scenario{
		Registry: row.Registry, Peer: row.Peer, PeerProc: peer,
		Write: func(up bool) error {
			if up {
				return create("hello-b", 50052)
			}
			return conn.Delete(zkService+"/hello-b", -1)
		},
		PeerMatch: func(up bool) func(string) bool {
			if up {
				return startsWith("set 2 ")
			}
			return startsWith("set 1 ")
		},
	}
	return b.runScenario(sc, manifest)
}

// zkPeer is the peer's process, go-kit's sd/zk Instancer loop: ChildrenW, Get each child's
// data, print "set N data..." when it differs from the last set printed, wait for the watch. Bounded: 100,000 reads or SIGTERM.
func zkPeer(server, path string) int {
	conn, err := zkConnect(server)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zk-peer:", err)
		return 1
	}
	defer conn.Close()
	last := ""
	for i := 0; i < 100000; i++ {
		children, _, ch, err := conn.ChildrenW(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "zk-peer:", err)
			time.Sleep(100 * time.Millisecond) // retry pace after an error
			continue
		}
		// go-kit's GetEntries: each child's data, one Get after the other.
		sort.Strings(children)
		var entries []string
		for _, c := range children {
			if data, _, err := conn.Get(path + "/" + c); err == nil {
				entries = append(entries, string(data))
			}
		}
		set := fmt.Sprintf("set %d %s", len(entries), strings.Join(entries, ","))
		if set != last {
			fmt.Println(set)
			last = set
		}
		select {
		case <-ch:
		case <-time.After(time.Minute): // read again now and then, as a resync
		}
	}
	return 0
}
