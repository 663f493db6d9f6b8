package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Line is a console line (QEMU's serial port, and qemu.sh's own messages)
// with the host time it arrived.
type Line struct {
	Text string
	At   time.Time
}

// Console keeps every line a guest printed, so a test can wait for one
// line, then another after it, and still show the whole console when it
// fails.
type Console struct {
	mu    sync.Mutex
	lines []Line
	more  chan struct{} // closed and replaced on every new line
	ended bool
	copy  io.Writer
}

// ErrEnded is returned by Await when QEMU ended before the line came.
var ErrEnded = errors.New("QEMU ended")

func newConsole(copy io.Writer) *Console {
	return &Console{more: make(chan struct{}), copy: copy}
}

// read appends r's lines until it ends.
func (c *Console) read(r io.Reader) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		l := Line{strings.TrimRight(s.Text(), "\r"), time.Now()}
		c.mu.Lock()
		c.lines = append(c.lines, l)
		if c.copy != nil {
			fmt.Fprintln(c.copy, l.Text)
		}
		close(c.more)
		c.more = make(chan struct{})
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.ended = true
	close(c.more)
	c.mu.Unlock()
}

// Await returns the first line from index from on that contains s, and
// its index. It fails when ctx ends first or QEMU's output ends.
func (c *Console) Await(ctx context.Context, s string, from int) (Line, int, error) {
	for {
		c.mu.Lock()
		for i := from; i < len(c.lines); i++ {
			if strings.Contains(c.lines[i].Text, s) {
				l := c.lines[i]
				c.mu.Unlock()
				return l, i, nil
			}
		}
		from = len(c.lines)
		more, ended := c.more, c.ended
		c.mu.Unlock()
		if ended {
			return Line{}, 0, fmt.Errorf("%w before printing %q", ErrEnded, s)
		}
		select {
		case <-more:
		case <-ctx.Done():
			return Line{}, 0, fmt.Errorf("no %q on the console: %w", s, context.Cause(ctx))
		}
	}
}

// Mark is the index the next line will have.
func (c *Console) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// Lines returns a copy of the lines so far.
func (c *Console) Lines() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// Text is the whole console so far.
func (c *Console) Text() string {
	var b strings.Builder
	for _, l := range c.Lines() {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// Ended reports whether QEMU's output has ended.
func (c *Console) Ended() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}
