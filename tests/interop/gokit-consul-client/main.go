// gokit-consul-client proves that what the daemon registers in Consul is read
// correctly the way go-kit's sd/consul Instancer reads it.
//
// Debian bookworm packages neither github.com/hashicorp/consul/api nor go-kit's
// sd/consul (golang-github-go-kit-kit-dev 0.10.0 leaves the discovery backends
// out), so neither can be imported here. This program re-implements the read
// side of go-kit's sd/consul Instancer with net/http, and hands the result out
// through go-kit's real sd.Instancer / sd.Event types (Debian's package):
//
//   - client.Service(name, tag, passingOnly, WaitIndex): what consul/api's
//     Health().Service does: GET /v1/health/service/<name> with tag=<tag> when
//     a tag is given, passing=1 when passingOnly, index=<WaitIndex> when not 0
//     (a blocking query), the ACL token in X-Consul-Token; a status other than
//     200 is an error ("Unexpected response code: ..."); the X-Consul-Index
//     header is the new index.
//   - Instancer: a first query with index 0, then a blocking loop: an error is
//     pushed as an event after an exponential wait; an index of 0 ("not sane")
//     or one that went backwards resets to a non-blocking query; otherwise the
//     instances are pushed and the index kept.
//   - Consul supports one tag per query: the first tag goes to Consul, the
//     others are filtered here (every one must be on the instance).
//   - An instance is Service.Address:Service.Port, or Node.Address:Service.Port
//     when the service has no address.
//   - The sd/internal/instance.Cache semantics: sort, drop duplicate states,
//     push the current state on Register.
//
// Default: take the first event (the current state), print its instances
// sorted, one per line, exit 0. With --expect N: keep taking events until
// there are exactly N instances (exit 0) or --timeout passes (print the last
// state, exit 1). An event carrying an error exits 1 (without --expect).
//
// The ACL token is read from CONSUL_HTTP_TOKEN, never from the command line.
// Exit codes: 0 success, 1 error / not as expected, 2 usage error.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/util/conn"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		addr     = flag.String("consul", "http://127.0.0.1:8500", "the agent's HTTP address")
		service  = flag.String("service", "", "service name")
		tagsFlag = flag.String("tags", "", "tags every instance must have, comma separated; the first goes to Consul")
		passing  = flag.Bool("passing", true, "passing instances only (what go-kit users pass)")
		timeout  = flag.Duration("timeout", 10*time.Second, "overall deadline")
		expect   = flag.Int("expect", -1, "wait until exactly this many instances are reported")
	)
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %v\n", flag.Args())
		return 2
	}
	if *service == "" {
		fmt.Fprintln(os.Stderr, "--service is required")
		return 2
	}
	base := *addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	var tags []string
	for _, t := range strings.Split(*tagsFlag, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}

	time.AfterFunc(*timeout+500*time.Millisecond, func() {
		fmt.Fprintf(os.Stderr, "timed out after %s (agent unreachable?)\n", *timeout)
		os.Exit(1)
	})
	deadline := time.After(*timeout)

	c := &client{base: strings.TrimRight(base, "/"), token: os.Getenv("CONSUL_HTTP_TOKEN"), http: &http.Client{}}
	var instancer sd.Instancer = newInstancer(c, *service, tags, *passing)
	defer instancer.Stop()

	events := make(chan sd.Event, 16)
	instancer.Register(events)

	var last []string
	for {
		var ev sd.Event
		select {
		case ev = <-events:
		default:
			select {
			case ev = <-events:
			case <-deadline:
				for _, i := range last {
					fmt.Println(i)
				}
				if *expect >= 0 {
					fmt.Fprintf(os.Stderr, "instancer reports %d instance(s), expected %d\n", len(last), *expect)
				} else {
					fmt.Fprintln(os.Stderr, "no instancer event before the timeout")
				}
				return 1
			}
		}
		if ev.Err != nil {
			fmt.Fprintf(os.Stderr, "instancer error: %v\n", ev.Err)
			if *expect < 0 {
				return 1
			}
			continue
		}
		last = append([]string(nil), ev.Instances...)
		sort.Strings(last)
		if *expect < 0 || len(last) == *expect {
			for _, i := range last {
				fmt.Println(i)
			}
			return 0
		}
	}
}

// The parts of Consul's /v1/health/service answer that go-kit reads.
type serviceEntry struct {
	Node struct {
		Address string
	}
	Service struct {
		ID      string
		Service string
		Tags    []string
		Address string
		Port    int
	}
}

type client struct {
	base  string
	token string
	http  *http.Client
}

// Service: GET /v1/health/service/<name>, as consul/api's Health().Service.
func (c *client) Service(name, tag string, passingOnly bool, waitIndex uint64) ([]serviceEntry, uint64, error) {
	q := url.Values{}
	if tag != "" {
		q.Set("tag", tag)
	}
	if passingOnly {
		q.Set("passing", "1")
	}
	if waitIndex != 0 {
		q.Set("index", strconv.FormatUint(waitIndex, 10))
	}
	u := c.base + "/v1/health/service/" + url.PathEscape(name)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	if c.token != "" {
		req.Header.Set("X-Consul-Token", c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("Unexpected response code: %d (%s)", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	index, err := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("Failed to parse X-Consul-Index: %v", err)
	}
	var entries []serviceEntry
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, 0, err
	}
	return entries, index, nil
}

var errStopped = errors.New("quit and closed consul instancer")

type instancer struct {
	cache       *cache
	client      *client
	service     string
	tags        []string
	passingOnly bool
	quitc       chan struct{}
}

func newInstancer(c *client, service string, tags []string, passingOnly bool) *instancer {
	s := &instancer{cache: newCache(), client: c, service: service, tags: tags, passingOnly: passingOnly, quitc: make(chan struct{})}
	instances, index, err := s.getInstances(0, nil)
	s.cache.Update(sd.Event{Instances: instances, Err: err})
	go s.loop(index)
	return s
}

func (s *instancer) loop(lastIndex uint64) {
	d := 10 * time.Millisecond
	for {
		instances, index, err := s.getInstances(lastIndex, s.quitc)
		switch {
		case errors.Is(err, errStopped):
			return
		case err != nil:
			time.Sleep(d)
			d = conn.Exponential(d)
			s.cache.Update(sd.Event{Err: err})
		case index == 0:
			time.Sleep(d) // "index is not sane"
			d = conn.Exponential(d)
		case index < lastIndex:
			lastIndex = 0 // went backwards: start again without blocking
			time.Sleep(d)
			d = conn.Exponential(d)
		default:
			lastIndex = index
			s.cache.Update(sd.Event{Instances: instances})
			d = 10 * time.Millisecond
		}
	}
}

func (s *instancer) getInstances(lastIndex uint64, interruptc chan struct{}) ([]string, uint64, error) {
	tag := ""
	if len(s.tags) > 0 {
		tag = s.tags[0]
	}
	type response struct {
		instances []string
		index     uint64
	}
	errc := make(chan error, 1)
	resc := make(chan response, 1)
	go func() {
		entries, index, err := s.client.Service(s.service, tag, s.passingOnly, lastIndex)
		if err != nil {
			errc <- err
			return
		}
		if len(s.tags) > 1 {
			entries = filterEntries(entries, s.tags[1:]...)
		}
		resc <- response{instances: makeInstances(entries), index: index}
	}()
	select {
	case err := <-errc:
		return nil, 0, err
	case res := <-resc:
		return res.instances, res.index, nil
	case <-interruptc:
		return nil, 0, errStopped
	}
}

func (s *instancer) Stop()                         { close(s.quitc) }
func (s *instancer) Register(ch chan<- sd.Event)   { s.cache.Register(ch) }
func (s *instancer) Deregister(ch chan<- sd.Event) { s.cache.Deregister(ch) }

func filterEntries(entries []serviceEntry, tags ...string) []serviceEntry {
	var out []serviceEntry
next:
	for _, e := range entries {
		have := make(map[string]bool, len(e.Service.Tags))
		for _, t := range e.Service.Tags {
			have[t] = true
		}
		for _, t := range tags {
			if !have[t] {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

func makeInstances(entries []serviceEntry) []string {
	instances := make([]string, len(entries))
	for i, e := range entries {
		addr := e.Node.Address
		if e.Service.Address != "" {
			addr = e.Service.Address
		}
		instances[i] = fmt.Sprintf("%s:%d", addr, e.Service.Port)
	}
	return instances
}

// cache: the behaviour of go-kit's sd/internal/instance.Cache (an internal
// package of another project cannot be imported).
type cache struct {
	mtx   sync.Mutex
	state sd.Event
	reg   map[chan<- sd.Event]struct{}
}

func newCache() *cache { return &cache{reg: map[chan<- sd.Event]struct{}{}} }

func (c *cache) Update(event sd.Event) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	sort.Strings(event.Instances)
	if reflect.DeepEqual(c.state, event) {
		return
	}
	c.state = event
	for ch := range c.reg {
		ch <- copyEvent(event)
	}
}

func (c *cache) Register(ch chan<- sd.Event) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	c.reg[ch] = struct{}{}
	ch <- copyEvent(c.state)
}

func (c *cache) Deregister(ch chan<- sd.Event) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	delete(c.reg, ch)
}

func copyEvent(e sd.Event) sd.Event {
	if e.Instances == nil {
		return e
	}
	e.Instances = append([]string(nil), e.Instances...)
	return e
}
