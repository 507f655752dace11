package main

// The Targets table (targets.go) on made-up results: every target of issues 6, 14, 15 and 21 has
// a row in every run, and each verdict follows its bound. No process is started.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func findTarget(t *testing.T, ts []Target, prefix string) Target {
	t.Helper()
	for _, x := range ts {
		if strings.HasPrefix(x.What, prefix) {
			return x
		}
	}
	t.Fatalf("no target starting %q in %+v", prefix, ts)
	return Target{}
}

func TestTargetsEveryRowListedWhenNothingRan(t *testing.T) {
	ts := (&Results{}).targets()
	for _, prefix := range []string{
		"detection (watch, N = 1)", "one flip among", "etcd N = 1000", "keepalive traffic",
		"etcd N = 10000", "Consul N = 1000", "Consul N = 10000", "CPU at N = 1000 distinct",
		"ZooKeeper N = 1:", "ZooKeeper N = 100:", "ZooKeeper N = 1000:",
		"Eureka N = 1:", "Eureka N = 100:", "Eureka N = 1000:", "Nacos N = 1:", "Nacos N = 100:", "Nacos N = 1000:",
	} {
		if v := findTarget(t, ts, prefix).Verdict; v != verdictNotMeasured {
			t.Errorf("%s: verdict %q, want %q", prefix, v, verdictNotMeasured)
		}
	}
}

func largeResults(startupMs, rssMiB float64, flipMs []float64) *Results {
	foot := func(ka float64) *Footprint {
		return &Footprint{RSS: []float64{rssMiB}, KAAll: ka, OtherAll: 40, CPUAll: 3}
	}
	return &Results{
		Groups: []*Group{
			{Impl: "registrar", N: 1, Samples: []LifeSample{{Startup: 50, Dereg: 3}}, Foot: foot(18)},
			{Impl: "registrar", N: large, Samples: []LifeSample{{Startup: startupMs, Dereg: 150}, {Startup: 900, Dereg: 120}},
				Foot: foot(18.2)},
		},
		FlipAmong: &Detection{Mode: "watch", N: large, Down: flipMs, Up: flipMs},
	}
}

func TestTargetsLargeRowVerdictsFollowTheirBounds(t *testing.T) {
	ts := largeResults(1500, 150, []float64{1, 2, 30}).targets()
	for _, prefix := range []string{"etcd N = 10000: exec", "etcd N = 10000: SIGTERM", "etcd N = 10000: RSS",
		"keepalive traffic", "one flip among N = 10000 healthy services (watch), NOT_SERVING"} {
		if v := findTarget(t, ts, prefix).Verdict; v != "met" {
			t.Errorf("%s: verdict %q, want met", prefix, v)
		}
	}
	if v := findTarget(t, ts, "etcd N = 10000: etcd requests/min").Verdict; v != verdictReported {
		t.Errorf("etcd requests at N = 10000: verdict %q, want %q", v, verdictReported)
	}

	ts = largeResults(2500, 250, []float64{4, 6, 7}).targets()
	for _, prefix := range []string{"etcd N = 10000: exec", "etcd N = 10000: RSS",
		"one flip among N = 10000 healthy services (watch), SERVING"} {
		if v := findTarget(t, ts, prefix).Verdict; v != "missed" {
			t.Errorf("%s: verdict %q, want missed", prefix, v)
		}
	}
}

func TestTargetsHeartbeatFloorAndRecordedInJSON(t *testing.T) {
	row := func(impl string, n int, beats float64) *RegRow {
		return &RegRow{Impl: impl, N: n, Startup: []float64{10}, Dereg: []float64{5}, RSS: []float64{20}, ReqPerMin: beats}
	}
	r := &Results{Heartbeat: []*HBResults{{Kind: "eureka", Interval: 10 * time.Second, Rows: []*RegRow{
		row("registrar", 1, 4), row("client", 1, 6),
		row("registrar", 100, 600), row("client", 100, 600),
		row("registrar", 1000, 5000), row("client", 1000, 6000),
	}}}}
	r.Targets = r.targets()
	for prefix, want := range map[string]string{"Eureka N = 1:": verdictReported, "Eureka N = 100:": "met",
		"Eureka N = 1000:": "missed", "Nacos N = 100:": verdictNotMeasured} {
		if v := findTarget(t, r.Targets, prefix).Verdict; v != want {
			t.Errorf("%s: verdict %q, want %q", prefix, v, want)
		}
	}
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(j), `"Verdict":"missed"`) || !strings.Contains(string(j), `"What":"Eureka N = 1000:`) {
		t.Errorf("results.json lacks the targets: %.300s", j)
	}
	if md := r.Markdown(); !strings.Contains(md, "| **missed** |") || !strings.Contains(md, "| **met** |") {
		t.Errorf("the Markdown table does not set the verdicts in bold")
	}
}
