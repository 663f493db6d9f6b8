package ceiling

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable prints f as an aligned text table: per mode the guest's and
// the host's rates and the device registers' agreement with the guest.
func WriteTable(w io.Writer, f *File) error {
	fmt.Fprintf(w, "ceiling: nic %s, %s, %g s per mode; MB/s are frames on the wire without FCS (10^6 bytes/s); ceiling = host for guest tx, guest for guest rx\n", f.NIC, f.Note, f.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tround\tdirection\tframe\tceiling frames/s\tceiling MB/s\tguest frames/s\tguest MB/s\thost frames/s\thost MB/s\tdev/guest frames\tdev/guest bytes\t")
	for _, r := range f.Rows {
		c := r.Ceiling()
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.0f\t%.2f\t%.0f\t%.2f\t%.0f\t%.2f\t", r.Name, r.Round, r.Direction, r.WireSize,
			c.FramesPerS(), c.MBps(), r.Guest.FramesPerS(), r.Guest.MBps(), r.Host.FramesPerS(), r.Host.MBps())
		if fr, by, ok := r.DevAgreement(); ok {
			fmt.Fprintf(tw, "%.4f\t%.4f\t\n", fr, by)
		} else {
			fmt.Fprint(tw, "-\t-\t\n")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range f.Rows {
		if n := r.notes(); n != "" {
			fmt.Fprintf(w, "%s r%d: %s\n", r.Name, r.Round, n)
		}
	}
	return nil
}

// notes says what the columns leave out: where frames were lost and what
// host means for the row.
func (r Row) notes() string {
	var n []string
	switch r.Direction {
	case GuestTx:
		n = append(n, fmt.Sprintf("host = the tap's rx counters, %d frames %d bytes in %.3f s; guest %d frames in %.3f s",
			r.Host.Frames, r.Host.Bytes, r.Host.Seconds, r.Guest.Frames, r.Guest.Seconds))
		if r.Mode == "tso" {
			n = append(n, fmt.Sprintf("super-frames of %d bytes of TCP payload", r.Size))
			if r.Host.Frames > 0 {
				// virtio-net hands QEMU's tap whole super-frames (GSO),
				// the e1000 model segments them itself.
				n = append(n, fmt.Sprintf("the tap's frames average %d bytes", r.Host.Bytes/r.Host.Frames))
			}
		}
		if r.GuestDrops != 0 {
			n = append(n, fmt.Sprintf("driver dropped %d", r.GuestDrops))
		}
	case GuestRx:
		n = append(n, fmt.Sprintf("host wrote %d frames in %.3f s; QEMU read %d, the tap dropped %d (queue full); guest counted %d in %.3f s",
			r.Host.Frames, r.Host.Seconds, r.TapRead, r.TapDropped, r.Guest.Frames, r.Guest.Seconds))
		if r.DevMissed > 0 {
			n = append(n, fmt.Sprintf("device missed %d (no buffer)", r.DevMissed))
		}
		if r.GuestDrops != 0 {
			n = append(n, fmt.Sprintf("driver errors %d", r.GuestDrops))
		}
	}
	return strings.Join(n, "; ")
}

// WriteShares prints each transfer's share of its ceiling.
func WriteShares(w io.Writer, shares []Share) error {
	fmt.Fprintln(w, "transfers as a share of the ceiling: the transfer's MB/s (payload, median over rounds) / the ceiling's MB/s (frames on the wire, median over rounds)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\ttest\tMB/s\tceiling\tceiling MB/s\tshare\t")
	for _, s := range shares {
		ceil, pct := "-", "-"
		if s.CeilingMBps > 0 {
			ceil = strconv.FormatFloat(s.CeilingMBps, 'f', 2, 64)
			pct = strconv.FormatFloat(s.Percent, 'f', 1, 64) + "%"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t%s\t%s\t\n", s.Target, s.Test, s.MBps, s.Ceiling, ceil, pct)
	}
	return tw.Flush()
}
