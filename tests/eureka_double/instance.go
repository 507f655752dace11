// The InstanceInfo a client registers: decoding the JSON body of POST /apps/{APP} as Eureka's
// Jackson codec does (EurekaJacksonCodec: root-wrapped in "instance", unknown fields ignored,
// the app name upper-cased by InstanceInfo.Builder) and the checks of
// ApplicationResource.addInstance, in Eureka's order and with Eureka's texts.
package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The statuses of InstanceInfo.InstanceStatus; any other text reads as UNKNOWN (toEnum).
var knownStatuses = map[string]bool{
	"UP": true, "DOWN": true, "STARTING": true, "OUT_OF_SERVICE": true, "UNKNOWN": true,
}

func toStatus(s string) string {
	if knownStatuses[s] {
		return s
	}
	return "UNKNOWN"
}

// The names of DataCenterInfo.Name.
var dataCenterNames = map[string]bool{"Netflix": true, "Amazon": true, "MyOwn": true}

type instance struct {
	raw        map[string]interface{} // the registered object, rendered back with the server's fields
	id         string                 // InstanceInfo.getId(): instanceId, else hostName (MyOwn)
	hostName   string
	ipAddr     string
	app        string // upper case
	status     string
	overridden string // overriddenStatus ("overriddenstatus" in old clients), UNKNOWN if absent
	duration   int    // leaseInfo.durationInSecs, 90 when absent or not positive
	dirty      int64  // lastDirtyTimestamp; the time of decoding when absent
	dcPresent  bool
	dcName     string // "" when the dataCenterInfo has no name
}

// errUnparseable is what Eureka's DiscoveryJerseyProvider answers for a body its codec cannot
// read: 400 with no entity.
type errUnparseable struct{ why string }

func (e errUnparseable) Error() string { return e.why }

func str(m map[string]interface{}, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func decodeInstance(body []byte) (*instance, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(body, &root); err != nil {
		return nil, errUnparseable{"not a JSON object: " + err.Error()}
	}
	wrapped, ok := root["instance"]
	if !ok || len(root) != 1 {
		return nil, errUnparseable{"root name is not 'instance'"}
	}
	var raw map[string]interface{}
	if err := json.Unmarshal(wrapped, &raw); err != nil || raw == nil {
		return nil, errUnparseable{"'instance' is not an object"}
	}
	in := &instance{raw: raw, hostName: str(raw, "hostName"), ipAddr: str(raw, "ipAddr"),
		app: strings.ToUpper(str(raw, "app")), status: "UP", overridden: "UNKNOWN", duration: 90}
	if s := str(raw, "status"); s != "" {
		in.status = toStatus(s)
	}
	for _, k := range []string{"overriddenStatus", "overriddenstatus"} {
		if s := str(raw, k); s != "" {
			in.overridden = toStatus(s)
		}
	}
	in.id = str(raw, "instanceId")
	if in.id == "" {
		in.id = in.hostName
	}
	// Absent, it is the time the server built the InstanceInfo (its constructor's default).
	in.dirty = nowMs()
	if d, ok := raw["lastDirtyTimestamp"]; ok {
		if n, err := strconv.ParseInt(fmt.Sprint(d), 10, 64); err == nil {
			in.dirty = n
		}
	}
	if li, ok := raw["leaseInfo"].(map[string]interface{}); ok {
		if n, err := strconv.Atoi(str(li, "durationInSecs")); err == nil && n > 0 {
			in.duration = n
		}
	}
	if err := decodePort(raw, "port"); err != nil {
		return nil, err
	}
	if err := decodePort(raw, "securePort"); err != nil {
		return nil, err
	}
	return in, decodeDataCenter(raw, in)
}

// port / securePort: {"$": N, "@enabled": "true"}; N a number or a numeric string.
func decodePort(raw map[string]interface{}, key string) error {
	v, ok := raw[key]
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return errUnparseable{key + " is not an object"}
	}
	if p, ok := m["$"]; ok {
		if _, err := strconv.Atoi(fmt.Sprint(p)); err != nil {
			return errUnparseable{key + ".$ is not an integer"}
		}
	}
	return nil
}

// dataCenterInfo is polymorphic on "@class" (DataCenterTypeInfoResolver): without it the codec
// fails; its "name" is the enum DataCenterInfo.Name.
func decodeDataCenter(raw map[string]interface{}, in *instance) error {
	v, ok := raw["dataCenterInfo"]
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return errUnparseable{"dataCenterInfo is not an object"}
	}
	if _, ok := m["@class"].(string); !ok {
		return errUnparseable{"dataCenterInfo has no @class"}
	}
	in.dcPresent = true
	if n, ok := m["name"]; ok && n != nil {
		s, _ := n.(string)
		if !dataCenterNames[s] {
			return errUnparseable{"dataCenterInfo.name is not Netflix, Amazon or MyOwn"}
		}
		in.dcName = s
	}
	return nil
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// validate: ApplicationResource.addInstance, for the upper-cased application of the path.
// Returns "" when the registration is accepted, else the text of the 400 answer.
func (in *instance) validate(pathApp string) string {
	switch {
	case blank(in.id):
		return "Missing instanceId"
	case blank(in.hostName):
		return "Missing hostname"
	case blank(in.ipAddr):
		return "Missing ip address"
	case blank(in.app):
		return "Missing appName"
	case pathApp != in.app:
		return "Mismatched appName, expecting " + pathApp + " but was " + in.app
	case !in.dcPresent:
		return "Missing dataCenterInfo"
	case in.dcName == "":
		return "Missing dataCenterInfo Name"
	}
	return ""
}
