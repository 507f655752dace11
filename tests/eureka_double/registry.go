// The registry of leases: AbstractInstanceRegistry and PeerAwareInstanceRegistryImpl of
// eureka-core for one standalone server (no peers, no regions): register, renew, status
// overrides, cancel, lease expiry with Lease.renew()'s "2 x duration", the eviction task with its
// compensation time and its 15% cap, and self-preservation (isLeaseExpirationEnabled).
package main

import (
	"log"
	"math/rand"
	"sync"
	"time"
)

type registryConfig struct {
	evictionInterval        time.Duration
	renewsWindow            time.Duration // MeasuredRate's minute
	selfPreservation        bool
	percentThreshold        float64
	expectedRenewalInterval time.Duration
}

type lease struct {
	info         *instance
	registered   int64 // ms
	lastUpdate   int64 // ms; renew() sets now + duration (Eureka's documented off-by-duration)
	duration     int64 // ms
	evicted      int64 // ms, 0 while alive
	serviceUp    int64 // ms
	lastModified int64 // lastUpdatedTimestamp of the InstanceInfo
	action       string
}

// isExpired: Lease.isExpired(additionalLeaseMs).
func (l *lease) isExpired(now, additional int64) bool {
	return l.evicted > 0 || now > l.lastUpdate+l.duration+additional
}

type registry struct {
	cfg        registryConfig
	mu         sync.Mutex
	apps       map[string]map[string]*lease // app (upper case) -> id -> lease
	overrides  map[string]string            // overriddenInstanceStatusMap: id -> status
	expected   int                          // expectedNumberOfClientsSendingRenews
	renewsCur  int                          // renews in the current window
	renewsLast int                          // renewsLastMin: the last complete window
	windowEnd  time.Time
	lastEvict  time.Time
	evictions  int
	version    int64 // bumped on every change, for the response cache
}

func newRegistry(cfg registryConfig) *registry {
	r := &registry{cfg: cfg}
	r.reset()
	return r
}

func nowMs() int64 { return time.Now().UnixNano() / int64(time.Millisecond) }

// reset: a server restarted without state (no peers to copy a registry from).
func (r *registry) reset() {
	r.apps = map[string]map[string]*lease{}
	r.overrides = map[string]string{}
	r.expected, r.renewsCur, r.renewsLast = 0, 0, 0
	r.windowEnd = time.Now().Add(r.cfg.renewsWindow)
	r.lastEvict = time.Time{}
	r.version++
}

func (r *registry) find(app, id string) *lease {
	if m := r.apps[app]; m != nil {
		return m[id]
	}
	return nil
}

// effectiveStatus: the InstanceStatusOverrideRule chain of a standalone server, for a
// registrant `in` and the lease it replaces (nil when new): DownOrStartingRule,
// OverrideExistsRule, LeaseExistsRule, AlwaysMatchInstanceStatusRule.
func (r *registry) effectiveStatus(in *instance, existing *lease) string {
	if in.status != "UP" && in.status != "OUT_OF_SERVICE" {
		return in.status
	}
	if o, ok := r.overrides[in.id]; ok {
		return o
	}
	if existing != nil {
		if s := existing.info.status; s == "UP" || s == "OUT_OF_SERVICE" {
			return s
		}
	}
	return in.status
}

func (r *registry) register(in *instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := nowMs()
	m := r.apps[in.app]
	if m == nil {
		m = map[string]*lease{}
		r.apps[in.app] = m
	}
	existing := m[in.id]
	if existing != nil && existing.info.dirty > in.dirty {
		// The registry's copy is newer: it is kept (AbstractInstanceRegistry.register).
		in = existing.info
	}
	if existing == nil {
		r.expected++ // and updateRenewsPerMinThreshold(), computed on use here
	}
	if in.overridden != "UNKNOWN" {
		if _, ok := r.overrides[in.id]; !ok {
			r.overrides[in.id] = in.overridden
		}
	}
	if o, ok := r.overrides[in.id]; ok {
		in.overridden = o
	}
	in.status = r.effectiveStatus(in, existing)
	l := &lease{info: in, registered: now, lastUpdate: now, duration: int64(in.duration) * 1000,
		lastModified: now, action: "ADDED"}
	if existing != nil {
		l.serviceUp = existing.serviceUp
	}
	if in.status == "UP" && l.serviceUp == 0 {
		l.serviceUp = now
	}
	m[in.id] = l
	r.version++
	log.Printf("register %s/%s status %s lease %ds", in.app, in.id, in.status, in.duration)
}

// renew: false when unknown (404).
func (r *registry) renew(app, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rollWindow()
	l := r.find(app, id)
	if l == nil {
		return false
	}
	if s := r.effectiveStatus(l.info, l); s == "UNKNOWN" {
		return false
	} else if s != l.info.status {
		l.info.status = s
		r.version++
	}
	r.renewsCur++
	l.lastUpdate = nowMs() + l.duration // Lease.renew(): "lastUpdateTimestamp = now + duration"
	return true
}

// setStatus: PUT .../status?value=S (statusUpdate): records the override too.
func (r *registry) setStatus(app, id, status string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.find(app, id)
	if l == nil {
		return false
	}
	r.overrides[id] = status
	l.info.overridden = status
	r.changeStatus(l, status)
	return true
}

// clearStatus: DELETE .../status?value=S (deleteStatusOverride): the override goes, the status
// becomes S (UNKNOWN when absent).
func (r *registry) clearStatus(app, id, status string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.find(app, id)
	if l == nil {
		return false
	}
	delete(r.overrides, id)
	l.info.overridden = "UNKNOWN"
	r.changeStatus(l, status)
	return true
}

func (r *registry) changeStatus(l *lease, status string) {
	now := nowMs()
	l.info.status = status
	l.info.dirty = now
	l.lastModified = now
	l.action = "MODIFIED"
	if status == "UP" && l.serviceUp == 0 {
		l.serviceUp = now
	}
	r.version++
	log.Printf("status %s/%s -> %s", l.info.app, l.info.id, status)
}

// cancel: DELETE /apps/{APP}/{ID}; false when unknown (404).
func (r *registry) cancel(app, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.find(app, id) == nil {
		return false
	}
	r.remove(app, id)
	if r.expected > 0 {
		r.expected--
	}
	log.Printf("cancel %s/%s", app, id)
	return true
}

func (r *registry) remove(app, id string) {
	delete(r.apps[app], id)
	if len(r.apps[app]) == 0 {
		delete(r.apps, app)
	}
	delete(r.overrides, id)
	r.version++
}

// rollWindow: MeasuredRate's timer, a new bucket every window.
func (r *registry) rollWindow() {
	for now := time.Now(); !now.Before(r.windowEnd); r.windowEnd = r.windowEnd.Add(r.cfg.renewsWindow) {
		r.renewsLast, r.renewsCur = r.renewsCur, 0
	}
}

// threshold: numberOfRenewsPerMinThreshold, per window.
func (r *registry) threshold() int {
	perClient := float64(r.cfg.renewsWindow) / float64(r.cfg.expectedRenewalInterval)
	return int(float64(r.expected) * perClient * r.cfg.percentThreshold)
}

// expirationEnabled: isLeaseExpirationEnabled(). With self-preservation on, leases expire only
// while more renewals came in the last window than the threshold (so never with no clients).
func (r *registry) expirationEnabled() bool {
	if !r.cfg.selfPreservation {
		return true
	}
	t := r.threshold()
	return t > 0 && r.renewsLast > t
}

func (r *registry) runEviction() {
	ticker := time.NewTicker(r.cfg.evictionInterval)
	for range ticker.C {
		r.evict()
	}
}

// evict: EvictionTask.run() and AbstractInstanceRegistry.evict(additionalLeaseMs).
func (r *registry) evict() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rollWindow()
	now := time.Now()
	var compensation int64
	if !r.lastEvict.IsZero() {
		elapsed := now.Sub(r.lastEvict) - r.cfg.evictionInterval
		if elapsed > 0 {
			compensation = int64(elapsed / time.Millisecond)
		}
	}
	r.lastEvict = now
	if !r.expirationEnabled() {
		log.Printf("eviction: lease expiration disabled (self-preservation: %d renewals in the "+
			"last window, threshold %d)", r.renewsLast, r.threshold())
		return
	}
	type key struct{ app, id string }
	var expired []key
	size := 0
	for app, m := range r.apps {
		for id, l := range m {
			size++
			if l.isExpired(nowMs(), compensation) {
				expired = append(expired, key{app, id})
			}
		}
	}
	limit := size - int(float64(size)*r.cfg.percentThreshold)
	toEvict := len(expired)
	if toEvict > limit {
		toEvict = limit
	}
	rand.Shuffle(len(expired), func(i, j int) { expired[i], expired[j] = expired[j], expired[i] })
	for _, k := range expired[:toEvict] {
		r.remove(k.app, k.id)
		r.evictions++
		log.Printf("evict %s/%s: lease expired", k.app, k.id)
	}
}
