//go:build !tamago

package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"tamanet/pci"
	"tamanet/pci/pcicheck/internal/protocol"
)

// guestTable returns the entries the image printed on the console between
// the protocol.TableBegin and protocol.TableEnd lines of out.
func guestTable(out string) ([]pci.Entry, error) {
	out = strings.ReplaceAll(out, "\r\n", "\n")
	_, rest, ok := strings.Cut(out, "\n"+protocol.TableBegin+"\n")
	if !ok {
		return nil, fmt.Errorf("no %q line in the console output", protocol.TableBegin)
	}
	table, _, ok := strings.Cut(rest, protocol.TableEnd+"\n")
	if !ok {
		return nil, fmt.Errorf("no %q line after the table", protocol.TableEnd)
	}
	var entries []pci.Entry
	for _, line := range strings.Split(strings.TrimSuffix(table, "\n"), "\n") {
		e, err := pci.ParseEntry(line)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// diffTables compares the guest's table with QEMU's, function by function,
// on what QEMU reports: address, class, vendor:device, interrupt line and
// pin, BAR kinds, addresses and sizes, and bridge bus numbers. It returns
// one paragraph per function that differs or is missing on one side, and
// nothing when the tables agree. Both must be sorted by address.
//
// Fields QEMU does not report (revision, programming interface,
// capabilities) are taken from the guest's entry, and so is the address
// of a BAR QEMU has not mapped (decoding off), so that the two lines
// printed for a function differ only where the views disagree.
func diffTables(guest, qemu []pci.Entry) []string {
	var diff []string
	i, j := 0, 0
	for i < len(guest) || j < len(qemu) {
		var c int
		switch {
		case i == len(guest):
			c = 1
		case j == len(qemu):
			c = -1
		default:
			c = compareAddr(guest[i].Addr, qemu[j].Addr)
		}
		switch c {
		case -1:
			diff = append(diff, fmt.Sprintf("%s: only in the guest's table\n  guest: %s", guest[i].Addr, guest[i]))
			i++
		case 1:
			diff = append(diff, fmt.Sprintf("%s: missing from the guest's table\n  qemu:  %s", qemu[j].Addr, qemu[j]))
			j++
		default:
			g, q := guest[i].String(), completeFrom(qemu[j], guest[i]).String()
			if g != q {
				diff = append(diff, fmt.Sprintf("%s: differs\n  guest: %s\n  qemu:  %s", guest[i].Addr, g, q))
			}
			i++
			j++
		}
	}
	return diff
}

// completeFrom returns q, QEMU's entry, with the fields QEMU does not
// report copied from g, the guest's entry for the same function.
func completeFrom(q, g pci.Entry) pci.Entry {
	q.RevisionID, q.ProgIF, q.Capabilities, q.Driver = g.RevisionID, g.ProgIF, g.Capabilities, g.Driver
	q.BARs = slices.Clone(q.BARs)
	for k := range q.BARs {
		if q.BARs[k].Addr != unmapped {
			continue
		}
		if n := slices.IndexFunc(g.BARs, func(b pci.BAR) bool { return b.Index == q.BARs[k].Index }); n >= 0 {
			q.BARs[k].Addr = g.BARs[n].Addr
		}
	}
	return q
}

func compareAddr(x, y pci.Address) int {
	return cmp.Or(cmp.Compare(x.Bus, y.Bus), cmp.Compare(x.Device, y.Device),
		cmp.Compare(x.Function, y.Function))
}
