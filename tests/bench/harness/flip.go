package main

// Figure 1b: detection of one flip among N healthy services (issue 21). The daemon keeps N
// services registered, all hosted by the shared hello-service; the harness turns ONE health name
// NOT_SERVING (then SERVING again) through the example's own control, hello.v1.HealthControl/
// SetStatus, and times until that service's key is gone (back) in etcd. Figure 1 flips every
// name of a one-name server by signal; this one shows whether a single change still travels
// fast when N-1 other Watch streams, probers and registry entries are live beside it.

import (
	"context"
	"fmt"
	"math/rand"
	"time"

	"google.golang.org/grpc"
)

// healthControl is a client of the example service's hello.v1.HealthControl over one gRPC
// connection kept open, so that a flip costs one unary call on a warm channel (about the cost
// of figure 1's signal, far below a `hello-service set-status` process start). The request
// (two fields) is encoded by hand and sent through a pass-through codec: the harness needs no
// generated code for it.
type healthControl struct{ conn *grpc.ClientConn }

// rawCodec sends and receives the message bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func dialHealthControl(addr string) (*healthControl, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, addr, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		return nil, fmt.Errorf("HealthControl on %s: %v", addr, err)
	}
	return &healthControl{conn: conn}, nil
}

func (h *healthControl) Close() { h.conn.Close() }

// setStatusRequest encodes hello.v1.SetStatusRequest{service = 1, serving = 2}.
func setStatusRequest(service string, serving bool) []byte {
	msg := []byte{0x0a}
	for n := uint64(len(service)); ; n >>= 7 { // varint length
		if n < 0x80 {
			msg = append(msg, byte(n))
			break
		}
		msg = append(msg, byte(n)|0x80)
	}
	msg = append(msg, service...)
	if serving {
		msg = append(msg, 0x10, 0x01)
	}
	return msg
}

// SetStatus sets one health name; it returns once the server has applied it.
func (h *healthControl) SetStatus(service string, serving bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, reply := setStatusRequest(service, serving), []byte(nil)
	err := h.conn.Invoke(ctx, "/hello.v1.HealthControl/SetStatus", &req, &reply, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return fmt.Errorf("SetStatus(%q, serving=%v): %v", service, serving, err)
	}
	return nil
}

// flipOne turns svc-<i> of the shared hello-service NOT_SERVING or SERVING and waits until its
// key is gone or back, with the other n-1 keys in place. It returns the latency from just before
// the SetStatus call to the watch response that showed the change, and how long the call itself
// took (the part of the latency that is the harness's and the example service's).
func (b *Bench) flipOne(e *Etcd, h *healthControl, n, i int, serving bool, timeout time.Duration) (lat, call time.Duration, err error) {
	name := fmt.Sprintf("svc-%d", i)
	key := fmt.Sprintf("%s%s/%s", keyPrefix, name, b.helloAddr())
	want := n - 1
	if serving {
		want = n
	}
	t0 := time.Now()
	if err := h.SetStatus(name, serving); err != nil {
		return 0, 0, err
	}
	call = time.Since(t0)
	t, err := e.Tracker.WaitFor(t0, eq(want), timeout)
	if err != nil {
		return 0, 0, fmt.Errorf("%s serving=%v: %v", name, serving, err)
	}
	if e.Tracker.Has(key) != serving {
		return 0, 0, fmt.Errorf("%s serving=%v: %d keys, but the key %s is %s", name, serving, want, key,
			map[bool]string{true: "still there", false: "missing"}[!serving])
	}
	return t.Sub(t0), call, nil
}

// flipAmong: `rounds` flips each way, each of a name picked at random among the n the daemon
// keeps registered, after the same random 50-150 ms pause as figure 1's watch mode. Whatever
// happens, the names end SERVING (the run's deregistration figure that follows needs all n).
func (b *Bench) flipAmong(e *Etcd, n, rounds int) *Detection {
	d := &Detection{Mode: "watch", N: n}
	fail := func(err error) *Detection { d.Err = err.Error(); b.logf("detection among N=%d: %v", n, err); return d }
	h, err := dialHealthControl(b.helloAddr())
	if err != nil {
		return fail(err)
	}
	defer h.Close()
	for r := 0; r < rounds; r++ {
		i := rand.Intn(n)
		time.Sleep(50*time.Millisecond + time.Duration(rand.Int63n(int64(100*time.Millisecond)))) // measurement design
		down, c1, err := b.flipOne(e, h, n, i, false, 10*time.Second)
		if err != nil {
			_ = h.SetStatus(fmt.Sprintf("svc-%d", i), true)
			return fail(fmt.Errorf("round %d: %v", r, err))
		}
		time.Sleep(50*time.Millisecond + time.Duration(rand.Int63n(int64(100*time.Millisecond)))) // measurement design
		up, c2, err := b.flipOne(e, h, n, i, true, 10*time.Second)
		if err != nil {
			return fail(fmt.Errorf("round %d: %v", r, err))
		}
		d.Down = append(d.Down, ms(down))
		d.Up = append(d.Up, ms(up))
		d.Call = append(d.Call, ms(c1), ms(c2))
	}
	b.logf("detection of one flip among N=%d: down %s ms, up %s ms (of which the SetStatus call %s ms)", n, mmm(d.Down), mmm(d.Up), mmm(d.Call))
	return d
}

// smokeFlips: the smoke check's pass over figure 1b's path at small n, timing nothing: a few
// names flipped one at a time, each key gone and back with the others in place.
func (b *Bench) smokeFlips(e *Etcd, n int) error {
	if d := b.flipAmong(e, n, 3); d.Err != "" {
		return fmt.Errorf("one flip among %d: %s", n, d.Err)
	}
	return nil
}
