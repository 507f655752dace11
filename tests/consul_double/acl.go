// ACLs: one configured token with every privilege, default deny for everything else, as an
// agent with acl.enabled = true and acl.default_policy = "deny" whose only token is a management
// token. Token sources and error texts follow agent/http.go (parseToken) and acl/errors.go.
package main

import (
	"fmt"
	"net/http"
	"strings"
)

// requestToken is HTTPHandlers.parseToken: ?token= first, then X-Consul-Token, then
// "Authorization: Bearer <token>" (scheme case-insensitive, first word of the value).
func requestToken(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	if t := r.Header.Get("X-Consul-Token"); t != "" {
		return t
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		parts := strings.Split(auth, " ")
		if len(parts) > 1 && strings.ToLower(parts[0]) == "bearer" {
			value := strings.TrimSpace(strings.Join(parts[1:], " "))
			return strings.TrimSpace(strings.Split(value, " ")[0])
		}
	}
	return ""
}

// authorizer is what a resolved token may do.
type authorizer struct {
	enabled   bool // ACLs on
	anonymous bool // no token given: the anonymous token, which has no policy
}

// forbidden is an error Consul answers with 403 and its text (acl.IsErrPermissionDenied or
// acl.IsErrNotFound in the HTTP wrapper).
type forbidden struct{ msg string }

func (f forbidden) Error() string { return f.msg }

// errACLNotFound is acl.ErrNotFound: a token that does not exist.
var errACLNotFound = forbidden{"ACL not found"}

// resolve is ResolveTokenAndDefaultMeta for this double.
func (s *server) resolve(r *http.Request) (authorizer, error) {
	if s.aclToken == "" {
		return authorizer{}, nil
	}
	tok := requestToken(r)
	switch tok {
	case "":
		return authorizer{enabled: true, anonymous: true}, nil
	case s.aclToken:
		return authorizer{enabled: true}, nil
	}
	return authorizer{}, errACLNotFound
}

func (a authorizer) allowed() bool { return !a.enabled || !a.anonymous }

// denied is acl.PermissionDeniedError for the anonymous token (the only token that can be
// denied here: the configured one may do everything).
func (a authorizer) denied(resource, level, name string) error {
	return forbidden{fmt.Sprintf("Permission denied: anonymous token lacks permission '%s:%s' on \"%s\". "+
		"The anonymous token is used implicitly when a request does not specify a token.",
		resource, level, name)}
}

func (a authorizer) serviceWrite(name string) error {
	if a.allowed() {
		return nil
	}
	return a.denied("service", "write", name)
}

func (a authorizer) serviceRead(name string) error {
	if a.allowed() {
		return nil
	}
	return a.denied("service", "read", name)
}

func (a authorizer) agentRead(node string) error {
	if a.allowed() {
		return nil
	}
	return a.denied("agent", "read", node)
}
