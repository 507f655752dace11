// The double's own tests: one per 400 text of ApplicationResource.addInstance, through HTTP, and
// the lease rules (2 x duration after a renewal, self-preservation) on the registry.
package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testServer() (*server, *httptest.Server) {
	s := &server{context: "/eureka", faults: &faults{}}
	s.reg = newRegistry(registryConfig{evictionInterval: time.Hour, renewsWindow: time.Minute,
		selfPreservation: true, percentThreshold: 0.85, expectedRenewalInterval: 30 * time.Second})
	s.cache = newResponseCache(s.reg, time.Hour)
	return s, httptest.NewServer(s)
}

func validInstance() map[string]interface{} {
	return map[string]interface{}{
		"instanceId": "a-1", "hostName": "host1", "app": "ORDERS", "ipAddr": "10.0.0.1",
		"vipAddress": "orders", "status": "UP", "port": map[string]interface{}{"$": 8080, "@enabled": "true"},
		"dataCenterInfo": map[string]interface{}{
			"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
	}
}

func post(t *testing.T, url string, inst map[string]interface{}) (int, string) {
	b, _ := json.Marshal(map[string]interface{}{"instance": inst})
	resp, err := http.Post(url+"/eureka/apps/orders", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestAddInstanceTexts(t *testing.T) {
	_, ts := testServer()
	defer ts.Close()
	cases := []struct {
		name   string
		change func(m map[string]interface{})
		text   string
	}{
		{"no instanceId nor hostName", func(m map[string]interface{}) { delete(m, "instanceId"); delete(m, "hostName") },
			"Missing instanceId"},
		{"no hostName", func(m map[string]interface{}) { m["hostName"] = "" }, "Missing hostname"},
		{"no ipAddr", func(m map[string]interface{}) { delete(m, "ipAddr") }, "Missing ip address"},
		{"no app", func(m map[string]interface{}) { m["app"] = " " }, "Missing appName"},
		{"other app", func(m map[string]interface{}) { m["app"] = "billing" },
			"Mismatched appName, expecting ORDERS but was BILLING"},
		{"no dataCenterInfo", func(m map[string]interface{}) { delete(m, "dataCenterInfo") },
			"Missing dataCenterInfo"},
		{"no dataCenterInfo name", func(m map[string]interface{}) {
			m["dataCenterInfo"] = map[string]interface{}{"@class": "com.netflix.appinfo.MyDataCenterInfo"}
		}, "Missing dataCenterInfo Name"},
	}
	for _, c := range cases {
		inst := validInstance()
		c.change(inst)
		if code, text := post(t, ts.URL, inst); code != 400 || text != c.text {
			t.Errorf("%s: got %d %q, want 400 %q", c.name, code, text, c.text)
		}
	}
	if code, text := post(t, ts.URL, validInstance()); code != 204 || text != "" {
		t.Errorf("valid: got %d %q, want 204", code, text)
	}
}

// Without instanceId the id is the hostName (InstanceInfo.getId() for MyOwn).
func TestIdFallsBackToHostName(t *testing.T) {
	s, ts := testServer()
	defer ts.Close()
	inst := validInstance()
	delete(inst, "instanceId")
	if code, _ := post(t, ts.URL, inst); code != 204 {
		t.Fatalf("got %d", code)
	}
	if !s.exists("ORDERS", "host1") {
		t.Error("not registered under its hostName")
	}
}

func TestUnwrappedBodyIsUnparseable(t *testing.T) {
	_, ts := testServer()
	defer ts.Close()
	b, _ := json.Marshal(validInstance())
	resp, err := http.Post(ts.URL+"/eureka/apps/ORDERS", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("got %d, want 400", resp.StatusCode)
	}
}

func TestLeaseExpiresTwoDurationsAfterRenewal(t *testing.T) {
	l := &lease{duration: 1000, registered: 0, lastUpdate: 0}
	if !l.isExpired(1001, 0) {
		t.Error("a never renewed lease expires one duration after registration")
	}
	l.lastUpdate = 5000 + l.duration // renew() at 5000
	if l.isExpired(6999, 0) || !l.isExpired(7001, 0) {
		t.Error("a renewed lease expires two durations after the renewal")
	}
}

func TestSelfPreservationKeepsLeasesWithoutRenewals(t *testing.T) {
	s, ts := testServer()
	defer ts.Close()
	inst := validInstance()
	inst["leaseInfo"] = map[string]interface{}{"durationInSecs": 1}
	post(t, ts.URL, inst)
	s.reg.mu.Lock()
	s.reg.apps["ORDERS"]["a-1"].lastUpdate -= 10000
	s.reg.mu.Unlock()
	s.reg.evict()
	if !s.exists("ORDERS", "a-1") {
		t.Fatal("evicted although no renewal came in the last window (self-preservation)")
	}
	s.reg.cfg.selfPreservation = false
	s.reg.evict()
	if s.exists("ORDERS", "a-1") {
		t.Fatal("an expired lease is kept with self-preservation off")
	}
}

// A status set by PUT .../status is an override: a re-registration saying UP cannot lift it,
// one saying DOWN holds (DownOrStartingRule), a cancel forgets it.
func TestStatusOverrideRules(t *testing.T) {
	s, ts := testServer()
	defer ts.Close()
	post(t, ts.URL, validInstance())
	req, _ := http.NewRequest(http.MethodPut, ts.URL+"/eureka/apps/ORDERS/a-1/status?value=OUT_OF_SERVICE", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status: %v %v", err, resp)
	}
	resp.Body.Close()
	post(t, ts.URL, validInstance())
	status := func() string {
		s.reg.mu.Lock()
		defer s.reg.mu.Unlock()
		return s.reg.find("ORDERS", "a-1").info.status
	}
	if got := status(); got != "OUT_OF_SERVICE" {
		t.Errorf("re-registered UP over an override: %s, want OUT_OF_SERVICE", got)
	}
	down := validInstance()
	down["status"] = "DOWN"
	post(t, ts.URL, down)
	if got := status(); got != "DOWN" {
		t.Errorf("re-registered DOWN: %s", got)
	}
	if !s.reg.cancel("ORDERS", "a-1") || len(s.reg.overrides) != 0 {
		t.Error("cancel keeps the override")
	}
}

// GET /apps answers from the read-only cache: a change shows only after a refresh.
func TestAppsAreCached(t *testing.T) {
	s, ts := testServer()
	defer ts.Close()
	get := func() string {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/eureka/apps", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	first := get()
	post(t, ts.URL, validInstance())
	if get() != first {
		t.Error("GET /apps changed before the cache refresh")
	}
	s.cache.mu.Lock()
	for k := range s.cache.payloads {
		s.cache.payloads[k] = s.cache.load(k)
	}
	s.cache.mu.Unlock()
	if !strings.Contains(get(), `"instanceId":"a-1"`) {
		t.Error("GET /apps does not show the instance after a refresh")
	}
}
