// Namespaces and admin partitions are Consul Enterprise features. A Consul CE agent refuses a
// request that names either, before it looks at anything else the endpoint parses (body
// included): agent/http_ce.go parseEntMeta and parseEntMetaPartition. An empty value is the same
// as none.
package main

import "net/http"

// parseEntMeta checks, in Consul CE's order: the X-Consul-Namespace header, ?ns, the
// X-Consul-Partition header, ?partition.
func parseEntMeta(r *http.Request) error {
	if r.Header.Get("X-Consul-Namespace") != "" {
		return badRequest(`Invalid header: "X-Consul-Namespace" - Namespaces are a Consul Enterprise feature`)
	}
	q := r.URL.Query()
	if q.Get("ns") != "" {
		return badRequest(`Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature`)
	}
	if r.Header.Get("X-Consul-Partition") != "" {
		return badRequest(`Invalid header: "X-Consul-Partition" - Partitions are a Consul Enterprise feature`)
	}
	if q.Get("partition") != "" {
		return badRequest(`Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature`)
	}
	return nil
}
