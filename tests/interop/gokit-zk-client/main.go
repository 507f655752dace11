// gokit-zk-client reads what grpc-registrar wrote in ZooKeeper (format: gokit) the way go-kit's
// sd/zk Instancer does: the children of the service's path, watched, and each child's data as one
// instance string ("host:port"), read again on every change. Debian's go-kit has no sd/zk, so
// this is its documented read side on Debian's go-zookeeper (the client go-kit's sd/zk used).
// Unlike go-kit's Instancer it does not create the path when it is missing (it waits for it),
// so that reading leaves the registry as the daemon made it.
//
// It prints "INSTANCES a,b" (sorted; "INSTANCES " when there are none) at start and after each
// change, on stdout, until killed. Flags: -servers host:port[,...] -path /services/<name>.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/samuel/go-zookeeper/zk"
)

func main() {
	servers := flag.String("servers", "", "ZooKeeper servers, host:port[,...]")
	path := flag.String("path", "", "the service's node, e.g. /services/hello")
	flag.Parse()
	if *servers == "" || *path == "" {
		fmt.Fprintln(os.Stderr, "-servers and -path are required")
		os.Exit(2)
	}
	conn, _, err := zk.Connect(strings.Split(*servers, ","), 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	last := ""
	for {
		var events <-chan zk.Event
		instances := []string{}
		children, _, ch, err := conn.ChildrenW(*path)
		if err == zk.ErrNoNode {
			_, _, ch, err = conn.ExistsW(*path)
		} else if err == nil {
			for _, c := range children {
				data, _, gerr := conn.Get(*path + "/" + c)
				if gerr == nil {
					instances = append(instances, string(data))
				}
			}
		}
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		events = ch
		sort.Strings(instances)
		now := "INSTANCES " + strings.Join(instances, ",")
		if now != last {
			fmt.Println(now)
			last = now
		}
		<-events
	}
}
