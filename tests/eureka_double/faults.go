// Test-only controls, NOT part of Eureka's API: the request log and fault injection, under
// /_double/. They need no auth, are never logged as Eureka requests and never faulted.
//
//	POST /_double/restart                   wipe all state, as a server restarted (no peers)
//	POST /_double/fail?count=N[&status=S]   the next N Eureka requests get status S (500)
//	POST /_double/delay?ms=M[&count=N]      delay the next N (default: all, until ms=0) answers
//	POST /_double/close?count=N             close the connection of the next N requests unanswered
//	POST /_double/evict                     run the eviction task now
//	GET  /_double/requests[?since=SEQ]      every Eureka request received after SEQ
//	GET  /_double/state                     counts, thresholds and evictions, for diagnostics
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
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
	Remote  string            `json:"remote"`
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

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 16<<20))
}

// admit logs the request and takes at most one fault for it: close, else fail, else delay.
func (f *faults) admit(r *http.Request, body []byte) faultAction {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	headers := map[string]string{}
	for k, v := range r.Header {
		if k != "Authorization" {
			headers[k] = strings.Join(v, ", ")
		}
	}
	rec := &requestRecord{Seq: f.seq, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Headers: headers, Body: string(body), TimeMs: time.Now().UnixNano() / int64(time.Millisecond),
		Remote: r.RemoteAddr}
	f.records = append(f.records, rec)
	act := faultAction{record: rec}
	switch {
	case f.closeCount > 0:
		f.closeCount--
		act.close, rec.Fault = true, "close"
	case f.failCount > 0:
		f.failCount--
		act.fail, rec.Fault = f.failStatus, "fail"
	case f.delayMs > 0 && f.delayCount != 0:
		if f.delayCount > 0 {
			f.delayCount--
		}
		act.delay, rec.Fault = time.Duration(f.delayMs)*time.Millisecond, "delay"
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

// serveAPI logs an Eureka request, applies a pending fault, then answers it.
func (s *server) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, _ := readBody(r)
	r.Body = io.NopCloser(bytes.NewReader(body))
	act := s.faults.admit(r, body)
	if act.close {
		log.Printf("fault: closing the connection of %s %s unanswered", r.Method, r.URL.Path)
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	}
	if act.fail != 0 {
		log.Printf("fault: answering %s %s with %d", r.Method, r.URL.Path, act.fail)
		writeText(w, act.fail, fmt.Sprintf("eureka-double: injected failure (status %d)", act.fail))
		s.faults.answered(act.record, act.fail)
		return
	}
	if act.delay > 0 {
		time.Sleep(act.delay)
	}
	sw := &statusWriter{ResponseWriter: w}
	s.serveEureka(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	s.faults.answered(act.record, sw.status)
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	b, _ := json.Marshal(v)
	writeRawJSON(w, status, b)
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
	want := map[string]string{"/_double/restart": "POST", "/_double/fail": "POST",
		"/_double/delay": "POST", "/_double/close": "POST", "/_double/evict": "POST",
		"/_double/requests": "GET", "/_double/state": "GET"}
	method, known := want[r.URL.Path]
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control " + r.URL.Path})
		return
	}
	if r.Method != method {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use " + method})
		return
	}
	bad := func(err error) { writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()}) }
	f := s.faults
	switch r.URL.Path {
	case "/_double/restart":
		s.reg.mu.Lock()
		s.reg.reset()
		s.reg.mu.Unlock()
		s.cache.clear()
		log.Printf("restart: registry and response cache wiped")
		writeJSON(w, http.StatusOK, map[string]bool{"restarted": true})
	case "/_double/fail":
		n, err := intParam(r, "count", 1)
		st, err2 := intParam(r, "status", 500)
		if err != nil || err2 != nil || st < 100 || st > 599 {
			bad(fmt.Errorf("count must be a count and status an HTTP status"))
			return
		}
		f.mu.Lock()
		f.failCount, f.failStatus = n, st
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]int{"fail_next": n, "status": st})
	case "/_double/delay":
		ms, err := intParam(r, "ms", -1)
		count, err2 := intParam(r, "count", 0)
		if err != nil || err2 != nil || ms < 0 {
			bad(fmt.Errorf("ms is required, count optional"))
			return
		}
		if r.URL.Query().Get("count") == "" {
			count = -1
		}
		if ms == 0 {
			count = 0
		}
		f.mu.Lock()
		f.delayMs, f.delayCount = ms, count
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]int{"delay_ms": ms, "count": count})
	case "/_double/close":
		n, err := intParam(r, "count", 1)
		if err != nil {
			bad(err)
			return
		}
		f.mu.Lock()
		f.closeCount = n
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]int{"close_next": n})
	case "/_double/evict":
		s.reg.evict()
		writeJSON(w, http.StatusOK, map[string]bool{"evicted": true})
	case "/_double/requests":
		since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
		f.mu.Lock()
		out := []requestRecord{}
		for _, rec := range f.records {
			if rec.Seq > since {
				out = append(out, *rec)
			}
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case "/_double/state":
		s.reg.mu.Lock()
		n := 0
		for _, m := range s.reg.apps {
			n += len(m)
		}
		st := map[string]interface{}{"instances": n, "expected_clients": s.reg.expected,
			"renews_last_window": s.reg.renewsLast, "threshold": s.reg.threshold(),
			"expiration_enabled": s.reg.expirationEnabled(), "evictions": s.reg.evictions}
		s.reg.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
	}
}
