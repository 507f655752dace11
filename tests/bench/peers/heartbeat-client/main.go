// heartbeat-client is a benchmark peer: it keeps N instances registered in Eureka or Nacos with
// a minimal client per instance, the way a go-kit-style program (one registrar, so one HTTP
// client, per instance) does, so that the daemon's Eureka and Nacos backends can be measured
// side by side with it. It is not part of the product. Go, standard library only.
//
// Per instance, one after the other at start:
//
//   - its own http.Client with its own Transport, so its own connection pool: with keep-alive
//     (the default) one connection per instance, reused for every request; with
//     --no-keepalive a new connection per request (what a script calling curl does);
//   - eureka: POST <url>/apps/<APP> (the instance, UP, leaseInfo with --interval), then PUT
//     <url>/apps/<APP>/<id> every --interval (the renew go-kit's sd/eureka, through fargo,
//     sends from its heartbeat loop);
//   - nacos: POST /nacos/v1/ns/instance, then PUT /nacos/v1/ns/instance/beat with the BeatInfo,
//     again after the clientBeatInterval the server answered (what Nacos's BeatReactor does);
//   - on SIGTERM/SIGINT, one instance after the other: eureka DELETE <url>/apps/<APP>/<id>,
//     nacos DELETE /nacos/v1/ns/instance.
//
// Instance i is the service <name-prefix><i> (Eureka app upper-cased, id <name-prefix><i>) at
// --addr. stdout: "registered N" once every registration has been answered, "deregistered N"
// after the teardown. Exit codes: 0 ok, 1 a request failed, 2 usage.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type instance struct {
	name, host string
	port       int
	cli        *http.Client
	stop       chan struct{}
}

type peer struct {
	kind, base string
	interval   time.Duration
	wg         sync.WaitGroup
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		kind       = flag.String("kind", "", "eureka or nacos")
		base       = flag.String("url", "", "eureka: the service URL (http://H:P/eureka); nacos: http://H:P")
		namePrefix = flag.String("name-prefix", "svc-", "instance i is the service <name-prefix><i>")
		services   = flag.Int("services", 1, "number of instances")
		addr       = flag.String("addr", "127.0.0.1:50051", "every instance's host:port")
		interval   = flag.Duration("interval", 30*time.Second, "eureka: renewal interval (nacos: the server's answer)")
		noKA       = flag.Bool("no-keepalive", false, "a new connection per request")
		timeout    = flag.Duration("timeout", 5*time.Second, "deadline of each request")
	)
	flag.Parse()
	host, portText, err := net.SplitHostPort(*addr)
	port, err2 := strconv.Atoi(portText)
	if flag.NArg() != 0 || (*kind != "eureka" && *kind != "nacos") || *base == "" || err != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "usage: heartbeat-client --kind eureka|nacos --url U [--services N] [--addr H:P] ...")
		return 2
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	p := &peer{kind: *kind, base: strings.TrimRight(*base, "/"), interval: *interval}
	var insts []*instance
	for i := 0; i < *services; i++ {
		in := &instance{name: fmt.Sprintf("%s%d", *namePrefix, i), host: host, port: port, stop: make(chan struct{}),
			cli: &http.Client{Timeout: *timeout, Transport: &http.Transport{DisableKeepAlives: *noKA, MaxIdleConnsPerHost: 1}}}
		next, err := p.register(in)
		if err != nil {
			fmt.Fprintf(os.Stderr, "register %s: %v\n", in.name, err)
			return 1
		}
		insts = append(insts, in)
		p.wg.Add(1)
		go p.heartbeat(in, next)
	}
	fmt.Printf("registered %d\n", len(insts))

	<-sigs
	failed := 0
	for _, in := range insts {
		close(in.stop)
		if err := p.deregister(in); err != nil {
			fmt.Fprintf(os.Stderr, "deregister %s: %v\n", in.name, err)
			failed++
		}
	}
	p.wg.Wait()
	fmt.Printf("deregistered %d\n", len(insts)-failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// do sends one request and reads the whole answer (so that the connection can be reused).
func do(cli *http.Client, method, target, ctype, body string) ([]byte, error) {
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := cli.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return b, fmt.Errorf("%s %s: HTTP %d %s", method, target, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return b, nil
}

func (p *peer) eurekaTarget(in *instance) string {
	return p.base + "/apps/" + strings.ToUpper(in.name) + "/" + url.PathEscape(in.name)
}

func (p *peer) nacosForm(in *instance) url.Values {
	return url.Values{"serviceName": {in.name}, "ip": {in.host}, "port": {strconv.Itoa(in.port)}, "ephemeral": {"true"}}
}

// register returns when the first heartbeat is due.
func (p *peer) register(in *instance) (time.Duration, error) {
	if p.kind == "eureka" {
		secs := int(p.interval / time.Second)
		body, _ := json.Marshal(map[string]interface{}{"instance": map[string]interface{}{
			"instanceId": in.name, "hostName": in.host, "app": strings.ToUpper(in.name), "ipAddr": in.host,
			"vipAddress": in.name, "status": "UP", "port": map[string]interface{}{"$": in.port, "@enabled": "true"},
			"dataCenterInfo": map[string]string{"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
			"leaseInfo":      map[string]int{"renewalIntervalInSecs": secs, "durationInSecs": 3 * secs},
		}})
		_, err := do(in.cli, "POST", p.base+"/apps/"+strings.ToUpper(in.name), "application/json", string(body))
		return p.interval, err
	}
	f := p.nacosForm(in)
	f.Set("weight", "1")
	f.Set("enabled", "true")
	f.Set("healthy", "true")
	_, err := do(in.cli, "POST", p.base+"/nacos/v1/ns/instance", "application/x-www-form-urlencoded", f.Encode())
	if err != nil {
		return 0, err
	}
	return p.beat(in) // Nacos's client sends its first beat at once to learn the interval
}

// beat sends one heartbeat and returns when the next is due.
func (p *peer) beat(in *instance) (time.Duration, error) {
	if p.kind == "eureka" {
		_, err := do(in.cli, "PUT", p.eurekaTarget(in), "", "")
		return p.interval, err
	}
	info, _ := json.Marshal(map[string]interface{}{"cluster": "DEFAULT", "ip": in.host, "port": in.port,
		"weight": 1, "serviceName": "DEFAULT_GROUP@@" + in.name, "metadata": map[string]string{},
		"scheduled": false, "period": 5000, "stopped": false})
	b, err := do(in.cli, "PUT", p.base+"/nacos/v1/ns/instance/beat?"+p.nacosForm(in).Encode(),
		"application/x-www-form-urlencoded", url.Values{"beat": {string(info)}}.Encode())
	if err != nil {
		return 5 * time.Second, err
	}
	var ans struct {
		ClientBeatInterval int64 `json:"clientBeatInterval"`
	}
	if json.Unmarshal(b, &ans) != nil || ans.ClientBeatInterval <= 0 {
		return 5 * time.Second, nil
	}
	return time.Duration(ans.ClientBeatInterval) * time.Millisecond, nil
}

func (p *peer) heartbeat(in *instance, next time.Duration) {
	defer p.wg.Done()
	t := time.NewTimer(next)
	defer t.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-t.C:
			d, err := p.beat(in)
			if err != nil {
				fmt.Fprintf(os.Stderr, "heartbeat %s: %v\n", in.name, err)
			}
			t.Reset(d)
		}
	}
}

func (p *peer) deregister(in *instance) error {
	if p.kind == "eureka" {
		_, err := do(in.cli, "DELETE", p.eurekaTarget(in), "", "")
		return err
	}
	_, err := do(in.cli, "DELETE", p.base+"/nacos/v1/ns/instance?"+p.nacosForm(in).Encode(), "", "")
	return err
}
