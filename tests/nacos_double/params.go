// Request parameters and error answers as Nacos's web layer makes them: WebUtils.required /
// optional over getParameter (query string and form body alike, the first value wins),
// ServiceNameFilter (a serviceName without "@@" gets groupName, default DEFAULT_GROUP, in front),
// and ResponseExceptionHandler (an IllegalArgumentException answers 400, a NacosException its
// errCode, both with ExceptionUtil.getAllExceptionMsg: "caused: <message>;").
package main

import (
	"net/http"
	"strings"
)

const (
	defaultNamespace = "public"
	defaultGroup     = "DEFAULT_GROUP"
	defaultCluster   = "DEFAULT"
	groupSeparator   = "@@"
)

// apiError is a Java exception on its way to ResponseExceptionHandler.
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return e.message }

// illegalArgument: IllegalArgumentException (NumberFormatException included), 400.
func illegalArgument(msg string) *apiError { return &apiError{http.StatusBadRequest, msg} }

// invalidParam: NacosException with NacosException.INVALID_PARAM (400).
func invalidParam(msg string) *apiError { return &apiError{http.StatusBadRequest, msg} }

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte("caused: " + e.message + ";"))
}

type params struct {
	r *http.Request
}

func (p params) has(key string) bool {
	_, ok := p.r.Form[key]
	return ok
}

// required: WebUtils.required ("Param 'x' is required." when absent or empty).
func (p params) required(key string) (string, *apiError) {
	v := p.r.Form.Get(key)
	if v == "" {
		return "", illegalArgument("Param '" + key + "' is required.")
	}
	return strings.TrimSpace(v), nil
}

func (p params) optional(key, def string) string {
	if !p.has(key) {
		return def
	}
	return strings.TrimSpace(p.r.Form.Get(key))
}

// serviceName: the grouped name ServiceNameFilter hands the controllers, checked as
// NamingUtils.checkServiceNameFormat does.
func (p params) serviceName() (string, *apiError) {
	name, err := p.required("serviceName")
	if err != nil {
		return "", err
	}
	if !strings.Contains(name, groupSeparator) {
		group := p.optional("groupName", "")
		if group == "" {
			group = defaultGroup
		}
		name = group + groupSeparator + name
	}
	parts := strings.Split(name, groupSeparator)
	for len(parts) > 0 && parts[len(parts)-1] == "" { // Java's String.split drops trailing empties
		parts = parts[:len(parts)-1]
	}
	if len(parts) <= 1 {
		return "", illegalArgument(
			"Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'")
	}
	return name, nil
}

func (p params) namespace() string {
	ns := p.optional("namespaceId", defaultNamespace)
	if ns == "" {
		return defaultNamespace
	}
	return ns
}

// cluster: clusterName, else cluster, else DEFAULT (InstanceController.getBasicIpAddress).
func (p params) cluster() string {
	if c := p.optional("clusterName", ""); c != "" {
		return c
	}
	if c := p.optional("cluster", ""); c != "" {
		return c
	}
	return defaultCluster
}

// toBoolean: commons-lang BooleanUtils.toBoolean ("true", "on", "yes", "y", "t", any case).
func toBoolean(s string) bool {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "t":
		return true
	}
	return false
}

// numberFormat: the message of Java's NumberFormatException for Integer/Double.parse*.
func numberFormat(s string) *apiError {
	if s == "" {
		return illegalArgument("empty String")
	}
	return illegalArgument("For input string: \"" + s + "\"")
}
