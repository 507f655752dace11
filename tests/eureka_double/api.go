// The REST resources under {context}/apps: ApplicationsResource (GET /apps), ApplicationResource
// (GET and POST /apps/{APP}), InstanceResource (GET, PUT renew, DELETE cancel, PUT and DELETE
// .../status), with Eureka's codes: 204 for a registration, 200 for the rest, 404 for an unknown
// instance, 400 with addInstance's texts. Application names in paths are upper-cased as
// ApplicationResource does. Only JSON is modelled (Eureka also speaks XML).
package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// authorized: HTTP basic auth as Spring Security answers it when --user is set.
func (s *server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.user == "" {
		return true
	}
	u, p, ok := r.BasicAuth()
	if ok && u == s.user && p == s.pass {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="Realm"`)
	writeText(w, http.StatusUnauthorized, "Unauthorized")
	return false
}

// serveEureka routes one API request (after faults and the request log).
func (s *server) serveEureka(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	prefix := s.context + "/apps"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		writeText(w, http.StatusNotFound, "Not Found")
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, prefix), "/")
	var parts []string
	if rest != "" {
		parts = strings.Split(rest, "/")
	}
	if r.Method == http.MethodGet && !strings.Contains(r.Header.Get("Accept"), "json") {
		writeText(w, http.StatusNotAcceptable, "eureka-double: only JSON answers are modelled")
		return
	}
	switch {
	case len(parts) == 0 && r.Method == http.MethodGet:
		writeRawJSON(w, http.StatusOK, s.cache.get(""))
	case len(parts) == 1 && r.Method == http.MethodGet:
		if p := s.cache.get(strings.ToUpper(parts[0])); p != nil {
			writeRawJSON(w, http.StatusOK, p)
		} else {
			writeText(w, http.StatusNotFound, "")
		}
	case len(parts) == 1 && r.Method == http.MethodPost:
		s.addInstance(w, r, strings.ToUpper(parts[0]))
	case len(parts) == 2:
		s.instanceResource(w, r, strings.ToUpper(parts[0]), parts[1])
	case len(parts) == 3 && parts[2] == "status":
		s.statusResource(w, r, strings.ToUpper(parts[0]), parts[1])
	default:
		writeText(w, http.StatusMethodNotAllowed, "")
	}
}

// addInstance: ApplicationResource.addInstance.
func (s *server) addInstance(w http.ResponseWriter, r *http.Request, app string) {
	if !strings.Contains(r.Header.Get("Content-Type"), "json") {
		writeText(w, http.StatusUnsupportedMediaType, "eureka-double: only JSON bodies are modelled")
		return
	}
	body, _ := readBody(r)
	in, err := decodeInstance(body)
	if err != nil {
		// DiscoveryJerseyProvider.readFrom: "Cannot parse request body", 400 without entity.
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if text := in.validate(app); text != "" {
		writeText(w, http.StatusBadRequest, text)
		return
	}
	s.reg.register(in)
	w.WriteHeader(http.StatusNoContent)
}

// instanceResource: GET (live), PUT (renewLease), DELETE (cancelLease).
func (s *server) instanceResource(w http.ResponseWriter, r *http.Request, app, id string) {
	switch r.Method {
	case http.MethodGet:
		s.reg.mu.Lock()
		l := s.reg.find(app, id)
		var b []byte
		if l != nil {
			b, _ = json.Marshal(map[string]interface{}{"instance": renderInstance(l)})
		}
		s.reg.mu.Unlock()
		if b == nil {
			writeText(w, http.StatusNotFound, "")
			return
		}
		writeRawJSON(w, http.StatusOK, b)
	case http.MethodPut:
		if !s.reg.renew(app, id) || s.clientIsNewer(r, app, id) {
			writeText(w, http.StatusNotFound, "")
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		if !s.reg.cancel(app, id) {
			writeText(w, http.StatusNotFound, "")
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		writeText(w, http.StatusMethodNotAllowed, "")
	}
}

// clientIsNewer: renewLease's validateDirtyTimestamp: a lastDirtyTimestamp newer than the
// server's copy answers 404, so that the client registers its newer copy.
func (s *server) clientIsNewer(r *http.Request, app, id string) bool {
	v := r.URL.Query().Get("lastDirtyTimestamp")
	if v == "" {
		return false
	}
	ts, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false
	}
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	l := s.reg.find(app, id)
	if l == nil {
		return false
	}
	dirty := l.info.dirty
	if dirty == 0 {
		dirty = l.registered
	}
	return ts > dirty
}

// statusResource: PUT .../status?value=S (statusUpdate) and DELETE .../status
// (deleteStatusUpdate). An unknown value fails valueOf(): 500, as Eureka answers.
func (s *server) statusResource(w http.ResponseWriter, r *http.Request, app, id string) {
	value := r.URL.Query().Get("value")
	switch r.Method {
	case http.MethodPut:
		if !s.exists(app, id) {
			writeText(w, http.StatusNotFound, "")
			return
		}
		if !knownStatuses[value] {
			writeText(w, http.StatusInternalServerError, "")
			return
		}
		if !s.reg.setStatus(app, id, value) {
			writeText(w, http.StatusNotFound, "")
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		status := "UNKNOWN"
		if value != "" {
			status = toStatus(value)
		}
		if !s.reg.clearStatus(app, id, status) {
			writeText(w, http.StatusNotFound, "")
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		writeText(w, http.StatusMethodNotAllowed, "")
	}
}

func (s *server) exists(app, id string) bool {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	return s.reg.find(app, id) != nil
}
