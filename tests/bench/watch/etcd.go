package main

// etcd: a private single-member server (Debian's, 127.0.0.1, free ports, data on tmpfs, as
// tests/support/etcd_server and the harness start it). The flipping instance's key is put and
// deleted with etcd's Go client; the peer is `etcdctl watch --prefix` on the same range.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/pkg/logutil"
	"go.uber.org/zap"
)

const (
	serviceName = "hello"
	etcdPrefix  = "/services"
)

func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

type Etcd struct {
	proc     *Child
	Endpoint string
	dir      string
	cli      *clientv3.Client
}

func startEtcd(cfg *Config) (*Etcd, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(cfg.dataBase, "watch-bench-etcd-")
	if err != nil {
		return nil, err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	e := &Etcd{Endpoint: fmt.Sprintf("127.0.0.1:%d", ports[0]), dir: dir}
	e.proc, err = startChild("etcd", cfg.workDir, cfg.etcdBin,
		"--name=watch-bench", "--data-dir="+filepath.Join(dir, "data"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=watch-bench="+peer, "--initial-cluster-state=new",
		"--heartbeat-interval=50", "--election-timeout=300",
		"--logger=zap", "--log-outputs=stderr", "--log-level=warn")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	lc := logutil.DefaultZapLoggerConfig
	lc.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	e.cli, err = clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 5 * time.Second,
		LogConfig: &lc})
	if err != nil {
		e.Stop()
		return nil, err
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err = e.cli.Get(ctx, "health")
		cancel()
		if err == nil {
			return e, nil
		}
		if e.proc.Exited() || time.Now().After(deadline) {
			e.Stop()
			return nil, fmt.Errorf("etcd on %s not ready: %v", e.Endpoint, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval of a bounded readiness loop
	}
}

func (e *Etcd) Stop() {
	if e.cli != nil {
		e.cli.Close()
	}
	e.proc.Stop()
	os.RemoveAll(e.dir)
}

// put writes an instance as the daemon's `json` format does: <prefix>/<name>/<id>.
func (e *Etcd) put(id string, port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v := fmt.Sprintf(`{"name":%q,"id":%q,"address":"127.0.0.1","port":%d,"tags":[],"meta":{}}`, serviceName, id, port)
	_, err := e.cli.Put(ctx, etcdPrefix+"/"+serviceName+"/"+id, v)
	return err
}

func (e *Etcd) del(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.cli.Delete(ctx, etcdPrefix+"/"+serviceName+"/"+id)
	return err
}

func writeEtcdManifest(path, endpoint string) error {
	return os.WriteFile(path, []byte(fmt.Sprintf(`registry:
  kind: etcd
  etcd:
    endpoints: [%s]
    prefix: %s
    format: json
services:
  - {name: %s, address: 127.0.0.1, port: 50051}
`, endpoint, etcdPrefix, serviceName)), 0o644)
}

// etcdRow measures etcd: instance a stays, b flips.
func (b *Bench) etcdRow() Row {
	row := Row{Registry: "etcd", Peer: "`etcdctl watch --prefix`"}
	e, err := startEtcd(b.cfg)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer e.Stop()
	err = e.put("hello-a", 50051)
	if err == nil {
		err = e.put("hello-b", 50052)
	}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	manifest := filepath.Join(b.cfg.workDir, "etcd.yaml")
	if err := writeEtcdManifest(manifest, e.Endpoint); err != nil {
		row.Err = err.Error()
		return row
	}
	peer, err := startChild("etcdctl-watch", b.cfg.workDir, b.cfg.etcdctl, "--endpoints="+e.Endpoint,
		"watch", "--prefix", etcdPrefix+"/"+serviceName+"/")
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer peer.Stop()
	// etcdctl prints nothing until its watch sees a change: rewrite hello-a unchanged (a write
	// that leaves the set as it is, so `watch` prints nothing) until the peer shows it.
	ready := false
	for i := 0; i < 20 && !ready && err == nil; i++ {
		if err = e.put("hello-a", 50051); err == nil {
			_, perr := peer.Next(func(s string) bool { return strings.TrimSpace(s) == "PUT" }, time.Second)
			ready = perr == nil
		}
	}
	if !ready {
		row.Err = fmt.Sprintf("etcdctl watch did not show a write within 20 tries (%v)", err)
		return row
	}
	peer.Drain()
	sc := &Scenario{
		Registry: row.Registry, Peer: row.Peer, PeerProc: peer,
		Write: func(up bool) error {
			if up {
				return e.put("hello-b", 50052)
			}
			return e.del("hello-b")
		},
		// etcdctl prints PUT or DELETE, then the key (and the value).
		PeerMatch: func(up bool) func(string) bool {
			if up {
				return func(s string) bool { return strings.TrimSpace(s) == "PUT" }
			}
			return func(s string) bool { return strings.TrimSpace(s) == "DELETE" }
		},
	}
	return b.runScenario(sc, manifest)
}
