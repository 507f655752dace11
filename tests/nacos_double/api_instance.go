// The naming v1 Open API of InstanceController (Nacos 1.4; 2.x and 3.x serve the same paths and
// answers): POST /nacos/v1/ns/instance (register), DELETE /nacos/v1/ns/instance (deregister),
// PUT /nacos/v1/ns/instance/beat (client beat), GET /nacos/v1/ns/instance/list (query).
package main

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Instance.validate's weight range (com.alibaba.nacos.api.common.Constants).
const (
	minWeight = 0.0
	maxWeight = 10000.0

	codeOK               = 10200 // ResponseCode.OK... of the beat answer (NamingResponseCode)
	codeResourceNotFound = 20404
)

func (s *server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, illegalArgument(err.Error()))
		return
	}
	path := r.URL.Path
	if path == "/nacos/v1/auth/login" || path == "/nacos/v1/auth/users/login" {
		if s.auth == nil { // the auth plugin still answers logins; any user works then
			writeJSON(w, map[string]interface{}{"accessToken": "", "tokenTtl": 18000,
				"globalAdmin": true, "username": r.Form.Get("username")})
			return
		}
		s.auth.login(w, r)
		return
	}
	var handler func(http.ResponseWriter, *http.Request) *apiError
	switch {
	case path == "/nacos/v1/ns/instance" && r.Method == http.MethodPost:
		handler = s.register
	case path == "/nacos/v1/ns/instance" && r.Method == http.MethodDelete:
		handler = s.deregister
	case path == "/nacos/v1/ns/instance/beat" && r.Method == http.MethodPut:
		handler = s.beat
	case (path == "/nacos/v1/ns/instance/list" || path == "/nacos/v1/ns/instances") &&
		r.Method == http.MethodGet:
		handler = s.list
	case path == "/nacos/v1/ns/instance" || path == "/nacos/v1/ns/instance/beat" ||
		path == "/nacos/v1/ns/instance/list":
		writeSpringError(w, r, http.StatusMethodNotAllowed,
			"Request method '"+r.Method+"' not supported")
		return
	default:
		writeSpringError(w, r, http.StatusNotFound, "No message available")
		return
	}
	if s.auth != nil {
		if msg := s.auth.check(r); msg != "" {
			writeSpringError(w, r, http.StatusForbidden, msg)
			return
		}
	}
	if err := handler(w, r); err != nil {
		writeError(w, err)
	}
}

// parseInstance: InstanceController.parseInstance and getIpAddress, then Instance.validate and
// NamingUtils.checkInstanceIsLegal.
func parseInstance(p params, service string) (*instance, *apiError) {
	ip, err := p.required("ip")
	if err != nil {
		return nil, err
	}
	portText, err := p.required("port")
	if err != nil {
		return nil, err
	}
	port, perr := strconv.Atoi(portText)
	if perr != nil {
		return nil, numberFormat(portText)
	}
	weightText := p.optional("weight", "1")
	weight, werr := strconv.ParseFloat(weightText, 64)
	if werr != nil {
		return nil, numberFormat(weightText)
	}
	enabledText := p.optional("enabled", "")
	if strings.TrimSpace(enabledText) == "" {
		enabledText = p.optional("enable", "true")
	}
	in := &instance{IP: ip, Port: port, Weight: weight, ClusterName: p.cluster(),
		ServiceName: service, Healthy: toBoolean(p.optional("healthy", "true")),
		Enabled: toBoolean(enabledText), Ephemeral: toBoolean(p.optional("ephemeral", "true")),
		Metadata: map[string]string{}}
	if md := p.optional("metadata", ""); md != "" {
		m, merr := parseMetadata(md)
		if merr != nil {
			return nil, merr
		}
		in.Metadata = m
	}
	if verr := validate(in); verr != nil {
		return nil, verr
	}
	return in, nil
}

// parseMetadata: UtilsAndCommons.parseMetadata (a JSON object, else "k=v,k=v").
func parseMetadata(md string) (map[string]string, *apiError) {
	m := map[string]string{}
	if json.Unmarshal([]byte(md), &m) == nil {
		return m, nil
	}
	m = map[string]string{}
	for _, kv := range strings.Split(md, ",") {
		parts := strings.Split(kv, "=")
		if len(parts) != 2 {
			return nil, invalidParam("metadata format incorrect:" + md)
		}
		m[parts[0]] = parts[1]
	}
	return m, nil
}

func validate(in *instance) *apiError {
	if strings.Trim(in.IP, "0123456789.") == "" { // onlyContainsDigitAndDot: must be an IPv4 address
		if ip := net.ParseIP(in.IP); ip == nil || ip.To4() == nil || in.Port < 0 || in.Port > 65535 {
			return invalidParam("instance format invalid: Your IP address is spelled incorrectly")
		}
	}
	if in.Weight > maxWeight || in.Weight < minWeight {
		return invalidParam("instance format invalid: The weights range from 0.0 to 10000.0")
	}
	interval := in.timing(keyHeartBeatInterval, defaultHeartBeatInterval)
	if interval > in.timing(keyHeartBeatTimeout, defaultHeartBeatTimeout) ||
		interval > in.timing(keyIPDeleteTimeout, defaultIPDeleteTimeout) {
		return invalidParam("Instance 'heart beat interval' must less than 'heart beat timeout' " +
			"and 'ip delete timeout'.")
	}
	return nil
}

func (s *server) register(w http.ResponseWriter, r *http.Request) *apiError {
	p := params{r}
	service, err := p.serviceName()
	if err != nil {
		return err
	}
	in, err := parseInstance(p, service)
	if err != nil {
		return err
	}
	s.state.put(p.namespace(), in)
	_, _ = w.Write([]byte("ok"))
	return nil
}

// deregister answers "ok" whether or not the instance existed (a service unknown: a warning in
// the server's log, still "ok").
func (s *server) deregister(w http.ResponseWriter, r *http.Request) *apiError {
	p := params{r}
	service, err := p.serviceName()
	if err != nil {
		return err
	}
	ip, err := p.required("ip")
	if err != nil {
		return err
	}
	portText, err := p.required("port")
	if err != nil {
		return err
	}
	port, perr := strconv.Atoi(portText)
	if perr != nil {
		return numberFormat(portText)
	}
	s.state.remove(p.namespace(), service, ip, port, p.cluster())
	_, _ = w.Write([]byte("ok"))
	return nil
}

// beatInfo: the "beat" parameter (client BeatInfo, server RsInfo).
type beatInfo struct {
	IP          string            `json:"ip"`
	Port        int               `json:"port"`
	Weight      float64           `json:"weight"`
	ServiceName string            `json:"serviceName"`
	Cluster     string            `json:"cluster"`
	Metadata    map[string]string `json:"metadata"`
	Scheduled   bool              `json:"scheduled"`
	Period      int64             `json:"period"`
	Stopped     bool              `json:"stopped"`
	Ephemeral   *bool             `json:"ephemeral"`
}

// beat: a known instance is renewed; an unknown one is registered again from a full beat (the
// server's "data compensation") or, for a light beat (no "beat" parameter), answered with code
// 20404 so that the client registers it.
func (s *server) beat(w http.ResponseWriter, r *http.Request) *apiError {
	p := params{r}
	var info *beatInfo
	if text := p.optional("beat", ""); text != "" {
		info = &beatInfo{}
		if err := json.Unmarshal([]byte(text), info); err != nil {
			return &apiError{http.StatusInternalServerError, "Nacos deserialize for class " +
				"[com.alibaba.nacos.naming.healthcheck.RsInfo] failed."}
		}
	}
	cluster := p.optional("clusterName", defaultCluster)
	ip := p.optional("ip", "")
	port, _ := strconv.Atoi(p.optional("port", "0"))
	if info != nil {
		if info.Cluster != "" {
			cluster = info.Cluster
		}
		ip, port = info.IP, info.Port
	}
	service, err := p.serviceName()
	if err != nil {
		return err
	}
	ns := p.namespace()
	in, ok := s.state.beat(ns, service, ip, port, cluster)
	if !ok {
		if info == nil {
			writeJSON(w, map[string]interface{}{
				"clientBeatInterval": s.state.scaled(defaultHeartBeatInterval).Milliseconds(),
				"code":               codeResourceNotFound})
			return nil
		}
		in = &instance{IP: ip, Port: port, Weight: info.Weight, ClusterName: cluster,
			ServiceName: service, Healthy: true, Enabled: true,
			Ephemeral: info.Ephemeral == nil || *info.Ephemeral, Metadata: info.Metadata}
		if in.Metadata == nil {
			in.Metadata = map[string]string{}
		}
		s.state.put(ns, in)
	}
	interval := s.state.scaled(in.timing(keyHeartBeatInterval, defaultHeartBeatInterval))
	writeJSON(w, map[string]interface{}{"clientBeatInterval": interval.Milliseconds(),
		"code": codeOK, "lightBeatEnabled": true})
	return nil
}

type hostJSON struct {
	InstanceID                string            `json:"instanceId"`
	IP                        string            `json:"ip"`
	Port                      int               `json:"port"`
	Weight                    float64           `json:"weight"`
	Healthy                   bool              `json:"healthy"`
	Enabled                   bool              `json:"enabled"`
	Ephemeral                 bool              `json:"ephemeral"`
	ClusterName               string            `json:"clusterName"`
	ServiceName               string            `json:"serviceName"`
	Metadata                  map[string]string `json:"metadata"`
	InstanceHeartBeatInterval int64             `json:"instanceHeartBeatInterval"`
	InstanceIDGenerator       string            `json:"instanceIdGenerator"`
	InstanceHeartBeatTimeOut  int64             `json:"instanceHeartBeatTimeOut"`
	IPDeleteTimeout           int64             `json:"ipDeleteTimeout"`
}

func toHostJSON(in instance) hostJSON {
	return hostJSON{InstanceID: in.instanceID(), IP: in.IP, Port: in.Port, Weight: in.Weight,
		Healthy: in.Healthy, Enabled: in.Enabled, Ephemeral: in.Ephemeral,
		ClusterName: in.ClusterName, ServiceName: in.ServiceName, Metadata: in.Metadata,
		InstanceHeartBeatInterval: in.timing(keyHeartBeatInterval, defaultHeartBeatInterval).Milliseconds(),
		InstanceIDGenerator:       "simple",
		InstanceHeartBeatTimeOut:  in.timing(keyHeartBeatTimeout, defaultHeartBeatTimeout).Milliseconds(),
		IPDeleteTimeout:           in.timing(keyIPDeleteTimeout, defaultIPDeleteTimeout).Milliseconds()}
}

// list: disabled instances are never served; healthyOnly=true leaves out unhealthy ones;
// clusters (comma-separated) filters by cluster. An unknown service has no hosts (not an error).
func (s *server) list(w http.ResponseWriter, r *http.Request) *apiError {
	p := params{r}
	service, err := p.serviceName()
	if err != nil {
		return err
	}
	clusters := p.optional("clusters", "")
	wanted := map[string]bool{}
	for _, c := range strings.Split(clusters, ",") {
		if c != "" {
			wanted[c] = true
		}
	}
	healthyOnly := toBoolean(p.optional("healthyOnly", "false"))
	hosts := []hostJSON{}
	for _, in := range s.state.list(p.namespace(), service) {
		if !in.Enabled || (healthyOnly && !in.Healthy) ||
			(len(wanted) > 0 && !wanted[in.ClusterName]) {
			continue
		}
		hosts = append(hosts, toHostJSON(in))
	}
	group := service[:strings.Index(service, groupSeparator)]
	writeJSON(w, map[string]interface{}{"name": service, "groupName": group, "clusters": clusters,
		"cacheMillis": 3000, "hosts": hosts, "lastRefTime": time.Now().UnixMilli(), "checksum": "",
		"allIPs": false, "reachProtectionThreshold": false, "valid": true})
	return nil
}
