// Request bodies, decoded as Consul decodes them: lib.DecodeJSON (encoding/json with
// DisallowUnknownFields, keys matched case-insensitively), the snake_case aliases of
// structs.ServiceDefinition and structs.CheckType, and durations given as a Go duration string
// or a number of nanoseconds. Validation texts follow agent/agent_endpoint.go,
// agent/structs/check_type.go and agent/structs/structs.go.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// decodeStrict is lib.DecodeJSON: the first JSON value of the body, unknown fields refused.
func decodeStrict(r io.Reader, out interface{}) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}

// durationField is CheckType.UnmarshalJSON's handling of Interval/Timeout/TTL/
// DeregisterCriticalServiceAfter: a string goes through time.ParseDuration, a number is
// nanoseconds, anything else is ignored.
func durationField(v interface{}) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		return time.ParseDuration(x)
	case float64:
		return time.Duration(x), nil
	}
	return 0, nil
}

// checkTypeJSON lists every key structs.CheckType (and its UnmarshalJSON aux struct) accepts.
type checkTypeJSON struct {
	CheckID                        string
	Name                           string
	Status                         string
	Notes                          string
	ScriptArgs                     []string
	HTTP                           string
	H2PING                         string
	H2PingUseTLS                   bool
	Header                         map[string][]string
	Method                         string
	Body                           string
	DisableRedirects               bool
	TCP                            string
	UDP                            string
	Interval                       interface{}
	AliasNode                      string
	AliasService                   string
	DockerContainerID              string
	Shell                          string
	GRPC                           string
	GRPCUseTLS                     bool
	OSService                      string
	TLSServerName                  string
	TLSSkipVerify                  bool
	Timeout                        interface{}
	TTL                            interface{}
	SuccessBeforePassing           int
	FailuresBeforeWarning          int
	FailuresBeforeCritical         int
	ProxyHTTP                      string
	ProxyGRPC                      string
	DeregisterCriticalServiceAfter interface{}
	OutputMaxSize                  int

	Args                                []string    `json:"args"`
	ScriptArgsSnake                     []string    `json:"script_args"`
	DeregisterCriticalServiceAfterSnake interface{} `json:"deregister_critical_service_after"`
	DockerContainerIDSnake              string      `json:"docker_container_id"`
	TLSServerNameSnake                  string      `json:"tls_server_name"`
	TLSSkipVerifySnake                  bool        `json:"tls_skip_verify"`
	GRPCUseTLSSnake                     bool        `json:"grpc_use_tls"`
	H2PingUseTLSSnake                   bool        `json:"h2ping_use_tls"`
	ServiceID                           string      `json:"ServiceID"`
	ServiceIDSnake                      string      `json:"service_id"`
}

// checkType is the decoded check, durations resolved.
type checkType struct {
	CheckID                        string
	Name                           string
	Status                         string
	Notes                          string
	ScriptArgs                     []string
	HTTP, H2PING, TCP, UDP, GRPC   string
	OSService                      string
	AliasNode, AliasService        string
	DockerContainerID              string
	Interval, Timeout, TTL         time.Duration
	DeregisterCriticalServiceAfter time.Duration
	OutputMaxSize                  int
	SuccessBeforePassing           int
	FailuresBeforeWarning          int
	FailuresBeforeCritical         int
	other                          bool // any other field set (Header, Method, TLS...)
}

func (t *checkType) UnmarshalJSON(data []byte) error {
	var aux checkTypeJSON
	if err := decodeStrict(bytes.NewReader(data), &aux); err != nil {
		return err
	}
	*t = checkType{
		CheckID:                aux.CheckID,
		Name:                   aux.Name,
		Status:                 aux.Status,
		Notes:                  aux.Notes,
		ScriptArgs:             aux.ScriptArgs,
		HTTP:                   aux.HTTP,
		H2PING:                 aux.H2PING,
		TCP:                    aux.TCP,
		UDP:                    aux.UDP,
		GRPC:                   aux.GRPC,
		OSService:              aux.OSService,
		AliasNode:              aux.AliasNode,
		AliasService:           aux.AliasService,
		DockerContainerID:      aux.DockerContainerID,
		OutputMaxSize:          aux.OutputMaxSize,
		SuccessBeforePassing:   aux.SuccessBeforePassing,
		FailuresBeforeWarning:  aux.FailuresBeforeWarning,
		FailuresBeforeCritical: aux.FailuresBeforeCritical,
	}
	if len(t.ScriptArgs) == 0 {
		t.ScriptArgs = aux.Args
	}
	if len(t.ScriptArgs) == 0 {
		t.ScriptArgs = aux.ScriptArgsSnake
	}
	if t.DockerContainerID == "" {
		t.DockerContainerID = aux.DockerContainerIDSnake
	}
	if aux.DeregisterCriticalServiceAfter == nil {
		aux.DeregisterCriticalServiceAfter = aux.DeregisterCriticalServiceAfterSnake
	}
	var err error
	if t.Interval, err = durationField(aux.Interval); err != nil {
		return err
	}
	if t.Timeout, err = durationField(aux.Timeout); err != nil {
		return err
	}
	if t.TTL, err = durationField(aux.TTL); err != nil {
		return err
	}
	if t.DeregisterCriticalServiceAfter, err = durationField(aux.DeregisterCriticalServiceAfter); err != nil {
		return err
	}
	t.other = aux.H2PingUseTLS || aux.Header != nil || aux.Method != "" || aux.Body != "" ||
		aux.DisableRedirects || aux.Shell != "" || aux.GRPCUseTLS || aux.TLSServerName != "" ||
		aux.TLSSkipVerify || aux.ProxyHTTP != "" || aux.ProxyGRPC != "" ||
		aux.TLSServerNameSnake != "" || aux.TLSSkipVerifySnake || aux.GRPCUseTLSSnake ||
		aux.H2PingUseTLSSnake
	return nil
}

// empty is CheckType.Empty: reflect.DeepEqual with the zero CheckType, so a slice or map that
// is present but empty (`"Header": {}`, `"script_args": []`) makes the check non-empty.
func (t *checkType) empty() bool {
	return t.CheckID == "" && t.Name == "" && t.Status == "" && t.Notes == "" &&
		t.ScriptArgs == nil && t.HTTP == "" && t.H2PING == "" && t.TCP == "" && t.UDP == "" &&
		t.GRPC == "" && t.OSService == "" && t.AliasNode == "" && t.AliasService == "" &&
		t.DockerContainerID == "" && t.Interval == 0 && t.Timeout == 0 && t.TTL == 0 &&
		t.DeregisterCriticalServiceAfter == 0 && t.OutputMaxSize == 0 &&
		t.SuccessBeforePassing == 0 && t.FailuresBeforeWarning == 0 &&
		t.FailuresBeforeCritical == 0 && !t.other
}

func (t *checkType) isAlias() bool { return t.AliasNode != "" || t.AliasService != "" }

func (t *checkType) intervalCheck() bool {
	return len(t.ScriptArgs) > 0 || t.HTTP != "" || t.TCP != "" || t.UDP != "" || t.GRPC != "" ||
		t.H2PING != "" || t.OSService != ""
}

// validate is CheckType.Validate.
func (t *checkType) validate() error {
	interval := t.intervalCheck()
	if t.Interval > 0 && t.TTL > 0 {
		return fmt.Errorf("Interval and TTL cannot both be specified")
	}
	if interval && t.Interval <= 0 {
		return fmt.Errorf("Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks")
	}
	if interval && t.isAlias() {
		return fmt.Errorf("Interval cannot be set for Alias checks")
	}
	if t.isAlias() && t.TTL > 0 {
		return fmt.Errorf("TTL must be not be set for Alias checks")
	}
	if !interval && !t.isAlias() && t.TTL <= 0 {
		return fmt.Errorf("TTL must be > 0 for TTL checks")
	}
	if t.OutputMaxSize < 0 {
		return fmt.Errorf("MaxOutputMaxSize must be positive")
	}
	if t.FailuresBeforeWarning > t.FailuresBeforeCritical {
		return fmt.Errorf("FailuresBeforeWarning can't be higher than FailuresBeforeCritical")
	}
	return nil
}

func (t *checkType) kind() string {
	switch {
	case t.GRPC != "":
		return "grpc"
	case t.HTTP != "":
		return "http"
	case t.TTL > 0:
		return "ttl"
	case t.TCP != "":
		return "tcp"
	case t.UDP != "":
		return "udp"
	case t.isAlias():
		return "alias"
	case t.DockerContainerID != "":
		return "docker"
	case len(t.ScriptArgs) > 0:
		return "script"
	case t.H2PING != "":
		return "h2ping"
	case t.OSService != "":
		return "os_service"
	}
	return ""
}

// serviceDefinitionJSON lists every key structs.ServiceDefinition (Consul CE, whose
// EnterpriseMeta has no fields) accepts, with its UnmarshalJSON snake_case aliases.
type serviceDefinitionJSON struct {
	Kind              string
	ID                string
	Name              string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]serviceAddress
	Meta              map[string]string
	Port              int
	SocketPath        string
	Check             checkType
	Checks            []*checkType
	Weights           *weights
	Token             string
	EnableTagOverride bool
	Locality          *locality // since Consul 1.17
	Proxy             json.RawMessage
	Connect           json.RawMessage

	EnableTagOverrideSnake bool                      `json:"enable_tag_override"`
	TaggedAddressesSnake   map[string]serviceAddress `json:"tagged_addresses"`
}

func (w *weights) UnmarshalJSON(data []byte) error {
	type plain weights
	var p plain
	if err := decodeStrict(bytes.NewReader(data), &p); err != nil {
		return err
	}
	*w = weights(p)
	return nil
}

func (l *locality) UnmarshalJSON(data []byte) error {
	type plain locality
	var p plain
	if err := decodeStrict(bytes.NewReader(data), &p); err != nil {
		return err
	}
	*l = locality(p)
	return nil
}

func (a *serviceAddress) UnmarshalJSON(data []byte) error {
	type plain serviceAddress
	var p plain
	if err := decodeStrict(bytes.NewReader(data), &p); err != nil {
		return err
	}
	*a = serviceAddress(p)
	return nil
}

// ipaddr.IsAny.
func isAnyAddress(addr string) bool {
	return addr == "0.0.0.0" || addr == "::" || addr == "[::]"
}

// Constants of agent/structs/structs.go's metadata validation.
const (
	metaMaxKeyPairs       = 64
	metaKeyMaxLength      = 128
	metaValueMaxLength    = 512
	metaKeyReservedPrefix = "consul-"
)

var metaKeyFormat = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// validateServiceMeta is structs.ValidateServiceMetadata for a typical service.
func validateServiceMeta(meta map[string]string) error {
	if len(meta) > metaMaxKeyPairs {
		return fmt.Errorf("Node metadata cannot contain more than %d key/value pairs", metaMaxKeyPairs)
	}
	for key, value := range meta {
		var err error
		switch {
		case key == "":
			err = fmt.Errorf("Key cannot be blank")
		case !metaKeyFormat.MatchString(key):
			err = fmt.Errorf("Key contains invalid characters")
		case len(key) > metaKeyMaxLength:
			err = fmt.Errorf("Key is too long (limit: %d characters)", metaKeyMaxLength)
		case strings.HasPrefix(key, metaKeyReservedPrefix):
			err = fmt.Errorf("Key prefix '%s' is reserved for internal use", metaKeyReservedPrefix)
		case len(value) > metaValueMaxLength:
			err = fmt.Errorf("Value is too long (limit: %d characters)", metaValueMaxLength)
		}
		if err != nil {
			return fmt.Errorf("Couldn't load metadata pair ('%s', '%s'): %s", key, value, err)
		}
	}
	return nil
}

// validateWeights is structs.ValidateWeights.
func validateWeights(w *weights) error {
	if w == nil {
		return nil
	}
	if w.Passing < 1 {
		return fmt.Errorf("Passing must be greater than 0")
	}
	if w.Warning < 0 {
		return fmt.Errorf("Warning must be greater or equal than 0")
	}
	if w.Passing > 65535 || w.Warning > 65535 {
		return fmt.Errorf("DNS Weight must be between 0 and 65535")
	}
	return nil
}

func validStatus(s string) bool {
	return s == statusPassing || s == statusWarning || s == statusCritical
}

// checkUpdateJSON is the body of PUT /v1/agent/check/update/:check_id.
type checkUpdateJSON struct {
	Status string
	Output string
}
