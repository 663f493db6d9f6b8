package mmio

import "testing"

// FuzzParseDSDT: any AML, however truncated or hostile, gives entries or
// none, never a panic, and every entry it gives has a window.
func FuzzParseDSDT(f *testing.F) {
	f.Add(microvmDSDT(0xfeb02e00, 47))
	f.Add(append(microvmDSDT(0xfeb00000, 24), microvmDSDT(0xfeb00200, 25)...))
	f.Add([]byte("\x08_HID\x0dLNRO0005\x00\x08_CRS\x11"))
	f.Fuzz(func(t *testing.T, aml []byte) {
		for _, e := range ParseDSDT(aml) {
			if e.Size == 0 {
				t.Errorf("entry without a window: %+v", e)
			}
		}
	})
}

// FuzzParseCommandLine: any command line gives entries with windows that
// do not wrap, and errors for the rest, never a panic.
func FuzzParseCommandLine(f *testing.F) {
	f.Add("virtio_mmio.device=512@0xfeb00000:5 virtio_mmio.device=4K@0x1000:3:1")
	f.Add("virtio_mmio.device=18446744073709551615G@0x1:1")
	f.Fuzz(func(t *testing.T, cmdline string) {
		entries, _ := ParseCommandLine(cmdline)
		for _, e := range entries {
			if e.Size == 0 || e.Base+e.Size < e.Base {
				t.Errorf("bad entry %+v", e)
			}
		}
	})
}
