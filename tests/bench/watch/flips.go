package main

// The measurement common to every registry: flips of one instance's health, each written
// straight to the registry (so only the read side is measured), and the time from the moment the
// write is sent to the line `watch` prints and to the line the peer prints for the same change.
// The registry applies the write somewhere within the write's own round trip (also recorded):
// etcd notifies its watchers before the writer has its answer, so the write's completion would
// come after the change was already printed; its start is the bound that is never late.

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"sort"
	"time"
)

// Scenario is one registry: a writer that flips the instance, `watch` and a peer already
// started and showing the initial set (both instances up).
type Scenario struct {
	Registry  string
	Peer      string // what the peer is, for the report
	Write     func(up bool) error
	Watch     *Child
	PeerProc  *Child
	PeerMatch func(up bool) func(string) bool
}

// Row is the result of one registry.
type Row struct {
	Registry, Peer string
	Flips          int
	WatchMs        []float64 // write sent -> `watch` printed the new set
	PeerMs         []float64 // write sent -> the peer printed the same change
	WriteMs        []float64 // the write's own round trip
	Extra          int       // lines printed beyond one per flip (a set printed twice, an error event)
	Err, Skipped   string
}

// watchSet matches a `watch -o json` set event with n instances (error events do not match).
func watchSet(n int) func(string) bool {
	return func(s string) bool {
		var ev struct {
			Instances *[]json.RawMessage `json:"instances"`
		}
		return json.Unmarshal([]byte(s), &ev) == nil && ev.Instances != nil && len(*ev.Instances) == n
	}
}

// run flips the instance warm+flips times (down first, so both start and end up), measuring the
// last `flips`. A pause of 50-150 ms between flips keeps one change from overlapping the next.
func (sc *Scenario) run(warm, flips int) Row {
	row := Row{Registry: sc.Registry, Peer: sc.Peer, Flips: flips}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := 0; i < warm+flips; i++ {
		up := i%2 == 1
		want := 1
		if up {
			want = 2
		}
		row.Extra += len(sc.Watch.Drain())
		sc.PeerProc.Drain()
		t0 := time.Now()
		if err := sc.Write(up); err != nil {
			row.Err = fmt.Sprintf("flip %d: write: %v", i, err)
			return row
		}
		done := time.Now()
		w, err := sc.Watch.Next(watchSet(want), 10*time.Second)
		if err != nil {
			row.Err = fmt.Sprintf("flip %d (%d instances): watch: %v", i, want, err)
			return row
		}
		p, err := sc.PeerProc.Next(sc.PeerMatch(up), 10*time.Second)
		if err != nil {
			row.Err = fmt.Sprintf("flip %d: peer: %v", i, err)
			return row
		}
		if i >= warm {
			row.WriteMs = append(row.WriteMs, ms(done.Sub(t0)))
			row.WatchMs = append(row.WatchMs, ms(w.T.Sub(t0)))
			row.PeerMs = append(row.PeerMs, ms(p.T.Sub(t0)))
		}
		time.Sleep(time.Duration(50+rng.Intn(100)) * time.Millisecond) // measurement design
	}
	row.Extra += len(sc.Watch.Drain())
	return row
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func max(xs []float64) float64 {
	m := 0.0
	for i, x := range xs {
		if i == 0 || x > m {
			m = x
		}
	}
	return m
}

// within counts the samples at or under bound.
func within(xs []float64, bound float64) int {
	n := 0
	for _, x := range xs {
		if x <= bound {
			n++
		}
	}
	return n
}
