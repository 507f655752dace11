package main

// Statistics, the Markdown report, and splicing it into docs/benchmarks.md.

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

func stats(xs []float64) (min, med, max float64, ok bool) {
	if len(xs) == 0 {
		return 0, 0, 0, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return s[0], med, s[n-1], true
}

func median(xs []float64) float64 { _, m, _, _ := stats(xs); return m }

// num prints a figure with about 3 significant digits.
func num(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// mmm: "min / median / max".
func mmm(xs []float64) string {
	lo, med, hi, ok := stats(xs)
	if !ok {
		return "n/a"
	}
	return num(lo) + " / " + num(med) + " / " + num(hi)
}

func ratio(peer, ours float64) string {
	if ours <= 0 || peer <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1fx", peer/ours)
}

func (r *Results) group(impl string, n int) *Group {
	for _, g := range r.Groups {
		if g.Impl == impl && g.N == n {
			return g
		}
	}
	return nil
}

func (r *Results) implOrder() []struct{ key, label string } {
	var out []struct{ key, label string }
	seen := map[string]bool{}
	for _, g := range r.Groups {
		if !seen[g.Impl] {
			seen[g.Impl] = true
			out = append(out, struct{ key, label string }{g.Impl, g.Label})
		}
	}
	return out
}

func (r *Results) sizes() []int {
	seen := map[int]bool{}
	var out []int
	for _, g := range r.Groups {
		if !seen[g.N] {
			seen[g.N] = true
			out = append(out, g.N)
		}
	}
	sort.Ints(out)
	return out
}

func lifeField(g *Group, startup bool) []float64 {
	if g == nil {
		return nil
	}
	var xs []float64
	for _, s := range g.Samples {
		if startup {
			xs = append(xs, s.Startup)
		} else {
			xs = append(xs, s.Dereg)
		}
	}
	return xs
}

// metStr: a target's verdict as results.json records it; the report sets met and missed in bold.
func metStr(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// Markdown renders the generated section of docs/benchmarks.md.
func (r *Results) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...interface{}) { fmt.Fprintf(&b, format, a...) }
	m := r.Machine
	w("Produced by `%s` on %s, in %s.\n\n", r.Command, r.Started.Format("2006-01-02 15:04 MST"), r.Elapsed)
	w("| machine | |\n|---|---|\n")
	w("| CPUs (nproc) | %d × %s |\n| memory | %s |\n| kernel | %s |\n| OS | %s |\n", m.NProc, m.CPUModel, m.Memory, m.Kernel, m.OS)
	w("| load average at start / end | %s / %s |\n", m.LoadStart, m.LoadEnd)
	w("| compiler, build | %s; `%s` |\n", m.Compiler, m.BuildType)
	w("| versions | grpc-registrar %s; gRPC C++ %s; etcd %s; Go %s (peers and harness) |\n\n", m.Registrar, m.GRPC, m.Etcd, m.Go)
	w("Settings: %s.\n\n", r.Settings)

	// 1. Detection.
	if len(r.Detection) > 0 {
		w("### 1. Detection latency (N = 1, ms: min / median / max)\n\n")
		w("| probe mode | rounds | NOT_SERVING -> key gone | SERVING -> key back |\n|---|---|---|---|\n")
		for _, d := range r.Detection {
			if d.Err != "" && len(d.Down) == 0 {
				w("| %s | 0 | failed: %s | |\n", d.Mode, d.Err)
				continue
			}
			w("| %s | %d | %s | %s |\n", d.Mode, len(d.Down), mmm(d.Down), mmm(d.Up))
		}
		w("\n")
	}
	if f := r.FlipAmong; f != nil {
		w("### 1b. Detection of one flip among N healthy services (N = %d, ms: min / median / max)\n\n", f.N)
		w("The daemon keeps all N registered (probe mode watch); one name at a time, picked at random, is set NOT_SERVING, then SERVING, through the example service's `HealthControl/SetStatus`: from just before that call until the watch response that shows that key gone (back).\n\n")
		w("| N | rounds | NOT_SERVING -> its key gone | SERVING -> its key back | of which the SetStatus call |\n|---|---|---|---|---|\n")
		if f.Err != "" && len(f.Down) == 0 {
			w("| %d | 0 | failed: %s | | |\n\n", f.N, f.Err)
		} else {
			w("| %d | %d | %s | %s | %s |\n\n", f.N, len(f.Down), mmm(f.Down), mmm(f.Up), mmm(f.Call))
		}
	}

	impls := r.implOrder()
	sizes := r.sizes()
	life := func(title string, startup bool) {
		w("### %s (ms: min / median / max over runs)\n\n", title)
		w("| N |")
		for _, im := range impls {
			w(" %s |", im.label)
		}
		for _, im := range impls[1:] {
			w(" %s / registrar (median) |", im.label)
		}
		w("\n|---|")
		for range impls {
			w("---|")
		}
		for range impls[1:] {
			w("---|")
		}
		w("\n")
		for _, n := range sizes {
			w("| %d |", n)
			for _, im := range impls {
				g := r.group(im.key, n)
				switch {
				case g == nil:
					w(" not run |")
				case len(g.Samples) == 0:
					w(" failed |")
				default:
					w(" %s (%d runs) |", mmm(lifeField(g, startup)), len(g.Samples))
				}
			}
			ours := median(lifeField(r.group(impls[0].key, n), startup))
			for _, im := range impls[1:] {
				w(" %s |", ratio(median(lifeField(r.group(im.key, n), startup)), ours))
			}
			w("\n")
		}
		w("\n")
	}
	if len(r.Groups) > 0 && len(impls) > 0 {
		w("A peer is \"not run\" above its largest N (Settings); those rows are the daemon alone.\n\n")
		life("2. Deregistration: SIGTERM -> all N keys gone", false)
		life("3. Start-up: exec -> all N keys registered", true)
	}

	// 4. Footprint.
	hasFoot := false
	for _, g := range r.Groups {
		if g.Foot != nil {
			hasFoot = true
		}
	}
	if hasFoot {
		w("### 4. Footprint at steady state\n\n")
		w("RSS: min / median / max of one sample a second. CPU and etcd requests: min / median / max over %s slices, then (in brackets) over the whole window.\n\n", r.SliceText)
		w("| N | implementation | RSS MiB | of which anonymous (median) | CPU s/min | etcd keepalives/min | other etcd requests/min | etcd's CPU s/min |\n|---|---|---|---|---|---|---|---|\n")
		for _, n := range sizes {
			for _, im := range impls {
				g := r.group(im.key, n)
				if g == nil || g.Foot == nil {
					continue
				}
				f := g.Foot
				w("| %d | %s | %s | %s | %s (%s) | %s (%s) | %s (%s) | %s (%s) |\n", n, im.label, mmm(f.RSS), num(median(f.RSSAnon)),
					mmm(f.CPU), num(f.CPUAll), mmm(f.KA), num(f.KAAll), mmm(f.Other), num(f.OtherAll), mmm(f.EtcdCPU), num(f.EtcdCPUAll))
			}
		}
		w("\nRatios, peer / grpc-registrar (median RSS; CPU and requests over the whole window):\n\n")
		w("| N | peer | RSS | CPU | etcd keepalives | all etcd requests |\n|---|---|---|---|---|---|\n")
		for _, n := range sizes {
			ours := r.group(impls[0].key, n)
			if ours == nil || ours.Foot == nil {
				continue
			}
			for _, im := range impls[1:] {
				g := r.group(im.key, n)
				if g == nil || g.Foot == nil {
					continue
				}
				w("| %d | %s | %s | %s | %s | %s |\n", n, im.label, ratio(median(g.Foot.RSS), median(ours.Foot.RSS)),
					ratio(g.Foot.CPUAll, ours.Foot.CPUAll), ratio(g.Foot.KAAll, ours.Foot.KAAll),
					ratio(g.Foot.KAAll+g.Foot.OtherAll, ours.Foot.KAAll+ours.Foot.OtherAll))
			}
		}
		w("\n")
	}

	// 5. Consul.
	if r.Consul != nil {
		w("### 5. Consul: TTL refreshes against the agent double\n\n")
		if r.Consul.Skipped != "" {
			w("Not measured: %s\n\n", r.Consul.Skipped)
		} else {
			w("check_ttl 10s: each check is due for a refresh every 3333 ms. Interval: between two refreshes of one check in the window. Critical: TTL expiries the double counted in the window / most checks not passing in one sample (one a second).\n\n")
			w("| N | exec -> all registered ms | TTL refresh requests/min | refreshes/min per service | interval median / max ms | intervals within TTL/3 +-10 %% | critical (expired / most not passing) | other agent requests/min | CPU s/min | RSS MiB | SIGTERM -> all gone ms |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
			for _, c := range r.Consul.Rows {
				if c.Err != "" {
					w("| %d | failed: %s | | | | | | | | | |\n", c.N, c.Err)
					continue
				}
				w("| %d | %s | %s | %s | %s / %s | %.1f %% | %d / %d | %s | %s | %s | %s |\n", c.N, num(c.StartMs), num(c.RefreshPerMin), num(c.RefreshPerMin/float64(c.N)),
					num(c.GapMedianMs), num(c.GapMaxMs), 100*c.GapWithin10, c.TTLMissed, c.NotPassingMax, num(c.OtherPerMin), num(c.CPUPerMin), mmm(c.RSS), num(c.GoneMs))
			}
			w("\n")
		}
	}

	// 6. Distinct servers.
	if len(r.Distinct) > 0 {
		w("### 6. Services on distinct servers (etcd, the daemon only)\n\n")
		w("N services, each on a port of its own (one hello-service listening on N ports): N channels, a liveness Check per channel once its server has been silent for `probe.liveness_interval` (10 s by default; the probe interval is 1 s). Compare figure 4's rows for N names on one server.\n\n")
		w("| N | exec -> all registered ms | CPU s/min | RSS MiB |\n|---|---|---|---|\n")
		for _, d := range r.Distinct {
			if d.Err != "" {
				w("| %d | failed: %s | | |\n", d.N, d.Err)
				continue
			}
			w("| %d | %s | %s | %s |\n", d.N, num(d.StartMs), num(d.CPUPerMin), mmm(d.RSS))
		}
		w("\n")
	}

	// 7. ZooKeeper, 8. Eureka and Nacos.
	b.WriteString(r.registriesMarkdown())

	// Targets.
	w("### Targets\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, t := range r.Targets {
		v := t.Verdict
		if v == "met" || v == "missed" {
			v = "**" + v + "**"
		}
		w("| %s | %s | %s |\n", t.What, t.Measured, v)
	}
	w("\n")
	if len(r.Errors) > 0 {
		w("Errors during the run:\n\n")
		for _, e := range r.Errors {
			w("- %s\n", e)
		}
		w("\n")
	}
	return b.String()
}

const (
	beginMarker = "<!-- BEGIN scripts/bench results: generated, do not edit by hand -->"
	endMarker   = "<!-- END scripts/bench results -->"
)

// splice replaces the generated section of the document at path.
func splice(path, section string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i := strings.Index(s, beginMarker)
	j := strings.Index(s, endMarker)
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %q ... %q not found", path, beginMarker, endMarker)
	}
	out := s[:i+len(beginMarker)] + "\n" + section + s[j:]
	return os.WriteFile(path, []byte(out), 0o644)
}
