// The auth plugin when nacos.core.auth.enabled=true (Nacos's default "nacos" plugin):
// POST /nacos/v1/auth/login (and /nacos/v1/auth/users/login) with username and password answers
// {"accessToken","tokenTtl","globalAdmin","username"}; every @Secured API then wants the token,
// as the accessToken parameter or "Authorization: Bearer <token>" (NacosAuthManager.resolveToken),
// and AuthFilter refuses with 403 and the AccessException's text through sendError, which Spring
// Boot renders as its JSON error body.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

type authState struct {
	mu       sync.Mutex
	user     string
	password string
	ttl      time.Duration
	tokens   map[string]time.Time // token -> expiry
	logins   uint64
}

func newAuthState(user, password string, ttlSeconds int) *authState {
	return &authState{user: user, password: password, ttl: time.Duration(ttlSeconds) * time.Second,
		tokens: map[string]time.Time{}}
}

func (a *authState) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeSpringError(w, r, http.StatusMethodNotAllowed, "Request method '"+r.Method+"' not supported")
		return
	}
	user, pass := r.Form.Get("username"), r.Form.Get("password")
	a.mu.Lock()
	defer a.mu.Unlock()
	a.logins++
	if user != a.user || pass != a.password {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("unknown user!"))
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	a.tokens[token] = time.Now().Add(a.ttl)
	writeJSON(w, map[string]interface{}{"accessToken": token,
		"tokenTtl": int64(a.ttl / time.Second), "globalAdmin": true, "username": user})
}

// check returns the AccessException's text, or "" when the request may go on.
func (a *authState) check(r *http.Request) string {
	token := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = h[len("Bearer "):]
	} else {
		token = r.Form.Get("accessToken")
	}
	if token == "" {
		return "user not found!"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	expiry, ok := a.tokens[token]
	if !ok {
		return "token invalid!"
	}
	if time.Now().After(expiry) {
		return "token expired!"
	}
	return ""
}

// expireAll makes every token issued so far expired (a control, /_double/expire-tokens).
func (a *authState) expireAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t := range a.tokens {
		a.tokens[t] = time.Now().Add(-time.Second)
	}
}

func (a *authState) loginCount() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.logins
}

// writeSpringError: HttpServletResponse.sendError as Spring Boot's BasicErrorController renders it.
func writeSpringError(w http.ResponseWriter, r *http.Request, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]interface{}{
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000+00:00"),
		"status":    status, "error": http.StatusText(status), "message": message,
		"path": r.URL.Path})
}

func writeJSON(w http.ResponseWriter, v interface{}) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}
