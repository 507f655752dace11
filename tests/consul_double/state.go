// The agent's local state: services, their TTL checks, the catalog index, TTL expiry and the
// deregister-critical-service-after reaper. Everything here runs under agentState.mu; the HTTP
// handlers only call the exported-style methods below. See README.md for the Consul sources each
// behaviour follows.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	statusPassing  = "passing"
	statusWarning  = "warning"
	statusCritical = "critical"

	// checks.DefaultBufSize in Consul: the default OutputMaxSize of a check.
	defaultOutputMaxSize = 4 * 1024
	// CheckDeregisterIntervalMin (1m) and CheckReapInterval (30s) in Consul's runtime config.
	minDeregisterCriticalAfter = time.Minute
	reapInterval               = 30 * time.Second
)

type serviceAddress struct {
	Address string
	Port    int
}

type weights struct {
	Passing int
	Warning int
}

// structs.Locality (Consul 1.17+): where a service instance runs.
type locality struct {
	Region string `json:",omitempty"`
	Zone   string `json:",omitempty"`
}

type service struct {
	ID                string
	Name              string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]serviceAddress
	Meta              map[string]string
	Port              int
	SocketPath        string
	Weights           weights
	EnableTagOverride bool
	Locality          *locality

	createIndex uint64
	modifyIndex uint64
}

type check struct {
	CheckID     string
	Name        string
	Notes       string
	Status      string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string

	ttl           time.Duration
	outputMaxSize int
	reapAfter     time.Duration // clamped to the 1m minimum, then time-scaled; 0 = never
	criticalSince time.Time     // zero unless the check was *updated* to critical (local.State)
	lastOutput    string        // CheckTTL.lastOutput: what the last update said
	timer         *time.Timer
	timerGen      uint64

	createIndex uint64
	modifyIndex uint64
}

// newCheck is what one entry of Check/Checks in a registration becomes.
type newCheck struct {
	CheckID                        string
	Name                           string
	Notes                          string
	Status                         string
	TTL                            time.Duration
	DeregisterCriticalServiceAfter time.Duration
	OutputMaxSize                  int
}

type catalogView struct {
	fingerprint string
	name        string // service name the entity belongs to
}

type agentState struct {
	mu        sync.Mutex
	timeScale float64

	services map[string]*service
	checks   map[string]*check
	// ttlMissed counts the TTL checks that expired since the double started (test-only
	// diagnostics for /_double/state; Consul keeps no such counter).
	ttlMissed uint64

	// Catalog modelling: one raft-like index for the whole double. An entity's ModifyIndex and
	// its service name's index move only when what the catalog would hold changes.
	index     uint64
	nodeIndex uint64
	// nameIndex is keyed by the lowercased service name, as Consul's index table lowercases its
	// keys (state/schema.go indexTableSchema: StringFieldIndex{Lowercase: true}). An entry
	// exists only while the name has instances; when the last one goes, the entry is dropped
	// and lastExtinction takes that index (state/catalog.go, service_last_extinction).
	nameIndex      map[string]uint64
	lastExtinction uint64
	serviceView    map[string]catalogView
	checkView      map[string]catalogView
	changed        chan struct{} // closed and replaced on every catalog change
	// abandon is closed and replaced on a snapshot restore: state.AbandonCh() of Consul's state
	// store, which ends every blocking query in flight at once (rpc.go blockingQuery: "If a
	// restore may have woken us up then bail out from the query immediately").
	abandon  chan struct{}
	restores uint64 // how many restores so far: a query that saw another count is abandoned

	stop chan struct{}
}

func newAgentState(timeScale float64) *agentState {
	a := &agentState{
		timeScale:   timeScale,
		services:    map[string]*service{},
		checks:      map[string]*check{},
		index:       2, // 1: the raft configuration; 2: this node and its serfHealth check
		nodeIndex:   2,
		nameIndex:   map[string]uint64{},
		serviceView: map[string]catalogView{},
		checkView:   map[string]catalogView{},
		changed:     make(chan struct{}),
		abandon:     make(chan struct{}),
		stop:        make(chan struct{}),
	}
	go a.reaper()
	return a
}

func (a *agentState) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * a.timeScale)
}

// ---- registration ---------------------------------------------------------------------------

// defaultTaggedAddresses adds lan_ipv4/wan_ipv4 (or the v6 pair) for an IP service address, as
// Agent.addServiceInternal does.
func defaultTaggedAddresses(addr string, port int, given map[string]serviceAddress) map[string]serviceAddress {
	out := map[string]serviceAddress{}
	for k, v := range given {
		out[k] = v
	}
	ip := net.ParseIP(addr)
	if ip != nil {
		lan, wan := "lan_ipv4", "wan_ipv4"
		if ip.To4() == nil {
			lan, wan = "lan_ipv6", "wan_ipv6"
		}
		for _, k := range []string{lan, wan} {
			if _, ok := out[k]; !ok {
				out[k] = serviceAddress{Address: addr, Port: port}
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// register adds or replaces a service and its checks (Agent.AddService): an existing check with
// the same ID keeps its status and output, its TTL clock restarts, and its critical clock starts
// over; without replaceExisting, checks of the service missing from the request stay.
func (a *agentState) register(svc *service, checks []newCheck, replaceExisting bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()

	for _, k := range []string{"lan_ipv4", "wan_ipv4"} {
		if sa, ok := svc.TaggedAddresses[k]; ok {
			if ip := net.ParseIP(sa.Address); ip == nil || ip.To4() == nil {
				return fmt.Errorf("Service tagged address %q must be a valid ipv4 address", k)
			}
		}
	}
	if sa, ok := svc.TaggedAddresses["lan_ipv6"]; ok {
		if ip := net.ParseIP(sa.Address); ip == nil || ip.To4() != nil {
			return fmt.Errorf("Service tagged address %q must be a valid ipv6 address", "lan_ipv6")
		}
	}
	svc.TaggedAddresses = defaultTaggedAddresses(svc.Address, svc.Port, svc.TaggedAddresses)

	if old, ok := a.services[svc.ID]; ok {
		svc.createIndex, svc.modifyIndex = old.createIndex, old.modifyIndex
	}
	a.services[svc.ID] = svc

	keep := map[string]bool{}
	for i, nc := range checks {
		id := nc.CheckID
		if id == "" {
			id = "service:" + svc.ID
			if len(checks) > 1 {
				id += fmt.Sprintf(":%d", i+1)
			}
		}
		keep[id] = true
		name := nc.Name
		if name == "" {
			name = fmt.Sprintf("Service '%s' check", svc.Name)
		}
		c := &check{
			CheckID:     id,
			Name:        name,
			Notes:       nc.Notes,
			Status:      statusCritical,
			ServiceID:   svc.ID,
			ServiceName: svc.Name,
			ServiceTags: svc.Tags,
			ttl:         nc.TTL,
		}
		if nc.Status != "" {
			c.Status = nc.Status
		}
		c.outputMaxSize = defaultOutputMaxSize
		if nc.OutputMaxSize > 0 && nc.OutputMaxSize < c.outputMaxSize {
			c.outputMaxSize = nc.OutputMaxSize
		}
		if nc.DeregisterCriticalServiceAfter > 0 {
			d := nc.DeregisterCriticalServiceAfter
			if d < minDeregisterCriticalAfter {
				log.Printf("check %q: deregister interval %s below the minimum, using %s", id, d,
					minDeregisterCriticalAfter)
				d = minDeregisterCriticalAfter
			}
			c.reapAfter = a.scaled(d)
		}
		if prev, ok := a.checks[id]; ok {
			c.Status, c.Output = prev.Status, prev.Output
			c.createIndex, c.modifyIndex = prev.createIndex, prev.modifyIndex
			a.stopTimerLocked(prev)
		}
		a.checks[id] = c
		a.armTimerLocked(c)
	}
	var changed []string // the checks this registration can have changed or removed
	if replaceExisting {
		for id, c := range a.checks {
			if c.ServiceID == svc.ID && !keep[id] {
				a.stopTimerLocked(c)
				delete(a.checks, id)
				changed = append(changed, id)
			}
		}
	}
	// Checks kept from an earlier registration follow the service's current name and tags.
	for id, c := range a.checks {
		if c.ServiceID == svc.ID {
			c.ServiceName, c.ServiceTags = svc.Name, svc.Tags
			changed = append(changed, id)
		}
	}
	log.Printf("service %q (%s) registered with %d check(s)", svc.ID, svc.Name, len(checks))
	a.commitIDsLocked([]string{svc.ID}, changed)
	return nil
}

// deregister removes a service and every check bound to it. False if it does not exist.
func (a *agentState) deregister(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	var removed []string
	ok := a.removeServiceLocked(id, &removed)
	if ok {
		log.Printf("service %q deregistered", id)
		a.commitIDsLocked([]string{id}, removed)
	}
	return ok
}

// removeServiceLocked deletes the service and its checks, appending their ids to `removed`.
func (a *agentState) removeServiceLocked(id string, removed *[]string) bool {
	if _, ok := a.services[id]; !ok {
		return false
	}
	delete(a.services, id)
	for cid, c := range a.checks {
		if c.ServiceID == id {
			a.stopTimerLocked(c)
			delete(a.checks, cid)
			*removed = append(*removed, cid)
		}
	}
	return true
}

// restart wipes everything, as an agent restarted without its data dir; the index goes on.
func (a *agentState) restart() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.checks {
		a.stopTimerLocked(c)
	}
	a.services = map[string]*service{}
	a.checks = map[string]*check{}
	a.commitLocked()
}

// restore is a snapshot restore of the same catalog onto servers whose raft log started over
// (`consul snapshot restore` of an older cluster, servers rebuilt): the services and checks stay,
// the index goes back to the start and every entity is indexed anew, and the blocking queries in
// flight are answered at once with the lower index. Consul's blocking-query documentation tells
// clients to reset their index to 0 when it goes backwards; a client that keeps waiting on its
// old index would see nothing until the new index passes it.
func (a *agentState) restore() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.index, a.nodeIndex = 2, 2
	a.nameIndex = map[string]uint64{}
	a.lastExtinction = 0
	a.serviceView = map[string]catalogView{}
	a.checkView = map[string]catalogView{}
	a.commitLocked()
	a.restores++
	close(a.abandon)
	a.abandon = make(chan struct{})
}

// ---- TTL checks -------------------------------------------------------------------------------

func (a *agentState) armTimerLocked(c *check) {
	a.stopTimerLocked(c)
	c.timerGen++
	gen, id := c.timerGen, c.CheckID
	c.timer = time.AfterFunc(c.ttl, func() { a.ttlExpired(id, gen) })
}

func (a *agentState) stopTimerLocked(c *check) {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.timerGen++
}

// ttlExpired is CheckTTL.run: the timer fired once without an update in between.
func (a *agentState) ttlExpired(id string, gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.checks[id]
	if !ok || c.timerGen != gen {
		return
	}
	c.timer = nil
	output := "TTL expired"
	if c.lastOutput != "" {
		output = fmt.Sprintf("%s (last output before timeout follows): %s", output, c.lastOutput)
	}
	log.Printf("check %q missed TTL, is now critical", id)
	a.ttlMissed++
	a.updateCheckLocked(c, statusCritical, output)
	a.commitIDsLocked(nil, []string{id})
}

// updateCheckLocked is local.State.UpdateCheck: the critical clock starts on the first update to
// critical and stops on any other status.
func (a *agentState) updateCheckLocked(c *check, status, output string) {
	if status == statusCritical {
		if c.criticalSince.IsZero() {
			c.criticalSince = time.Now()
		}
	} else {
		c.criticalSince = time.Time{}
	}
	c.Status, c.Output = status, output
}

// setTTLStatus is CheckTTL.SetStatus via the agent's updateTTLCheck. False if the check is
// unknown.
func (a *agentState) setTTLStatus(id, status, output string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.checks[id]
	if !ok {
		return false
	}
	if total := len(output); total > c.outputMaxSize {
		output = fmt.Sprintf("%s ... (captured %d of %d bytes)", output[:c.outputMaxSize],
			c.outputMaxSize, total)
	}
	if c.Status != status {
		log.Printf("check %q is now %s", c.CheckID, status)
	}
	a.updateCheckLocked(c, status, output)
	c.lastOutput = output
	a.armTimerLocked(c)
	a.commitIDsLocked(nil, []string{id})
	return true
}

// ---- the reaper -----------------------------------------------------------------------------

func (a *agentState) reaper() {
	period := a.scaled(reapInterval)
	if period < time.Millisecond {
		period = time.Millisecond
	}
	for {
		select {
		case <-a.stop:
			return
		case <-time.After(period):
			a.reapOnce()
		}
	}
}

// reapOnce is Agent.reapServicesInternal.
func (a *agentState) reapOnce() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	reaped := false
	for _, c := range a.checks {
		if c.reapAfter <= 0 || c.criticalSince.IsZero() {
			continue
		}
		if now.Sub(c.criticalSince) > c.reapAfter {
			var removed []string
			if a.removeServiceLocked(c.ServiceID, &removed) {
				log.Printf("check %q for service %q has been critical for too long; deregistered service",
					c.CheckID, c.ServiceID)
				reaped = true
			}
		}
	}
	if reaped {
		a.commitLocked()
	}
}

// ---- catalog index ----------------------------------------------------------------------------

func fingerprint(v interface{}) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// commitLocked compares what the catalog would hold with what it held and, if anything changed,
// takes the next index for the changed entities and their service names and wakes the waiters.
// An idempotent write (same definition, same status and output) changes nothing, as the
// anti-entropy sync skips entries that are in sync.
func (a *agentState) commitLocked() {
	a.commitScopedLocked(nil, nil, true)
}

// commitIDsLocked is commitLocked when only the given services and checks can have changed (or
// gone): the same indexes move, without rendering every entity again. A full commit renders all
// of them, which made every TTL update O(N) in the double (tens of ms at N = 1000 on a loaded
// machine) and turned the double, not the daemon, into the bottleneck of the benchmarks.
func (a *agentState) commitIDsLocked(services, checks []string) {
	a.commitScopedLocked(services, checks, false)
}

func (a *agentState) commitScopedLocked(services, checks []string, all bool) {
	next := a.index + 1
	touched := map[string]bool{}
	if all {
		services, checks = nil, nil
		for id := range a.services {
			services = append(services, id)
		}
		for id := range a.serviceView {
			if _, ok := a.services[id]; !ok {
				services = append(services, id)
			}
		}
		for id := range a.checks {
			checks = append(checks, id)
		}
		for id := range a.checkView {
			if _, ok := a.checks[id]; !ok {
				checks = append(checks, id)
			}
		}
	}
	for _, id := range services {
		a.viewServiceLocked(id, next, touched)
	}
	for _, id := range checks {
		a.viewCheckLocked(id, next, touched)
	}
	if len(touched) == 0 {
		return
	}
	a.index = next
	for key := range touched {
		if a.hasInstancesLocked(key) {
			a.nameIndex[key] = next
		} else {
			// A touched name without instances lost its last one (deleteServiceTxn:
			// catalogUpdateServiceExtinctionIndex, and the name's own index entry goes).
			delete(a.nameIndex, key)
			a.lastExtinction = next
		}
	}
	close(a.changed)
	a.changed = make(chan struct{})
}

// viewServiceLocked moves the indexes of one service whose catalog view changed, appeared or went.
func (a *agentState) viewServiceLocked(id string, next uint64, touched map[string]bool) {
	s, ok := a.services[id]
	prev, had := a.serviceView[id]
	if !ok {
		if had {
			delete(a.serviceView, id)
			touched[strings.ToLower(prev.name)] = true
		}
		return
	}
	fp := fingerprint(renderCatalogService(s))
	if had && prev.fingerprint == fp {
		return
	}
	if !had {
		s.createIndex = next
	} else if prev.name != s.Name {
		touched[strings.ToLower(prev.name)] = true
	}
	s.modifyIndex = next
	a.serviceView[id] = catalogView{fingerprint: fp, name: s.Name}
	touched[strings.ToLower(s.Name)] = true
}

// viewCheckLocked: the same for one check.
func (a *agentState) viewCheckLocked(id string, next uint64, touched map[string]bool) {
	c, ok := a.checks[id]
	prev, had := a.checkView[id]
	if !ok {
		if had {
			delete(a.checkView, id)
			touched[strings.ToLower(prev.name)] = true
		}
		return
	}
	fp := fingerprint(renderHealthCheck(c, "", 0, 0))
	if had && prev.fingerprint == fp {
		return
	}
	if !had || c.createIndex == 0 {
		c.createIndex = next
	}
	if had && prev.name != c.ServiceName {
		touched[strings.ToLower(prev.name)] = true
	}
	c.modifyIndex = next
	a.checkView[id] = catalogView{fingerprint: fp, name: c.ServiceName}
	touched[strings.ToLower(c.ServiceName)] = true
}

// hasInstancesLocked: whether any service is registered under `key` (a lowercased name).
func (a *agentState) hasInstancesLocked(key string) bool {
	for _, s := range a.services {
		if strings.ToLower(s.Name) == key {
			return true
		}
	}
	return false
}

// indexForLocked is the X-Consul-Index of a health query for `name`, as
// maxIndexAndWatchChForService (agent/consul/state/catalog.go) computes it: for a name with
// instances, the index of the last change to them; for a name without (never registered, or
// gone), the last extinction index, i.e. the last time any service name lost its final instance;
// when no name ever did, the whole catalog's index (catalogMaxIndex). Names compare lowercased.
// Never 0.
func (a *agentState) indexForLocked(name string) uint64 {
	key := strings.ToLower(name)
	if a.hasInstancesLocked(key) {
		if idx := a.nameIndex[key]; idx > 0 {
			return idx
		}
	} else if a.lastExtinction > 0 {
		return a.lastExtinction
	}
	if a.index == 0 {
		return 1
	}
	return a.index
}

// ---- reads ------------------------------------------------------------------------------------

func (a *agentState) sortedServicesLocked() []*service {
	out := make([]*service, 0, len(a.services))
	for _, s := range a.services {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (a *agentState) checksOfLocked(serviceID string) []*check {
	var out []*check
	for _, c := range a.checks {
		if c.ServiceID == serviceID {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CheckID < out[j].CheckID })
	return out
}
