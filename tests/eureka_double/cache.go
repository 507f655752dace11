// ResponseCacheImpl with useReadOnlyResponseCache (Eureka's default): GET /apps and
// GET /apps/{APP} are answered from a read-only copy made when a key is first read and refreshed
// every responseCacheUpdateIntervalMs (30 s), so a change shows there up to one interval late;
// GET /apps/{APP}/{ID} reads the registry itself.
package main

import (
	"encoding/json"
	"sync"
	"time"
)

type responseCache struct {
	reg      *registry
	interval time.Duration
	mu       sync.Mutex
	payloads map[string][]byte // key: "" for all apps, else the app; nil payload: 404
}

func newResponseCache(reg *registry, interval time.Duration) *responseCache {
	return &responseCache{reg: reg, interval: interval, payloads: map[string][]byte{}}
}

func (c *responseCache) load(key string) []byte {
	var v map[string]interface{}
	if key == "" {
		v = c.reg.renderApplications()
	} else if v = c.reg.renderApplication(key); v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// get: the payload of `key` as of the last refresh (nil: no such application).
func (c *responseCache) get(key string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.payloads[key]; ok {
		return p
	}
	p := c.load(key)
	c.payloads[key] = p
	return p
}

func (c *responseCache) clear() {
	c.mu.Lock()
	c.payloads = map[string][]byte{}
	c.mu.Unlock()
}

func (c *responseCache) run() {
	ticker := time.NewTicker(c.interval)
	for range ticker.C {
		c.mu.Lock()
		for key := range c.payloads {
			c.payloads[key] = c.load(key)
		}
		c.mu.Unlock()
	}
}
