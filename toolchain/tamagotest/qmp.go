package tamagotest

import (
	"context"

	"tamanet/vm/qmp"
)

// QMP is the QEMU Machine Protocol client of package qmp.
type QMP = qmp.Client

// DialQMP connects to the QMP socket at path (qmp.Dial).
func DialQMP(ctx context.Context, path string) (*QMP, error) { return qmp.Dial(ctx, path) }
