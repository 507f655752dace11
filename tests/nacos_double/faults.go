// Test-only controls, NOT part of Nacos's API, under /_double/ (never faulted, never checked for
// a token):
//
//	POST /_double/restart                   forget every instance, as a standalone server restarted
//	POST /_double/fail?count=N[&status=S]   the next N API requests get status S (500), Nacos's text
//	POST /_double/delay?ms=M[&count=N]      delay the next N (default: all, until ms=0) answers
//	POST /_double/expire-tokens             every accessToken issued so far is expired
//	GET  /_double/instances                 every instance of every namespace, healthy or not
//	GET  /_double/stats                     {"requests","beats","registers","deregisters","logins","writes",
//	                                         "instances","connections" (TCP connections accepted)}
//	GET  /_double/requests?since=SEQ        every API request after SEQ: {seq, method, path, params}
package main

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

type faults struct {
	mu         sync.Mutex
	failCount  int
	failStatus int
	delay      time.Duration
	delayCount int // -1: every request until reset
	counts     map[string]uint64
	seq        uint64
	records    []requestRecord
}

type requestRecord struct {
	Seq    uint64            `json:"seq"`
	Method string            `json:"method"`
	Path   string            `json:"path"`
	Params map[string]string `json:"params"` // query and form, first values; accessToken left out
	AtMs   int64             `json:"at_ms"`  // when it arrived, wall-clock ms since the epoch
}

// serve applies the armed faults to one API request, then lets `next` answer it.
func (f *faults) serve(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	f.mu.Lock()
	if f.counts == nil {
		f.counts = map[string]uint64{}
	}
	f.counts["requests"]++
	_ = r.ParseForm()
	f.seq++
	rec := requestRecord{Seq: f.seq, Method: r.Method, Path: r.URL.Path, Params: map[string]string{},
		AtMs: time.Now().UnixMilli()}
	for k, v := range r.Form {
		if k != "accessToken" && k != "password" && len(v) > 0 {
			rec.Params[k] = v[0]
		}
	}
	f.records = append(f.records, rec)
	switch {
	case r.URL.Path == "/nacos/v1/ns/instance/beat":
		f.counts["beats"]++
	case r.URL.Path == "/nacos/v1/ns/instance" && r.Method == http.MethodPost:
		f.counts["registers"]++
	case r.URL.Path == "/nacos/v1/ns/instance" && r.Method == http.MethodDelete:
		f.counts["deregisters"]++
	}
	delay := time.Duration(0)
	if f.delayCount != 0 && f.delay > 0 {
		delay = f.delay
		if f.delayCount > 0 {
			f.delayCount--
		}
	}
	fail := 0
	if f.failCount > 0 {
		f.failCount--
		fail = f.failStatus
	}
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if fail != 0 {
		// What a Nacos server answers while it cannot serve: the text of its
		// ResponseExceptionHandler for an unexpected exception.
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(fail)
		_, _ = w.Write([]byte("caused: server is DOWN now, please try again later!;"))
		return
	}
	next(w, r)
}

func (s *server) serveControl(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f := s.faults
	switch r.URL.Path {
	case "/_double/restart":
		s.state.wipe()
	case "/_double/fail":
		count, _ := strconv.Atoi(r.Form.Get("count"))
		status, _ := strconv.Atoi(r.Form.Get("status"))
		if status == 0 {
			status = http.StatusInternalServerError
		}
		f.mu.Lock()
		f.failCount, f.failStatus = count, status
		f.mu.Unlock()
	case "/_double/delay":
		ms, _ := strconv.Atoi(r.Form.Get("ms"))
		count := -1
		if c := r.Form.Get("count"); c != "" {
			count, _ = strconv.Atoi(c)
		}
		f.mu.Lock()
		f.delay, f.delayCount = time.Duration(ms)*time.Millisecond, count
		f.mu.Unlock()
	case "/_double/expire-tokens":
		if s.auth != nil {
			s.auth.expireAll()
		}
	case "/_double/instances":
		out := map[string][]hostJSON{}
		for ns, list := range s.state.all() {
			for _, in := range list {
				out[ns] = append(out[ns], toHostJSON(in))
			}
		}
		writeJSON(w, out)
		return
	case "/_double/requests":
		since, _ := strconv.ParseUint(r.Form.Get("since"), 10, 64)
		f.mu.Lock()
		out := []requestRecord{}
		for _, rec := range f.records {
			if rec.Seq > since {
				out = append(out, rec)
			}
		}
		f.mu.Unlock()
		writeJSON(w, out)
		return
	case "/_double/stats":
		f.mu.Lock()
		stats := map[string]uint64{"writes": s.state.writeCount(), "instances": s.state.instanceCount(),
			"connections": s.connections.Load()}
		for k, v := range f.counts {
			stats[k] = v
		}
		f.mu.Unlock()
		if s.auth != nil {
			stats["logins"] = s.auth.loginCount()
		}
		writeJSON(w, stats)
		return
	default:
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
