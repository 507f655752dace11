package main

// Consul: the agent double (tests/consul_double) on a free port. Both instances are registered
// with a TTL check; a flip is the check's `fail` or `pass` (what a health change is in Consul),
// so the instance leaves or rejoins `?passing`. The peer is this program run as
// `watch-bench consul-peer URL NAME`: a minimal blocking-query loop with go-kit's index rules.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

var httpClient = &http.Client{Timeout: 40 * time.Second}

func consulPut(base, path string, body []byte) error {
	req, err := http.NewRequest(http.MethodPut, base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("PUT %s: HTTP %d %s", path, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

func consulRegister(base, id string, port int) error {
	body := fmt.Sprintf(`{"ID":%q,"Name":%q,"Address":"127.0.0.1","Port":%d,`+
		`"Check":{"TTL":"10m","Status":"passing"}}`, id, serviceName, port)
	return consulPut(base, "/v1/agent/service/register", []byte(body))
}

func writeConsulManifest(path, agent string) error {
	return os.WriteFile(path, []byte(fmt.Sprintf(`registry:
  kind: consul
  consul:
    address: %s
services:
  - {name: %s, address: 127.0.0.1, port: 50051}
`, agent, serviceName)), 0o644)
}

// consulRow measures Consul: hello-a stays passing, hello-b's check flips.
func (b *Bench) consulRow() Row {
	row := Row{Registry: "Consul (agent double)", Peer: "blocking-query loop (Go, go-kit's index rules)"}
	double, err := startChild("consul-double", b.cfg.workDir, b.cfg.consulDouble, "--listen", "127.0.0.1:0")
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer double.Stop()
	line, err := double.Next(startsWith("listening on "), 15*time.Second)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	agent := strings.TrimSpace(strings.TrimPrefix(line.Text, "listening on "))
	base := "http://" + agent
	err = consulRegister(base, "hello-a", 50051)
	if err == nil {
		err = consulRegister(base, "hello-b", 50052)
	}
	manifest := filepath.Join(b.cfg.workDir, "consul.yaml")
	if err == nil {
		err = writeConsulManifest(manifest, agent)
	}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	self, err := os.Executable()
	if err != nil {
		row.Err = err.Error()
		return row
	}
	peer, err := startChild("consul-peer", b.cfg.workDir, self, "consul-peer", base, serviceName)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer peer.Stop()
	if _, err := peer.Next(startsWith("set 2 "), 10*time.Second); err != nil {
		row.Err = err.Error()
		return row
	}
	sc := &Scenario{
		Registry: row.Registry, Peer: row.Peer, PeerProc: peer,
		Write: func(up bool) error {
			if up {
				return consulPut(base, "/v1/agent/check/pass/service:hello-b", nil)
			}
			return consulPut(base, "/v1/agent/check/fail/service:hello-b", nil)
		},
		PeerMatch: func(up bool) func(string) bool {
			if up {
				return startsWith("set 2 ")
			}
			return startsWith("set 1 ")
		},
	}
	return b.runScenario(sc, manifest)
}

// consulPeer is the peer's process: GET /v1/health/service/NAME?passing as a blocking query,
// with go-kit's rules (sd/consul instancer.go): wait on the last X-Consul-Index, start over
// from 0 when it goes backwards, never wait on 0. It prints "set N id..." whenever the passing
// set differs from the last one printed. Bounded: it ends after 100,000 queries or on SIGTERM.
func consulPeer(base, name string) int {
	var index uint64
	last := ""
	for i := 0; i < 100000; i++ {
		url := fmt.Sprintf("%s/v1/health/service/%s?passing=1&wait=30s&index=%d", base, name, index)
		resp, err := httpClient.Get(url)
		if err != nil {
			fmt.Fprintln(os.Stderr, "consul-peer:", err)
			time.Sleep(100 * time.Millisecond) // retry pace after an error
			index = 0
			continue
		}
		var entries []struct {
			Service struct{ ID string }
		}
		err = json.NewDecoder(resp.Body).Decode(&entries)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			fmt.Fprintf(os.Stderr, "consul-peer: HTTP %d %v\n", resp.StatusCode, err)
			time.Sleep(100 * time.Millisecond)
			index = 0
			continue
		}
		next, _ := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
		switch {
		case next < index:
			index = 0
		case next == 0:
			index = 1
		default:
			index = next
		}
		ids := make([]string, 0, len(entries))
		for _, e := range entries {
			ids = append(ids, e.Service.ID)
		}
		sort.Strings(ids)
		set := fmt.Sprintf("set %d %s", len(ids), strings.Join(ids, ","))
		if set != last {
			fmt.Println(set) // os.Stdout is unbuffered: one write per line
			last = set
		}
	}
	return 0
}
