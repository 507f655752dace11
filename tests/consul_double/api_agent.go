// The /v1/agent endpoints, in the order of checks agent/agent_endpoint.go makes (decode, then
// ACL token resolution, then validation, then the per-resource ACL vet), so that a request with
// several faults gets the same answer as from Consul.
package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log"
	"net/http"
	"strings"
	"time"
)

// ---- register / deregister ----------------------------------------------------------------------

func (s *server) agentRegisterService(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if err := parseEntMeta(r); err != nil {
		return nil, err
	}
	var def serviceDefinitionJSON
	if err := decodeStrict(r.Body, &def); err != nil {
		return nil, badRequest("Request decode failed: %v", err)
	}
	if def.EnableTagOverrideSnake {
		def.EnableTagOverride = true
	}
	if len(def.TaggedAddresses) == 0 {
		def.TaggedAddresses = def.TaggedAddressesSnake
	}
	if def.Name == "" {
		return nil, badRequest("Missing service name")
	}
	if isAnyAddress(def.Address) {
		return nil, badRequest("Invalid service address")
	}
	authz, err := s.resolve(r)
	if err != nil {
		return nil, err
	}
	if err := validateWeights(def.Weights); err != nil {
		return nil, badRequest("Invalid Weights: %v", err)
	}
	if err := validateServiceMeta(def.Meta); err != nil {
		return nil, badRequest("Invalid Service Meta: %v", err)
	}
	// Beyond this point Consul would accept what the double does not model: say so plainly.
	if def.Kind != "" {
		return nil, badRequest("consul-double: service Kind %q is not modelled", def.Kind)
	}
	// An empty Proxy or Connect object is the zero ConnectProxyConfig/ServiceConnect, which
	// changes nothing for a typical service: accepted and ignored.
	if isSet(def.Proxy) {
		return nil, badRequest("consul-double: Proxy is not modelled")
	}
	if isSet(def.Connect) {
		return nil, badRequest("consul-double: Connect is not modelled")
	}

	// ServiceDefinition.CheckTypes: Check unless empty, then Checks; each validated.
	var types []*checkType
	if !def.Check.empty() {
		types = append(types, &def.Check)
	}
	for _, c := range def.Checks {
		if c == nil {
			c = &checkType{}
		}
		types = append(types, c)
	}
	for _, c := range types {
		if err := c.validate(); err != nil {
			return nil, badRequest("Invalid check: %v", err)
		}
	}
	for _, c := range types {
		if c.Status != "" && !validStatus(c.Status) {
			return nil, badRequest("Status for checks must 'passing', 'warning', 'critical'")
		}
	}
	for i, c := range types {
		if k := c.kind(); k != "ttl" {
			return nil, badRequest("consul-double: only TTL checks are modelled (check %d is of type %q)",
				i+1, k)
		}
	}

	id := def.ID
	if id == "" {
		id = def.Name
	}
	if err := authz.serviceWrite(def.Name); err != nil {
		return nil, err
	}
	s.state.mu.Lock()
	existing := s.state.services[id]
	s.state.mu.Unlock()
	if existing != nil {
		if err := authz.serviceWrite(existing.Name); err != nil {
			return nil, err
		}
	}

	svc := &service{
		ID:                id,
		Name:              def.Name,
		Tags:              def.Tags,
		Address:           def.Address,
		TaggedAddresses:   def.TaggedAddresses,
		Meta:              def.Meta,
		Port:              def.Port,
		SocketPath:        def.SocketPath,
		Weights:           weights{Passing: 1, Warning: 1},
		EnableTagOverride: def.EnableTagOverride,
		Locality:          def.Locality,
	}
	if def.Weights != nil {
		svc.Weights = *def.Weights
	}
	checks := make([]newCheck, 0, len(types))
	for _, c := range types {
		checks = append(checks, newCheck{
			CheckID:                        c.CheckID,
			Name:                           c.Name,
			Notes:                          c.Notes,
			Status:                         c.Status,
			TTL:                            c.TTL,
			DeregisterCriticalServiceAfter: c.DeregisterCriticalServiceAfter,
			OutputMaxSize:                  c.OutputMaxSize,
		})
	}
	q := r.URL.Query()
	replace := len(q["replace-existing-checks"]) > 0 &&
		(q.Get("replace-existing-checks") == "" || q.Get("replace-existing-checks") == "true")
	if err := s.state.register(svc, checks, replace); err != nil {
		return nil, err // a plain error: 500, as from Agent.AddService
	}
	return nil, nil
}

// isSet: a JSON value other than null and the empty object {}.
func isSet(raw []byte) bool {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err == nil && len(obj) == 0 {
		return false
	}
	return true
}

func (s *server) agentDeregisterService(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/service/deregister/")
	if err := parseEntMeta(r); err != nil {
		return nil, err
	}
	authz, err := s.resolve(r)
	if err != nil {
		return nil, err
	}
	s.state.mu.Lock()
	existing := s.state.services[id]
	s.state.mu.Unlock()
	if existing == nil {
		return nil, s.unknownService(id)
	}
	if err := authz.serviceWrite(existing.Name); err != nil {
		return nil, err
	}
	s.state.deregister(id)
	return nil, nil
}

// ---- TTL check updates ------------------------------------------------------------------------

func (s *server) agentCheckPass(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/check/pass/")
	return s.updateTTL(r, id, statusPassing, r.URL.Query().Get("note"))
}

func (s *server) agentCheckWarn(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/check/warn/")
	return s.updateTTL(r, id, statusWarning, r.URL.Query().Get("note"))
}

func (s *server) agentCheckFail(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/check/fail/")
	return s.updateTTL(r, id, statusCritical, r.URL.Query().Get("note"))
}

func (s *server) agentCheckUpdate(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var upd checkUpdateJSON
	if err := decodeStrict(r.Body, &upd); err != nil {
		return nil, badRequest("Request decode failed: %v", err)
	}
	if !validStatus(upd.Status) {
		return nil, badRequest("Invalid check status: '%s'", upd.Status)
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/check/update/")
	return s.updateTTL(r, id, upd.Status, upd.Output)
}

// unknownService is the answer to a deregistration of a service id the agent does not have.
// Consul 1.11+ (agent/acl.go vetServiceUpdateWithAuthorizer): 404 whether ACLs are on or not.
// Before 1.11 (--legacy-agent): with ACLs off the vet was skipped and Agent.RemoveService only
// logged a warning, so 200 with nothing done; with ACLs on the vet answered 500
// `Unknown service "<id>"`. A nil error means "answer 200 and do nothing".
func (s *server) unknownService(id string) error {
	if !s.legacy {
		return httpError{http.StatusNotFound, fmt.Sprintf(
			"Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id)}
	}
	if s.aclToken == "" {
		log.Printf("legacy agent: deregistration of unknown service %q ignored", id)
		return nil
	}
	return httpError{http.StatusInternalServerError, fmt.Sprintf("Unknown service %q", id)}
}

// unknownCheck is the answer to a TTL update of a check id the agent does not have. Consul
// 1.11+: 404 (vetCheckUpdateWithAuthorizer). Before 1.11 (--legacy-agent): with ACLs off the vet
// was skipped and Agent.updateTTLCheck answered 500 `CheckID "<id>" does not have associated
// TTL`; with ACLs on the vet answered 500 `Unknown check "<id>"`.
func (s *server) unknownCheck(id string) error {
	if !s.legacy {
		return httpError{http.StatusNotFound, fmt.Sprintf(
			"Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id)}
	}
	if s.aclToken == "" {
		return httpError{http.StatusInternalServerError,
			fmt.Sprintf("CheckID %q does not have associated TTL", id)}
	}
	return httpError{http.StatusInternalServerError, fmt.Sprintf("Unknown check %q", id)}
}

// updateTTL is agentCheckUpdate + Agent.updateTTLCheck. Every check of the double is a TTL
// check, so a known check never gets Consul's `CheckID "x" does not have associated TTL`.
func (s *server) updateTTL(r *http.Request, id, status, output string) (interface{}, error) {
	if err := parseEntMeta(r); err != nil {
		return nil, err
	}
	authz, err := s.resolve(r)
	if err != nil {
		return nil, err
	}
	s.state.mu.Lock()
	c := s.state.checks[id]
	serviceName := ""
	if c != nil {
		serviceName = c.ServiceName
	}
	s.state.mu.Unlock()
	if c == nil {
		return nil, s.unknownCheck(id)
	}
	if err := authz.serviceWrite(serviceName); err != nil {
		return nil, err
	}
	if !s.state.setTTLStatus(id, status, output) {
		return nil, s.unknownCheck(id)
	}
	return nil, nil
}

// ---- reads ------------------------------------------------------------------------------------

func refuseFilter(r *http.Request) error {
	if _, ok := r.URL.Query()["filter"]; ok {
		return badRequest("consul-double: ?filter is not modelled")
	}
	return nil
}

func (s *server) agentServices(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if err := parseEntMeta(r); err != nil {
		return nil, err
	}
	if err := refuseFilter(r); err != nil {
		return nil, err
	}
	authz, err := s.resolve(r)
	if err != nil {
		return nil, err
	}
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	out := map[string]agentServiceJSON{}
	for id, svc := range s.state.services {
		if authz.serviceRead(svc.Name) == nil {
			out[id] = renderAgentService(svc, s.dc)
		}
	}
	if requestToken(r) != "" && len(out) != len(s.state.services) {
		w.Header().Set("X-Consul-Results-Filtered-By-ACLs", "true")
	}
	return out, nil
}

func (s *server) agentChecks(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if err := parseEntMeta(r); err != nil {
		return nil, err
	}
	if err := refuseFilter(r); err != nil {
		return nil, err
	}
	authz, err := s.resolve(r)
	if err != nil {
		return nil, err
	}
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	out := map[string]healthCheckJSON{}
	for id, c := range s.state.checks {
		if authz.serviceRead(c.ServiceName) == nil {
			out[id] = renderHealthCheck(c, s.nodeName, 0, 0)
		}
	}
	if requestToken(r) != "" && len(out) != len(s.state.checks) {
		w.Header().Set("X-Consul-Results-Filtered-By-ACLs", "true")
	}
	return out, nil
}

func contentHash(v agentServiceJSON) string {
	v.ContentHash = ""
	h := fnv.New64a()
	_, _ = h.Write([]byte(fingerprint(v)))
	return fmt.Sprintf("%x", h.Sum64())
}

// agentService is GET /v1/agent/service/:id with hash-based blocking (Agent.LocalBlockingQuery).
func (s *server) agentService(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/service/")
	wait, _, err := parseWait(r)
	if err != nil {
		return nil, err
	}
	if err := parseEntMeta(r); err != nil {
		return nil, err
	}
	authz, err := s.resolve(r)
	if err != nil {
		return nil, err
	}
	hash := r.URL.Query().Get("hash")
	var timeout <-chan time.Time
	if hash != "" {
		t := time.NewTimer(blockingTimeout(wait))
		defer t.Stop()
		timeout = t.C
	}
	for {
		s.state.mu.Lock()
		svc := s.state.services[id]
		if svc == nil {
			s.state.mu.Unlock()
			return nil, httpError{http.StatusNotFound, "unknown service ID: " + id}
		}
		if err := authz.serviceRead(svc.Name); err != nil {
			s.state.mu.Unlock()
			return nil, err
		}
		reply := renderAgentService(svc, s.dc)
		changed := s.state.changed
		s.state.mu.Unlock()
		reply.ContentHash = contentHash(reply)
		if hash == "" || hash != reply.ContentHash {
			w.Header().Set("X-Consul-ContentHash", reply.ContentHash)
			return reply, nil
		}
		select {
		case <-changed:
		case <-timeout:
			w.Header().Set("X-Consul-ContentHash", reply.ContentHash)
			return reply, nil
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
}

func (s *server) agentSelf(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	authz, err := s.resolve(r)
	if err != nil {
		return nil, err
	}
	if err := authz.agentRead(s.nodeName); err != nil {
		return nil, err
	}
	acls := "0"
	if s.aclToken != "" {
		acls = "1"
	}
	return selfJSON{
		Config: selfConfigJSON{
			Datacenter:        s.dc,
			PrimaryDatacenter: s.dc,
			NodeName:          s.nodeName,
			NodeID:            s.nodeID,
			Revision:          "consul-double",
			Version:           doubleVersion,
		},
		DebugConfig: map[string]interface{}{},
		Member: memberJSON{
			Name:   s.nodeName,
			Addr:   s.nodeAddr,
			Port:   8301,
			Tags:   map[string]string{"dc": s.dc, "role": "node", "acls": acls, "id": s.nodeID},
			Status: 1,
		},
		Stats: map[string]map[string]string{},
		Meta:  map[string]string{},
	}, nil
}
