// gokit-registrar is a benchmark peer: it registers N services in etcd the way
// go-kit's sd/etcdv3 Registrar does, so that the daemon can be measured side by
// side with it. It is not part of the product.
//
// Debian ships go-kit without sd/etcdv3 (see tests/interop/README.md), so this
// program does, on the same etcd client package (go.etcd.io/etcd/clientv3),
// what go-kit v0.10.0's etcdv3.Client.Register / Deregister do for each
// Registrar:
//
//   - one etcd client per registrar (etcdv3.NewClient: DialTimeout 3s,
//     DialKeepAliveTime 3s); with --shared-client, one client for all, still
//     one Lease object (and so one KeepAlive stream) per service;
//   - Register: Grant(ttl), Put(key, value, WithLease), KeepAlive(lease) with
//     a goroutine draining the keepalive channel;
//   - on SIGTERM/SIGINT, one service after the other: Delete(key,
//     WithIgnoreLease) (go-kit's Deregister), Revoke(lease), close.
//
// Key: <prefix>/<name-prefix><i>/<addr>, value: <addr> (go-kit's convention,
// and the daemon's `gokit` format), for i in [0, --services).
//
// stdout: "registered N" once every Put has returned, "deregistered N" after
// the teardown. Exit codes: 0 ok, 1 an etcd call failed, 2 usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/pkg/logutil"
	"go.uber.org/zap"
)

type registrar struct {
	cli     *clientv3.Client
	ownsCli bool
	lease   clientv3.Lease
	leaseID clientv3.LeaseID
	key     string
	ctx     context.Context
	cancel  context.CancelFunc
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		endpoints  = flag.String("etcd", "127.0.0.1:2379", "etcd endpoints, comma separated")
		prefix     = flag.String("prefix", "/services", "key prefix")
		namePrefix = flag.String("name-prefix", "svc-", "service names are <name-prefix><i>")
		services   = flag.Int("services", 1, "number of services to register")
		addr       = flag.String("addr", "127.0.0.1:50051", "instance address, the value of every key")
		ttl        = flag.Duration("ttl", 10*time.Second, "lease TTL (go-kit: TTLOption.ttl)")
		shared     = flag.Bool("shared-client", false, "one etcd client for all services (go-kit: one per Registrar)")
		callTO     = flag.Duration("call-timeout", 5*time.Second, "deadline of each etcd call")
	)
	flag.Parse()
	if flag.NArg() != 0 || *services < 0 {
		fmt.Fprintln(os.Stderr, "usage: gokit-registrar [--etcd E] [--services N] [--addr A] ...")
		return 2
	}
	machines := strings.Split(*endpoints, ",")

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	lc := logutil.DefaultZapLoggerConfig
	lc.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	newClient := func() (*clientv3.Client, error) {
		return clientv3.New(clientv3.Config{
			Endpoints:         machines,
			DialTimeout:       3 * time.Second,
			DialKeepAliveTime: 3 * time.Second,
			LogConfig:         &lc,
		})
	}

	var sharedCli *clientv3.Client
	if *shared {
		c, err := newClient()
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcd client: %v\n", err)
			return 1
		}
		sharedCli = c
	}

	regs := make([]*registrar, 0, *services)
	for i := 0; i < *services; i++ {
		r := &registrar{key: fmt.Sprintf("%s/%s%d/%s", *prefix, *namePrefix, i, *addr)}
		if sharedCli != nil {
			r.cli = sharedCli
		} else {
			c, err := newClient()
			if err != nil {
				fmt.Fprintf(os.Stderr, "etcd client %d: %v\n", i, err)
				return 1
			}
			r.cli, r.ownsCli = c, true
		}
		if err := r.register(*addr, *ttl, *callTO); err != nil {
			fmt.Fprintf(os.Stderr, "register %s: %v\n", r.key, err)
			return 1
		}
		regs = append(regs, r)
	}
	fmt.Printf("registered %d\n", len(regs))

	<-sigs
	failed := 0
	for _, r := range regs {
		if err := r.deregister(*callTO); err != nil {
			fmt.Fprintf(os.Stderr, "deregister %s: %v\n", r.key, err)
			failed++
		}
	}
	if sharedCli != nil {
		sharedCli.Close()
	}
	fmt.Printf("deregistered %d\n", len(regs)-failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// register: go-kit etcdv3 client.Register.
func (r *registrar) register(value string, ttl, callTO time.Duration) error {
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.lease = clientv3.NewLease(r.cli)
	ctx, cancel := context.WithTimeout(r.ctx, callTO)
	defer cancel()
	grant, err := r.lease.Grant(ctx, int64(ttl.Seconds()))
	if err != nil {
		return err
	}
	r.leaseID = grant.ID
	if _, err := r.cli.Put(ctx, r.key, value, clientv3.WithLease(r.leaseID)); err != nil {
		return err
	}
	hb, err := r.lease.KeepAlive(r.ctx, r.leaseID)
	if err != nil {
		return err
	}
	go func() { // go-kit discards the keepalive answers
		for {
			select {
			case resp := <-hb:
				if resp == nil {
					return
				}
			case <-r.ctx.Done():
				return
			}
		}
	}()
	return nil
}

// deregister: go-kit's Delete(WithIgnoreLease), then Revoke, then close.
func (r *registrar) deregister(callTO time.Duration) error {
	defer func() {
		r.lease.Close()
		r.cancel()
		if r.ownsCli {
			r.cli.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), callTO)
	defer cancel()
	if _, err := r.cli.Delete(ctx, r.key, clientv3.WithIgnoreLease()); err != nil {
		return err
	}
	_, err := r.lease.Revoke(ctx, r.leaseID)
	return err
}
