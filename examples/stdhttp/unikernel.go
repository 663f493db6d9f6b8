//go:build tamago

package main

// The one line that makes this program a unikernel.
import _ "tamanet/unikernel/auto"
