package main

// The Markdown of figures 7 (ZooKeeper) and 8 (Eureka, Nacos): each implementation beside the
// daemon, measured in the same run, and the ratios peer / daemon.

import (
	"fmt"
	"strings"
)

func (r *RegRow) failed() bool { return len(r.Startup) == 0 }

// findRow: the row of impl at N.
func findRow(rows []*RegRow, impl string, n int) *RegRow {
	for _, r := range rows {
		if r.Impl == impl && r.N == n {
			return r
		}
	}
	return nil
}

// peerRatios writes, per N and peer, peer / daemon for the given figures (medians for lists).
func peerRatios(w func(string, ...interface{}), rows []*RegRow, cols []string, value func(*RegRow, int) float64) {
	w("| N | peer |")
	for _, c := range cols {
		w(" %s |", c)
	}
	w("\n|---|---|%s\n", strings.Repeat("---|", len(cols)))
	for _, peer := range rows {
		if peer.Impl == "registrar" {
			continue
		}
		ours := findRow(rows, "registrar", peer.N)
		if ours == nil || ours.failed() || peer.failed() {
			continue
		}
		w("| %d | %s |", peer.N, peer.Label)
		for i := range cols {
			w(" %s |", ratio(value(peer, i), value(ours, i)))
		}
		w("\n")
	}
	w("\n")
}

func (r *Results) zkMarkdown(w func(string, ...interface{})) {
	z := r.ZooKeeper
	w("### 7. ZooKeeper: one session for all services, beside a session per service\n\n")
	if z.Skipped != "" {
		w("Not measured: %s\n\n", z.Skipped)
		return
	}
	w("Session timeout %v for both; the daemon with `format: gokit` (an ephemeral node per service). Read from the server (`mntr`, polled every 2 ms for the two latencies): exec -> all N ephemeral nodes present, SIGTERM -> none left (ms: min / median / max over runs); requests: the packets the server received (requests and pings) a minute in the steady window; connections: the server's client connections.\n\n", zkSessionTimeout)
	w("| N | implementation | exec -> all registered ms | SIGTERM -> all gone ms | RSS MiB | CPU s/min | requests/min to ZooKeeper | connections | ZooKeeper's CPU s/min |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range z.Rows {
		if row.failed() {
			w("| %d | %s | failed: %s | | | | | | |\n", row.N, row.Label, strings.Join(row.Errs, "; "))
			continue
		}
		w("| %d | %s | %s (%d runs) | %s | %s | %s | %s | %s | %s |\n", row.N, row.Label, mmm(row.Startup), len(row.Startup),
			mmm(row.Dereg), mmm(row.RSS), num(row.CPUPerMin), num(row.ReqPerMin), num(row.Conns), num(row.ServerCPU))
	}
	w("\nRatios, peer / grpc-registrar (medians over runs; RSS median; CPU and requests over the window):\n\n")
	peerRatios(w, z.Rows, []string{"start-up", "SIGTERM -> all gone", "RSS", "CPU", "requests to ZooKeeper", "ZooKeeper's CPU"},
		func(x *RegRow, i int) float64 {
			return []float64{median(x.Startup), median(x.Dereg), median(x.RSS), x.CPUPerMin, x.ReqPerMin, x.ServerCPU}[i]
		})
}

func (r *Results) hbMarkdown(w func(string, ...interface{}), h *HBResults) {
	title := map[string]string{"eureka": "Eureka", "nacos": "Nacos"}[h.Kind]
	w("### 8%s. %s: heartbeats against the double\n\n", map[string]string{"eureka": "a", "nacos": "b"}[h.Kind], title)
	if h.Skipped != "" {
		w("Not measured: %s\n\n", h.Skipped)
		return
	}
	if h.Kind == "eureka" {
		w("`renewal_interval: %v` (`lease_duration` three times that) for every implementation: the protocol's floor is one renew (`PUT /eureka/apps/APP/ID`) per instance and interval, %s a minute per instance.", h.Interval, num(60/h.Interval.Seconds()))
	} else {
		w("The beat interval is the server's `clientBeatInterval`, %v: the protocol's floor is one beat (`PUT /nacos/v1/ns/instance/beat`) per instance and interval, %s a minute per instance.", h.Interval, num(60/h.Interval.Seconds()))
	}
	w(" Start-up: exec -> all N instances in the double; SIGTERM -> none left (ms: min / median / max over runs). Connections: TCP connections the double accepted a minute in the window")
	if h.Kind == "eureka" {
		w(" (client ends not seen before), and the distinct client ends used in the window")
	}
	w(". The double's CPU is the server's cost of serving each implementation.\n\n")
	w("| N | implementation | exec -> all registered ms | SIGTERM -> all gone ms | heartbeats/min | of the floor | other requests/min | connections opened/min |")
	if h.Kind == "eureka" {
		w(" connections used |")
	}
	w(" CPU s/min | RSS MiB | double's CPU s/min |\n|---|---|---|---|---|---|---|---|")
	if h.Kind == "eureka" {
		w("---|")
	}
	w("---|---|---|\n")
	for _, row := range h.Rows {
		if row.failed() {
			w("| %d | %s | failed: %s |\n", row.N, row.Label, strings.Join(row.Errs, "; "))
			continue
		}
		floor := float64(row.N) * 60 / h.Interval.Seconds()
		w("| %d | %s | %s (%d runs) | %s | %s | %.1f %% | %s | %s |", row.N, row.Label, mmm(row.Startup), len(row.Startup), mmm(row.Dereg),
			num(row.ReqPerMin), 100*row.ReqPerMin/floor, num(row.OtherPerMin), num(row.NewConnPerMin))
		if h.Kind == "eureka" {
			w(" %s |", num(row.Conns))
		}
		w(" %s | %s | %s |\n", num(row.CPUPerMin), mmm(row.RSS), num(row.ServerCPU))
	}
	w("\nRatios, peer / grpc-registrar (medians over runs; RSS median; CPU over the window):\n\n")
	peerRatios(w, h.Rows, []string{"start-up", "SIGTERM -> all gone", "RSS", "CPU", "double's CPU", "all requests"},
		func(x *RegRow, i int) float64 {
			return []float64{median(x.Startup), median(x.Dereg), median(x.RSS), x.CPUPerMin, x.ServerCPU, x.ReqPerMin + x.OtherPerMin}[i]
		})
}

// registriesMarkdown: figures 7 and 8, where measured.
func (r *Results) registriesMarkdown() string {
	var b strings.Builder
	w := func(format string, a ...interface{}) { fmt.Fprintf(&b, format, a...) }
	if r.ZooKeeper != nil {
		r.zkMarkdown(w)
	}
	for _, h := range r.Heartbeat {
		r.hbMarkdown(w, h)
	}
	return b.String()
}
