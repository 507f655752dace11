// JSON shapes of the answers, with Consul's field names and casing (api.AgentService,
// structs.HealthCheck, structs.CheckServiceNode). Field order follows Consul's structs.
package main

// api.AgentService as built by buildAgentService (agent/agent_endpoint.go).
type agentServiceJSON struct {
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	SocketPath        string                    `json:",omitempty"`
	TaggedAddresses   map[string]serviceAddress `json:",omitempty"`
	Weights           weights
	EnableTagOverride bool
	ContentHash       string    `json:",omitempty"`
	Datacenter        string    `json:",omitempty"`
	Locality          *locality `json:",omitempty"`
}

func renderAgentService(s *service, dc string) agentServiceJSON {
	out := agentServiceJSON{
		ID:                s.ID,
		Service:           s.Name,
		Tags:              s.Tags,
		Meta:              s.Meta,
		Port:              s.Port,
		Address:           s.Address,
		SocketPath:        s.SocketPath,
		TaggedAddresses:   s.TaggedAddresses,
		Weights:           s.Weights,
		EnableTagOverride: s.EnableTagOverride,
		Datacenter:        dc,
		Locality:          s.Locality,
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if out.Meta == nil {
		out.Meta = map[string]string{}
	}
	return out
}

// structs.HealthCheck. The agent's own copy has CreateIndex/ModifyIndex 0; the catalog's has
// the raft indexes.
type healthCheckJSON struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Interval    string
	Timeout     string
	ExposedPort int
	Definition  struct{}
	CreateIndex uint64
	ModifyIndex uint64
}

func renderHealthCheck(c *check, node string, createIndex, modifyIndex uint64) healthCheckJSON {
	tags := c.ServiceTags
	if tags == nil {
		tags = []string{}
	}
	return healthCheckJSON{
		Node:        node,
		CheckID:     c.CheckID,
		Name:        c.Name,
		Status:      c.Status,
		Notes:       c.Notes,
		Output:      c.Output,
		ServiceID:   c.ServiceID,
		ServiceName: c.ServiceName,
		ServiceTags: tags,
		Type:        "ttl",
		CreateIndex: createIndex,
		ModifyIndex: modifyIndex,
	}
}

// The serfHealth node check every catalog node carries; modelled as always passing.
func renderSerfHealth(node string, index uint64) healthCheckJSON {
	return healthCheckJSON{
		Node:        node,
		CheckID:     "serfHealth",
		Name:        "Serf Health Status",
		Status:      statusPassing,
		Output:      "Agent alive and reachable",
		ServiceTags: []string{},
		CreateIndex: index,
		ModifyIndex: index,
	}
}

// structs.Node.
type nodeJSON struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64
	ModifyIndex     uint64
}

// The zero ConnectProxyConfig of a typical service as the catalog renders it.
type proxyJSON struct {
	Mode        string
	MeshGateway struct{}
	Expose      struct{}
}

// structs.NodeService as the catalog holds it (Tags nil -> [] is done by the health endpoint;
// Meta stays null when the registration had none).
type catalogServiceJSON struct {
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]serviceAddress `json:",omitempty"`
	Meta              map[string]string
	Port              int
	SocketPath        string `json:",omitempty"`
	Weights           weights
	EnableTagOverride bool
	Proxy             proxyJSON
	Connect           struct{}
	Locality          *locality `json:",omitempty"`
	CreateIndex       uint64
	ModifyIndex       uint64
}

func renderCatalogService(s *service) catalogServiceJSON {
	tags := s.Tags
	if tags == nil {
		tags = []string{}
	}
	return catalogServiceJSON{
		ID:                s.ID,
		Service:           s.Name,
		Tags:              tags,
		Address:           s.Address,
		TaggedAddresses:   s.TaggedAddresses,
		Meta:              s.Meta,
		Port:              s.Port,
		SocketPath:        s.SocketPath,
		Weights:           s.Weights,
		EnableTagOverride: s.EnableTagOverride,
		Locality:          s.Locality,
	}
}

type checkServiceNodeJSON struct {
	Node    nodeJSON
	Service catalogServiceJSON
	Checks  []healthCheckJSON
}

// api.AgentMember, for /v1/agent/self.
type memberJSON struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

type selfConfigJSON struct {
	Datacenter        string
	PrimaryDatacenter string
	NodeName          string
	NodeID            string
	Revision          string
	Server            bool
	Version           string
	BuildDate         string
}

type selfJSON struct {
	Config      selfConfigJSON
	DebugConfig map[string]interface{}
	Coord       interface{}
	Member      memberJSON
	Stats       map[string]map[string]string
	Meta        map[string]string
}
