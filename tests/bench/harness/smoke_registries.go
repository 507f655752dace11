package main

// The smoke check's part for ZooKeeper, Eureka and Nacos (figures 7 and 8): each implementation
// registers a handful of services and removes them on SIGTERM. No timing is asserted. ZooKeeper
// is started first, in the background, so that its JVM start-up overlaps the etcd part.

import (
	"fmt"
	"os"
	"time"
)

// zkAsync is a ZooKeeper being started in the background.
type zkAsync struct {
	ch        chan struct{} // closed once z and err are set
	z         *ZooKeeper
	err       error
	installed bool
}

// startZkAsync starts the smoke check's ZooKeeper in the background.
func (b *Bench) startZkAsync() *zkAsync {
	a := &zkAsync{ch: make(chan struct{})}
	go func() {
		defer close(a.ch)
		if _, a.err = zkClasspath(b.cfg.zkJarDir); a.err != nil {
			return
		}
		a.installed = true
		a.z, a.err = startZooKeeper(b.cfg, b.logDir, "zookeeper-smoke")
	}()
	return a
}

// get waits for the start-up (bounded by startZooKeeper's own readiness bound).
func (a *zkAsync) get() (*ZooKeeper, error) {
	<-a.ch
	return a.z, a.err
}

// stop: whoever started first, the server goes when the smoke check ends.
func (a *zkAsync) stop() {
	if z, _ := a.get(); z != nil {
		z.Stop()
	}
}

// missing: a part the smoke check cannot run. Under CI=true that fails it (a test that cannot
// find its server must not pass silently); elsewhere it is skipped with one line.
func (b *Bench) missing(what string, err error) error {
	if os.Getenv("CI") == "true" {
		return fmt.Errorf("%s: %v", what, err)
	}
	b.logf("smoke: SKIPPED %s: %v", what, err)
	return nil
}

func (b *Bench) smokeZooKeeper(launch *zkAsync) error {
	z, err := launch.get()
	if err != nil {
		if !launch.installed {
			return b.missing("zookeeper", err)
		}
		return fmt.Errorf("zookeeper: %v", err)
	}
	for _, im := range b.zkImpls() {
		n := map[bool]int{true: 3, false: 2}[im.Key == "registrar"]
		p, _, err := b.zkStartAndWait(z, im, n, "smoke-zk-"+im.Key, 30*time.Second)
		if p != nil {
			defer p.Kill()
		}
		if err != nil {
			return fmt.Errorf("zookeeper %s: %v", im.Key, err)
		}
		if _, err := zkSigterm(z, p, 30*time.Second); err != nil {
			return fmt.Errorf("zookeeper %s: %v", im.Key, err)
		}
		b.logf("smoke: zookeeper %s registered %d services and removed them on SIGTERM", im.Key, n)
	}
	return nil
}

func (b *Bench) smokeHeartbeat(k hbKind) error {
	if k.double == "" {
		return b.missing(k.Name, fmt.Errorf("no --%s-double", k.Name))
	}
	d, err := b.startDouble(k, k.Name+"-double-smoke")
	if err != nil {
		return fmt.Errorf("%s double: %v", k.Name, err)
	}
	defer d.proc.Stop(5 * time.Second)
	for _, im := range b.hbImpls()[:min(2, len(b.hbImpls()))] {
		n := map[bool]int{true: 3, false: 2}[im.Key == "registrar"]
		p, err := b.hbStart(d, im, n, "smoke-"+k.Name+"-"+im.Key)
		if err != nil {
			return fmt.Errorf("%s %s: %v", k.Name, im.Key, err)
		}
		defer p.Kill()
		if _, err := d.waitInstances(eq(n), p, 30*time.Second); err != nil {
			return fmt.Errorf("%s %s: registration of %d: %v", k.Name, im.Key, n, err)
		}
		if im.args != nil {
			if _, err := p.WaitLine("registered ", 30*time.Second); err != nil {
				return fmt.Errorf("%s %s: %v", k.Name, im.Key, err)
			}
		}
		if err := p.Signal(15); err != nil {
			return err
		}
		if _, err := d.waitInstances(eq(0), nil, 30*time.Second); err != nil {
			return fmt.Errorf("%s %s: deregistration: %v", k.Name, im.Key, err)
		}
		if code, ok := p.Wait(30 * time.Second); !ok || code != 0 {
			return fmt.Errorf("%s %s: exit after SIGTERM: exited=%v code=%d", k.Name, im.Key, ok, code)
		}
		b.logf("smoke: %s %s registered %d services and removed them on SIGTERM", k.Name, im.Key, n)
	}
	return nil
}

// smokeRegistries: ZooKeeper (started by startZkAsync), then Eureka and Nacos.
func (b *Bench) smokeRegistries(launch *zkAsync) error {
	if err := b.smokeZooKeeper(launch); err != nil {
		return err
	}
	for _, k := range []hbKind{{"eureka", eurekaRenewal, b.cfg.eurekaDouble}, {"nacos", 5 * time.Second, b.cfg.nacosDouble}} {
		if err := b.smokeHeartbeat(k); err != nil {
			return err
		}
	}
	return nil
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
