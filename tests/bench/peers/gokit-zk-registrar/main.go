// gokit-zk-registrar is a benchmark peer: it registers N services in ZooKeeper the way go-kit's
// sd/zk Registrar does, so that the daemon's ZooKeeper backend can be measured side by side with
// it. It is not part of the product.
//
// Debian ships go-kit without sd/zk (see tests/interop/README.md), so this program does, on the
// ZooKeeper client go-kit's sd/zk uses (github.com/samuel/go-zookeeper/zk, Debian's
// golang-github-samuel-go-zookeeper-dev), what go-kit v0.10.0's zk.Client Register / Deregister
// do for each Registrar, one after the other:
//
//   - one client, so one ZooKeeper session, per registrar (sd/zk NewClient: zk.Connect with the
//     session timeout, then wait for the session);
//   - Register: CreateParentNodes(<prefix>/<name>) (persistent, an existing node is fine), then
//     CreateProtectedEphemeralSequential(<prefix>/<name>/, data, WorldACL(PermAll));
//   - on SIGTERM/SIGINT, one service after the other: Delete(node) (Deregister), then Close
//     (client.Stop), which ends the session.
//
// Data: <addr> (go-kit's instance string, and the daemon's `gokit` format), for names
// <name-prefix><i>, i in [0, --services).
//
// stdout: "registered N" once every create has returned, "deregistered N" after the teardown.
// Exit codes: 0 ok, 1 a ZooKeeper call failed, 2 usage.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/samuel/go-zookeeper/zk"
)

type quiet struct{}

func (quiet) Printf(string, ...interface{}) {}

type registrar struct {
	conn *zk.Conn
	node string
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		servers    = flag.String("zk", "127.0.0.1:2181", "ZooKeeper servers, comma separated")
		prefix     = flag.String("prefix", "/services", "base path")
		namePrefix = flag.String("name-prefix", "svc-", "service names are <name-prefix><i>")
		services   = flag.Int("services", 1, "number of services to register")
		addr       = flag.String("addr", "127.0.0.1:50051", "instance address, the data of every node")
		timeout    = flag.Duration("session-timeout", 10*time.Second, "session timeout (go-kit: ConnectTimeout / SessionTimeout)")
	)
	flag.Parse()
	if flag.NArg() != 0 || *services < 0 {
		fmt.Fprintln(os.Stderr, "usage: gokit-zk-registrar [--zk S] [--services N] [--addr A] ...")
		return 2
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	regs := make([]*registrar, 0, *services)
	for i := 0; i < *services; i++ {
		r, err := register(strings.Split(*servers, ","), *timeout, fmt.Sprintf("%s/%s%d", *prefix, *namePrefix, i), *addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "register %s%d: %v\n", *namePrefix, i, err)
			return 1
		}
		regs = append(regs, r)
	}
	fmt.Printf("registered %d\n", len(regs))

	<-sigs
	failed := 0
	for _, r := range regs {
		if err := r.conn.Delete(r.node, -1); err != nil {
			fmt.Fprintf(os.Stderr, "deregister %s: %v\n", r.node, err)
			failed++
		}
		r.conn.Close()
	}
	fmt.Printf("deregistered %d\n", len(regs)-failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// register: go-kit sd/zk NewClient (a session of its own), then client.Register.
func register(servers []string, timeout time.Duration, path, data string) (*registrar, error) {
	conn, events, err := zk.Connect(servers, timeout, zk.WithLogger(quiet{}))
	if err != nil {
		return nil, err
	}
	// NewClient waits for the session before it returns (bounded by the session timeout).
	deadline := time.After(timeout)
	for connected := false; !connected; {
		select {
		case ev := <-events:
			connected = ev.State == zk.StateHasSession
		case <-deadline:
			conn.Close()
			return nil, fmt.Errorf("no session within %v", timeout)
		}
	}
	go func() { // drain the session events, as go-kit's client does
		for range events {
		}
	}()
	// CreateParentNodes: every component of path, persistent, an existing one is fine.
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := range parts {
		p := "/" + strings.Join(parts[:i+1], "/")
		if _, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
			conn.Close()
			return nil, fmt.Errorf("create %s: %v", p, err)
		}
	}
	node, err := conn.CreateProtectedEphemeralSequential(path+"/", []byte(data), zk.WorldACL(zk.PermAll))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &registrar{conn: conn, node: node}, nil
}
