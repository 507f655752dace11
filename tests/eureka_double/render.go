// Eureka's JSON answers (EurekaJacksonCodec): an instance as registered with the server's own
// fields over it (status, overriddenStatus, leaseInfo timestamps, actionType ...), an application
// and the applications of GET /apps with versions__delta and apps__hashcode.
package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// renderInstance: the InstanceInfo object (without the "instance" root). Caller holds r.mu.
func renderInstance(l *lease) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range l.info.raw {
		out[k] = v
	}
	delete(out, "overriddenstatus")
	out["instanceId"] = l.info.id
	out["app"] = l.info.app
	out["status"] = l.info.status
	out["overriddenStatus"] = l.info.overridden
	if _, ok := out["countryId"]; !ok {
		out["countryId"] = 1
	}
	li := map[string]interface{}{}
	if given, ok := l.info.raw["leaseInfo"].(map[string]interface{}); ok {
		for k, v := range given {
			li[k] = v
		}
	}
	if _, ok := li["renewalIntervalInSecs"]; !ok {
		li["renewalIntervalInSecs"] = 30
	}
	li["durationInSecs"] = l.info.duration
	li["registrationTimestamp"] = l.registered
	li["lastRenewalTimestamp"] = l.lastUpdate
	li["evictionTimestamp"] = l.evicted
	li["serviceUpTimestamp"] = l.serviceUp
	out["leaseInfo"] = li
	out["isCoordinatingDiscoveryServer"] = "false"
	out["lastUpdatedTimestamp"] = strconv.FormatInt(l.lastModified, 10)
	dirty := l.info.dirty
	if dirty == 0 {
		dirty = l.registered
	}
	out["lastDirtyTimestamp"] = strconv.FormatInt(dirty, 10)
	out["actionType"] = l.action
	return out
}

func sortedInstances(m map[string]*lease) []map[string]interface{} {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]map[string]interface{}, 0, len(ids))
	for _, id := range ids {
		out = append(out, renderInstance(m[id]))
	}
	return out
}

// renderApplication: {"application": {...}} for one app, or nil when it has no instance.
func (r *registry) renderApplication(app string) map[string]interface{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.apps[app]
	if len(m) == 0 {
		return nil
	}
	return map[string]interface{}{"application": map[string]interface{}{
		"name": app, "instance": sortedInstances(m)}}
}

// renderApplications: {"applications": {...}} with every application and status.
func (r *registry) renderApplications() map[string]interface{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.apps))
	for app := range r.apps {
		names = append(names, app)
	}
	sort.Strings(names)
	apps := []interface{}{}
	counts := map[string]int{}
	for _, app := range names {
		for _, l := range r.apps[app] {
			counts[l.info.status]++
		}
		apps = append(apps, map[string]interface{}{"name": app, "instance": sortedInstances(r.apps[app])})
	}
	return map[string]interface{}{"applications": map[string]interface{}{
		"versions__delta": "1", "apps__hashcode": hashCode(counts), "application": apps}}
}

// hashCode: Applications.getReconcileHashCode(): "STATUS_count_" per status, sorted by status.
func hashCode(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s_%d_", k, counts[k])
	}
	return b.String()
}
