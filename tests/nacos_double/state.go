// The naming state: ephemeral instances by namespace and grouped service name, their last beat,
// and the server's health-check task (Nacos 1.4 ClientBeatCheckTask, 2.x ClientBeatCheckTaskV2
// with UnhealthyInstanceChecker and ExpiredInstanceChecker): every 5 s, an instance whose last
// beat is older than its heart-beat timeout (15 s, or preserved.heart.beat.timeout) turns
// unhealthy, and one older than its ip-delete timeout (30 s, or preserved.ip.delete.timeout) is
// removed. Every timing is multiplied by the time scale.
package main

import (
	"log"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Nacos's defaults (com.alibaba.nacos.api.common.Constants).
const (
	defaultHeartBeatInterval = 5000 * time.Millisecond
	defaultHeartBeatTimeout  = 15000 * time.Millisecond
	defaultIPDeleteTimeout   = 30000 * time.Millisecond
	healthCheckPeriod        = 5000 * time.Millisecond

	// PreservedMetadataKeys.
	keyHeartBeatInterval = "preserved.heart.beat.interval"
	keyHeartBeatTimeout  = "preserved.heart.beat.timeout"
	keyIPDeleteTimeout   = "preserved.ip.delete.timeout"
)

type instance struct {
	IP          string
	Port        int
	Weight      float64
	Healthy     bool
	Enabled     bool
	Ephemeral   bool
	ClusterName string
	ServiceName string // grouped: "DEFAULT_GROUP@@name"
	Metadata    map[string]string
	LastBeat    time.Time
}

func instanceKey(ip string, port int, cluster string) string {
	return ip + "#" + strconv.Itoa(port) + "#" + cluster
}

// instanceId as Nacos's default ("simple") generator makes it: ip#port#cluster#service.
func (in *instance) instanceID() string {
	return instanceKey(in.IP, in.Port, in.ClusterName) + "#" + in.ServiceName
}

// A preserved.* timing in milliseconds (unscaled), or the default.
func (in *instance) timing(key string, def time.Duration) time.Duration {
	if v, ok := in.Metadata[key]; ok {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return def
}

type namingState struct {
	mu    sync.Mutex
	scale float64
	// namespace -> grouped service name -> instance key -> instance
	services map[string]map[string]map[string]*instance
	writes   uint64 // registrations, removals and health changes: the conformance write counter
	now      func() time.Time
}

func newNamingState(scale float64) *namingState {
	return &namingState{scale: scale, services: map[string]map[string]map[string]*instance{},
		now: time.Now}
}

func (s *namingState) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.scale)
}

// put registers or replaces an instance (ServiceManager.registerInstance / addInstance).
func (s *namingState) put(ns string, in *instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.services[ns] == nil {
		s.services[ns] = map[string]map[string]*instance{}
	}
	svc := s.services[ns][in.ServiceName]
	if svc == nil {
		svc = map[string]*instance{}
		s.services[ns][in.ServiceName] = svc
	}
	in.LastBeat = s.now()
	svc[instanceKey(in.IP, in.Port, in.ClusterName)] = in
	s.writes++
	log.Printf("registered %s in %s (healthy %v, enabled %v)", in.instanceID(), ns, in.Healthy,
		in.Enabled)
}

func (s *namingState) remove(ns, service, ip string, port int, cluster string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.services[ns][service]
	key := instanceKey(ip, port, cluster)
	if _, ok := svc[key]; !ok {
		return false
	}
	delete(svc, key)
	s.writes++
	log.Printf("deregistered %s#%s in %s", key, service, ns)
	return true
}

// beat renews an instance; false when the server does not know it.
func (s *namingState) beat(ns, service, ip string, port int, cluster string) (*instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.services[ns][service][instanceKey(ip, port, cluster)]
	if !ok {
		return nil, false
	}
	in.LastBeat = s.now()
	if !in.Healthy {
		in.Healthy = true
		s.writes++
		log.Printf("%s healthy again: client beat", in.instanceID())
	}
	copy := *in
	return &copy, true
}

// list returns copies of a service's instances, sorted by ip and port.
func (s *namingState) list(ns, service string) []instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []instance
	for _, in := range s.services[ns][service] {
		out = append(out, *in)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].IP != out[j].IP {
			return out[i].IP < out[j].IP
		}
		return out[i].Port < out[j].Port
	})
	return out
}

// all returns every instance of every namespace (for /_double/instances).
func (s *namingState) all() map[string][]instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]instance{}
	for ns, services := range s.services {
		for _, svc := range services {
			for _, in := range svc {
				out[ns] = append(out[ns], *in)
			}
		}
	}
	return out
}

// instanceCount: every instance held, healthy or not (the benchmark's start-up and teardown).
func (s *namingState) instanceCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, services := range s.services {
		for _, svc := range services {
			n += len(svc)
		}
	}
	return uint64(n)
}

func (s *namingState) writeCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// wipe forgets everything, as a standalone server restarted (ephemeral data is not persisted).
func (s *namingState) wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services = map[string]map[string]map[string]*instance{}
	log.Printf("restarted: every instance forgotten")
}

func (s *namingState) healthCheckLoop() {
	for {
		time.Sleep(s.scaled(healthCheckPeriod))
		s.checkOnce()
	}
}

// checkOnce is one run of the health-check task over every ephemeral instance.
func (s *namingState) checkOnce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for ns, services := range s.services {
		for _, svc := range services {
			for key, in := range svc {
				if !in.Ephemeral {
					continue
				}
				since := now.Sub(in.LastBeat)
				if since > s.scaled(in.timing(keyIPDeleteTimeout, defaultIPDeleteTimeout)) {
					delete(svc, key)
					s.writes++
					log.Printf("removed %s from %s: no beat for %v", in.instanceID(), ns, since)
					continue
				}
				if in.Healthy && since > s.scaled(in.timing(keyHeartBeatTimeout, defaultHeartBeatTimeout)) {
					in.Healthy = false
					s.writes++
					log.Printf("%s unhealthy: no beat for %v", in.instanceID(), since)
				}
			}
		}
	}
}
