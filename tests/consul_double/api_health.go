// GET /v1/health/service/:service with index-based blocking (agent/health_endpoint.go,
// agent/http.go parseWait/setMeta, and the blocking-query rules of
// website/content/api-docs/features/blocking.mdx).
package main

import (
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	defaultQueryTime = 5 * time.Minute  // wait when index is given without wait
	maxQueryTime     = 10 * time.Minute // the cap on wait
)

// parseWait is agent/http.go parseWait: ?wait (a Go duration) and ?index (an unsigned integer).
func parseWait(r *http.Request) (time.Duration, uint64, error) {
	q := r.URL.Query()
	var wait time.Duration
	var index uint64
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, 0, badRequest("Invalid wait time")
		}
		wait = d
	}
	if v := q.Get("index"); v != "" {
		i, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, badRequest("Invalid index")
		}
		index = i
	}
	return wait, index, nil
}

// blockingTimeout: 5 minutes when unset, at most 10, plus up to wait/16 of jitter.
func blockingTimeout(wait time.Duration) time.Duration {
	if wait <= 0 {
		wait = defaultQueryTime
	}
	if wait > maxQueryTime {
		wait = maxQueryTime
	}
	if j := int64(wait / 16); j > 0 {
		wait += time.Duration(rand.Int63n(j))
	}
	return wait
}

// getBoolQueryParam: present without a value means true, else strconv.ParseBool.
func getBoolQueryParam(r *http.Request, key string) (bool, error) {
	q := r.URL.Query()
	if _, ok := q[key]; !ok {
		return false, nil
	}
	v := q.Get(key)
	if v == "" {
		return true, nil
	}
	return strconv.ParseBool(v)
}

// hasAllTags is serviceTagsFilter: every requested tag present, compared case-insensitively.
func hasAllTags(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (s *server) node() nodeJSON {
	return nodeJSON{
		ID:         s.nodeID,
		Node:       s.nodeName,
		Address:    s.nodeAddr,
		Datacenter: s.dc,
		TaggedAddresses: map[string]string{
			"lan": s.nodeAddr, "lan_ipv4": s.nodeAddr, "wan": s.nodeAddr, "wan_ipv4": s.nodeAddr,
		},
		Meta:        map[string]string{"consul-network-segment": ""},
		CreateIndex: s.state.nodeIndex,
		ModifyIndex: s.state.nodeIndex,
	}
}

// healthNodesLocked is Health.ServiceNodes on this one-node catalog.
func (s *server) healthNodesLocked(name string, tags []string, tagFilter bool) []checkServiceNodeJSON {
	out := []checkServiceNodeJSON{}
	for _, svc := range s.state.sortedServicesLocked() {
		if !strings.EqualFold(svc.Name, name) {
			continue
		}
		if tagFilter && !hasAllTags(svc.Tags, tags) {
			continue
		}
		checks := []healthCheckJSON{renderSerfHealth(s.nodeName, s.state.nodeIndex)}
		for _, c := range s.state.checksOfLocked(svc.ID) {
			checks = append(checks, renderHealthCheck(c, s.nodeName, c.createIndex, c.modifyIndex))
		}
		catalog := renderCatalogService(svc)
		catalog.CreateIndex, catalog.ModifyIndex = svc.createIndex, svc.modifyIndex
		out = append(out, checkServiceNodeJSON{Node: s.node(), Service: catalog, Checks: checks})
	}
	return out
}

func (s *server) healthService(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	q := r.URL.Query()
	if err := parseEntMeta(r); err != nil {
		return nil, err
	}
	if err := refuseFilter(r); err != nil {
		return nil, err
	}
	if _, ok := q["node-meta"]; ok {
		return nil, badRequest("consul-double: ?node-meta is not modelled")
	}
	_, stale := q["stale"]
	_, consistent := q["consistent"]
	if stale && consistent {
		return nil, badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
	}
	wait, minIndex, err := parseWait(r)
	if err != nil {
		return nil, err
	}
	tags, tagFilter := q["tag"]
	name := strings.TrimPrefix(r.URL.Path, "/v1/health/service/")
	if name == "" {
		return nil, badRequest("Missing service name")
	}
	if dc := q.Get("dc"); dc != "" && dc != s.dc {
		return nil, httpError{http.StatusInternalServerError, "No path to datacenter"}
	}
	authz, err := s.resolve(r)
	if err != nil {
		return nil, err
	}

	var timeout <-chan time.Time
	if minIndex > 0 {
		t := time.NewTimer(blockingTimeout(wait))
		defer t.Stop()
		timeout = t.C
	}
	var index uint64
	var nodes []checkServiceNodeJSON
	s.state.mu.Lock()
	restores := s.state.restores
	s.state.mu.Unlock()
	for {
		s.state.mu.Lock()
		index = s.state.indexForLocked(name)
		nodes = s.healthNodesLocked(name, tags, tagFilter)
		changed := s.state.changed
		abandon := s.state.abandon
		abandoned := s.state.restores != restores
		s.state.mu.Unlock()
		if minIndex == 0 || index > minIndex || abandoned {
			break
		}
		done := false
		select {
		case <-changed:
		case <-abandon:
			done = true // a snapshot restore: answer now, whatever the index
		case <-timeout:
			done = true
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		if done {
			break
		}
	}

	consistency := "leader"
	if stale {
		consistency = "stale"
	} else if consistent {
		consistency = "consistent"
	}
	h := w.Header()
	h.Set("X-Consul-Index", strconv.FormatUint(index, 10))
	h.Set("X-Consul-LastContact", "0")
	h.Set("X-Consul-KnownLeader", "true")
	h.Set("X-Consul-Effective-Consistency", consistency)
	h.Set("X-Consul-Query-Backend", "blocking-query")

	passing, err := getBoolQueryParam(r, "passing")
	if err != nil {
		return nil, badRequest("Invalid value for ?passing")
	}
	// ACL filtering (node:read and service:read): the anonymous token reads nothing.
	if authz.serviceRead(name) != nil {
		return []checkServiceNodeJSON{}, nil
	}
	if passing {
		kept := []checkServiceNodeJSON{}
		for _, n := range nodes {
			ok := true
			for _, c := range n.Checks {
				if c.Status != statusPassing {
					ok = false
				}
			}
			if ok {
				kept = append(kept, n)
			}
		}
		nodes = kept
	}
	return nodes, nil
}
