//go:build tamago

// Command pcicheck enumerates the PCI hierarchy through configuration
// mechanism #1, assigns the BARs and bridge windows firmware left
// unassigned (all of them under qboot, none under SeaBIOS) and prints the
// pci table on the serial console, so that a host test can compare it with
// what QEMU's own monitor says about the same machine.
//
// The host must read QEMU's view after the guest has finished enumerating
// (BAR sizing briefly writes all ones) and before it exits. Linked with
// -X main.waitForHost=yes the image therefore waits for the host after
// the table (see package protocol); otherwise it exits right away.
//
// Exit status (QEMU's is (s<<1)|1): 0 after a clean enumeration, 1 when
// enumeration reported errors, 2 when the host never answered.
package main

import (
	"errors"
	"fmt"
	"time"

	"tamanet/board"
	"tamanet/pci"
	"tamanet/pci/pcicheck/internal/protocol"
)

// waitForHost is set at link time; any value but "" turns the handshake
// on.
var waitForHost string

// hostTimeout bounds the wait for the host, in guest time.
const hostTimeout = 2 * time.Minute

func main() {
	io := board.PortIO{}
	// Under qboot nothing has addresses yet and the board assigns them;
	// under SeaBIOS it assigns nothing.
	bus, err := board.EnumeratePCI(nil)

	// SeaBIOS leaves the cursor mid-line; start on a fresh one.
	fmt.Printf("\n%s\n%s%s\n", protocol.TableBegin, bus, protocol.TableEnd)
	s := bus.Stats
	fmt.Printf("pcicheck: %d buses, %d functions, %d bridges, %d bad functions, %d bus loops, %d functions assigned, %d bridge windows opened\n",
		s.Buses, s.Functions, s.Bridges, s.BadFunctions, s.BusLoops, s.Assigned, s.BridgeWindows)
	// Reading a register through each MSI-X table proves the memory
	// BARs, and the bridge windows in front of them, decode.
	for _, d := range bus.Devices {
		if v, bar, err := msixControl(d); err == nil {
			fmt.Printf("pcicheck: msix %s BAR%d entry 0 vector control %#x\n", d.Addr, bar, v)
		} else if !errors.Is(err, pci.ErrNoMSI) {
			fmt.Printf("pcicheck: msix %s: %v\n", d.Addr, err)
		}
	}
	code := int32(0)
	if err != nil {
		fmt.Printf("pcicheck: enumeration errors: %v\n", err)
		code = 1
	}
	if waitForHost != "" && !handshake(io) {
		fmt.Printf("pcicheck: no answer from the host within %v\n", hostTimeout)
		code = 2
	}
	board.Exit(code)
}

// msixControl reads Vector Control of the first entry of d's MSI-X table
// through its memory BAR; a reset function has it masked (1).
func msixControl(d *pci.Device) (uint32, uint8, error) {
	info, err := d.MSIXInfo()
	if err != nil {
		return 0, info.Table.BAR.Index, err
	}
	m, err := board.MapMMIO(info.Table.BAR.Addr+uint64(info.Table.Offset), pci.MSIX_ENTRY_SIZE)
	if err != nil {
		return 0, info.Table.BAR.Index, err
	}
	return m.Read32(pci.MSIX_ENTRY_VECTOR_CTRL), info.Table.BAR.Index, nil
}

// handshake writes protocol.Ready to CONFIG_ADDRESS and polls it until the
// host has replaced it with protocol.Go. Enumeration is over, so nothing
// else uses the latch meanwhile.
func handshake(io pci.PortIO) bool {
	io.Out32(pci.CONFIG_ADDRESS, protocol.Ready)
	for deadline := time.Now().Add(hostTimeout); time.Now().Before(deadline); {
		if io.In32(pci.CONFIG_ADDRESS) == protocol.Go {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}
