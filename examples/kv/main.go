//go:build tamago

package main

import "tamanet/unikernel"

func main() {
	sys := unikernel.MustStart("kv")
	l, err := sys.ListenTCP(80)
	if err != nil {
		unikernel.Exit(err)
	}
	sys.Ready("http :80")
	unikernel.Exit(sys.HTTPServer(newStore().handler()).Serve(l))
}
