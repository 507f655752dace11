// Test-only controls, NOT part of Consul's API: the request log and fault injection, under
// /_double/. They are exempt from ACLs, never logged as Consul requests and never faulted.
//
//	POST /_double/restart                   wipe all state as an agent restarted without its data dir
//	POST /_double/restore                   a snapshot restore: same catalog, the index starts over
//	POST /_double/fail?count=N[&status=S]   the next N Consul requests get status S (500) as text
//	POST /_double/delay?ms=M[&count=N]      delay the next N (default: all, until ms=0) answers
//	POST /_double/close?count=N             close the connection of the next N requests unanswered
//	GET  /_double/requests[?since=SEQ]      every Consul request received after SEQ
//	POST /_double/requests/clear            forget the request log
//	GET  /_double/state                     the catalog index and counts, for diagnostics
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type requestRecord struct {
	Seq     uint64            `json:"seq"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Status  int               `json:"status"` // 0 while unanswered, and for a closed connection
	TimeMs  int64             `json:"time_ms"`
	Fault   string            `json:"fault,omitempty"` // "fail", "close" or "delay"
	DelayMs int               `json:"delay_ms,omitempty"`
	// The client's address ("127.0.0.1:PORT": one port per connection, so tests can see
	// keep-alive) and the TLS version of the connection ("" over plain HTTP).
	Remote string `json:"remote"`
	TLS    string `json:"tls"`
}

type faults struct {
	mu         sync.Mutex
	failCount  int
	failStatus int
	closeCount int
	delayMs    int
	delayCount int // -1: every request until reset
	seq        uint64
	records    []*requestRecord
}

type faultAction struct {
	close  bool
	fail   int
	delay  time.Duration
	record *requestRecord
}

// admit logs the request and takes at most one fault for it: close, else fail, else delay.
func (f *faults) admit(r *http.Request, body []byte) faultAction {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[k] = strings.Join(v, ", ")
	}
	rec := &requestRecord{
		Seq:     f.seq,
		Method:  r.Method,
		Path:    r.URL.Path,
		Query:   r.URL.RawQuery,
		Headers: headers,
		Body:    string(body),
		TimeMs:  time.Now().UnixNano() / int64(time.Millisecond),
		Remote:  r.RemoteAddr,
		TLS:     tlsVersion(r.TLS),
	}
	f.records = append(f.records, rec)
	act := faultAction{record: rec}
	switch {
	case f.closeCount > 0:
		f.closeCount--
		act.close = true
		rec.Fault = "close"
	case f.failCount > 0:
		f.failCount--
		act.fail = f.failStatus
		rec.Fault = "fail"
	case f.delayMs > 0 && f.delayCount != 0:
		if f.delayCount > 0 {
			f.delayCount--
		}
		act.delay = time.Duration(f.delayMs) * time.Millisecond
		rec.Fault = "delay"
		rec.DelayMs = f.delayMs
	}
	return act
}

func (f *faults) answered(rec *requestRecord, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec.Status = status
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// serveAPI logs a Consul API request, applies a pending fault, then answers it.
func (s *server) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	act := s.faults.admit(r, body)

	if act.close {
		log.Printf("fault: closing the connection of %s %s unanswered", r.Method, r.URL.Path)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	}
	if act.fail != 0 {
		log.Printf("fault: answering %s %s with %d", r.Method, r.URL.Path, act.fail)
		writeText(w, act.fail, fmt.Sprintf("consul-double: injected failure (status %d)", act.fail))
		s.faults.answered(act.record, act.fail)
		return
	}
	if act.delay > 0 {
		time.Sleep(act.delay)
	}
	sw := &statusWriter{ResponseWriter: w}
	s.serveConsul(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	s.faults.answered(act.record, sw.status)
}

// ---- control endpoints ------------------------------------------------------------------------

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func intParam(r *http.Request, key string, def int) (int, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must be a non-negative integer, got %q", key, v)
	}
	return n, nil
}

func (s *server) serveControl(w http.ResponseWriter, r *http.Request) {
	want := map[string]string{
		"/_double/restart": "POST", "/_double/restore": "POST", "/_double/fail": "POST", "/_double/delay": "POST",
		"/_double/close": "POST", "/_double/requests": "GET", "/_double/requests/clear": "POST",
		"/_double/state": "GET",
	}
	method, known := want[r.URL.Path]
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control " + r.URL.Path})
		return
	}
	if r.Method != method {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use " + method})
		return
	}
	fail := func(err error) { writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()}) }
	f := s.faults

	switch r.URL.Path {
	case "/_double/restart":
		s.state.restart()
		log.Printf("restart: all services and checks wiped")
		s.state.mu.Lock()
		idx := s.state.index
		s.state.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]interface{}{"restarted": true, "index": idx})
	case "/_double/restore":
		s.state.restore()
		log.Printf("restore: the catalog kept, its index started over")
		s.state.mu.Lock()
		idx := s.state.index
		s.state.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]interface{}{"restored": true, "index": idx})
	case "/_double/fail":
		n, err := intParam(r, "count", 1)
		if err != nil {
			fail(err)
			return
		}
		st, err := intParam(r, "status", 500)
		if err != nil || st < 100 || st > 599 {
			fail(fmt.Errorf("status must be an HTTP status code"))
			return
		}
		f.mu.Lock()
		f.failCount, f.failStatus = n, st
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]interface{}{"fail_next": n, "status": st})
	case "/_double/delay":
		ms, err := intParam(r, "ms", -1)
		if err == nil && ms < 0 {
			err = fmt.Errorf("ms is required")
		}
		if err != nil {
			fail(err)
			return
		}
		count := -1
		if r.URL.Query().Get("count") != "" {
			if count, err = intParam(r, "count", 0); err != nil {
				fail(err)
				return
			}
		}
		if ms == 0 {
			count = 0
		}
		f.mu.Lock()
		f.delayMs, f.delayCount = ms, count
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]interface{}{"delay_ms": ms, "count": count})
	case "/_double/close":
		n, err := intParam(r, "count", 1)
		if err != nil {
			fail(err)
			return
		}
		f.mu.Lock()
		f.closeCount = n
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]interface{}{"close_next": n})
	case "/_double/requests":
		since := uint64(0)
		if v := r.URL.Query().Get("since"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				fail(fmt.Errorf("since must be a sequence number"))
				return
			}
			since = n
		}
		f.mu.Lock()
		out := []requestRecord{}
		for _, rec := range f.records {
			if rec.Seq > since {
				out = append(out, *rec)
			}
		}
		f.mu.Unlock()
		sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
		writeJSON(w, http.StatusOK, out)
	case "/_double/requests/clear":
		f.mu.Lock()
		n := len(f.records)
		f.records = nil
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]interface{}{"cleared": n})
	case "/_double/state":
		s.state.mu.Lock()
		byStatus := map[string]int{}
		for _, c := range s.state.checks {
			byStatus[c.Status]++
		}
		st := map[string]interface{}{
			"index": s.state.index, "services": len(s.state.services), "checks": len(s.state.checks),
			"checks_by_status": byStatus, "ttl_missed": s.state.ttlMissed,
		}
		s.state.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
	}
}
