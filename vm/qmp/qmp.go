// Package qmp is a client of the QEMU Machine Protocol, for host tools and
// tests that drive the QEMU running a tamanet image (link flaps, device
// queries).
package qmp

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// Client sends JSON commands over QEMU's -qmp socket, one at a time.
// Asynchronous events are skipped.
type Client struct {
	conn net.Conn
	dec  *json.Decoder
	enc  *json.Encoder
}

// Dial connects to the QMP socket at path, retrying while QEMU has not
// created it yet, and leaves capabilities negotiation mode. Cancelling ctx
// closes the connection, which ends any command in progress.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			context.AfterFunc(ctx, func() { conn.Close() })
			q := &Client{conn: conn, dec: json.NewDecoder(conn), enc: json.NewEncoder(conn)}
			var greeting struct {
				QMP json.RawMessage `json:"QMP"`
			}
			if err := q.dec.Decode(&greeting); err != nil || greeting.QMP == nil {
				conn.Close()
				return nil, fmt.Errorf("qmp greeting: %v", err)
			}
			return q, q.Execute("qmp_capabilities", nil, nil)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("qmp: %v (last dial error: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Execute runs command with args (nil for none) and decodes its return
// value into result (nil to discard it).
func (q *Client) Execute(command string, args, result any) error {
	req := struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
	}{command, args}
	if err := q.enc.Encode(req); err != nil {
		return fmt.Errorf("qmp %s: %v", command, err)
	}
	for {
		var resp struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
			Event string `json:"event"`
		}
		if err := q.dec.Decode(&resp); err != nil {
			return fmt.Errorf("qmp %s: %v", command, err)
		}
		switch {
		case resp.Event != "":
			continue
		case resp.Error != nil:
			return fmt.Errorf("qmp %s: %s: %s", command, resp.Error.Class, resp.Error.Desc)
		case resp.Return == nil:
			return fmt.Errorf("qmp %s: reply without return or error", command)
		case result == nil:
			return nil
		}
		if err := json.Unmarshal(resp.Return, result); err != nil {
			return fmt.Errorf("qmp %s: %v", command, err)
		}
		return nil
	}
}

// HMP runs a human monitor command and returns its output.
func (q *Client) HMP(command string) (string, error) {
	var out string
	err := q.Execute("human-monitor-command", map[string]string{"command-line": command}, &out)
	return out, err
}

// SetLink sets the link state of the netdev called name (qemu.sh's NIC
// is on "net0").
func (q *Client) SetLink(name string, up bool) error {
	return q.Execute("set_link", map[string]any{"name": name, "up": up}, nil)
}
