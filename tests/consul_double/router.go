// Routing and the common answer path of the Consul API, after agent/http.go: ServeMux-style
// patterns (exact, or a prefix ending in '/', longest wins), 405 with an Allow header for a
// method an endpoint does not take, errors as plain text with Consul's status codes, objects as
// JSON.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"
)

type handlerFunc func(w http.ResponseWriter, r *http.Request) (interface{}, error)

type endpoint struct {
	pattern string
	methods []string
	handler handlerFunc
}

// httpError is Consul's HTTPError: a status code and a plain-text reason.
type httpError struct {
	status int
	reason string
}

func (e httpError) Error() string { return e.reason }

func badRequest(format string, args ...interface{}) error {
	return httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// consulPatterns are the other endpoints a Consul agent serves (agent/http_register.go). The
// double answers them with 501 and says so, rather than pretending they do not exist.
var consulPatterns = []string{
	"/v1/acl/", "/v1/agent/token/", "/v1/agent/host", "/v1/agent/maintenance", "/v1/agent/reload",
	"/v1/agent/monitor", "/v1/agent/metrics", "/v1/agent/members", "/v1/agent/join/",
	"/v1/agent/leave", "/v1/agent/force-leave/", "/v1/agent/health/service/id/",
	"/v1/agent/health/service/name/", "/v1/agent/check/register", "/v1/agent/check/deregister/",
	"/v1/agent/connect/", "/v1/agent/service/maintenance/", "/v1/catalog/", "/v1/config",
	"/v1/config/", "/v1/connect/", "/v1/coordinate/", "/v1/internal/", "/v1/discovery-chain/",
	"/v1/event/", "/v1/health/node/", "/v1/health/checks/", "/v1/health/state/",
	"/v1/health/connect/", "/v1/health/ingress/", "/v1/kv/", "/v1/operator/", "/v1/peering/",
	"/v1/peerings", "/v1/query", "/v1/query/", "/v1/session/", "/v1/status/", "/v1/snapshot",
	"/v1/txn",
}

func (s *server) endpoints() []endpoint {
	return []endpoint{
		{"/v1/agent/self", []string{"GET"}, s.agentSelf},
		{"/v1/agent/services", []string{"GET"}, s.agentServices},
		{"/v1/agent/checks", []string{"GET"}, s.agentChecks},
		{"/v1/agent/service/", []string{"GET"}, s.agentService},
		{"/v1/agent/service/register", []string{"PUT"}, s.agentRegisterService},
		{"/v1/agent/service/deregister/", []string{"PUT"}, s.agentDeregisterService},
		{"/v1/agent/check/pass/", []string{"PUT"}, s.agentCheckPass},
		{"/v1/agent/check/warn/", []string{"PUT"}, s.agentCheckWarn},
		{"/v1/agent/check/fail/", []string{"PUT"}, s.agentCheckFail},
		{"/v1/agent/check/update/", []string{"PUT"}, s.agentCheckUpdate},
		{"/v1/health/service/", []string{"GET"}, s.healthService},
	}
}

func patternMatches(pattern, path string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(path, pattern)
	}
	return path == pattern
}

// match is the modelled endpoint for path, or nil. Consul's own unmodelled patterns compete on
// length too, as in one ServeMux: /v1/agent/service/maintenance/x is the maintenance endpoint
// (answered 501 by notRouted), not GET /v1/agent/service/:id.
func (s *server) match(path string) *endpoint {
	var best *endpoint
	for i := range s.routes {
		e := &s.routes[i]
		if patternMatches(e.pattern, path) && (best == nil || len(e.pattern) > len(best.pattern)) {
			best = e
		}
	}
	if best != nil {
		for _, p := range consulPatterns {
			if patternMatches(p, path) && len(p) > len(best.pattern) {
				return nil
			}
		}
	}
	return best
}

// serveConsul answers one request to the Consul API (faults and the request log are applied by
// the caller).
func (s *server) serveConsul(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	ep := s.match(path)
	if ep == nil {
		s.notRouted(w, r)
		return
	}
	policy := "allow"
	if s.aclToken != "" {
		policy = "deny"
	}
	w.Header().Set("X-Consul-Default-ACL-Policy", policy)

	allow := "OPTIONS," + strings.Join(ep.methods, ",")
	if r.Method == "OPTIONS" {
		w.Header().Add("Allow", allow)
		return
	}
	methodOK := false
	for _, m := range ep.methods {
		if m == r.Method {
			methodOK = true
		}
	}
	if !methodOK {
		w.Header().Add("Allow", allow)
		writeText(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
		return
	}

	obj, err := ep.handler(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if obj == nil {
		return
	}
	var buf []byte
	if _, pretty := r.URL.Query()["pretty"]; pretty {
		buf, err = json.MarshalIndent(obj, "", "    ")
		buf = append(buf, '\n')
	} else {
		buf, err = json.Marshal(obj)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf)
}

func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch e := err.(type) {
	case forbidden:
		writeText(w, http.StatusForbidden, e.Error())
	case httpError:
		reason := e.reason
		if reason == "" {
			reason = "An unexpected error occurred"
		}
		writeText(w, e.status, reason)
	default:
		writeText(w, http.StatusInternalServerError, err.Error())
	}
	log.Printf("request %s %s: %s", r.Method, r.URL.Path, err.Error())
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, text)
}

// notRouted is HTTPHandlers.Index plus net/http.ServeMux's redirect of a path missing its
// trailing slash.
func (s *server) notRouted(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	for _, e := range s.routes {
		if strings.HasSuffix(e.pattern, "/") && e.pattern == path+"/" {
			target := path + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
	}
	if path == "/" {
		writeText(w, http.StatusOK, "Consul Agent: UI disabled. To enable, set ui_config.enabled=true "+
			"in the agent configuration and restart.")
		return
	}
	for _, p := range consulPatterns {
		if patternMatches(p, path) {
			writeText(w, http.StatusNotImplemented,
				fmt.Sprintf("consul-double: %s is a Consul endpoint this double does not model\n", p))
			return
		}
	}
	if strings.Contains(path, "/v1/") {
		writeText(w, http.StatusNotFound, "Invalid URL path: not a recognized HTTP API endpoint\n")
		return
	}
	writeText(w, http.StatusNotFound,
		"Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n")
}
